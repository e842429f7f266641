"""`trent bench` drives a server with SigV4-signed requests and reports what it measured."""
import json
import subprocess

import pytest

from conftest import TRENT


@pytest.mark.parametrize("workload", ["encrypt", "decrypt", "generate-data-key", "describe-key", "re-encrypt", "mixed",
                                      "get-parameters-for-import", "ceremony"])
def test_bench_workloads(server, workload):
    p = subprocess.run([TRENT, "bench", "--endpoint", server.endpoint, "--credentials", server.credentials_file,
                        "--workload", workload, "--connections", "2", "--requests", "6",
                        "--wrapping-key-spec", "RSA_2048", "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["requests"], r["errors"]) == (6, 0)
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]


def test_bench_refuses_other_hosts():
    p = subprocess.run([TRENT, "bench", "--endpoint", "http://10.1.2.3:4599", "--requests", "1"],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "loopback" in p.stderr
