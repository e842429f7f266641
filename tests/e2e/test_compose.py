"""container/compose.yaml as users run it: podman-compose brings up PostgreSQL and two Trent
nodes from images built here (Trent's by scripts/image; PostgreSQL's stand-in from this
machine's Debian package, as the tests pull nothing), and what is written through one node is
read and enforced through the other."""
import os
import shutil
import subprocess
import uuid

import botocore.exceptions
import pytest

from conftest import ROOT, free_port
from containers import Podman, required
from test_container import kms

pytestmark = required
COMPOSE = os.path.join(ROOT, "container", "compose.yaml")
IMAGE = "localhost/trent:e2e-compose"
POSTGRES = "localhost/trent-test-postgres:e2e"


@pytest.fixture
def cluster(tmp_path):
    if not shutil.which("podman-compose"):
        pytest.fail("podman-compose is not installed (scripts/setup installs it)")
    podman = Podman(str(tmp_path))
    podman.build_image(IMAGE)
    podman.build_postgres_image(POSTGRES, str(tmp_path))
    project = "trent-e2e-" + uuid.uuid4().hex[:6]
    ports = {"a": free_port(), "b": free_port()}
    env = dict(podman.env, TRENT_IMAGE=IMAGE, TRENT_POSTGRES_IMAGE=POSTGRES,
               TRENT_POSTGRES_PASSWORD=uuid.uuid4().hex, TRENT_A_PORT=str(ports["a"]),
               TRENT_B_PORT=str(ports["b"]))

    def compose(*args):
        return subprocess.run(["podman-compose", "-p", project, "-f", COMPOSE, *args], env=env,
                              capture_output=True, text=True, timeout=300)

    up = compose("up", "-d")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        nodes = {}
        for n in ("a", "b"):
            name = f"{project}_trent-{n}_1"
            # Until PostgreSQL accepts connections a node exits and is restarted (on-failure).
            podman.wait_healthy(name, seconds=90)
            ca = tmp_path / f"ca-{n}.pem"
            podman.run("cp", f"{name}:/data/tls/ca.pem", str(ca))
            nodes[n] = (f"https://localhost:{ports[n]}", str(ca), name)
        podman.run("cp", f"{project}_trent-a_1:/data/credentials", str(tmp_path / "credentials"))
        creds = dict(l.split(" = ", 1) for l in open(tmp_path / "credentials").read().splitlines() if " = " in l)
        yield podman, nodes, (creds["aws_access_key_id"], creds["aws_secret_access_key"])
    finally:
        down = compose("down", "-v")
        assert down.returncode == 0, down.stderr
        podman.run("network", "rm", "-f", f"{project}_default", check=False)


def test_two_nodes_on_one_postgres_share_keys_and_changes(cluster):
    podman, nodes, creds = cluster
    a = kms(nodes["a"][0], creds, ca=nodes["a"][1])
    b = kms(nodes["b"][0], creds, ca=nodes["b"][1])
    key = a.create_key(Description="made on a")["KeyMetadata"]["KeyId"]
    a.create_alias(AliasName="alias/compose", TargetKeyId=key)
    # b reads what a wrote, and opens a's ciphertext with the shared root key.
    assert b.describe_key(KeyId="alias/compose")["KeyMetadata"]["Description"] == "made on a"
    blob = a.encrypt(KeyId=key, Plaintext=b"crosses nodes")["CiphertextBlob"]
    assert b.decrypt(CiphertextBlob=blob)["Plaintext"] == b"crosses nodes"
    # A change through b is enforced by a (pushed by LISTEN/NOTIFY, else after the cache's 1 s).
    b.disable_key(KeyId=key)
    import time
    deadline = time.time() + 5
    while True:
        try:
            a.encrypt(KeyId=key, Plaintext=b"x")
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "DisabledException"
            break
        assert time.time() < deadline, "node a still encrypts with a key disabled on b"
        time.sleep(0.05)
    # One root key for both, in the shared volume; each node keeps its own data directory.
    logs_a, logs_b = podman.logs(nodes["a"][2]), podman.logs(nodes["b"][2])
    assert "created the root key file" in logs_a + logs_b
    assert "trent-a" in logs_a and "trent-b" in logs_b
