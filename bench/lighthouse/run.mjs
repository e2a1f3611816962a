// One Lighthouse (mobile) run, driven through puppeteer-core so a signed-in page can be measured:
// the cookies given are set in the browser first (as after a real sign-in, readable ones in
// document.cookie too) and Lighthouse keeps them (disableStorageReset).
// Usage: node run.mjs <url> <out.json> <chromium> [cookies JSON: [{name, value, path}]]
import { writeFileSync } from "node:fs";

import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const [url, out, chromium, cookiesJson] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  const cookies = cookiesJson ? JSON.parse(cookiesJson) : [];
  if (cookies.length > 0) {
    const origin = new URL(url);
    await browser.setCookie(
      ...cookies.map((c) => ({ name: c.name, value: c.value, path: c.path, domain: origin.hostname, sameSite: "Strict", httpOnly: c.name === "cc_refresh" })),
    );
  }
  const result = await lighthouse(
    url,
    { output: "json", logLevel: "error", disableStorageReset: cookies.length > 0, onlyCategories: ["performance", "accessibility", "best-practices", "seo"] },
    undefined,
    page,
  );
  writeFileSync(out, result.report);
} finally {
  await browser.close();
}
