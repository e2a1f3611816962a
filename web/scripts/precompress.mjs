// Writes a Brotli (.br) and a gzip (.gz) copy beside every compressible file of the static
// export, once per build, so the app serves them without compressing on each request
// (src/careconnect/webapp.py picks one by Accept-Encoding). Copies that would not be smaller
// are not written; stale copies from an earlier build are removed first.
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = process.argv[2] ?? "out";
const COMPRESSIBLE = /\.(html|js|css|txt|json|svg|map|ico|webmanifest)$/;
const MIN_BYTES = 512;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

let written = 0;
for (const path of [...files(root)]) {
  if (path.endsWith(".br") || path.endsWith(".gz")) unlinkSync(path);
}
for (const path of [...files(root)]) {
  if (!COMPRESSIBLE.test(path) || statSync(path).size < MIN_BYTES) continue;
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  const gz = gzipSync(raw, { level: 9 });
  if (br.length < raw.length) writeFileSync(`${path}.br`, br);
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
  written += 1;
}
console.log(`precompress: ${written} files in ${root} have .br and .gz copies`);
