"""HTTPS: the development mode makes a CA and a localhost certificate in the data directory;
boto3 and the aws cli trust it through AWS_CA_BUNDLE, the JS SDK through NODE_EXTRA_CA_CERTS.
Certificates from files are reloaded on SIGHUP; client certificates can be required; plain
HTTP on a network address needs an explicit flag."""
import os
import shutil
import signal
import ssl
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

from conftest import ROOT, TRENT, free_port


class TlsServer:
    def __init__(self, tmp_path, *extra, name="data"):
        self.port = free_port()
        self.data = tmp_path / name
        self.log = open(tmp_path / f"{name}.log", "ab")
        self.endpoint = f"https://localhost:{self.port}"
        self.proc = subprocess.Popen(
            [TRENT, "serve", "--data-dir", str(self.data), "--listen", f"127.0.0.1:{self.port}",
             "--wrapping-pool-size", "0", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        # The port is bound before the data directory is made (so a taken port leaves nothing
        # behind): ready once the credentials are written and the port answers.
        while True:
            try:
                if not (self.data / "credentials").exists():
                    raise OSError("not yet")
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None, open(tmp_path / f"{name}.log").read()
                assert time.time() < deadline
                time.sleep(0.05)

    def creds(self):
        c = dict(l.strip().split(" = ") for l in open(self.data / "credentials") if " = " in l)
        return c["aws_access_key_id"], c["aws_secret_access_key"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def test_boto3_and_the_aws_cli_trust_the_development_ca(tmp_path, monkeypatch):
    s = TlsServer(tmp_path, "--tls-self-signed")
    try:
        ca = str(s.data / "tls" / "ca.pem")
        akid, secret = s.creds()
        monkeypatch.setenv("AWS_CA_BUNDLE", ca)
        kms = boto3.client("kms", endpoint_url=s.endpoint, region_name="us-east-1", aws_access_key_id=akid,
                           aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
        key_id = kms.create_key(Description="over TLS")["KeyMetadata"]["KeyId"]
        ct = kms.encrypt(KeyId=key_id, Plaintext=b"sealed")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"sealed"
        cli = os.path.join(os.path.dirname(sys.executable), "aws")
        env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=str(s.data / "credentials"), AWS_CONFIG_FILE=os.devnull,
                   AWS_CA_BUNDLE=ca)
        p = subprocess.run([cli, "--endpoint-url", s.endpoint, "--region", "us-east-1", "kms", "describe-key",
                            "--key-id", key_id], env=env, capture_output=True, text=True)
        assert p.returncode == 0 and "over TLS" in p.stdout, p.stderr
        # `trent byok import` (the AWS Rust SDK) trusts AWS_CA_BUNDLE too.
        (tmp_path / "material.bin").write_bytes(os.urandom(32))
        p = subprocess.run([TRENT, "byok", "import", "--create", "--material", str(tmp_path / "material.bin"),
                            "--no-expiry", "--endpoint-url", s.endpoint],
                           env=dict(env, AWS_REGION="us-east-1"), capture_output=True, text=True)
        assert p.returncode == 0 and "KeyMaterialId" in p.stdout, p.stderr
        # Without the CA, the certificate is not trusted.
        env.pop("AWS_CA_BUNDLE")
        p = subprocess.run([cli, "--endpoint-url", s.endpoint, "--region", "us-east-1", "kms", "list-keys"],
                           env=env, capture_output=True, text=True)
        assert p.returncode != 0 and "certificate" in p.stderr.lower(), p.stderr
        # The CA's private key is not kept: nothing else can be issued with it.
        assert sorted(os.listdir(s.data / "tls")) == ["ca.pem", "server.key", "server.pem"]
        assert os.stat(s.data / "tls" / "server.key").st_mode & 0o077 == 0
    finally:
        s.stop()


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "tests", "e2e", "js", "node_modules"))
                    and not os.environ.get("TRENT_E2E_ALL"),
                    reason="the JS SDK is installed by scripts/test (which also makes this test required)")
def test_the_js_sdk_over_tls(tmp_path):
    s = TlsServer(tmp_path, "--tls-self-signed")
    try:
        akid, secret = s.creds()
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(s.data / "tls" / "ca.pem"), AWS_ACCESS_KEY_ID=akid,
                   AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1", TRENT_ENDPOINT=s.endpoint)
        p = subprocess.run(["node", os.path.join(ROOT, "tests", "e2e", "js", "roundtrip.mjs")], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr + p.stdout
        assert p.stdout.strip() == "round trip over TLS", p.stdout
    finally:
        s.stop()


def test_certificates_from_files_reload_on_sighup(tmp_path):
    # Two certificates for localhost, as an operator's PKI would issue them.
    first = tmp_path / "first"
    second = tmp_path / "second"
    for d in (first, second):
        TlsServer(tmp_path, "--tls-self-signed", name=d.name).stop()
        assert (d / "tls" / "server.pem").exists()
    live = tmp_path / "live"
    live.mkdir()
    for f in ("server.pem", "server.key"):
        shutil.copy(first / "tls" / f, live / f)
    s = TlsServer(tmp_path, "--tls-cert", str(live / "server.pem"), "--tls-key", str(live / "server.key"))
    try:
        def served_by(ca_dir):
            ctx = ssl.create_default_context(cafile=str(ca_dir / "tls" / "ca.pem"))
            try:
                with socket.create_connection(("127.0.0.1", s.port)) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost"):
                        return True
            except ssl.SSLError:
                return False
        assert served_by(first) and not served_by(second)
        for f in ("server.pem", "server.key"):
            shutil.copy(second / "tls" / f, live / f)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while not served_by(second):
            assert time.time() < deadline, "the new certificate was not picked up"
            time.sleep(0.1)
        # A broken file does not take the server down: the certificate in use stays.
        (live / "server.pem").write_text("not a certificate")
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert s.proc.poll() is None and served_by(second)
    finally:
        s.stop()


def test_client_certificates_can_be_required(tmp_path):
    # A client CA and a client certificate, made with openssl as an operator would.
    d = tmp_path / "pki"
    d.mkdir()
    run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=clients")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=app")
    (d / "ext").write_text("extendedKeyUsage=clientAuth\n")
    run("openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.pem", "-days", "2", "-extfile", "ext")
    s = TlsServer(tmp_path, "--tls-self-signed", "--tls-client-ca", str(d / "ca.pem"))
    try:
        ctx = ssl.create_default_context(cafile=str(s.data / "tls" / "ca.pem"))
        with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)):
            urllib.request.urlopen(s.endpoint + "/health", context=ctx, timeout=5).read()
        ctx.load_cert_chain(str(d / "client.pem"), str(d / "client.key"))
        assert urllib.request.urlopen(s.endpoint + "/health", context=ctx, timeout=5).read() == b"ok"
    finally:
        s.stop()


def test_plain_http_on_a_network_address_needs_a_flag(tmp_path):
    p = subprocess.run([TRENT, "serve", "--data-dir", str(tmp_path / "d"), "--listen", "0.0.0.0:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--allow-plaintext" in p.stderr, p.stderr
