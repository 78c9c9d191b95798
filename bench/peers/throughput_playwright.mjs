// A plain playwright-core scraper: the peer of bench/throughput. CONCURRENCY workers, each with
// the user's own mitigation (a new page every 10 items, a new context every 50), scrape product
// pages FIRST..FIRST+N-1 of the fixture shop with the same extraction as rotor's demo-shop
// platform (wait for #price[data-value]; name, price, stock) and append one JSON line per item
// to OUT. BLOCK=1 aborts images, fonts, media and stylesheets (what rotor blocks in that mode).
//   node throughput_playwright.mjs BASE_URL FIRST N CONCURRENCY OUT BLOCK
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const [base, firstArg, nArg, concArg, out, blockArg] = process.argv.slice(2);
const first = Number(firstArg);
const total = Number(nArg);
const concurrency = Number(concArg);
const blocked = new Set(blockArg === '1' ? ['image', 'font', 'media', 'stylesheet'] : []);
const fd = fs.openSync(out, 'a');

const browser = await chromium.launch({
  executablePath: '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function newPage(context) {
  const page = await context.newPage();
  if (blocked.size > 0) {
    await page.route('**/*', (route) =>
      blocked.has(route.request().resourceType()) ? route.abort() : route.continue());
  }
  return page;
}

let next = 0;
async function worker() {
  let context = await browser.newContext();
  let page = await newPage(context);
  let onPage = 0;
  let onContext = 0;
  for (;;) {
    const i = next++;
    if (i >= total) break;
    if (onContext === 50) {
      await context.close();
      context = await browser.newContext();
      page = await newPage(context);
      onContext = 0;
      onPage = 0;
    } else if (onPage === 10) {
      await page.close();
      page = await newPage(context);
      onPage = 0;
    }
    const id = String(first + i);
    const line = { item: id, outcome: 'failed', fields: {} };
    for (let attempt = 0; attempt < 3 && line.outcome !== 'ok'; attempt++) {
      try {
        await page.goto(`${base}/product/${id}`, { waitUntil: 'load', timeout: 15000 });
        await page.waitForSelector('#price[data-value]', { timeout: 3000 });
        line.fields = await page.evaluate(() => ({
          name: document.querySelector('.product-name')?.textContent?.trim() ?? null,
          price: Number(document.querySelector('#price').dataset.value),
          stock: document.querySelector('.stock')?.dataset.stock ?? null,
        }));
        line.outcome = 'ok';
      } catch (e) {
        line.reason = String(e.message).slice(0, 200);
      }
    }
    fs.writeSync(fd, JSON.stringify(line) + '\n');
    onPage++;
    onContext++;
  }
  await context.close();
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const crawlS = (performance.now() - t0) / 1000;
await browser.close();
fs.closeSync(fd);
process.stdout.write(JSON.stringify({ crawl_s: crawlS }) + '\n');
