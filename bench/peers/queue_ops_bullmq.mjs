// The BullMQ side of bench/queue_ops: add N jobs, then W workers (concurrency 1 each) process
// them with a no-op processor. Prints one JSON line: add and process rates.
// usage: node queue_ops_bullmq.mjs <redis port> <jobs> <workers> [kept|deleted] [items per job]
// kept: completed jobs stay 7 days (removeOnComplete {age}), as rotor keeps a done job's hash;
// deleted: removed at completion (removeOnComplete {count: 0}), as rotor's keep_done_jobs false.
import { Queue, Worker } from 'bullmq';

const [portArg, jobsArg, workersArg, doneArg = 'deleted', itemsArg = '1'] = process.argv.slice(2);
const itemsPerJob = Number(itemsArg);
const removeOnComplete = doneArg === 'kept' ? { age: 7 * 24 * 3600 } : { count: 0 };
const connection = { host: '127.0.0.1', port: Number(portArg) };
const jobs = Number(jobsArg);
const workers = Number(workersArg);
const name = `bench-${process.pid}-${Date.now()}`;

const queue = new Queue(name, { connection });
const addStart = process.hrtime.bigint();
const batch = 1000;
for (let i = 0; i < jobs; i += batch) {
  const chunk = [];
  for (let j = i; j < Math.min(jobs, i + batch); j++) {
    // The same data rotor's jobs carry: ids of a shop's width, items per job of them.
    const ids = [];
    for (let k = 0; k < itemsPerJob; k++) ids.push(String(1000000 + j * itemsPerJob + k));
    chunk.push({ name: 'item', data: { batch_index: j, product_ids: ids } });
  }
  await queue.addBulk(chunk);
}
const addSeconds = Number(process.hrtime.bigint() - addStart) / 1e9;

let done = 0;
let resolveAll;
const all = new Promise((r) => { resolveAll = r; });
const started = process.hrtime.bigint();
const ws = [];
for (let w = 0; w < workers; w++) {
  const worker = new Worker(name, async () => {}, { connection, concurrency: 1,
    removeOnComplete });
  worker.on('completed', () => { if (++done === jobs) resolveAll(); });
  ws.push(worker);
}
await all;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ jobs_per_s: Math.round(jobs / seconds), add_per_s: Math.round(jobs / addSeconds) }));
await Promise.all(ws.map((w) => w.close()));
await queue.obliterate({ force: true });
await queue.close();
process.exit(0);
