"""The audit trail as an operator meets it: the AWS guide's import ceremony through the real aws
cli and openssl, then the records in audit.log (the five import events with AWS's fields, no
secret anywhere in the files), refusals recorded, `trent audit verify` on a running server and
on a stopped one after each kind of tampering, and fail-closed on a disk that is full."""
import base64
import glob
import json
import os
import subprocess

import botocore.exceptions
import pytest

from conftest import ROOT, TRENT

GUIDE = os.path.join(ROOT, "tests", "e2e", "byok_guide.sh")


def records(server):
    return server.audit_events()


def verify(server, *files):
    return subprocess.run([TRENT, "audit", "verify", "--data-dir", server.data_dir, *files],
                          capture_output=True, text=True)


def test_the_import_ceremony_is_recorded_and_nothing_secret_is(server, tmp_path):
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file, AWS_CONFIG_FILE=os.devnull)
    work = tmp_path / "work"
    p = subprocess.run([GUIDE, server.endpoint, "RSAES_OAEP_SHA_256", "RSA_2048", str(work)], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    key_id = p.stdout.strip().splitlines()[-1]
    server.aws("kms", "delete-imported-key-material", "--key-id", key_id)
    # Reimport: new parameters, the same material.
    params = json.loads(server.aws("kms", "get-parameters-for-import", "--key-id", key_id,
                                   "--wrapping-algorithm", "RSAES_OAEP_SHA_256",
                                   "--wrapping-key-spec", "RSA_2048").stdout)
    (work / "pub2.der").write_bytes(base64.b64decode(params["PublicKey"]))
    (work / "token2.bin").write_bytes(base64.b64decode(params["ImportToken"]))
    subprocess.run(["openssl", "pkeyutl", "-encrypt", "-in", str(work / "PlaintextKeyMaterial.bin"),
                    "-out", str(work / "wrapped2.bin"), "-inkey", str(work / "pub2.der"), "-keyform", "DER",
                    "-pubin", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                    "-pkeyopt", "rsa_mgf1_md:sha256"], check=True)
    server.aws("kms", "import-key-material", "--key-id", key_id,
               "--encrypted-key-material", f"fileb://{work / 'wrapped2.bin'}",
               "--import-token", f"fileb://{work / 'token2.bin'}",
               "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    # A refused call and a refused authentication.
    kms = server.client()
    with pytest.raises(botocore.exceptions.ClientError):
        kms.describe_key(KeyId="alias/does-not-exist")
    with pytest.raises(botocore.exceptions.ClientError):
        server.client(access_key="AKIAUNKNOWN000000000", secret="x").list_keys()

    events = records(server)
    mine = [e for e in events if key_id in json.dumps(e.get("requestParameters"))
            or key_id in json.dumps(e.get("responseElements"))]
    names = [e["eventName"] for e in mine]
    assert names[:2] == ["CreateKey", "GetParametersForImport"], names
    assert names.count("ImportKeyMaterial") == 2 and "DeleteImportedKeyMaterial" in names, names
    for e in mine:
        assert e["userIdentity"]["type"] == "Root" and e["sourceIPAddress"] == "127.0.0.1"
        assert e["userAgent"].startswith("aws-cli/"), e["userAgent"]
        assert e["resources"][0]["ARN"].endswith(key_id)
    imp = next(e for e in mine if e["eventName"] == "ImportKeyMaterial")
    assert imp["requestParameters"] == {"keyId": key_id, "expirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    assert set(imp["responseElements"]) == {"keyId", "keyMaterialId"}
    gpi = next(e for e in mine if e["eventName"] == "GetParametersForImport")
    assert gpi["readOnly"] is True and gpi["responseElements"] is None
    refused = [e for e in events if e["eventName"] == "DescribeKey" and e.get("errorCode")]
    assert refused and refused[-1]["errorCode"] == "NotFoundException"
    unknown = [e for e in events if e.get("errorCode") == "UnrecognizedClientException"]
    assert unknown and unknown[-1]["userIdentity"] == {"type": "Unknown", "accessKeyId": "AKIAUNKNOWN000000000"}

    # No secret in any file of the trail: the material (raw, base64, hex), the plaintext, the
    # wrapped material, the import token, the wrapping public key, the secret access key.
    blob = b"".join(open(p, "rb").read() for p in glob.glob(os.path.join(server.data_dir, "audit*.log")))
    material = (work / "PlaintextKeyMaterial.bin").read_bytes()
    _, secret_key = server.credentials()
    for secret in [material, base64.b64encode(material), material.hex().encode(),
                   b"imported key works", base64.b64encode(b"imported key works"),
                   base64.b64encode((work / "EncryptedKeyMaterial.bin").read_bytes()),
                   base64.b64encode((work / "wrapped2.bin").read_bytes()),
                   params["ImportToken"].encode(), params["PublicKey"].encode(), secret_key.encode()]:
        assert secret not in blob

    # The running server verifies its own trail.
    v = verify(server)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "intact" in v.stdout


def test_verify_names_the_line_that_was_changed_deleted_or_swapped(make_server):
    s = make_server().start()
    kms = s.client()
    for i in range(6):
        kms.create_key(Description=f"key {i}")
    assert s.stop() == 0
    live = os.path.join(s.data_dir, "audit.log")
    original = open(live).read().splitlines(keepends=True)
    assert verify(s).returncode == 0

    def tampered(change):
        lines = list(original)
        change(lines)
        open(live, "w").writelines(lines)
        out = verify(s)
        assert out.returncode == 1, out.stdout
        return out.stdout

    n = next(i for i, l in enumerate(original) if '"key 2"' in l)
    assert f"audit.log line {n + 1}: modified" in tampered(lambda l: l.__setitem__(n, l[n].replace("key 2", "key 9")))
    assert f"audit.log line {n + 1}: sequence" in tampered(lambda l: l.pop(n))
    assert f"audit.log line {n + 1}: out of order" in tampered(lambda l: l.insert(n + 1, l.pop(n)))
    open(live, "w").writelines(original)
    assert verify(s).returncode == 0


def test_a_call_fails_when_its_record_cannot_be_written(make_server):
    s = make_server().start()
    assert s.stop() == 0
    # A disk that is full: every write to the trail fails with ENOSPC.
    for p in glob.glob(os.path.join(s.data_dir, "audit*.log")):
        os.remove(p)
    os.symlink("/dev/full", os.path.join(s.data_dir, "audit.log"))
    s.start()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s.client().create_key()
    assert e.value.response["Error"]["Code"] == "KMSInternalException"
    assert s.stop() == 0
    open_server = make_server("data", extra=("--wrapping-pool-size", "0", "--audit-fail-open"))
    open_server.data_dir = s.data_dir
    open_server.start()
    open_server.client().create_key()


def test_aws_cli_and_boto3_look_up_the_events(server):
    kms = server.client()
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    for _ in range(3):
        kms.list_keys()
    # The aws cli, unmodified: `aws cloudtrail lookup-events --endpoint-url ...`.
    p = server.aws("cloudtrail", "lookup-events", "--lookup-attributes",
                   "AttributeKey=EventName,AttributeValue=GetParametersForImport")
    events = json.loads(p.stdout)["Events"]
    assert [e["EventName"] for e in events] == ["GetParametersForImport"]
    inner = json.loads(events[0]["CloudTrailEvent"])
    assert inner["requestParameters"] == {"keyId": key_id, "wrappingAlgorithm": "RSAES_OAEP_SHA_256",
                                          "wrappingKeySpec": "RSA_2048"}
    assert events[0]["Resources"][0]["ResourceName"].endswith(key_id)
    # boto3's paginator walks the pages (MaxResults 2) to every ListKeys.
    akid, sk = server.credentials()
    import boto3
    # LookupEvents' quota is 2 calls a second per account (as CloudTrail's): four calls in a
    # row are throttled, and botocore's default of 2 retries with jitter can land inside the
    # same second. The quota has its own test; here the client retries as a patient caller.
    from botocore.config import Config
    ct = boto3.client("cloudtrail", endpoint_url=server.endpoint, region_name="us-east-1",
                      aws_access_key_id=akid, aws_secret_access_key=sk,
                      config=Config(retries={"mode": "standard", "max_attempts": 10}))
    pages = ct.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListKeys"}],
        PaginationConfig={"PageSize": 2})
    found = [e for page in pages for e in page["Events"]]
    assert len(found) == 3 and all(e["EventName"] == "ListKeys" for e in found)
    by_resource = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName",
                                                      "AttributeValue": inner["resources"][0]["ARN"]}])
    assert {e["EventName"] for e in by_resource["Events"]} == {"CreateKey", "GetParametersForImport"}


def test_expiry_is_recorded_at_valid_to_with_no_call_and_survives_kill_9(make_server):
    """DeleteExpiredKeyMaterial follows ValidTo within 2 s though nobody calls, once, and a
    SIGKILL right after does not lose it (it is committed with the expiry, then journaled)."""
    import datetime
    import signal
    import time

    from conftest import import_material
    server = make_server().start()
    kms = server.client()
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    valid_to = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=4)
    import_material(kms, key, os.urandom(32), ValidTo=valid_to, ExpirationModel="KEY_MATERIAL_EXPIRES")

    def expiries():
        return [r for r in records(server) if r.get("eventName") == "DeleteExpiredKeyMaterial"]

    while not expiries():
        assert datetime.datetime.now(datetime.timezone.utc) < valid_to + datetime.timedelta(seconds=2), \
            "no DeleteExpiredKeyMaterial within 2 s of ValidTo"
        time.sleep(0.1)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.start()
    time.sleep(1.5)  # a background pass or two: nothing is written twice
    found = expiries()
    assert len(found) == 1, found
    assert found[0]["serviceEventDetails"]["keyId"] == key
    assert found[0]["eventType"] == "AwsServiceEvent"
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_a_call_with_another_accounts_key_is_in_both_accounts_lookup_events(server):
    """Account B encrypts with A's key: A's and B's LookupEvents both show it (one record
    each, one sharedEventID); B's refused call is in B's only."""
    import boto3
    from botocore.config import Config
    a = server.client()
    b_root = server.admin("create-account", "--account-id", "444455556666", "--partition", "aws")["Root"]
    b = server.client(access_key=b_root["AccessKeyId"], secret=b_root["SecretAccessKey"])
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:Encrypt",
         "Resource": "*"}]})
    arn = a.create_key(Policy=policy)["KeyMetadata"]["Arn"]
    b.encrypt(KeyId=arn, Plaintext=b"x")
    with pytest.raises(botocore.exceptions.ClientError):
        b.generate_data_key(KeyId=arn, KeySpec="AES_256")

    def lookup(akid, sk, name):
        ct = boto3.client("cloudtrail", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=akid, aws_secret_access_key=sk,
                          config=Config(retries={"mode": "standard", "max_attempts": 10}))
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in events]

    akid, sk = server.credentials()
    in_a, in_b = lookup(akid, sk, "Encrypt"), lookup(b_root["AccessKeyId"], b_root["SecretAccessKey"], "Encrypt")
    assert len(in_a) == 1 and len(in_b) == 1, (in_a, in_b)
    assert in_a[0]["userIdentity"]["accountId"] == "444455556666" == in_b[0]["userIdentity"]["accountId"]
    assert (in_a[0]["recipientAccountId"], in_b[0]["recipientAccountId"]) == ("111122223333", "444455556666")
    assert in_a[0]["sharedEventID"] == in_b[0]["sharedEventID"] and in_a[0]["eventID"] != in_b[0]["eventID"]
    refused_b = lookup(b_root["AccessKeyId"], b_root["SecretAccessKey"], "GenerateDataKey")
    assert len(refused_b) == 1 and refused_b[0]["errorCode"] == "AccessDeniedException"
    assert lookup(akid, sk, "GenerateDataKey") == []
