// Submits the sign-up form twice in headless Chromium: once with JavaScript on (the page's script
// solves the proof-of-work challenge, if the form has one, before the form goes) and once with
// JavaScript off. Prints one JSON object:
//   {js: {posted, status, text, notice, violations}, nojs: {posted, status, text, notice}}
// where posted is the form body the browser sent, status the answer's HTTP status, text the
// answer page's text, notice whether the "needs JavaScript" notice was visible on the form, and
// violations axe-core's findings on the form.
//
//   node signup-pow.mjs DAEMON ADDRESS_WITH_JS ADDRESS_WITHOUT_JS
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [daemon, withJs, withoutJs] = process.argv.slice(2);
const NOTICE = 'This form needs JavaScript:';

async function submit(browser, javaScriptEnabled, address) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled });
  const page = await context.newPage();
  await page.goto(`${daemon}/subscribe`);
  const notice = await page.getByText(NOTICE).isVisible();
  let violations = null;
  if (javaScriptEnabled) {
    await page.addScriptTag({ content: axeSource });
    violations = (await page.evaluate(async () => await window.axe.run(document))).violations
      .map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target) }));
  }
  await page.getByLabel('Email address').fill(address);
  const answer = page.waitForResponse((r) => r.url().endsWith('/subscribe') && r.request().method() === 'POST',
    { timeout: 60000 });
  await page.keyboard.press('Enter');
  const response = await answer;
  await page.waitForLoadState('load');
  const result = {
    posted: response.request().postData(),
    status: response.status(),
    text: await page.locator('body').innerText(),
    notice,
    violations,
  };
  await context.close();
  return result;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const js = await submit(browser, true, withJs);
  const nojs = await submit(browser, false, withoutJs);
  console.log(JSON.stringify({ js, nojs }));
} finally {
  await browser.close();
}
