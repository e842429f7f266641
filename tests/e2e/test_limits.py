"""Connections no client can exhaust: under `ulimit -n 1024`, 1,100 idle sockets neither starve
`/health` nor new clients (the server keeps below its descriptor limit and evicts the sockets
idle the longest), idle sockets are closed after the header timeout, and 1,100 bodies trickled
a byte at a time do not keep a new client out either."""
import resource
import socket
import subprocess
import threading
import time
import urllib.request

import boto3
from botocore.config import Config

from conftest import TRENT, free_port


def start_under_ulimit_1024(tmp_path, *extra):
    """`trent serve` with 1,024 descriptors, answering `/health`: (process, port, data dir, log)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    port = free_port()
    data = tmp_path / "data"
    log = open(tmp_path / "log", "wb")
    proc = subprocess.Popen(
        [TRENT, "serve", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}", "--wrapping-pool-size", "0",
         *extra],
        stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)))
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    return proc, port, data, log


def test_health_answers_with_1100_idle_sockets_under_ulimit_1024(tmp_path):
    proc, port, data, log = start_under_ulimit_1024(tmp_path, "--header-timeout-secs", "5")
    sockets = []
    try:
        url = f"http://127.0.0.1:{port}/health"
        for _ in range(1100):
            s = socket.create_connection(("127.0.0.1", port))
            sockets.append(s)
        for _ in range(5):
            t = time.time()
            assert urllib.request.urlopen(url, timeout=3).read() == b"ok"
            assert time.time() - t < 1.0
        creds = dict(l.strip().split(" = ") for l in open(data / "credentials") if " = " in l)
        kms = boto3.client("kms", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id=creds["aws_access_key_id"],
                           aws_secret_access_key=creds["aws_secret_access_key"],
                           config=Config(retries={"max_attempts": 1}))
        assert "Keys" in kms.list_keys()
        # After the header timeout every idle socket is closed by the server.
        time.sleep(6)
        still_open = 0
        for s in sockets:
            s.settimeout(0.01)
            try:
                if s.recv(1):
                    still_open += 1
            except socket.timeout:
                still_open += 1
            except OSError:
                pass
        assert still_open == 0, f"{still_open} idle sockets still open"
        assert proc.poll() is None
    finally:
        for s in sockets:
            s.close()
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_health_answers_within_5s_while_1100_bodies_trickle_under_ulimit_1024(tmp_path):
    """1,100 connections send a complete request head declaring a 256 KiB body, then one byte
    every 2 s each: a connection part-way through a body is busy, yet `/health` on a new
    connection answers within 5 s throughout (the slowest body is cut to make room)."""
    proc, port, _, log = start_under_ulimit_1024(tmp_path)
    url = f"http://127.0.0.1:{port}/health"
    sockets = []
    stop = threading.Event()
    try:
        head = (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\n"
                b"X-Amz-Target: TrentService.PutKeyPolicy\r\nContent-Length: 262144\r\n\r\n{")
        for _ in range(1100):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            try:
                s.send(head)
            except OSError:
                pass
            sockets.append(s)

        def trickle():
            while not stop.wait(2):
                for s in sockets:
                    try:
                        s.send(b" ")
                    except OSError:
                        pass

        threading.Thread(target=trickle, daemon=True).start()
        slowest = 0.0
        deadline = time.time() + 25
        while time.time() < deadline:
            t0 = time.time()
            assert urllib.request.urlopen(url, timeout=5).read() == b"ok"
            slowest = max(slowest, time.time() - t0)
            time.sleep(0.5)
        assert slowest < 5, slowest
        assert proc.poll() is None
    finally:
        stop.set()
        for s in sockets:
            s.close()
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
