// Drives the sign-up pages in headless Chromium at phone width, the way a reader does, and runs
// axe-core on every page. Prints one JSON object: the axe violations per page and what it found.
//
//   node signup.mjs subscribe DAEMON MAILDEV ADDRESS BASE_URL [SHOTS_DIR]
//     opens DAEMON/subscribe, fills the form (name, ADDRESS, every digest ticked), submits, reads
//     the confirmation mail from maildev's API (MAILDEV = host:port), opens its link (BASE_URL
//     replaced by DAEMON), confirms, opens the subscription page and keeps only the last digest.
//     Prints {violations, manage} where manage is the subscription page's URL on DAEMON.
//   node signup.mjs leave MANAGE_URL
//     presses "Unsubscribe from everything" on the subscription page.
//
// With SHOTS_DIR, screenshots of the form, the confirmation mail and the subscription page are
// written there (signup-form.png, signup-mail.png, signup-manage.png).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [mode, ...args] = process.argv.slice(2);
const violations = {};

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  violations[name] = result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target) }));
}

async function confirmationMail(maildev, address) {
  for (let i = 0; i < 200; i++) {
    const all = await (await fetch(`http://${maildev}/api/email`)).json();
    const mail = all.find((m) => m.to.some((t) => t.address === address) && /Confirm/.test(m.subject));
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no confirmation mail for ${address}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  if (mode === 'subscribe') {
    const [daemon, maildev, address, base, shots] = args;
    await page.goto(`${daemon}/subscribe`);
    await axe(page, 'subscribe');
    await page.getByLabel('Name (optional)').fill('Browser Reader');
    await page.getByLabel('Email address').fill(address);
    for (const box of await page.locator('input[name=digest]').all()) await box.check();
    if (shots) await page.screenshot({ path: `${shots}/signup-form.png`, fullPage: true });
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=Check your inbox');
    await axe(page, 'sent');

    const mail = await confirmationMail(maildev, address);
    const mailPage = await context.newPage();
    await mailPage.setContent(mail.html);
    if (shots) await mailPage.screenshot({ path: `${shots}/signup-mail.png`, fullPage: true });
    const link = (await mailPage.locator('a').first().getAttribute('href')).replace(base, daemon);
    await mailPage.close();

    await page.goto(link);
    await axe(page, 'confirm');
    await page.getByRole('button').click();
    await page.waitForSelector('text=You are subscribed');
    await axe(page, 'confirmed');
    const manage = (await page.getByRole('link', { name: 'Manage your subscription' }).getAttribute('href')).replace(base, daemon);

    await page.goto(manage);
    await axe(page, 'manage');
    const boxes = await page.locator('input[name=digest]').all();
    for (const box of boxes.slice(0, -1)) await box.uncheck();
    await boxes[boxes.length - 1].check();
    await page.getByRole('button', { name: 'Save my choices' }).click();
    await page.waitForSelector('text=Your choices are saved');
    if (shots) await page.screenshot({ path: `${shots}/signup-manage.png`, fullPage: true });

    await page.goto(`${daemon}/manage`);
    await axe(page, 'fresh-link');
    console.log(JSON.stringify({ violations, manage }));
  } else if (mode === 'leave') {
    const [manage] = args;
    await page.goto(manage);
    await page.getByRole('button', { name: 'Unsubscribe from everything' }).click();
    await page.waitForSelector('text=You are unsubscribed');
    await axe(page, 'left');
    console.log(JSON.stringify({ violations }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await browser.close();
}
