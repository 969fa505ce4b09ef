// Opens an unsubscribe link in headless Chromium, presses the button and prints what the page
// says afterwards, as JSON. Usage: node unsubscribe.mjs URL
import { chromium } from 'playwright-core';

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const before = await page.goto(url);
  const beforeTitle = await page.textContent('h1');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=You are unsubscribed', { timeout: 10000 });
  console.log(JSON.stringify({
    getStatus: before.status(),
    before: beforeTitle,
    after: await page.textContent('h1'),
    url: page.url(),
  }));
} finally {
  await browser.close();
}
