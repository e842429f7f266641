"""Custom key stores (issue 33, part 2): a Trent whose external key store is a second Trent's
XKS proxy endpoint, over HTTPS, driven with boto3 through the six operations, a key with
XksKeyId, double encryption, the external key disabled on the proxy, the proxy down and
reconnected; and a proxy stub that times out, answers 401, or returns a wrong integrity value
or a wrong tag. AWS's answers: management operations name the cause (XksProxy*, XksKey*),
cryptographic operations answer KMSInvalidStateException, a key of a disconnected store is
Unavailable."""
import datetime
import hashlib
import http.server
import json
import os
import base64
import shutil
import socket
import ssl
import subprocess
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import TRENT, free_port

ACCOUNT = "111122223333"
PREFIX = "hyok"
AWS_SUBJECT = "cks.kms.us-east-1.amazonaws.com"


class Node:
    """A `trent serve` over development TLS (a CA and a localhost certificate in its data
    directory), restartable on its port."""

    def __init__(self, tmp_path, name, *extra):
        self.data = tmp_path / name
        self.port = free_port()
        self.log_path = tmp_path / f"{name}.log"
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [TRENT, "serve", "--data-dir", str(self.data), "--listen", f"127.0.0.1:{self.port}",
             "--wrapping-pool-size", "0", "--tls-self-signed", *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                if not (self.data / "credentials").exists():
                    raise OSError("not yet")
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                assert self.proc.poll() is None, open(self.log_path).read()
                assert time.time() < deadline, "trent did not start"
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.log.close()

    @property
    def ca(self):
        return str(self.data / "tls" / "ca.pem")

    def client(self):
        c = dict(l.strip().split(" = ") for l in open(self.data / "credentials") if " = " in l)
        return boto3.client("kms", endpoint_url=f"https://localhost:{self.port}", region_name="us-east-1",
                            aws_access_key_id=c["aws_access_key_id"],
                            aws_secret_access_key=c["aws_secret_access_key"], verify=self.ca,
                            config=Config(retries={"max_attempts": 1}))

    def admin(self, *args):
        p = subprocess.run([TRENT, "admin", "--data-dir", str(self.data), *args], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)


def code(e):
    return e.value.response["Error"]["Code"]


def message(e):
    return e.value.response["Error"]["Message"]


def store_params(name, credential, endpoint="https://localhost", path=f"/{PREFIX}/kms/xks/v1"):
    c = credential["XksProxyAuthenticationCredential"]
    return dict(CustomKeyStoreName=name, CustomKeyStoreType="EXTERNAL_KEY_STORE",
                XksProxyConnectivity="PUBLIC_ENDPOINT", XksProxyUriEndpoint=endpoint, XksProxyUriPath=path,
                XksProxyAuthenticationCredential={"AccessKeyId": c["AccessKeyId"],
                                                  "RawSecretAccessKey": c["RawSecretAccessKey"]})


def describe(kms, store_id):
    return kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]


# --- a proxy stub ---------------------------------------------------------------------------

def make_ca_and_leaf(tmp_path, host, purpose="server"):
    """A CA and a certificate for `host` (its CN and DNS name) signed by it, for a TLS server
    or client; returns (ca_pem, cert_file, key_file)."""
    usage = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server" else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stub CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{purpose}.pem", tmp_path / f"{purpose}.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file


class Stub(http.server.BaseHTTPRequestHandler):
    """Misbehaves by the first segment of its path: `slow` answers after a second, `deny`
    refuses every signature, `badcdiv` returns a wrong integrity value, `badtag` a wrong tag
    (with a matching integrity value: only the decryption can tell)."""

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        mode, op = self.path.split("/")[1], self.path.rsplit("/", 1)[1]
        if mode == "slow":
            time.sleep(1.0)
        if mode == "deny":
            return self.answer(401, {"errorName": "AuthenticationFailedException"})
        if op == "health":
            return self.answer(200, {"xksProxyFleetSize": 1, "xksProxyVendor": "stub", "xksProxyModel": "stub",
                                     "ekmVendor": "stub", "ekmFleetDetails": [
                                         {"id": "a", "model": "stub", "healthStatus": "ACTIVE"}]})
        if op == "metadata":
            return self.answer(200, {"keySpec": "AES_256", "keyUsage": ["ENCRYPT", "DECRYPT"],
                                     "keyStatus": "ENABLED"})
        if op == "encrypt":
            n = len(base64.b64decode(body["plaintext"]))
            aad = base64.b64decode(body.get("additionalAuthenticatedData", ""))
            iv, ct, tag = os.urandom(12), os.urandom(n), os.urandom(16)
            cdiv = hashlib.sha256(aad + iv + ct + tag).digest()
            if mode == "badcdiv":
                cdiv = bytes(32)
            b = lambda x: base64.b64encode(x).decode()
            return self.answer(200, {"ciphertext": b(ct), "initializationVector": b(iv),
                                     "authenticationTag": b(tag), "ciphertextDataIntegrityValue": b(cdiv)})
        return self.answer(400, {"errorName": "InvalidCiphertextException"})


@pytest.fixture
def stub(tmp_path):
    ca_pem, cert, key = make_ca_and_leaf(tmp_path, "stub.test")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield ca_pem, httpd.server_address[1]
    httpd.shutdown()


# --- the tests ------------------------------------------------------------------------------

@pytest.fixture
def pair(tmp_path, stub):
    """Trent B serves two of its keys as an XKS proxy; Trent A trusts B's CA and the stub's,
    and reaches `localhost` at B's port and `stub.test` at the stub's."""
    stub_ca, stub_port = stub
    # Mutual TLS as AWS KMS does it: A presents CN=cks.kms.us-east-1.amazonaws.com; B asks
    # every client for a certificate of that CA and requires it where an endpoint says so.
    client_ca, client_cert, client_key = make_ca_and_leaf(tmp_path, AWS_SUBJECT, purpose="client")
    (tmp_path / "clients-ca.pem").write_bytes(client_ca)
    b = Node(tmp_path, "proxy", "--tls-client-ca", str(tmp_path / "clients-ca.pem"),
             "--tls-client-optional").start()
    bk = b.client()
    keys = {n: bk.create_key(Description=n)["KeyMetadata"]["KeyId"] for n in ("ext-1", "ext-2")}
    b.admin("create-xks-endpoint", "--account-id", ACCOUNT, "--path-prefix", PREFIX)
    credential = b.admin("create-xks-credential", "--path-prefix", PREFIX)
    for n, k in keys.items():
        b.admin("put-xks-key", "--path-prefix", PREFIX, "--external-key-id", n, "--key-id", k)
    bundle = tmp_path / "xks-roots.pem"
    bundle.write_bytes(open(b.ca, "rb").read() + stub_ca)
    a = Node(tmp_path, "kms", "--xks-client-ca", str(bundle), "--xks-client-connect",
             f"localhost=127.0.0.1:{b.port},stub.test=127.0.0.1:{stub_port}",
             "--xks-client-cert", str(client_cert), "--xks-client-key", str(client_key),
             # Debug builds on a busy CI machine: AWS's 250 ms is kept for the stub's timeout
             # test below by its one-second sleep.
             "--xks-timeout-ms", "700").start()
    yield a, b, credential, keys
    a.stop()
    b.stop()


def test_a_trent_keeps_its_keys_in_another_trents_xks_proxy(pair):
    a, b, credential, keys = pair
    kms = a.client()
    store = kms.create_custom_key_store(**store_params("hyok", credential))["CustomKeyStoreId"]
    assert store.startswith("cks-") and len(store) == 21
    d = describe(kms, store)
    assert d["ConnectionState"] == "DISCONNECTED" and d["CustomKeyStoreType"] == "EXTERNAL_KEY_STORE"
    assert d["XksProxyConfiguration"] == {"Connectivity": "PUBLIC_ENDPOINT", "AccessKeyId":
                                          credential["XksProxyAuthenticationCredential"]["AccessKeyId"],
                                          "UriEndpoint": "https://localhost", "UriPath": f"/{PREFIX}/kms/xks/v1"}
    # A key cannot be created in a store that is not connected.
    with pytest.raises(ClientError) as e:
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store, XksKeyId="ext-1")
    assert code(e) == "CustomKeyStoreInvalidStateException"
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    assert describe(kms, store)["ConnectionState"] == "CONNECTED"

    meta = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store, XksKeyId="ext-1")["KeyMetadata"]
    assert meta["Origin"] == "EXTERNAL_KEY_STORE" and meta["CustomKeyStoreId"] == store
    assert meta["XksKeyConfiguration"] == {"Id": "ext-1"} and meta["KeyState"] == "Enabled"
    key = meta["KeyId"]
    for xks_key, expected in (("nope", "XksKeyNotFoundException"), ("ext-1", "XksKeyAlreadyInUseException")):
        with pytest.raises(ClientError) as e:
            kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store, XksKeyId=xks_key)
        assert code(e) == expected, message(e)

    # Double encryption: what A returns decrypts through A (and B took part in both).
    ctx = {"purpose": "hyok"}
    blob = kms.encrypt(KeyId=key, Plaintext=b"held on premises", EncryptionContext=ctx)["CiphertextBlob"]
    assert blob[0] == 2
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"held on premises"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "other"})
    assert code(e) == "InvalidCiphertextException"
    dk = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx, DestinationKeyId=plain,
                           DestinationEncryptionContext=ctx)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=moved, EncryptionContext=ctx)["Plaintext"] == b"held on premises"
    # Its material is never rotated nor imported (the rotation and import APIs: "not ...
    # KMS keys in a custom key store").
    refused = (lambda: kms.rotate_key_on_demand(KeyId=key), lambda: kms.get_key_rotation_status(KeyId=key),
               lambda: kms.enable_key_rotation(KeyId=key), lambda: kms.list_key_rotations(KeyId=key),
               lambda: kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                                     WrappingKeySpec="RSA_2048"))
    for call in refused:
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e), message(e)) == ("UnsupportedOperationException",
                                         f"{meta['Arn']} origin is EXTERNAL_KEY_STORE which is not valid for this operation.")
    b_events = [e for e in b_audit(b) if e.get("eventName", "").startswith("Xks")]
    ops = {(e["eventName"], e["requestParameters"]["requestMetadata"]["kmsOperation"]) for e in b_events}
    assert {("XksGetKeyMetadata", "CreateKey"), ("XksEncrypt", "Encrypt"), ("XksDecrypt", "Decrypt"),
            ("XksEncrypt", "GenerateDataKey")} <= ops, ops
    arns = {e["requestParameters"]["requestMetadata"].get("kmsKeyArn") for e in b_events}
    assert meta["Arn"] in arns

    # The external key disabled in the proxy: A's cryptographic calls fail as AWS's do.
    b.client().disable_key(KeyId=keys["ext-1"])
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert code(e) == "KMSInvalidStateException" and "disabled" in message(e)
    b.client().enable_key(KeyId=keys["ext-1"])

    # The proxy down: KMSInvalidStateException; the store stays CONNECTED (AWS does not
    # disconnect it). Disconnected: the key is Unavailable. Connecting fails (FAILED, with
    # the cause's code) until the proxy is back; then the old ciphertext decrypts again.
    b.stop()
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
    assert code(e) == "KMSInvalidStateException" and "unavailable" in message(e)
    kms.disconnect_custom_key_store(CustomKeyStoreId=store)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Unavailable"
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert (code(e), message(e)) == ("KMSInvalidStateException",
                                     f"{meta['Arn']} is unavailable: its custom key store is not connected.")
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    d = describe(kms, store)
    assert (d["ConnectionState"], d["ConnectionErrorCode"]) == ("FAILED", "XKS_PROXY_NOT_REACHABLE")
    with pytest.raises(ClientError) as e:
        kms.connect_custom_key_store(CustomKeyStoreId=store)
    assert code(e) == "CustomKeyStoreInvalidStateException"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store)
    b.start()
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    assert describe(kms, store)["ConnectionState"] == "CONNECTED"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"held on premises"

    # Update and delete need the store disconnected; a store with keys is not deleted.
    with pytest.raises(ClientError) as e:
        kms.delete_custom_key_store(CustomKeyStoreId=store)
    assert code(e) == "CustomKeyStoreInvalidStateException"
    kms.update_custom_key_store(CustomKeyStoreId=store, NewCustomKeyStoreName="hyok-renamed")
    assert describe(kms, store)["CustomKeyStoreName"] == "hyok-renamed"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store)
    with pytest.raises(ClientError) as e:
        kms.delete_custom_key_store(CustomKeyStoreId=store)
    assert code(e) == "CustomKeyStoreHasCMKsException"

    # Every call is in A's trail under its own name, and each call A made to the proxy names
    # A's request in B's trail (`kmsRequestId`), with the principal that asked.
    a_events = a_audit(a)
    names = {e["eventName"] for e in a_events}
    encrypts = {e["requestID"] for e in a_events if e["eventName"] == "Encrypt" and "errorCode" not in e}
    proxied = [e["requestParameters"]["requestMetadata"] for e in b_audit(b) if e.get("eventName") == "XksEncrypt"]
    matched = [m for m in proxied if m["kmsRequestId"] in encrypts]
    assert matched and all(m["awsPrincipalArn"] == f"arn:aws:iam::{ACCOUNT}:root" for m in matched), proxied
    assert {"CreateCustomKeyStore", "DescribeCustomKeyStores", "ConnectCustomKeyStore",
            "DisconnectCustomKeyStore", "UpdateCustomKeyStore", "DeleteCustomKeyStore"} <= names
    # The proxy's secret is nowhere in A's trail, log or database file (sealed there).
    secret = credential["XksProxyAuthenticationCredential"]["RawSecretAccessKey"]
    for f in (a.data / "audit.log", a.log_path, *a.data.glob("*.db")):
        assert secret.encode() not in open(f, "rb").read(), f


def a_audit(node):
    p = subprocess.run([TRENT, "audit", "events", "--data-dir", str(node.data)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return [json.loads(l) for l in p.stdout.splitlines()]


b_audit = a_audit


def test_validation_and_the_stores_that_cannot_exist_here(pair):
    a, _, credential, _ = pair
    kms = a.client()
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(CustomKeyStoreName="hsm", CloudHsmClusterId="cluster-234567abcdefg",
                                    KeyStorePassword="kmsuser-pw", TrustAnchorCertificate="pem")
    assert code(e) == "CloudHsmClusterNotFoundException"
    vpc = dict(store_params("vpc", credential), XksProxyConnectivity="VPC_ENDPOINT_SERVICE",
               XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(**vpc)
    assert code(e) == "XksProxyVpcEndpointServiceNotFoundException"
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(**dict(store_params("p", credential), XksProxyUriEndpoint="http://localhost"))
    assert code(e) == "ValidationException"
    first = kms.create_custom_key_store(**store_params("one", credential))["CustomKeyStoreId"]
    for params, expected in ((store_params("one", credential, path="/other/kms/xks/v1"),
                              "CustomKeyStoreNameInUseException"),
                             (store_params("two", credential), "XksProxyUriInUseException")):
        with pytest.raises(ClientError) as e:
            kms.create_custom_key_store(**params)
        assert code(e) == expected
    with pytest.raises(ClientError) as e:
        kms.describe_custom_key_stores(CustomKeyStoreId="cks-00000000000000000")
    assert code(e) == "CustomKeyStoreNotFoundException"
    assert kms.describe_custom_key_stores(CustomKeyStoreName="one")["CustomKeyStores"][0]["CustomKeyStoreId"] == first
    with pytest.raises(ClientError) as e:
        kms.generate_random(NumberOfBytes=8, CustomKeyStoreId=first)
    assert code(e) == "UnsupportedOperationException"
    kms.delete_custom_key_store(CustomKeyStoreId=first)
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    # A wrong secret: the proxy refuses it while the store is created.
    bad = store_params("bad", credential)
    bad["XksProxyAuthenticationCredential"]["RawSecretAccessKey"] = "A" * 43
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(**bad)
    assert code(e) == "XksProxyIncorrectAuthenticationCredentialException"


def test_a_misbehaving_proxy(pair):
    a, _, credential, _ = pair
    kms = a.client()
    at = lambda mode, name: store_params(name, credential, endpoint="https://stub.test", path=f"/{mode}/kms/xks/v1")
    for mode, expected in (("deny", "XksProxyIncorrectAuthenticationCredentialException"),
                           ("slow", "XksProxyUriUnreachableException")):
        with pytest.raises(ClientError) as e:
            kms.create_custom_key_store(**at(mode, mode))
        assert code(e) == expected, message(e)
    for mode in ("badcdiv", "badtag"):
        store = kms.create_custom_key_store(**at(mode, mode))["CustomKeyStoreId"]
        kms.connect_custom_key_store(CustomKeyStoreId=store)
        key = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store, XksKeyId="k")["KeyMetadata"]["KeyId"]
        if mode == "badcdiv":
            with pytest.raises(ClientError) as e:
                kms.encrypt(KeyId=key, Plaintext=b"x")
            assert code(e) == "KMSInvalidStateException" and "integrity value" in message(e)
        else:
            # A wrong tag cannot be seen when encrypting; decrypting never yields plaintext.
            blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
            with pytest.raises(ClientError) as e:
                kms.decrypt(CiphertextBlob=blob)
            assert code(e) == "InvalidCiphertextException"


def test_an_endpoint_that_requires_the_client_certificate_of_aws_kms(pair):
    """An XKS endpoint made with a client subject admits only a client whose certificate
    (verified by the TLS handshake against --tls-client-ca) has that CN."""
    a, b, _, _ = pair
    kms = a.client()
    for prefix, subject in (("strict", AWS_SUBJECT), ("elsewhere", "cks.kms.eu-west-1.amazonaws.com")):
        made = b.admin("create-xks-endpoint", "--account-id", ACCOUNT, "--path-prefix", prefix,
                       "--client-subject", subject)
        assert made["ClientSubject"] == subject
    strict = b.admin("create-xks-credential", "--path-prefix", "strict")
    store = kms.create_custom_key_store(**store_params("strict", strict, path="/strict/kms/xks/v1"))["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    assert describe(kms, store)["ConnectionState"] == "CONNECTED"
    elsewhere = b.admin("create-xks-credential", "--path-prefix", "elsewhere")
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(**store_params("elsewhere", elsewhere, path="/elsewhere/kms/xks/v1"))
    assert code(e) == "XksProxyIncorrectAuthenticationCredentialException"
    listed = {x["PathPrefix"]: x["ClientSubject"] for x in b.admin("list-xks-endpoints", "--account-id", ACCOUNT)["XksEndpoints"]}
    assert listed == {PREFIX: None, "strict": AWS_SUBJECT, "elsewhere": "cks.kms.eu-west-1.amazonaws.com"}
