"""Trent as an External Key Store proxy (issue 33; AWS's xks_proxy_api_spec.md v1): requests
signed as AWS KMS signs them (botocore's SigV4 for `kms-xks-proxy`) against an endpoint made
with `trent admin`, through the spec's operations and errors. A key whose material was
imported (the guide's BYOK workflow) is served, and what the proxy encrypted is decrypted here
with that material and the spec's AAD construction — the ciphertext AWS KMS would store is
portable to any proxy that holds the material. AWS's own test client (bash + curl) passes too:
docs/xks.md says how it was run; it is not vendored here."""
import base64
import hashlib
import json
import os
import struct
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import free_port, import_material

PREFIX = "keystores/finance"
ACCOUNT = "111122223333"
PRINCIPAL = "arn:aws:iam::444455556666:user/Alice"
KMS_KEY = "arn:aws:kms:us-east-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def b64(b):
    return base64.b64encode(b).decode()


def metadata(op="Encrypt", principal=PRINCIPAL, kms_key=KMS_KEY):
    return {"awsPrincipalArn": principal, "kmsKeyArn": kms_key, "kmsOperation": op,
            "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae", "kmsViaService": "ebs"}


class Proxy:
    def __init__(self, server, credential, prefix=PREFIX):
        self.server, self.prefix = server, prefix
        c = credential["XksProxyAuthenticationCredential"]
        self.akid, self.secret = c["AccessKeyId"], c["RawSecretAccessKey"]
        assert credential["XksProxyUriPath"] == f"/{prefix}/kms/xks/v1"

    def post(self, path, body, akid=None, secret=None, prefix=None, method="POST"):
        url = f"{self.server.endpoint}/{prefix or self.prefix}/kms/xks/v1/{path}"
        data = json.dumps(body)
        req = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(akid or self.akid, secret or self.secret), "kms-xks-proxy", "us-east-1").add_auth(req)
        r = urllib.request.Request(url, data=data.encode() if method == "POST" else None,
                                   headers=dict(req.headers.items()), method=method)
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def encrypt(self, key, plaintext, aad=None, cdiv=False, **meta):
        body = {"requestMetadata": metadata("Encrypt", **meta), "plaintext": b64(plaintext),
                "encryptionAlgorithm": "AES_GCM"}
        if aad is not None:
            body["additionalAuthenticatedData"] = b64(aad)
        if cdiv:
            body["ciphertextDataIntegrityValueAlgorithm"] = "SHA_256"
        return self.post(f"keys/{key}/encrypt", body)

    def decrypt(self, key, out, aad=None, **meta):
        body = {"requestMetadata": metadata("Decrypt", **meta), "encryptionAlgorithm": "AES_GCM",
                **{k: out[k] for k in ("ciphertext", "initializationVector", "authenticationTag", "ciphertextMetadata")
                   if k in out}}
        if aad is not None:
            body["additionalAuthenticatedData"] = b64(aad)
        return self.post(f"keys/{key}/decrypt", body)


def serve_keys(server):
    kms = server.client()
    keys = {name: kms.create_key()["KeyMetadata"]["KeyId"] for name in ("any", "enc", "none", "alice")}
    server.admin("create-xks-endpoint", "--account-id", ACCOUNT, "--path-prefix", PREFIX)
    credential = server.admin("create-xks-credential", "--path-prefix", PREFIX)
    server.admin("put-xks-key", "--path-prefix", PREFIX, "--external-key-id", "any", "--key-id", keys["any"])
    server.admin("put-xks-key", "--path-prefix", PREFIX, "--external-key-id", "enc", "--key-id", keys["enc"],
                 "--usage", "ENCRYPT")
    server.admin("put-xks-key", "--path-prefix", PREFIX, "--external-key-id", "none", "--key-id", keys["none"],
                 "--usage", "NONE")
    server.admin("put-xks-key", "--path-prefix", PREFIX, "--external-key-id", "alice", "--key-id", keys["alice"],
                 "--allow-principal", "arn:aws:iam::444455556666:user/*", "--allow-kms-key", KMS_KEY)
    return Proxy(server, credential), keys, kms


@pytest.fixture
def proxy(server):
    return serve_keys(server)


def error(result):
    status, body = result
    return status, body.get("errorName")


def test_the_four_operations_and_the_integrity_value(proxy):
    p, keys, _ = proxy
    status, health = p.post("health", {"requestMetadata": {"kmsOperation": "KmsHealthCheck", "kmsRequestId": "r"}})
    assert status == 200 and health["xksProxyFleetSize"] == 1
    assert health["ekmFleetDetails"][0]["healthStatus"] == "ACTIVE"
    status, meta = p.post("keys/any/metadata", {"requestMetadata": metadata("DescribeKey")})
    assert (status, meta) == (200, {"keySpec": "AES_256", "keyUsage": ["ENCRYPT", "DECRYPT"], "keyStatus": "ENABLED"})
    aad = b"project=nile,department=marketing"
    status, out = p.encrypt("any", b"Hello World!", aad=aad, cdiv=True)
    assert status == 200, out
    parts = [base64.b64decode(out[k]) for k in ("ciphertextMetadata", "initializationVector", "ciphertext",
                                                "authenticationTag")]
    assert len(parts[1]) == 12 and len(parts[2]) == 12 and len(parts[3]) == 16 and len(parts[0]) <= 20
    # Appendix C: SHA-256 over AAD ‖ metadata ‖ IV ‖ ciphertext ‖ tag.
    assert base64.b64decode(out["ciphertextDataIntegrityValue"]) == hashlib.sha256(aad + b"".join(parts)).digest()
    assert p.decrypt("any", out, aad=aad) == (200, {"plaintext": b64(b"Hello World!")})
    # Any change is InvalidCiphertextException: AAD, metadata (moved into the AAD), tag.
    assert error(p.decrypt("any", out, aad=b"project=blue")) == (400, "InvalidCiphertextException")
    assert error(p.decrypt("any", out)) == (400, "InvalidCiphertextException")
    moved = dict(out, ciphertextMetadata=None)
    del moved["ciphertextMetadata"]
    assert error(p.decrypt("any", moved, aad=aad)) == (400, "InvalidCiphertextException")
    tampered = dict(out, authenticationTag=b64(bytes(16)))
    assert error(p.decrypt("any", tampered, aad=aad)) == (400, "InvalidCiphertextException")
    # The spec's sizes: 4,300 bytes of plaintext and 8,192 of AAD are served; more is 501.
    big = os.urandom(4300)
    status, out = p.encrypt("any", big, aad=os.urandom(8192))
    assert status == 200
    assert error(p.encrypt("any", os.urandom(4301))) == (501, "UnsupportedOperationException")


def test_every_refusal_has_the_specs_status_and_name(proxy):
    p, keys, kms = proxy
    body = {"requestMetadata": metadata("DescribeKey")}
    assert error(p.post("keys/any/metadata", body, akid="XKSNOTAKEY000000000000000")) == (401, "AuthenticationFailedException")
    assert error(p.post("keys/any/metadata", body, secret="x" * 44)) == (401, "AuthenticationFailedException")
    assert error(p.post("keys/any/metadata", body, prefix=PREFIX + "/invalid")) == (404, "InvalidUriPathException")
    assert error(p.post("keys/any/sign", body)) == (404, "InvalidUriPathException")
    assert error(p.post("keys/missing/metadata", body)) == (404, "KeyNotFoundException")
    assert error(p.post("keys/any/metadata", {})) == (400, "ValidationException")
    assert error(p.post("keys/any/metadata", {"requestMetadata": {}})) == (400, "ValidationException")
    assert p.post("keys/any/metadata", body, method="GET")[0] == 405
    # Usages: an encrypt-only key decrypts nothing and gives no integrity value (that takes a
    # decrypt); a key served for neither does neither.
    status, out = p.encrypt("enc", b"x")
    assert status == 200
    assert error(p.decrypt("enc", out)) == (400, "InvalidKeyUsageException")
    assert error(p.encrypt("enc", b"x", cdiv=True)) == (400, "InvalidKeyUsageException")
    assert error(p.encrypt("none", b"x")) == (400, "InvalidKeyUsageException")
    # Only the AWS callers allowed: Alice's account and that KMS key. CreateKey's
    # GetKeyMetadata names no KMS key yet (it does not exist): the principal decides there.
    create_key = {"requestMetadata": {"awsPrincipalArn": PRINCIPAL, "kmsOperation": "CreateKey", "kmsRequestId": "r"}}
    assert p.post("keys/alice/metadata", create_key)[0] == 200
    create_key["requestMetadata"]["awsPrincipalArn"] = "arn:aws:iam::999999999999:user/Mallory"
    assert error(p.post("keys/alice/metadata", create_key)) == (403, "AccessDeniedException")
    assert p.encrypt("alice", b"x")[0] == 200
    assert error(p.encrypt("alice", b"x", principal="arn:aws:iam::999999999999:user/Mallory")) == (403, "AccessDeniedException")
    assert error(p.encrypt("alice", b"x", kms_key=KMS_KEY + "0")) == (403, "AccessDeniedException")
    # A disabled Trent key is a DISABLED external key: InvalidStateException.
    kms.disable_key(KeyId=keys["any"])
    assert p.post("keys/any/metadata", body)[1]["keyStatus"] == "DISABLED"
    assert error(p.encrypt("any", b"x")) == (400, "InvalidStateException")


def test_imported_material_is_served_and_what_aws_would_store_decrypts_with_it(server, proxy):
    p, _, kms = proxy
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = os.urandom(32)
    import_material(kms, key, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    server.admin("put-xks-key", "--path-prefix", PREFIX, "--external-key-id", "byok", "--key-id", key)
    aad = b"aws-kms-blob-header"
    status, out = p.encrypt("byok", b"data key", aad=aad)
    assert status == 200
    md = base64.b64decode(out["ciphertextMetadata"])
    # The spec's AAD: len16(aad) ‖ aad ‖ len8(metadata) ‖ metadata.
    gcm_aad = struct.pack(">H", len(aad)) + aad + bytes([len(md)]) + md
    sealed = base64.b64decode(out["ciphertext"]) + base64.b64decode(out["authenticationTag"])
    plain = AESGCM(material).decrypt(base64.b64decode(out["initializationVector"]), sealed, gcm_aad)
    assert plain == b"data key"


def test_credentials_rotate_two_at_a_time_and_every_call_is_in_the_trail(server, proxy):
    p, _, _ = proxy
    second = Proxy(server, server.admin("create-xks-credential", "--path-prefix", PREFIX))
    assert p.encrypt("any", b"x")[0] == 200 and second.encrypt("any", b"x")[0] == 200
    third = server.admin_raw("create-xks-credential", "--path-prefix", PREFIX)
    assert third.returncode != 0 and "2 credentials already" in third.stderr
    server.admin("delete-xks-credential", "--access-key-id", p.akid)
    assert error(p.encrypt("any", b"x")) == (401, "AuthenticationFailedException")
    assert second.encrypt("any", b"secret plaintext")[0] == 200
    # What AWS may send besides the ARNs is cut in the record as a client's text is (256).
    long_meta = dict(metadata("Encrypt"), kmsViaService="s" * 1000)
    body = {"requestMetadata": long_meta, "plaintext": b64(b"x"), "encryptionAlgorithm": "AES_GCM"}
    assert second.post("keys/any/encrypt", body)[0] == 200
    listed = server.admin("list-xks-endpoints", "--account-id", ACCOUNT)["XksEndpoints"][0]
    assert [c["AccessKeyId"] for c in listed["Credentials"]] == [second.akid]
    assert {k["ExternalKeyId"] for k in listed["Keys"]} == {"any", "enc", "none", "alice"}
    # Each authenticated call is in the account's trail with what AWS said of it; never data.
    records = server.audit_events()
    calls = [r for r in records if r.get("eventName") == "XksEncrypt"]
    assert len(calls) == 4 and all(r["recipientAccountId"] == ACCOUNT for r in calls)
    assert calls[-1]["requestParameters"]["requestMetadata"]["kmsViaService"] == "s" * 256
    meta = calls[-1]["requestParameters"]["requestMetadata"]
    assert meta["awsPrincipalArn"] == PRINCIPAL and meta["kmsKeyArn"] == KMS_KEY and meta["kmsOperation"] == "Encrypt"
    assert calls[-1]["userIdentity"]["accessKeyId"] == second.akid
    assert calls[-1]["resources"][0]["ARN"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
    assert "keyMaterialId" in calls[-1]["additionalEventData"]
    names = {r.get("eventName") for r in records}
    assert {"CreateXksEndpoint", "CreateXksCredential", "PutXksKey", "DeleteXksCredential"} <= names
    text = json.dumps(records)
    assert b64(b"secret plaintext") not in text and p.secret not in text and second.secret not in text


def test_xks_calls_are_counted_in_the_metrics(make_server):
    port = free_port()
    server = make_server(extra=("--wrapping-pool-size", "0", "--metrics-listen", f"127.0.0.1:{port}")).start()
    p, _, _ = serve_keys(server)
    assert p.encrypt("any", b"x")[0] == 200
    assert error(p.decrypt("any", {"ciphertext": b64(b"x"), "initializationVector": b64(bytes(12)),
                                   "authenticationTag": b64(bytes(16))})) == (400, "InvalidCiphertextException")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert 'trent_requests_total{operation="XksEncrypt",error_code=""} 1' in text, text
    assert 'trent_requests_total{operation="XksDecrypt",error_code="InvalidCiphertextException"} 1' in text
    assert server.stop() == 0


def test_an_endpoint_past_its_request_quota_is_throttled_and_the_refusals_recorded(make_server):
    # The spec: "An XKS proxy MAY implement independent request quotas on each path prefix".
    server = make_server(extra=("--wrapping-pool-size", "0", "--xks-requests-per-second", "2")).start()
    p, _, _ = serve_keys(server)
    statuses = [error(p.encrypt("any", b"x"))[0] if i else p.encrypt("any", b"x")[0] for i in range(8)]
    assert statuses[0] == 200 and 429 in statuses, statuses
    assert error(p.encrypt("any", b"x")) in ((200, None), (429, "ThrottlingException"))
    throttled = [r for r in server.audit_events()
                 if r.get("eventName") == "XksEncrypt" and r.get("errorCode") == "ThrottlingException"]
    assert throttled and throttled[0]["requestParameters"]["pathPrefix"] == PREFIX
    assert server.stop() == 0
