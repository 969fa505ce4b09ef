// Renders HTML files in headless Chromium at email widths and writes full-page PNGs, printing the
// layout metrics of each as one JSON array on stdout.
// Usage: node screenshots.mjs OUT_DIR NAME=FILE.html... (each file at 600px and at 375px wide).
// Requests other than file: URLs are refused, as an email client that blocks remote images would:
// the example avatars (avatars.example.com) never load, so the screenshots show how they degrade.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const WIDTHS = [600, 375];
const [outDir, ...pages] = process.argv.slice(2);
if (!outDir || pages.length === 0 || pages.some((p) => !p.includes('='))) {
  console.error('usage: node screenshots.mjs OUT_DIR NAME=FILE.html...');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
try {
  for (const spec of pages) {
    const [name, file] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
    for (const width of WIDTHS) {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file:') ? route.continue() : route.abort());
      await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
      const metrics = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        scrollHeight: document.documentElement.scrollHeight,
      }));
      const png = join(outDir, `${name}-${width}.png`);
      await page.screenshot({ path: png, fullPage: true });
      results.push({ name, width, png, ...metrics });
      await page.close();
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
