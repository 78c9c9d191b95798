"""The container's entrypoint with the environment the compose file gives it: the worker binary
is run with only that environment (no options but the compose command) against a local
redis-server, and /healthz must answer. Host-specific values are mapped to this machine: the
config dir to the checkout's, Redis's host to 127.0.0.1 and a free port, the heartbeat port to a
free one, the output dir to a temp dir. Every request goes to 127.0.0.1."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

from support import free_port

ROOT = os.environ.get("ROTOR_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
WORKER = os.environ.get("ROTOR_WORKER", "worker")


def compose_health_command(service):
    """The service's healthcheck as compose runs it: CMD as it is, CMD-SHELL through /bin/sh -c,
    after compose's own interpolation ($$ is a literal $ for the container's shell)."""
    test = service["healthcheck"]["test"]
    if test[0] == "CMD":
        return test[1:]
    assert test[0] == "CMD-SHELL", test
    # Compose fills in every $ not written $$ itself, from the host's environment.
    assert "$" not in test[1].replace("$$", ""), f"compose would fill this in: {test[1]}"
    return ["/bin/sh", "-c", test[1].replace("$$", "$")]


def dockerfile_health_command():
    """The Dockerfile's HEALTHCHECK as Docker runs it: exec form as it is, shell form through
    /bin/sh -c."""
    with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    line = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(.*)$", text, re.M)
    assert line, "no HEALTHCHECK ... CMD in the Dockerfile"
    cmd = line.group(1).strip()
    if cmd.startswith("["):
        return json.loads(cmd)
    return ["/bin/sh", "-c", cmd]


class WorkerWithComposeEnvironment(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rotor-env-")
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"],
                              capture_output=True).stdout.strip() == b"PONG":
                break
            time.sleep(0.05)
        self.worker = None

    def tearDown(self):
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        self.redis.terminate()
        self.redis.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_service(self, service, port_option=False):
        """port_option: the heartbeat's port is given with --heartbeat-port on the command line,
        and HEARTBEAT_PORT names another one, where nothing listens."""
        with open(os.path.join(ROOT, "docker", "docker-compose.yml")) as f:
            s = yaml.safe_load(f)["services"][service]
        env = {k: str(v) for k, v in s["environment"].items()}
        # A value compose must be given (${VAR:?...}): the user's, mapped to a local one.
        for k, v in env.items():
            if v.startswith("${"):
                self.assertEqual(k, "ROTOR_PG_URL", f"{service}: {k} has no value")
                env[k] = "postgresql://rotor@127.0.0.1:1/rotor"
        # The compose values, mapped to this machine.
        self.assertEqual(env["ROTOR_CONFIG_DIR"], "/etc/rotor/platforms")
        env["ROTOR_CONFIG_DIR"] = os.path.join(ROOT, "config", "platforms")
        self.assertTrue(env["ROTOR_REDIS_URL"].startswith("redis://redis:6379"))
        env["ROTOR_REDIS_URL"] = env["ROTOR_REDIS_URL"].replace(
            "redis://redis:6379", f"redis://127.0.0.1:{self.redis_port}")
        port = free_port()
        env["HEARTBEAT_PORT"] = str(port)
        command = list(s["command"])
        if port_option:
            env["HEARTBEAT_PORT"] = str(free_port())
            while env["HEARTBEAT_PORT"] == str(port):
                env["HEARTBEAT_PORT"] = str(free_port())
            command += ["--heartbeat-port", str(port)]
        self.assertEqual(env["HEARTBEAT_PORT_FILE"], "/tmp/rotor-heartbeat.port")
        env["HEARTBEAT_PORT_FILE"] = os.path.join(self.dir, "heartbeat.port")
        env["ROTOR_OUTPUT_DIR"] = os.path.join(self.dir, "results")
        # Nothing else from this machine's environment but what a process needs to start.
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        env["TMPDIR"] = self.dir
        env["HOME"] = self.dir
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        with open(os.path.join(self.dir, "worker.log"), "w") as err:
            self.worker = subprocess.Popen([WORKER] + command, env=env,
                                           stdout=subprocess.DEVNULL, stderr=err)
        body, status = None, None
        until = time.monotonic() + 60
        while time.monotonic() < until and self.worker.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status, body = r.status, json.load(r)
                    break
            except OSError:
                time.sleep(0.2)
        with open(os.path.join(self.dir, "worker.log")) as f:
            log = f.read()
        self.assertEqual(status, 200, log)
        self.assertEqual(body["platform"], s["command"][1], body)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            self.assertEqual(r.status, 200)
        self.assertIn(f"heartbeat on http://0.0.0.0:{port}", log)
        # Both health checks, run as Docker runs them, with the container's environment: they
        # must find the heartbeat where the worker listens (a free port here, never 8080).
        for where, command in (("compose", compose_health_command(s)),
                               ("Dockerfile", dockerfile_health_command())):
            check = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(check.returncode, 0,
                             f"{where} health check {command}: {check.stderr}\n{log}")
        self.worker.terminate()
        self.assertEqual(self.worker.wait(30), 0, log)

    def test_an_api_worker_starts_from_its_compose_environment(self):
        self.run_service("worker_musinsa")

    def test_a_browser_worker_starts_from_its_compose_environment(self):
        self.run_service("worker_oliveyoung")

    def test_the_health_checks_find_a_port_given_on_the_command_line(self):
        self.run_service("worker_musinsa", port_option=True)


if __name__ == "__main__":
    sys.exit(unittest.main())
