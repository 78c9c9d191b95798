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

// Redis's CPU (INFO cpu), its time in scripts (INFO commandstats) and this process's CPU, read
// around the processing alone, as the C++ side reads rotor's (adds and start-up left out).
const admin = await queue.client;
async function redisFigures() {
  const info = (await admin.info('cpu')) + (await admin.info('commandstats'));
  const num = (re) => { const m = info.match(re); return m ? Number(m[1]) : 0; };
  return {
    user: num(/used_cpu_user:([0-9.]+)/), sys: num(/used_cpu_sys:([0-9.]+)/),
    scriptUs: num(/cmdstat_evalsha:calls=\d+,usec=(\d+)/) + num(/cmdstat_eval:calls=\d+,usec=(\d+)/),
  };
}
const redis0 = await redisFigures();
const cpu0 = process.cpuUsage();

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
const cpu = process.cpuUsage(cpu0);
const redis1 = await redisFigures();
console.log(JSON.stringify({
  jobs_per_s: Math.round(jobs / seconds),
  add_per_s: Math.round(jobs / addSeconds),
  redis_cpu_us_per_job: Math.round((redis1.user + redis1.sys - redis0.user - redis0.sys) * 1e6 / jobs),
  redis_user_us_per_job: Math.round((redis1.user - redis0.user) * 1e6 / jobs),
  redis_script_us_per_job: Math.round((redis1.scriptUs - redis0.scriptUs) / jobs * 10) / 10,
  client_cpu_us_per_job: Math.round((cpu.user + cpu.system) / jobs),
  figures: 'processing',
}));
await Promise.all(ws.map((w) => w.close()));
await queue.obliterate({ force: true });
await queue.close();
process.exit(0);
