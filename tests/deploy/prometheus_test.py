"""deploy/prometheus/alerts.yml against a real Prometheus (Debian's package) scraping a real
worker on loopback: `promtool check rules` passes; after one scrape `rotor_items_total` is
there and no alert's expression holds for a healthy worker; for a worker stuck on a request
that never answers, the stalled-worker expression holds (its 60 s threshold lowered to 2 s, so
the test does not wait a minute; the expression is otherwise the file's)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import yaml

from support import free_port

ROOT = os.environ.get("ROTOR_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
WORKER = os.environ.get("ROTOR_WORKER", "worker")
ROTORCTL = os.environ.get("ROTOR_ROTORCTL", "rotorctl")
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")


def wait_for(predicate, seconds, what):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class AlertsOnARealWorker(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rotor-prom-")
        self.procs = []
        self.redis_port = free_port()
        self.spawn(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", self.dir])
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"],
                                        capture_output=True).stdout.strip() == b"PONG",
                 10, "redis")
        # A server that accepts and never answers: the worker's request hangs (10 s timeout).
        self.blackhole = socket.socket()
        self.blackhole.bind(("127.0.0.1", 0))
        self.blackhole.listen(16)
        self.heartbeat = free_port()
        env = dict(os.environ, ROTOR_SHOP_URL=f"http://127.0.0.1:{self.blackhole.getsockname()[1]}",
                   ROTOR_RESULTS_DIR=os.path.join(self.dir, "results"), ROTOR_CONCURRENCY="1")
        self.spawn([WORKER, "--platform", "demo-api", "--config-dir",
                    os.path.join(ROOT, "config", "platforms"), "--redis-port",
                    str(self.redis_port), "--heartbeat-port", str(self.heartbeat),
                    "--worker-id", "prom"], env=env, log="worker.log")
        self.prom_port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [ALERTS],
                  "scrape_configs": [{"job_name": "rotor-worker", "static_configs": [
                      {"targets": [f"127.0.0.1:{self.heartbeat}"]}]}]}
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            yaml.safe_dump(config, f)
        self.spawn(["prometheus", f"--config.file={self.dir}/prometheus.yml",
                    f"--storage.tsdb.path={self.dir}/tsdb",
                    f"--web.listen-address=127.0.0.1:{self.prom_port}"], log="prometheus.log")
        wait_for(self.ready, 60, "prometheus to be ready")

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.blackhole.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def spawn(self, cmd, env=None, log=None):
        out = open(os.path.join(self.dir, log), "w") if log else subprocess.DEVNULL
        self.procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                           stderr=out))
        if log:
            out.close()

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.prom_port}/-/ready",
                                        timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr):
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        self.assertEqual(body["status"], "success", body)
        return body["data"]["result"]

    def rules(self):
        with open(ALERTS) as f:
            return [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]

    def test_rules_check_and_evaluate_against_a_real_worker(self):
        check = subprocess.run(["promtool", "check", "rules", ALERTS], capture_output=True,
                               text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        items = wait_for(lambda: self.query('rotor_items_total{job="rotor-worker"}'), 60,
                         "a scrape with rotor_items_total")
        self.assertEqual({s["metric"]["platform"] for s in items}, {"demo-api"})
        # rate() and increase() need two samples: wait for a few scrapes, so the rules that use
        # them are evaluated on data, not on nothing.
        wait_for(lambda: self.query('count_over_time(rotor_items_total{outcome="ok"}[1m]) >= 3'),
                 60, "three scrapes")
        self.assertNotEqual(self.query('rate(rotor_items_total[1m])'), [])
        # A healthy idle worker: no alert's expression holds.
        for rule in self.rules():
            self.assertEqual(self.query(rule["expr"]), [], f"{rule['alert']} holds when healthy")

        # Stuck: a job whose request never answers. The stalled expression holds (threshold
        # lowered from 60 s to 2 s).
        stalled = next(r for r in self.rules() if r["alert"] == "RotorWorkerStalled")["expr"]
        self.assertRegex(stalled, r"> 60\b")
        quick = re.sub(r"> 60\b", "> 2", stalled)
        subprocess.run([ROTORCTL, "--redis-port", str(self.redis_port), "enqueue", "--platform",
                        "demo-api", "--items", "8100"], check=True, capture_output=True)
        result = wait_for(lambda: self.query(quick), 30, "the stalled expression to hold")
        self.assertEqual(result[0]["metric"]["platform"], "demo-api")
        self.assertEqual(result[0]["metric"]["job"], "rotor-worker")


if __name__ == "__main__":
    sys.exit(unittest.main())
