// The Playwright side of bench/cdp_roundtrip: page.evaluate("1") in a loop on P pages of the
// same Chromium rotor measures (connected over CDP), one JSON line on stdout.
// usage: node cdp_roundtrip_playwright.mjs <cdp http endpoint> <pages> <iterations per page>
import { chromium } from 'playwright-core';

const [endpoint, pagesArg, itersArg] = process.argv.slice(2);
const pages = Number(pagesArg);
const iterations = Number(itersArg);

const browser = await chromium.connectOverCDP(endpoint);
const context = await browser.newContext();
const opened = [];
for (let i = 0; i < pages; i++) opened.push(await context.newPage());
for (const p of opened) for (let i = 0; i < 50; i++) await p.evaluate('1'); // warm-up

const samples = [];
const started = process.hrtime.bigint();
await Promise.all(opened.map(async (p) => {
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await p.evaluate('1');
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
samples.sort((a, b) => a - b);
const pct = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
console.log(JSON.stringify({
  p50_us: Math.round(pct(0.5)), p99_us: Math.round(pct(0.99)),
  per_s: Math.round(samples.length / seconds), calls: samples.length,
}));
await context.close();
await browser.close(); // disconnects; the browser belongs to the benchmark
