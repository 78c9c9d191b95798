"""The runner behind bench/worker_soak.sh (one JSON line per run, then one median line per
impl with its ratios to the first impl)."""
import argparse, json, os, resource, statistics, subprocess, sys, time

from benchlib import free_port


def find(dir_, name):
    for p in (f"{dir_}/{name}", f"{dir_}/src/app/{name}", f"{dir_}/tools/fixture-shop/{name}"):
        if os.access(p, os.X_OK):
            return p
    sys.exit(f"bench: no {name} under {dir_}")


def tree(root):
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_mb(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def run_once(dir_, label, items, work):
    worker, rotorctl, shop_bin = find(dir_, "worker"), find(dir_, "rotorctl"), find(dir_, "fixture-shop")
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", work, "--loglevel", "warning"],
                             stdout=subprocess.DEVNULL)
    port_file = f"{work}/shop.port"
    if os.path.exists(port_file):
        os.unlink(port_file)
    shop = subprocess.Popen([shop_bin, "--port", "0", "--port-file", port_file],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        base = f"http://127.0.0.1:{open(port_file).read().strip()}"
        new_style = "--config-dir" in subprocess.run([worker, "--help"], capture_output=True, text=True).stdout
        platform = "demo-shop" if new_style else "fixture"
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run([rotorctl, "--redis-port", str(port), "enqueue", "--platform", platform,
                        "--range", f"100001-{100000 + items}", "--batch-size", "50"],
                       check=True, capture_output=True)
        env = dict(os.environ, ROTOR_SHOP_URL=base, ROTOR_RESULTS_DIR=f"{work}/results")
        cmd = [worker, "--platform", platform, "--redis-port", str(port), "--drain", "--concurrency", "4"]
        cmd += ["--config-dir", "config/platforms"] if new_style else ["--base-url", base]
        if "--heartbeat-port" in subprocess.run([worker, "--help"], capture_output=True,
                                                text=True).stdout:
            cmd += ["--heartbeat-port", "0"]  # any free port: 8080 may be taken
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, pss_mb(tree(proc.pid)))
            time.sleep(0.25)
        seconds = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"bench": "worker_soak", "impl": label, "items": items, "exit": proc.returncode,
                "items_per_s": round(items / seconds, 2), "peak_pss_mb": round(peak),
                "cpu_s_per_100": round(cpu * 100 / items, 1)}
    finally:
        for p in (shop, redis):
            p.terminate()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", required=True)
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args()
    impls = [(b.split("=", 1)[0], b.split("=", 1)[1] if "=" in b else b) for b in a.bins]
    results = {label: [] for _, label in impls}
    for r in range(1, a.rounds + 1):
        for dir_, label in impls:
            line = run_once(dir_, label, a.items, a.work)
            line["round"] = r
            print(json.dumps(line), flush=True)
            results[label].append(line)
    base = None
    for _, label in impls:
        runs = results[label]
        med = {k: round(statistics.median(x[k] for x in runs), 2)
               for k in ("items_per_s", "peak_pss_mb", "cpu_s_per_100")}
        line = {"bench": "worker_soak", "impl": label, "round": "median", **med}
        if base is None:
            base = med
        else:
            line["rotor_vs_this"] = {k: round(base[k] / med[k], 2) for k in med if med[k]}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
