// Crawlee's HttpCrawler on the fixture shop's JSON route: the peer of bench/api_throughput.
// Fetches N product URLs at a fixed concurrency, parses the JSON, reads name/price/stock and
// appends one JSON line per item to OUT (as rotor's JSONL sink does). In-memory storage only.
//   node api_throughput_crawlee.mjs BASE_URL FIRST_ID N CONCURRENCY OUT
import { HttpCrawler, Configuration, log } from 'crawlee';
import fs from 'node:fs';

const [base, first, n, concurrency, out] = process.argv.slice(2);
const total = Number(n);
const c = Number(concurrency);
log.setLevel(log.LEVELS.ERROR);
const fd = fs.openSync(out, 'a');
const config = new Configuration({ persistStorage: false, purgeOnStart: true });
const crawler = new HttpCrawler(
  {
    minConcurrency: c,
    maxConcurrency: c,
    maxRequestRetries: 2,
    requestHandlerTimeoutSecs: 30,
    additionalMimeTypes: ['application/json'],
    async requestHandler({ request, body }) {
      const p = JSON.parse(body.toString());
      const line = {
        platform: 'demo-api',
        item: request.userData.id,
        outcome: 'ok',
        fields: { name: p.name, price: p.price, stock: p.stock },
        url: request.url,
        at_ms: Date.now(),
      };
      fs.writeSync(fd, JSON.stringify(line) + '\n');
    },
  },
  config,
);
const requests = [];
for (let i = 0; i < total; i++) {
  const id = String(Number(first) + i);
  requests.push({ url: `${base}/api/products/${id}`, userData: { id }, uniqueKey: id });
}
const t0 = performance.now();
await crawler.run(requests);
const crawlS = (performance.now() - t0) / 1000;
fs.fdatasyncSync(fd);
fs.closeSync(fd);
process.stdout.write(JSON.stringify({ crawl_s: crawlS }) + '\n');
