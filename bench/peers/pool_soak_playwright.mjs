// The Playwright side of bench/pool_soak: the same items at the same concurrency with the user's
// own mitigation (a new page every 10 items, a new context every 50, per worker). Prints
// "progress N" after each item and a final JSON line; the harness samples PSS of this process
// tree from outside.
// usage: node pool_soak_playwright.mjs <shop url> <items> <concurrency> <heavy every>
import { chromium } from 'playwright-core';

const [shop, itemsArg, concArg, heavyArg] = process.argv.slice(2);
const items = Number(itemsArg);
const concurrency = Number(concArg);
const heavyEvery = Number(heavyArg);

const browser = await chromium.launch({
  executablePath: '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const idFor = (i) => ((i + 1) % heavyEvery === 0 ? 702000 + (i % 1000) : 10000 + i);
let next = 0;
let done = 0;
let failed = 0;

async function worker() {
  let context = await browser.newContext();
  let page = await context.newPage();
  let onPage = 0;
  let onContext = 0;
  for (;;) {
    const i = next++;
    if (i >= items) break;
    if (onContext === 50) {
      await context.close();
      context = await browser.newContext();
      page = await context.newPage();
      onContext = 0;
      onPage = 0;
    } else if (onPage === 10) {
      await page.close();
      page = await context.newPage();
      onPage = 0;
    }
    try {
      await page.goto(`${shop}/product/${idFor(i)}`, { waitUntil: 'load', timeout: 30000 });
      await page.waitForFunction(
        () => document.querySelector('#price') && document.querySelector('#price').dataset.value,
        null, { timeout: 5000 });
      await page.evaluate(() => ({
        name: document.querySelector('.product-name').textContent,
        price: Number(document.querySelector('#price').dataset.value),
      }));
    } catch (e) {
      failed++;
    }
    onPage++;
    onContext++;
    done++;
    process.stdout.write(`progress ${done}\n`);
  }
  await context.close();
}

await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(JSON.stringify({ done, failed }) + '\n');
await browser.close();
