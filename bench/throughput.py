"""The runner behind bench/throughput.sh: rotor's worker through Redis (the real path: queue,
item executor, browser pool, JSONL sink) scraping N fixture products at concurrency C, next to
Crawlee's PlaywrightCrawler and a plain playwright-core script (page rotation 10, context
rotation 50), with the same extraction, run alternately; each at its defaults, then all with
the same resource blocking. Every implementation runs in a session of its own, so the peak PSS
of its whole process tree counts every Chromium process, re-parented crash handlers included.
One JSON line per run, then one median line per (mode, impl) with rotor's ratios."""
import argparse, ctypes, json, os, shutil, signal, statistics, subprocess, sys, threading, time
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
    """(pid, ppid, session, CPU s, zombie, start time) of every process."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            f = stat_fields(int(name))
        except OSError:
            continue
        out.append((int(name), int(f[1]), int(f[3]),
                    (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"), f[0] == "Z",
                    int(f[19])))
    return out


def become_subreaper():
    """Orphans of the measured trees come to this process instead of init, so their CPU time
    (and that of the children they reaped) can be read off wait4. Without it a browser that
    exits before its zygote loses every renderer's CPU from the count: the zygote reaped them,
    then nobody reaped the zygote."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def kind_of(pid):
    """What a process of the tree is: Chromium's process types (renderer, gpu-process, utility
    by sub-type, zygote, crashpad-handler, browser), the driver (worker, node) or other.
    Chromium rewrites its children's command lines into one space-separated string."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return "gone"
    argv = raw.replace(b"\0", b" ").split()
    exe = os.path.basename(argv[0].decode(errors="replace")) if argv else ""
    if "crashpad" in exe:
        return "crashpad-handler"
    kind = sub = None
    for a in argv:
        if a.startswith(b"--type="):
            kind = a[7:].decode(errors="replace")
        elif a.startswith(b"--utility-sub-type="):
            sub = a[19:].decode(errors="replace").split(".")[-1]
    if kind:
        return f"utility:{sub}" if kind == "utility" and sub else kind
    if "chrom" in exe:
        return "browser"
    return "driver" if exe in ("worker", "node") else exe or "other"


class TreeSampler(threading.Thread):
    """Every 100 ms: the root's tree (its session, every descendant ever seen, and every
    process re-parented to this subreaper runner that is not one of its own services: Playwright
    starts Chromium in a session of its own, crash handlers double-fork away), the peak of its
    summed PSS, the root's own PSS, and each member's CPU time and kind. Processes are known by
    (pid, start time), so a reused pid is a new process. Members re-parented to this process are
    reaped here and their CPU time (with their reaped children's) is taken from wait4."""

    def __init__(self, root, services):
        super().__init__(daemon=True)
        self.root, self.services = root, set(services)
        self.peak_tree_kb, self.peak_root_kb = 0, 0
        self.tracked = set()  # (pid, start time)
        self.adopted_cpu = 0.0  # CPU s of re-parented members reaped here
        self.kinds, self.last_cpu = {}, {}  # per (pid, start), for the CPU split by kind
        self.peak_by_kind = {}  # kind -> (processes, PSS kB) at the peak
        self.stop = threading.Event()

    def members(self):
        """(pid, ppid, CPU s, zombie, key) of the tree's processes now, and every process."""
        procs = processes()
        key_of = {pid: (pid, start) for pid, _, _, _, _, start in procs}
        me = os.getpid()
        grew = True
        while grew:
            grew = False
            for pid, ppid, sid, _, _, _ in procs:
                key = key_of[pid]
                if key in self.tracked:
                    continue
                adopted = ppid == me and pid not in self.services
                if (pid == self.root or sid == self.root or adopted
                        or (ppid in key_of and key_of[ppid] in self.tracked)):
                    self.tracked.add(key)
                    grew = True
        return [(pid, ppid, cpu, zombie, key_of[pid])
                for pid, ppid, _, cpu, zombie, _ in procs if key_of[pid] in self.tracked]

    def reap_adopted(self, members):
        me = os.getpid()
        for pid, ppid, _, zombie, _ in members:
            if ppid != me or pid == self.root or pid in self.services or not zombie:
                continue
            try:
                got, _, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got == pid:
                # ru_* of a reaped child include the children it reaped itself.
                self.adopted_cpu += usage.ru_utime + usage.ru_stime

    def sample(self):
        members = self.members()
        live = [m for m in members if not m[3]]
        for pid, _, cpu, _, key in live:
            if self.kinds.get(key, "other") in ("zygote", "other", "gone"):
                self.kinds[key] = kind_of(pid)  # a fork renames itself after a moment
            self.last_cpu[key] = cpu
        pss = {(pid, key): pss_kb(pid) for pid, _, _, _, key in live}
        if sum(pss.values()) > self.peak_tree_kb:
            self.peak_tree_kb = sum(pss.values())
            self.peak_by_kind = {}
            for (_, key), kb in pss.items():
                k = self.kinds[key]
                n, total = self.peak_by_kind.get(k, (0, 0))
                self.peak_by_kind[k] = (n + 1, total + kb)
        self.peak_root_kb = max(self.peak_root_kb,
                                next((kb for (pid, _), kb in pss.items() if pid == self.root), 0))
        self.reap_adopted(members)
        return members

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.1)

    def cpu_by_kind(self):
        """CPU s last seen per process kind (each process's own CPU up to its last sample: a few
        per cent less than the wait4 total)."""
        out = {}
        for key, cpu in self.last_cpu.items():
            out[self.kinds[key]] = out.get(self.kinds[key], 0) + cpu
        return out


def run_tree(cmd, env, services):
    """Runs cmd in a new session; returns (exit code, wall s, CPU s of the whole tree, CPU s of
    it read off re-parented processes, peak tree PSS MB, peak root PSS MB, CPU s by process
    kind, (processes, PSS kB) by kind at the peak). Whatever of the tree is left afterwards is
    killed and reaped. services: pids of the runner's own children that are not measured."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    sampler = TreeSampler(proc.pid, services)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for the pid again
    wall = time.monotonic() - t0
    sampler.stop.set()
    sampler.join()
    for _ in range(100):  # leftovers (crash handlers, a zygote): killed, then reaped here
        left = [m for m in sampler.sample() if m[0] != proc.pid]
        if not left:
            break
        for pid, _, _, zombie, _ in left:
            if not zombie:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.05)
    else:
        print(f"throughput: {len(left)} processes of {cmd[0]}'s tree outlived it",
              file=sys.stderr)
    cpu = usage.ru_utime + usage.ru_stime + sampler.adopted_cpu
    return (proc.returncode, wall, cpu, sampler.adopted_cpu, sampler.peak_tree_kb / 1024,
            sampler.peak_root_kb / 1024, sampler.cpu_by_kind(), sampler.peak_by_kind)


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
    become_subreaper()

    # The same platform with every peer's blocking (images, fonts, media, stylesheets); written
    # before any server starts, so a failure here leaves nothing running.
    blocking_dir = f"{a.work}/config-blocking"
    os.makedirs(blocking_dir, exist_ok=True)
    text = open(f"{a.config_dir}/demo-shop.yaml").read()
    assert "block: [font, media]" in text, "demo-shop.yaml's block list changed"
    open(f"{blocking_dir}/demo-shop.yaml", "w").write(text.replace("block: [font, media]",
                                                                   f"block: {BLOCKED}"))
    redis, redis_port = start_redis(a.work)
    shop = None
    try:
        shop, base = start_shop(a.shop, a.work)
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
                    code, wall, cpu, adopted, tree_mb, root_mb, kinds, peak_kinds = run_tree(
                        cmd, env, (redis.pid, shop.pid))
                    missing, wrong = check(out, ids, truth)
                    res = {"bench": "throughput", "impl": impl, "mode": mode, "round": r,
                           "items": a.items, "concurrency": a.concurrency, "exit": code,
                           "wall_s": round(wall, 2), "items_per_s": round(a.items / wall, 2),
                           "cpu_s_per_item": round(cpu / a.items, 4),
                           # the part read off processes re-parented to the runner (before
                           # 2026-11-29 only their own CPU was counted, not their children's)
                           "cpu_share_adopted": round(adopted / max(cpu, 1e-9), 2),
                           "peak_tree_pss_mb": round(tree_mb), "driver_pss_mb": round(root_mb, 1),
                           "missing": missing, "wrong": wrong,
                           "cpu_ms_per_item_by_kind": {
                               k: round(1000 * v / a.items, 1)
                               for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
                           "peak_pss_mb_by_kind": {
                               k: f"{n}x {round(kb / 1024)}" for k, (n, kb) in
                               sorted(peak_kinds.items(), key=lambda kv: -kv[1][1])}}
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
        for server in (shop, redis):
            if server is not None:
                server.terminate()
                server.wait()


if __name__ == "__main__":
    main()
