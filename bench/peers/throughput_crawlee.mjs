// Crawlee's PlaywrightCrawler (its defaults: browser pool, page and browser retirement, session
// pool, autoscaling pinned to CONCURRENCY) on the fixture shop's product pages: the peer of
// bench/throughput, with the same extraction as rotor's demo-shop platform. In-memory storage.
// BLOCK=1 aborts images, fonts, media and stylesheets.
//   node throughput_crawlee.mjs BASE_URL FIRST N CONCURRENCY OUT BLOCK
import { PlaywrightCrawler, Configuration, log } from 'crawlee';
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const [base, firstArg, nArg, concArg, out, blockArg] = process.argv.slice(2);
const first = Number(firstArg);
const total = Number(nArg);
const c = Number(concArg);
const blocked = new Set(blockArg === '1' ? ['image', 'font', 'media', 'stylesheet'] : []);
log.setLevel(log.LEVELS.ERROR);
const fd = fs.openSync(out, 'a');
const config = new Configuration({ persistStorage: false, purgeOnStart: true });
const crawler = new PlaywrightCrawler(
  {
    minConcurrency: c,
    maxConcurrency: c,
    maxRequestRetries: 2,
    navigationTimeoutSecs: 15,
    requestHandlerTimeoutSecs: 30,
    headless: true,
    launchContext: {
      launcher: chromium, // playwright-core's (the full playwright package is not installed)
      launchOptions: {
        executablePath: '/usr/lib/chromium/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      },
    },
    preNavigationHooks: [
      async ({ page }) => {
        if (blocked.size > 0) {
          await page.route('**/*', (route) =>
            blocked.has(route.request().resourceType()) ? route.abort() : route.continue());
        }
      },
    ],
    async requestHandler({ request, page }) {
      await page.waitForSelector('#price[data-value]', { timeout: 3000 });
      const fields = await page.evaluate(() => ({
        name: document.querySelector('.product-name')?.textContent?.trim() ?? null,
        price: Number(document.querySelector('#price').dataset.value),
        stock: document.querySelector('.stock')?.dataset.stock ?? null,
      }));
      fs.writeSync(fd, JSON.stringify({ item: request.userData.id, outcome: 'ok', fields }) + '\n');
    },
    async failedRequestHandler({ request, error }) {
      fs.writeSync(fd, JSON.stringify({ item: request.userData.id, outcome: 'failed',
                                        reason: String(error?.message).slice(0, 200) }) + '\n');
    },
  },
  config,
);
const requests = [];
for (let i = 0; i < total; i++) {
  const id = String(first + i);
  requests.push({ url: `${base}/product/${id}`, userData: { id }, uniqueKey: id });
}
const t0 = performance.now();
await crawler.run(requests);
const crawlS = (performance.now() - t0) / 1000;
fs.closeSync(fd);
process.stdout.write(JSON.stringify({ crawl_s: crawlS }) + '\n');
