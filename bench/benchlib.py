"""What the Python benchmark runners share: a free loopback port, and a redis-server and the
fixture shop started for a run (the caller stops them)."""
import os
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_redis(work):
    """A throwaway redis-server on a free port (no persistence), answering PING: (proc, port)."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save",
                             "", "--appendonly", "no", "--dir", work, "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"],
                          capture_output=True).stdout.strip() == b"PONG":
            break
        time.sleep(0.05)
    return proc, port


def start_shop(shop_bin, work, threads=2):
    """The fixture shop on a free port: (proc, base URL)."""
    port_file = f"{work}/shop.port"
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc = subprocess.Popen([shop_bin, "--port", "0", "--port-file", port_file, "--threads",
                             str(threads)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{open(port_file).read().strip()}"
