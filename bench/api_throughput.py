"""The runner behind bench/api_throughput.sh: rotor's worker on the demo-api platform (Redis
queue, item executor, libcurl multi, JSONL sink) and Crawlee's HttpCrawler fetching the same
JSON, alternately, at each concurrency level. One JSON line per run, then one median line per
(impl, level) with rotor's ratios to Crawlee."""
import argparse, json, os, statistics, subprocess, sys, time

from benchlib import start_redis, start_shop


def cpu_seconds(pid):
    """utime + stime of a live process (clock ticks -> s)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_cpu(proc):
    """Waits for a child and returns its (and its children's) CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def check_lines(path, first, n):
    """Items with a line, and those whose price is not the shop's (the catalog's formula is not
    repeated here: a line's price must equal what /api/products/{id} says, read once)."""
    seen, lines = set(), 0
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                lines += 1
                j = json.loads(line)
                if j.get("outcome") == "ok" and j["fields"].get("price") is not None:
                    seen.add(j["item"])
    missing = n - len(seen & {str(first + i) for i in range(n)})
    return lines, missing


def wrong_values(path, base, sample):
    import urllib.request
    wrong = 0
    with open(path) as f:
        rows = [json.loads(l) for l in f]
    for j in rows[:sample]:
        want = json.load(urllib.request.urlopen(f"{base}/api/products/{j['item']}"))
        if j["fields"].get("price") != want["price"] or j["fields"].get("name") != want["name"]:
            wrong += 1
    return wrong


def run_rotor(a, work, base, redis_port, redis_pid, first, level):
    out = f"{work}/rotor-{level}-{first}"
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, ROTOR_SHOP_URL=base, ROTOR_RESULTS_DIR=out)
    subprocess.run([a.rotorctl, "--redis-port", str(redis_port), "enqueue", "--platform", "demo-api",
                    "--range", f"{first}-{first + a.items - 1}", "--batch-size", str(a.batch)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis_cpu0 = cpu_seconds(redis_pid)
    t0 = time.monotonic()
    proc = subprocess.Popen([a.worker, "--platform", "demo-api", "--config-dir", a.config_dir,
                             "--redis-port", str(redis_port), "--concurrency", str(level),
                             "--worker-id", "bench", "--drain", "--heartbeat-port", "0"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = wait_cpu(proc)
    wall = time.monotonic() - t0
    redis_cpu = cpu_seconds(redis_pid) - redis_cpu0
    files = [f"{out}/{f}" for f in os.listdir(out)]
    path = files[0] if files else f"{out}/none"
    lines, missing = check_lines(path, first, a.items)
    return {"wall_s": wall, "cpu_s": cpu, "redis_cpu_s": redis_cpu, "lines": lines,
            "missing": missing, "wrong": wrong_values(path, base, 50) if lines else 0,
            "exit": proc.returncode}


def run_crawlee(a, work, base, first, level):
    out = f"{work}/crawlee-{level}-{first}.jsonl"
    t0 = time.monotonic()
    proc = subprocess.Popen(["node", "bench/peers/api_throughput_crawlee.mjs", base, str(first),
                             str(a.items), str(level), out],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=os.getcwd())
    printed = proc.stdout.read().decode()
    cpu = wait_cpu(proc)
    wall = time.monotonic() - t0
    try:
        crawl_s = json.loads(printed.strip().splitlines()[-1])["crawl_s"]
    except (ValueError, IndexError, KeyError):
        crawl_s = None
    lines, missing = check_lines(out, first, a.items)
    return {"wall_s": wall, "crawl_s": crawl_s, "cpu_s": cpu, "redis_cpu_s": 0.0, "lines": lines,
            "missing": missing,
            "wrong": wrong_values(out, base, 50) if lines else 0, "exit": proc.returncode}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--levels", default="1,16,128")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--work", required=True)
    p.add_argument("--worker", required=True)
    p.add_argument("--rotorctl", required=True)
    p.add_argument("--shop", required=True)
    p.add_argument("--config-dir", required=True)
    a = p.parse_args()
    redis, redis_port = start_redis(a.work)
    shop, base = start_shop(a.shop, a.work)
    try:
        time.sleep(0.2)
        runs = {}
        first = 100000
        for level in [int(x) for x in a.levels.split(",")]:
            for r in range(a.rounds):
                order = ["rotor", "crawlee"] if r % 2 == 0 else ["crawlee", "rotor"]
                for impl in order:
                    first += a.items  # fresh ids: nothing cached anywhere
                    res = (run_rotor(a, a.work, base, redis_port, redis.pid, first, level)
                           if impl == "rotor" else run_crawlee(a, a.work, base, first, level))
                    res.update({"bench": "api_throughput", "impl": impl, "level": level,
                                "items": a.items, "round": r,
                                "items_per_s": round(a.items / res["wall_s"], 1),
                                "cpu_ms_per_item": round(1000 * res["cpu_s"] / a.items, 3)})
                    print(json.dumps(res), flush=True)
                    runs.setdefault((impl, level), []).append(res)
        for level in [int(x) for x in a.levels.split(",")]:
            med = {}
            for impl in ("rotor", "crawlee"):
                rs = runs[(impl, level)]
                med[impl] = {
                    "items_per_s": statistics.median(x["items"] / x["wall_s"] for x in rs),
                    "cpu_ms_per_item": statistics.median(1000 * x["cpu_s"] / x["items"] for x in rs),
                    "cpu_ms_per_item_with_redis": statistics.median(
                        1000 * (x["cpu_s"] + x["redis_cpu_s"]) / x["items"] for x in rs),
                }
                if impl == "crawlee" and all(x.get("crawl_s") for x in rs):
                    # Without node's start-up: the crawl alone (rotor's figure keeps its start).
                    med[impl]["items_per_s_crawl_only"] = statistics.median(
                        x["items"] / x["crawl_s"] for x in rs)
            for impl in ("rotor", "crawlee"):
                line = {"bench": "api_throughput", "impl": impl, "level": level,
                        "summary": "median", **{k: round(v, 3) for k, v in med[impl].items()}}
                if impl == "rotor":
                    c = med["crawlee"]
                    line["items_per_s_vs_crawlee"] = round(med["rotor"]["items_per_s"] / c["items_per_s"], 2)
                    if "items_per_s_crawl_only" in c:
                        line["items_per_s_vs_crawlee_crawl_only"] = round(
                            med["rotor"]["items_per_s"] / c["items_per_s_crawl_only"], 2)
                    line["items_per_cpu_s_vs_crawlee"] = round(
                        c["cpu_ms_per_item"] / med["rotor"]["cpu_ms_per_item"], 2)
                    line["items_per_cpu_s_vs_crawlee_with_redis"] = round(
                        c["cpu_ms_per_item"] / med["rotor"]["cpu_ms_per_item_with_redis"], 2)
                print(json.dumps(line), flush=True)
    finally:
        shop.terminate()
        redis.terminate()
        shop.wait()
        redis.wait()


if __name__ == "__main__":
    main()
