import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

/**
 * Every word a person reads comes from the message catalogue (lib/i18n/en.ts), so a translation
 * can be added. Allowed in JSX: punctuation and symbols that read the same in every language.
 */
const PUNCTUATION = ["·", "—", "–", "…", "×", "/", ":", ",", ".", "(", ")", "•", "→", "←", "+", "-", "*", "|", "@", "▾", "‹", "›", "⚠", "🔔", "📹", "):"];

/** Props that carry words for people: a string literal in them is a string not in the catalogue. */
const TEXT_PROPS =
  "/^(aria-label|aria-description|aria-roledescription|aria-valuetext|aria-placeholder|placeholder|title|alt|label|hint|emptyText|summary|heading|description|confirmText)$/";

/** A literal holding a letter (any script): words, not punctuation or class names. */
const WORDS = "/\\p{L}/u";

const CHOICE = ":matches(ConditionalExpression, LogicalExpression)";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  {
    files: ["app/**/*.tsx", "components/**/*.tsx"],
    rules: {
      "react/jsx-no-literals": ["error", { noStrings: true, ignoreProps: true, allowedStrings: PUNCTUATION }],
      "no-restricted-syntax": [
        "error",
        {
          selector: `JSXAttribute[name.name=${TEXT_PROPS}] > Literal[value=${WORDS}]`,
          message: "Text for people comes from the message catalogue (lib/i18n/en.ts), not a string literal.",
        },
        {
          selector: `JSXAttribute[name.name=${TEXT_PROPS}] > JSXExpressionContainer :matches(Literal[value=${WORDS}], TemplateElement[value.raw=${WORDS}])`,
          message: "Text for people comes from the message catalogue (lib/i18n/en.ts), not a string literal.",
        },
        ...["JSXElement", "JSXFragment"].flatMap((parent) =>
          [1, 2].map((depth) => ({
            // `{busy ? "Saving…" : "Save"}` and `{ok && "Saved."}` among an element's children.
            selector: `${parent} > JSXExpressionContainer > ${Array(depth).fill(CHOICE).join(" > ")} > :matches(Literal[value=${WORDS}], TemplateLiteral:has(> TemplateElement[value.raw=${WORDS}]))`,
            message: "Text for people comes from the message catalogue (lib/i18n/en.ts), not a string literal.",
          })),
        ),
      ],
    },
  },
  globalIgnores([".next/**", "out/**", "node_modules/**", "next-env.d.ts"]),
]);
