"""The runner behind bench/throughput.sh: rotor's worker through Redis (the real path: queue,
item executor, browser pool, JSONL sink) scraping N fixture products at concurrency C, next to
Crawlee's PlaywrightCrawler and a plain playwright-core script (page rotation 10, context
rotation 50), with the same extraction, run alternately; each at its defaults, then all with
the same resource blocking. Every implementation runs in a session of its own, so the peak PSS
of its whole process tree counts every Chromium process, re-parented crash handlers included.
One JSON line per run, then one median line per (mode, impl) with rotor's ratios."""
import argparse, json, os, shutil, signal, statistics, subprocess, threading, time
import urllib.request

from benchlib import start_redis, start_shop

BLOCKED = "[image, font, media, stylesheet]"


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def processes():
    """(pid, ppid, session, CPU s) of every live, non-zombie process."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            f = stat_fields(int(name))
        except OSError:
            continue
        if f[0] != "Z":
            out.append((int(name), int(f[1]), int(f[3]),
                        (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")))
    return out


class TreeSampler(threading.Thread):
    """Every 100 ms: the root's tree (its session, and every descendant ever seen: Playwright
    starts Chromium in a session of its own, and a crash handler re-parented to init stays
    counted), the peak of its summed PSS, the root's own PSS, and the CPU time last seen of
    processes re-parented away (their parents never reap them, so the root's rusage lacks it)."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.root, self.peak_tree_kb, self.peak_root_kb = root, 0, 0
        self.tracked = {root}
        self.orphan_cpu = {}
        self.stop = threading.Event()

    def members(self):
        procs = processes()
        alive = {pid for pid, _, _, _ in procs}
        grew = True
        while grew:
            grew = False
            for pid, ppid, sid, _ in procs:
                if pid not in self.tracked and (ppid in self.tracked or sid == self.root):
                    self.tracked.add(pid)
                    grew = True
        return [(pid, ppid, cpu) for pid, ppid, _, cpu in procs
                if pid in self.tracked and pid in alive]

    def run(self):
        while not self.stop.is_set():
            members = self.members()
            self.peak_tree_kb = max(self.peak_tree_kb, sum(pss_kb(p) for p, _, _ in members))
            self.peak_root_kb = max(self.peak_root_kb, pss_kb(self.root))
            for pid, ppid, cpu in members:
                if ppid == 1:
                    self.orphan_cpu[pid] = cpu
            self.stop.wait(0.1)


def run_tree(cmd, env=None):
    """Runs cmd in a new session; returns (exit code, wall s, CPU s of the whole tree, peak tree
    PSS MB, peak root PSS MB, stdout). Whatever of the session is left afterwards is killed."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    printed = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    sampler.stop.set()
    sampler.join()
    for pid, _, _ in sampler.members():  # leftovers (crash handlers)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    cpu = usage.ru_utime + usage.ru_stime + sum(sampler.orphan_cpu.values())
    return (os.waitstatus_to_exitcode(status), wall, cpu, sampler.peak_tree_kb / 1024,
            sampler.peak_root_kb / 1024, printed)


def check(path, ids, truth):
    """(missing, wrong): ids without an ok line; ok lines whose values are not the shop's."""
    ok = {}
    if os.path.exists(path):
        files = [path] if os.path.isfile(path) else [os.path.join(path, f) for f in os.listdir(path)]
        for f in files:
            for line in open(f):
                j = json.loads(line)
                if j.get("outcome") == "ok":
                    ok[str(j["item"])] = j.get("fields", {})
    missing = sum(1 for i in ids if i not in ok)
    wrong = 0
    for i in ids:
        if i in ok:
            t, got = truth[i], ok[i]
            if (got.get("name") != t["name"] or got.get("price") != t["price"]
                    or got.get("stock") != t["stock"]):
                wrong += 1
    return missing, wrong


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--modes", default="defaults,blocking")
    p.add_argument("--impls", default="rotor,playwright,crawlee")
    p.add_argument("--work", required=True)
    p.add_argument("--worker", required=True)
    p.add_argument("--rotorctl", required=True)
    p.add_argument("--shop", required=True)
    p.add_argument("--config-dir", required=True)
    a = p.parse_args()

    redis, redis_port = start_redis(a.work)
    shop, base = start_shop(a.shop, a.work)
    # The same platform with every peer's blocking (images, fonts, media, stylesheets).
    blocking_dir = f"{a.work}/config-blocking"
    os.makedirs(blocking_dir)
    text = open(f"{a.config_dir}/demo-shop.yaml").read()
    assert "block: [font, media]" in text, "demo-shop.yaml's block list changed"
    open(f"{blocking_dir}/demo-shop.yaml", "w").write(text.replace("block: [font, media]",
                                                                   f"block: {BLOCKED}"))
    try:
        runs = {}
        first = 20000
        impls = a.impls.split(",")
        modes = a.modes.split(",")
        for mode in modes:
            for r in range(a.rounds):
                order = impls[r % len(impls):] + impls[:r % len(impls)]
                for impl in order:
                    first += a.items  # fresh ids in every run
                    ids = [str(first + i) for i in range(a.items)]
                    truth = {i: json.load(urllib.request.urlopen(f"{base}/api/products/{i}"))
                             for i in ids}
                    block = "1" if mode == "blocking" else "0"
                    if impl == "rotor":
                        out = f"{a.work}/rotor-{first}"
                        cfg = blocking_dir if mode == "blocking" else a.config_dir
                        subprocess.run([a.rotorctl, "--redis-port", str(redis_port), "enqueue",
                                        "--platform", "demo-shop", "--range",
                                        f"{first}-{first + a.items - 1}", "--batch-size", "50"],
                                       check=True, stdout=subprocess.DEVNULL)
                        env = dict(os.environ, ROTOR_SHOP_URL=base, ROTOR_RESULTS_DIR=out)
                        cmd = [a.worker, "--platform", "demo-shop", "--config-dir", cfg,
                               "--redis-port", str(redis_port), "--concurrency",
                               str(a.concurrency), "--worker-id", "bench", "--drain",
                               "--heartbeat-port", "0"]
                    else:
                        out = f"{a.work}/{impl}-{first}.jsonl"
                        env = dict(os.environ, CRAWLEE_STORAGE_DIR=f"{a.work}/crawlee-storage")
                        cmd = ["node", f"bench/peers/throughput_{impl}.mjs", base, str(first),
                               str(a.items), str(a.concurrency), out, block]
                    code, wall, cpu, tree_mb, root_mb, _ = run_tree(cmd, env)
                    missing, wrong = check(out, ids, truth)
                    res = {"bench": "throughput", "impl": impl, "mode": mode, "round": r,
                           "items": a.items, "concurrency": a.concurrency, "exit": code,
                           "wall_s": round(wall, 2), "items_per_s": round(a.items / wall, 2),
                           "cpu_s_per_item": round(cpu / a.items, 4),
                           "peak_tree_pss_mb": round(tree_mb), "driver_pss_mb": round(root_mb, 1),
                           "missing": missing, "wrong": wrong}
                    print(json.dumps(res), flush=True)
                    runs.setdefault((mode, impl), []).append(res)
                    shutil.rmtree(f"{a.work}/crawlee-storage", ignore_errors=True)
        for mode in modes:
            med = {}
            for impl in impls:
                rs = runs[(mode, impl)]
                med[impl] = {k: statistics.median(x[k] for x in rs)
                             for k in ("items_per_s", "cpu_s_per_item", "peak_tree_pss_mb",
                                       "driver_pss_mb")}
                med[impl]["wrong"] = sum(x["wrong"] for x in rs)
                med[impl]["missing"] = sum(x["missing"] for x in rs)
            for impl in impls:
                line = {"bench": "throughput", "impl": impl, "mode": mode, "summary": "median",
                        **med[impl]}
                if impl == "rotor":
                    for peer in impls:
                        if peer == "rotor":
                            continue
                        q = med[peer]
                        line[f"items_per_s_vs_{peer}"] = round(
                            med["rotor"]["items_per_s"] / q["items_per_s"], 2)
                        line[f"cpu_per_item_vs_{peer}"] = round(
                            med["rotor"]["cpu_s_per_item"] / q["cpu_s_per_item"], 2)
                        line[f"peak_tree_pss_vs_{peer}"] = round(
                            med["rotor"]["peak_tree_pss_mb"] / max(1, q["peak_tree_pss_mb"]), 2)
                print(json.dumps(line), flush=True)
    finally:
        shop.terminate()
        redis.terminate()
        shop.wait()
        redis.wait()


if __name__ == "__main__":
    main()
