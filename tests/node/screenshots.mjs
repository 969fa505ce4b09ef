// Renders HTML files in headless Chromium at email widths and writes full-page PNGs, printing the
// layout metrics of each as one JSON array on stdout.
// Usage: node screenshots.mjs [--widths 600,375] [--top PX] OUT_DIR NAME=FILE.html...
// Each file is shot at each width (default 600px and 375px), as OUT_DIR/NAME-WIDTH.png; with
// --top, only the top PX pixels of the page are kept (for the README's picture).
// Requests other than file: URLs are refused, as an email client that blocks remote images would:
// the example avatars (avatars.example.com) never load, so the screenshots show how they degrade.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const options = { widths: '600,375', top: '0' };
while (args[0] === '--widths' || args[0] === '--top') {
  const [flag, value] = args.splice(0, 2);
  options[flag.slice(2)] = value;
}
const widths = options.widths.split(',').map(Number);
const top = Number(options.top);
const [outDir, ...pages] = args;
if (!outDir || pages.length === 0 || pages.some((p) => !p.includes('='))
  || widths.some((w) => !(w > 0)) || !(top >= 0)) {
  console.error('usage: node screenshots.mjs [--widths 600,375] [--top PX] OUT_DIR NAME=FILE.html...');
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
    for (const width of widths) {
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
      const clip = top ? { x: 0, y: 0, width, height: Math.min(top, metrics.scrollHeight) } : undefined;
      await page.screenshot({ path: png, fullPage: true, clip });
      results.push({ name, width, png, ...metrics });
      await page.close();
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
