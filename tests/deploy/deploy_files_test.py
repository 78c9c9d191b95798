"""docker/ and deploy/ read and checked (no Docker engine or cluster here): every browser worker
has a big /dev/shm, a health check on /healthz, a memory limit and a stop grace longer than the
worker's; every image is pinned; the Dockerfile installs chromium, runs as non-root, uses an
init and checks /healthz."""
import glob
import os
import re
import sys
import unittest

import yaml

ROOT = os.environ.get("ROTOR_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
WORKER_GRACE_S = 20  # worker --grace default (src/app/worker.cpp)
BROWSER = {"oliveyoung", "ably", "kurly"}
API = {"hwahae", "musinsa", "zigzag"}


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", str(text))
    assert m, f"not a duration: {text}"
    n, unit = int(m.group(1)), m.group(2)
    return {"ms": n / 1000, "s": n, "m": n * 60, "h": n * 3600}[unit]


def bytes_of(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]i?b?)?", str(text).lower())
    assert m, f"not a size: {text}"
    unit = (m.group(2) or "").rstrip("b").rstrip("i")
    return float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def pinned(image):
    """A tag that names a version (not latest, not a bare name), or a digest."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("latest", "") and re.search(r"\d", tag)


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "docker", "docker-compose.yml")) as f:
            cls.compose = yaml.safe_load(f)
        cls.services = cls.compose["services"]

    def workers(self):
        return {n: s for n, s in self.services.items() if n.startswith("worker_")}

    def test_one_worker_per_platform(self):
        platforms = {n[len("worker_"):] for n in self.workers()}
        self.assertEqual(platforms, BROWSER | API)
        for name, s in self.workers().items():
            self.assertEqual(s["command"], ["--platform", name[len("worker_"):]], name)

    def test_browser_workers_have_shm_and_memory_limits(self):
        for name, s in self.workers().items():
            limit = s["deploy"]["resources"]["limits"]["memory"]
            self.assertGreater(bytes_of(limit), 0, name)
            if name[len("worker_"):] in BROWSER:
                self.assertGreaterEqual(bytes_of(s["shm_size"]), 1 * 2**30, name)
                self.assertGreater(bytes_of(limit), bytes_of(s["shm_size"]), name)
            else:
                self.assertNotIn("shm_size", s, f"{name} runs no Chromium")

    def test_health_check_on_healthz_and_grace(self):
        for name, s in self.workers().items():
            test = " ".join(s["healthcheck"]["test"])
            self.assertIn("/healthz", test, name)
            self.assertGreater(seconds(s["stop_grace_period"]), WORKER_GRACE_S, name)
            self.assertEqual(s["labels"]["autoheal"], "true", f"{name}: not watched by autoheal")
            env = s["environment"]
            self.assertEqual(env["HEARTBEAT_BIND"], "0.0.0.0", name)
            self.assertTrue(env["ROTOR_REDIS_URL"].startswith("redis://redis:"), name)

    def test_scaling_replicas_and_restarter(self):
        for name, s in self.workers().items():
            self.assertIn("replicas", s["deploy"], name)
            self.assertNotIn("container_name", s, f"{name}: a fixed name cannot --scale")
        heal = self.services["autoheal"]
        self.assertIn("/var/run/docker.sock", " ".join(heal["volumes"]))
        # autoheal restarts with its own stop timeout (10 s by default): it must exceed the
        # worker's grace, or a restart kills the worker before it releases its job.
        self.assertGreater(int(heal["environment"]["AUTOHEAL_DEFAULT_STOP_TIMEOUT"]),
                           WORKER_GRACE_S)

    def test_every_variable_a_platform_saves_with_is_set(self):
        for name, s in self.workers().items():
            platform = name[len("worker_"):]
            with open(os.path.join(ROOT, "config", "platforms", f"{platform}.yaml")) as f:
                wanted = set(re.findall(r"\$\{(ROTOR_PG_URL)[:}]", f.read()))
            for var in wanted:
                self.assertIn(var, s["environment"], f"{name} saves to {var}, never set")

    def test_redis_persists_and_never_evicts(self):
        r = self.services["redis"]
        cmd = " ".join(r["command"])
        self.assertIn("--appendonly yes", cmd)
        self.assertIn("--maxmemory-policy noeviction", cmd)
        self.assertIn("--maxmemory ", cmd, "noeviction needs a maxmemory to refuse writes")
        self.assertTrue(any(v.endswith(":/data") for v in r["volumes"]))

    def test_every_image_is_pinned(self):
        for path in [os.path.join(ROOT, "docker", "docker-compose.yml")] + glob.glob(
                os.path.join(ROOT, "deploy", "k8s", "*.yaml")):
            with open(path) as f:
                text = f.read()
            images = re.findall(r"^\s*image:\s*(\S+)", text, re.M)
            # Workloads name an image; namespaces, claims, secrets and the kustomization do not.
            kinds = set(re.findall(r"^kind:\s*(\S+)", text, re.M))
            if kinds & {"Deployment", "StatefulSet", "CronJob"} or path.endswith("compose.yml"):
                self.assertTrue(images, path)
            for image in images:
                self.assertTrue(pinned(image), f"{path}: {image} is not pinned")

    def test_dev_override_names_existing_services(self):
        with open(os.path.join(ROOT, "docker", "docker-compose.dev.yml")) as f:
            dev = yaml.safe_load(f)
        self.assertTrue(set(dev["services"]) <= set(self.services))


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
            cls.text = f.read()
        cls.stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", cls.text, re.M)

    def runtime(self):
        return self.text[self.text.rindex("\nFROM "):]

    def test_multi_stage_and_pinned_bases(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for image, _ in self.stages:
            self.assertTrue(pinned(image), image)

    def test_runtime_has_chromium_fonts_and_an_init(self):
        rt = self.runtime()
        for pkg in ("chromium", "fonts-noto-cjk", "tini"):
            self.assertRegex(rt, rf"\b{pkg}\b")
        self.assertRegex(rt, r'ENTRYPOINT \["/usr/bin/tini", "--"')

    def test_non_root_healthcheck_and_configs(self):
        rt = self.runtime()
        users = re.findall(r"^USER\s+(\S+)", rt, re.M)
        self.assertTrue(users and users[-1] not in ("root", "0"), users)
        self.assertRegex(rt, r"HEALTHCHECK .*\n?.*/healthz")
        self.assertIn("/etc/rotor/platforms", rt)
        self.assertRegex(rt, r"ROTOR_CONFIG_DIR=/etc/rotor/platforms")


class KubernetesManifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = []
        for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "k8s", "*.yaml"))):
            with open(path) as f:
                cls.docs += [(path, d) for d in yaml.safe_load_all(f) if d]

    def of_kind(self, kind):
        return [(p, d) for p, d in self.docs if d.get("kind") == kind]

    def test_a_deployment_and_a_scaled_object_per_platform(self):
        deployments = {d["metadata"]["name"]: d for _, d in self.of_kind("Deployment")}
        scaled = {d["metadata"]["name"]: d for _, d in self.of_kind("ScaledObject")}
        for p in BROWSER | API:
            self.assertIn(f"worker-{p}", deployments)
            s = scaled[f"worker-{p}"]
            self.assertEqual(s["spec"]["scaleTargetRef"]["name"], f"worker-{p}")
            trigger = s["spec"]["triggers"][0]
            self.assertEqual(trigger["type"], "redis")
            # Ready jobs only: the queue, not the delayed or running sets.
            self.assertEqual(trigger["metadata"]["listName"], f"workflow:queue:platform:{p}")
            # Pods with running jobs are not scaled away when the ready queue empties.
            lists = {t["metadata"]["listName"] for t in s["spec"]["triggers"]}
            self.assertIn(f"workflow:running:platform:{p}", lists)

    def test_workers_probes_limits_shm_and_grace(self):
        for path, d in self.of_kind("Deployment"):
            self.assertNotIn("replicas", d["spec"], f"{path}: KEDA owns the replica count")
            spec = d["spec"]["template"]["spec"]
            c = spec["containers"][0]
            platform = c["args"][c["args"].index("--platform") + 1]
            self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz", path)
            self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz", path)
            self.assertIn("memory", c["resources"]["limits"], path)
            self.assertIn("memory", c["resources"]["requests"], path)
            self.assertGreater(spec["terminationGracePeriodSeconds"], WORKER_GRACE_S, path)
            self.assertTrue(spec["securityContext"]["runAsNonRoot"], path)
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            volumes = {v["name"]: v for v in spec["volumes"]}
            results = volumes[mounts["/var/lib/rotor/results"]]
            self.assertIn("persistentVolumeClaim", results,
                          f"{path}: saved lines would go with the pod")
            env = {e["name"] for e in c["env"]}
            with open(os.path.join(ROOT, "config", "platforms", f"{platform}.yaml")) as f:
                if "${ROTOR_PG_URL" in f.read():
                    self.assertIn("ROTOR_PG_URL", env, f"{path} saves to PostgreSQL")
            if platform in BROWSER:
                vol = {v["name"]: v for v in spec["volumes"]}[mounts["/dev/shm"]]
                self.assertEqual(vol["emptyDir"]["medium"], "Memory", path)
                self.assertGreaterEqual(bytes_of(vol["emptyDir"]["sizeLimit"]), 2**30, path)
                self.assertGreater(bytes_of(c["resources"]["limits"]["memory"]),
                                   bytes_of(vol["emptyDir"]["sizeLimit"]), path)

    def test_kustomization_lists_every_manifest(self):
        with open(os.path.join(ROOT, "deploy", "k8s", "kustomization.yaml")) as f:
            k = yaml.safe_load(f)
        files = {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "deploy", "k8s", "*.yaml"))}
        files -= {"kustomization.yaml", "secrets.example.yaml"}
        self.assertEqual(set(k["resources"]), files)

    def test_cronjob_enqueues_with_an_idempotency_key(self):
        (_, cron), = self.of_kind("CronJob")
        c = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        command = " ".join(c["command"] + c["args"])
        self.assertIn("rotorctl", command)
        self.assertIn("enqueue", command)
        self.assertIn("--idempotency-key", command)


if __name__ == "__main__":
    sys.exit(unittest.main())
