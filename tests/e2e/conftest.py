"""Fixtures: a real `trent serve` process on a free loopback port with its own data dir."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRENT = os.environ.get("TRENT_BIN", os.path.join(ROOT, "target", "debug", "trent"))
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir, extra=("--wrapping-pool-size", "0")):
        # Most tests need no pre-generated RSA keys; a pool per server start would only
        # burn CPU. The tests of the pool pass their own flags.
        self.data_dir = str(data_dir)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.extra = list(extra)
        self.env = None
        self.proc = None
        self.log_path = os.path.join(self.data_dir + ".log")

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [TRENT, "serve", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}", *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                assert self.proc.poll() is None, open(self.log_path).read()
                time.sleep(0.05)
        raise RuntimeError("trent did not start: " + open(self.log_path).read())

    def stop(self):
        """SIGTERM, as a service manager sends; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(timeout=20)
        else:
            code = self.proc.returncode if self.proc else None
        self.log.close()
        return code

    @property
    def credentials_file(self):
        return os.path.join(self.data_dir, "credentials")

    def credentials(self):
        creds = {}
        for line in open(self.credentials_file):
            if "=" in line:
                k, v = line.split("=", 1)
                creds[k.strip()] = v.strip()
        return creds["aws_access_key_id"], creds["aws_secret_access_key"]

    def client(self, access_key=None, secret=None, region=REGION):
        akid, sk = self.credentials()
        return boto3.client(
            "kms",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key or akid,
            aws_secret_access_key=secret or sk,
            config=Config(retries={"max_attempts": 1}),
        )

    def admin_raw(self, *args):
        """`trent admin` against this server's data directory, as it ran (for a refusal)."""
        return subprocess.run([TRENT, "admin", "--data-dir", self.data_dir, *args], capture_output=True, text=True)

    def admin(self, *args):
        """`trent admin` against this server's data directory; its JSON answer."""
        import json
        p = self.admin_raw(*args)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def audit_events(self):
        """The journal's records as CloudTrail shows them (`trent audit events`: API calls are
        kept compact in audit.log and rendered), oldest first; expiry notices as written."""
        import json
        p = subprocess.run([TRENT, "audit", "events", "--data-dir", self.data_dir], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return [json.loads(l) for l in p.stdout.splitlines()]

    def account_client(self, account, partition, region):
        """A boto3 client of a new account in `partition` (its root), signing for `region`."""
        root = self.admin("create-account", "--account-id", account, "--partition", partition)["Root"]
        return self.client(access_key=root["AccessKeyId"], secret=root["SecretAccessKey"], region=region)

    def aws(self, *args, check=True):
        """Runs the real aws cli with the credentials file Trent wrote."""
        env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=self.credentials_file,
                   AWS_CONFIG_FILE=os.devnull, AWS_DEFAULT_OUTPUT="json")
        cli = os.path.join(os.path.dirname(sys.executable), "aws")
        if not os.path.exists(cli):
            cli = "aws"
        p = subprocess.run([cli, "--endpoint-url", self.endpoint, "--region", REGION, *args],
                           env=env, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {p.stderr}")
        return p


def import_material(kms, key_id, material, **expiry):
    """GetParametersForImport, RSAES_OAEP_SHA_256 wrapping with `cryptography`, ImportKeyMaterial."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    p = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    pub = load_der_public_key(p["PublicKey"])
    wrapped = pub.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return kms.import_key_material(KeyId=key_id, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped, **expiry)


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "data").start()
    yield s
    assert s.stop() == 0, "trent did not shut down cleanly on SIGTERM"


@pytest.fixture
def make_server(tmp_path):
    made = []

    def make(name="data", extra=("--wrapping-pool-size", "0")):
        s = Server(tmp_path / name, extra)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


@contextlib.contextmanager
def moto_server(tmp_path, host="127.0.0.1"):
    """A real S3-compatible server (moto_server, from the venv) on a free port of `host`; its
    URL on loopback."""
    port = free_port()
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    log = open(tmp_path / "moto.log", "wb")
    # Path-style addressing whatever the host name (containers reach it as host.containers.internal,
    # which moto would otherwise read as the bucket "host").
    env = dict(os.environ, S3_IGNORE_SUBDOMAIN_BUCKETNAME="true")
    proc = subprocess.Popen([moto, "-H", host, "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except OSError:
            assert proc.poll() is None, open(tmp_path / "moto.log").read()
            assert time.time() < deadline, "moto_server did not start"
            time.sleep(0.1)
    try:
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def s3_server(tmp_path):
    """moto_server on loopback (see `moto_server`); its URL."""
    with moto_server(tmp_path) as endpoint:
        yield endpoint
