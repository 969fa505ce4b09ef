// Checks an HTML email against the caniemail.com data (npm `caniemail`) for the clients digest
// supports, and prints one JSON object on stdout:
//   { clients, unsupported: [{client, feature}], allowed: [{client, feature, reason}], partial }
// `unsupported` lists what no allow-list entry covers; `partial` counts partly supported features.
// Usage: node caniemail.mjs EMAIL.html
import { readFileSync } from 'node:fs';
import { caniemail } from 'caniemail';

// Gmail (web, mobile web, iOS, Android), Outlook (Windows, macOS, web) and Apple Mail.
const CLIENTS = [
  'gmail.desktop-webmail', 'gmail.mobile-webmail', 'gmail.ios', 'gmail.android',
  'outlook.windows', 'outlook.macos', 'outlook.outlook-com',
  'apple-mail.macos', 'apple-mail.ios',
];

// Progressive enhancements: features some of these clients lack, where the email still reads
// well without them. Each entry names the exact clients it excuses and why.
const PREHEADER = 'the hidden preheader: every client hides it by display:none, by max-height:0 '
  + 'with overflow:hidden, or (Outlook for Windows) by mso-hide:all';
const ALLOWED = {
  // Small-screen padding and the dark-mode palette. Without them the layout is the fluid
  // 600px table in its light colours, which every client shows.
  '@media': {
    clients: ['gmail.mobile-webmail', 'outlook.windows'],
    reason: 'responsive and dark-mode rules; without them the fluid 600px light layout shows',
  },
  // The one <style> holds only those @media rules: everything else is inlined.
  '<style> element': {
    clients: ['gmail.mobile-webmail'],
    reason: 'holds only the @media rules; every other rule is inlined',
  },
  // A hint to clients with a dark mode that the email brings its own dark colours; clients
  // that do not read it ignore it (and their own inversion meets explicit backgrounds).
  'color-scheme meta tag': {
    clients: ['gmail.desktop-webmail', 'gmail.mobile-webmail', 'gmail.ios', 'gmail.android',
      'outlook.windows', 'outlook.macos', 'outlook.outlook-com', 'apple-mail.ios'],
    reason: 'dark-mode hint, ignored where unsupported; backgrounds are explicit',
  },
  // Rounded corners of the card, badges and avatars: square where unsupported.
  'border-radius': { clients: ['outlook.windows'], reason: 'square corners instead' },
  'display:none': { clients: ['gmail.mobile-webmail'], reason: PREHEADER },
  'max-height property': { clients: ['outlook.windows'], reason: PREHEADER },
  overflow: { clients: ['outlook.windows'], reason: PREHEADER },
  // Outlook for Mac replaces <body> (and its bgcolor): the full-width page table carries the
  // same background colour.
  '<body> element': {
    clients: ['outlook.macos'],
    reason: 'body attributes dropped; the full-width page table repeats the background',
  },
};

const file = process.argv[2];
if (!file) {
  console.error('usage: node caniemail.mjs EMAIL.html');
  process.exit(2);
}
const { issues } = caniemail({ clients: CLIENTS, html: readFileSync(file, 'utf8') });

const unsupported = [];
const allowed = [];
const seen = new Set();
for (const [client, list] of issues.errors) {
  for (const issue of list) {
    const key = `${client}\u0000${issue.title}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = ALLOWED[issue.title];
    if (entry && entry.clients.includes(client)) {
      allowed.push({ client, feature: issue.title, reason: entry.reason });
    } else {
      unsupported.push({ client, feature: issue.title });
    }
  }
}
let partial = 0;
for (const list of issues.warnings.values()) partial += list.length;
console.log(JSON.stringify({ clients: CLIENTS, unsupported, allowed, partial }));
