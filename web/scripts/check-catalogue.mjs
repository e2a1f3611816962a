/**
 * Checks the message catalogue (lib/i18n/en.ts) with the TypeScript compiler:
 *   1. every key is used: each leaf of `en` is read somewhere in app/, components/ or lib/
 *      (a read through a dynamic index, `t.status[status]`, counts for all keys it can reach);
 *   2. a translation must have exactly the same keys: a pseudo-locale generated from `en`
 *      (every string wrapped in ⟦…⟧) type-checks as `Messages`, and the same catalogue with one
 *      key missing, or one key too many, does not.
 * Prints a JSON report; exits 1 when a check fails. Run from web/: `node scripts/check-catalogue.mjs`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import ts from "typescript";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const enFile = path.join(web, "lib/i18n/en.ts");

function compilerOptions() {
  const config = ts.readConfigFile(path.join(web, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, web);
  return { options: { ...parsed.options, noEmit: true, incremental: false }, fileNames: parsed.fileNames };
}

function sources(fileNames) {
  return fileNames.filter((f) => /\/(app|components|lib)\//.test(f) && !f.endsWith("lib/i18n/en.ts") && /\.tsx?$/.test(f));
}

/** The leaves of `en` as "area.key" paths, keyed by their declaration node. */
function leaves(checker, sourceFile) {
  const found = new Map();
  function walk(node, prefix) {
    for (const prop of node.properties) {
      if (!ts.isPropertyAssignment(prop)) continue;
      const name = prop.name.getText(sourceFile);
      let value = prop.initializer;
      while (ts.isAsExpression(value) || ts.isSatisfiesExpression(value) || ts.isParenthesizedExpression(value)) value = value.expression;
      const key = prefix ? `${prefix}.${name}` : name;
      if (ts.isObjectLiteralExpression(value)) walk(value, key);
      else found.set(prop, key);
    }
  }
  ts.forEachChild(sourceFile, function visit(node) {
    if (ts.isVariableDeclaration(node) && node.name.getText(sourceFile) === "en" && node.initializer && ts.isObjectLiteralExpression(node.initializer)) {
      walk(node.initializer, "");
    }
    ts.forEachChild(node, visit);
  });
  return found;
}

const { options, fileNames } = compilerOptions();
/** One program for the whole client; the checks below reuse its parsed files. */
const program = ts.createProgram(fileNames, options);

function deadKeys() {
  const checker = program.getTypeChecker();
  const en = program.getSourceFile(enFile);
  const all = leaves(checker, en);
  const byPrefix = [...all.values()];
  const used = new Set();
  const markDeclarations = (symbol) => {
    for (const d of symbol?.declarations ?? []) if (all.has(d)) used.add(all.get(d));
  };
  /** Which "area.key" prefix a symbol declared in `en` stands for (for dynamic reads below it). */
  const pathOf = new Map();
  (function index(node, prefix) {
    ts.forEachChild(node, (child) => {
      if (ts.isPropertyAssignment(child)) {
        const key = prefix ? `${prefix}.${child.name.getText(en)}` : child.name.getText(en);
        pathOf.set(child, key);
        index(child, key);
      } else index(child, prefix);
    });
  })(en.statements.find((s) => ts.isVariableStatement(s) && s.getText(en).includes("export const en")), "");
  for (const file of sources(program.getRootFileNames())) {
    const sf = program.getSourceFile(file);
    ts.forEachChild(sf, function visit(node) {
      if (ts.isPropertyAccessExpression(node)) markDeclarations(checker.getSymbolAtLocation(node.name));
      if (ts.isElementAccessExpression(node)) {
        const arg = node.argumentExpression;
        if (ts.isStringLiteralLike(arg) || ts.isNumericLiteral(arg)) markDeclarations(checker.getSymbolAtLocation(node));
        else {
          // t.status[status]: every key under the indexed object may be read.
          const target = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(node.expression) ? node.expression.name : node.expression);
          for (const d of target?.declarations ?? []) {
            const prefix = pathOf.get(d);
            if (prefix) for (const key of byPrefix) if (key.startsWith(`${prefix}.`) || key === prefix) used.add(key);
          }
        }
      }
      ts.forEachChild(node, visit);
    });
  }
  return byPrefix.filter((key) => !used.has(key));
}

/** A catalogue in TypeScript source built from the type `Messages`, every string wrapped in ⟦…⟧. */
function pseudoSource({ drop, extra } = {}) {
  const checker = program.getTypeChecker();
  const en = program.getSourceFile(enFile);
  const messages = en.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === "Messages");
  const type = checker.getTypeAtLocation(messages.name);
  const keys = [];
  function render(t, access, indent, key) {
    if (t.getCallSignatures().length > 0) {
      keys.push(key);
      return `(...args: Parameters<typeof ${access}>) => \`⟦\${${access}(...args)}⟧\``;
    }
    if (t.flags & ts.TypeFlags.StringLike) {
      keys.push(key);
      return `\`⟦\${${access}}⟧\``;
    }
    if (checker.isArrayType(t)) {
      keys.push(key);
      return `${access}.map((s) => \`⟦\${s}⟧\`)`;
    }
    if (checker.getIndexInfosOfType(t).length > 0 && t.getProperties().length === 0) {
      keys.push(key);
      return `Object.fromEntries(Object.entries(${access}).map(([k, v]) => [k, \`⟦\${v}⟧\`]))`;
    }
    const pad = "  ".repeat(indent);
    const props = t
      .getProperties()
      .filter((p) => `${key}.${p.name}`.replace(/^\./, "") !== drop)
      .map((p) => {
        const name = /^[A-Za-z_$][\w$]*$/.test(p.name) ? p.name : JSON.stringify(p.name);
        const propType = checker.getTypeOfSymbolAtLocation(p, messages);
        return `${pad}  ${name}: ${render(propType, `${access}[${JSON.stringify(p.name)}]`, indent + 1, `${key}.${p.name}`.replace(/^\./, ""))},`;
      });
    if (extra && indent === 1) props.push(`${pad}  ${extra}: "⟦extra⟧",`);
    return `{\n${props.join("\n")}\n${pad}}`;
  }
  const body = render(type, "en", 0, "");
  const rel = enFile.replace(/\.ts$/, "");
  return { keys, source: `import { en, type Messages } from ${JSON.stringify(rel)};\n\nexport const pseudo: Messages = ${body};\n` };
}

function typeErrors(source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "catalogue-"));
  const file = path.join(dir, "pseudo.ts");
  fs.writeFileSync(file, source);
  const check = ts.createProgram([file], options, undefined, program);
  const diagnostics = ts.getPreEmitDiagnostics(check, check.getSourceFile(file));
  fs.rmSync(dir, { recursive: true, force: true });
  return diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
}

const dead = deadKeys();
const pseudo = pseudoSource();
const pseudoErrors = typeErrors(pseudo.source);
const someKey = pseudo.keys.find((k) => k.includes("."));
const missingErrors = typeErrors(pseudoSource({ drop: someKey }).source);
const extraErrors = typeErrors(pseudoSource({ extra: "notInEnglish" }).source);
const report = {
  keys: pseudo.keys.length,
  dead,
  pseudoErrors,
  missingKey: { dropped: someKey, rejected: missingErrors.length > 0 },
  extraKey: { rejected: extraErrors.length > 0 },
};
console.log(JSON.stringify(report, null, 2));
const ok = dead.length === 0 && pseudoErrors.length === 0 && missingErrors.length > 0 && extraErrors.length > 0;
process.exit(ok ? 0 : 1);
