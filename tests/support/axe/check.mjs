// Runs axe-core on local HTML pages in a real headless Chromium and prints one JSON report on stdout.
//
//   node check.mjs --chromium /usr/bin/chromium --shots DIR PAGE.html [PAGE.html ...]
//
// Every WCAG 2.x A/AA rule and every best-practice rule runs. The browser is waited for with deadlines
// (launch, load, axe), never a fixed sleep; a deadline passed is an error, and the exit code is non-zero.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];
const DEADLINE_MS = 60_000;

function options(argv) {
  const out = { chromium: "/usr/bin/chromium", shots: null, pages: [], width: 1000 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--chromium") out.chromium = argv[++i];
    else if (argv[i] === "--shots") out.shots = argv[++i];
    else if (argv[i] === "--width") out.width = Number(argv[++i]);
    else out.pages.push(argv[i]);
  }
  return out;
}

const opts = options(process.argv.slice(2));
const browser = await puppeteer.launch({
  executablePath: opts.chromium,
  headless: true,
  timeout: DEADLINE_MS,
  // --no-sandbox: the tests run as root here, where Chromium's sandbox refuses to start.
  args: ["--no-sandbox", "--allow-file-access-from-files", "--disable-gpu", "--disable-dev-shm-usage"],
});
const report = { axe: null, browser: await browser.version(), tags: TAGS, pages: [] };
try {
  for (const path of opts.pages) {
    const page = await browser.newPage();
    page.setDefaultTimeout(DEADLINE_MS);
    await page.setViewport({ width: opts.width, height: 900 });
    await page.goto(pathToFileURL(path).href, { waitUntil: "load", timeout: DEADLINE_MS });
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(async (tags) => {
      const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
      const brief = (x) => ({
        id: x.id,
        impact: x.impact,
        help: x.help,
        nodes: x.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
      });
      return {
        version: window.axe.version,
        violations: r.violations.map(brief),
        incomplete: r.incomplete.map(brief),
        passes: r.passes.map((x) => x.id),
        inapplicable: r.inapplicable.map((x) => x.id),
      };
    }, TAGS);
    report.axe = result.version;
    if (opts.shots) {
      // Named by the page's folder: every page here is an index.html.
      await page.screenshot({ path: join(opts.shots, basename(dirname(path)) + ".png"), fullPage: true });
    }
    report.pages.push({ path, ...result });
    await page.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report));
