"""container/compose.yaml as users run it: podman-compose brings up PostgreSQL and two Trent
nodes from images built here (Trent's by scripts/image; PostgreSQL's stand-in from this
machine's Debian package, as the tests pull nothing), and what is written through one node is
read and enforced through the other. With container/compose.trail.yaml both nodes deliver the
trail to an S3 bucket (moto_server on this host, reached from the containers as
host.containers.internal), and `aws cloudtrail validate-logs` passes on it."""
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import botocore.exceptions
import pytest

from conftest import ROOT, free_port, moto_server
from containers import Podman, required
from test_container import kms
from test_trail_delivery import BUCKET, DIGESTS, LOGS, TRAIL_ARN, keys, s3_client, wait_for

pytestmark = required
COMPOSE = os.path.join(ROOT, "container", "compose.yaml")
TRAIL = os.path.join(ROOT, "container", "compose.trail.yaml")
IMAGE = "localhost/trent:e2e-compose"
POSTGRES = "localhost/trent-test-postgres:e2e"


@pytest.fixture
def s3_on_host(tmp_path):
    """moto_server listening on every address, so that containers reach it on the host."""
    with moto_server(tmp_path, host="0.0.0.0") as endpoint:
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture
def cluster(tmp_path, s3_on_host):
    if not shutil.which("podman-compose"):
        pytest.fail("podman-compose is not installed (scripts/setup installs it)")
    podman = Podman(str(tmp_path))
    podman.build_image(IMAGE)
    podman.build_postgres_image(POSTGRES, str(tmp_path))
    project = "trent-e2e-" + uuid.uuid4().hex[:6]
    ports = {"a": free_port(), "b": free_port()}
    s3_port = s3_on_host.rsplit(":", 1)[1]
    env = dict(podman.env, TRENT_IMAGE=IMAGE, TRENT_POSTGRES_IMAGE=POSTGRES,
               TRENT_POSTGRES_PASSWORD=uuid.uuid4().hex, TRENT_A_PORT=str(ports["a"]),
               TRENT_B_PORT=str(ports["b"]), TRENT_TRAIL_BUCKET=BUCKET,
               TRENT_TRAIL_S3_ENDPOINT=f"http://host.containers.internal:{s3_port}",
               TRENT_TRAIL_S3_ACCESS_KEY_ID="test", TRENT_TRAIL_S3_SECRET_ACCESS_KEY="test",
               TRENT_TRAIL_DELIVERY_SECS="1", TRENT_TRAIL_DIGEST_SECS="2")

    def compose(*args):
        return subprocess.run(["podman-compose", "-p", project, "-f", COMPOSE, "-f", TRAIL, *args], env=env,
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
        yield podman, nodes, (creds["aws_access_key_id"], creds["aws_secret_access_key"]), s3_on_host
    finally:
        down = compose("down", "-v")
        assert down.returncode == 0, down.stderr
        podman.run("network", "rm", "-f", f"{project}_default", check=False)


def test_two_nodes_on_one_postgres_share_keys_and_changes(cluster):
    podman, nodes, creds, s3_endpoint = cluster
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120))
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

    # Both nodes' journals reach the bucket as CloudTrail log files (named after their node),
    # under one digest chain that AWS's own validator accepts.
    s3 = s3_client(s3_endpoint)

    def both_delivered():
        records = [r for log in keys(s3, LOGS) for r in
                   json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=log)["Body"].read()))["Records"]]
        # CreateAlias went through node a, DisableKey through node b.
        return {"CreateAlias", "DisableKey"} <= {r["eventName"] for r in records}
    wait_for("both nodes' records in the bucket", both_delivered, timeout=60)
    before = len(keys(s3, DIGESTS))
    wait_for("a digest after them", lambda: len(keys(s3, DIGESTS)) > before, timeout=30)
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds[0], AWS_SECRET_ACCESS_KEY=creds[1], AWS_CONFIG_FILE=os.devnull,
               AWS_CA_BUNDLE=nodes["a"][1], AWS_ENDPOINT_URL_S3=s3_endpoint)
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    p = subprocess.run([cli, "--endpoint-url", nodes["a"][0], "--region", "us-east-1", "cloudtrail", "validate-logs",
                        "--trail-arn", TRAIL_ARN, "--start-time", start, "--end-time", end, "--verbose"],
                       env=env, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "INVALID" not in out, out
    digests = re.search(r"(\d+)/(\d+) digest files valid", out)
    logs = re.search(r"(\d+)/(\d+) log files valid", out)
    assert digests and logs and digests[1] == digests[2] and logs[1] == logs[2], out
    assert int(digests[1]) >= 1 and int(logs[1]) >= 2, out  # a log file of each node at least
