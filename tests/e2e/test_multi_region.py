"""The AWS guide's "Importing key material into multi-Region keys" with boto3 and openssl: a
primary in us-east-1, replicas in two other Regions, the same material wrapped with openssl
for each key's own wrapping key and token, cross-Region decryption, other material refused,
independent expiry, deletion of a primary with replicas, UpdatePrimaryRegion; and
GetKeyLastUsage naming the audit record of the last call."""
import datetime
import json
import os
import subprocess
import time

import botocore.exceptions
import pytest

from conftest import TRENT

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def advance(server, duration):
    p = subprocess.run([TRENT, "admin", "--data-dir", server.data_dir, "clock", "advance", duration],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return datetime.datetime.fromisoformat(json.loads(p.stdout)["Now"].replace("Z", "+00:00"))


def wait_for(kms, key, state):
    """The replica's transient state ends within seconds (retry, as the API page says)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        got = kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"]
        if got == state:
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} still {got}, not {state}")


def openssl_import(kms, key, material_path, work, **expiry):
    """Steps 2-4 of the guide for one key of the set: its own wrapping key and token."""
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    pub = work / "WrappingPublicKey.bin"
    pub.write_bytes(p["PublicKey"])
    wrapped = work / "EncryptedKeyMaterial.bin"
    subprocess.run(["openssl", "pkeyutl", "-encrypt", "-in", str(material_path), "-out", str(wrapped),
                    "-inkey", str(pub), "-keyform", "DER", "-pubin", "-pkeyopt", "rsa_padding_mode:oaep",
                    "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"], check=True)
    return kms.import_key_material(KeyId=key, ImportToken=p["ImportToken"],
                                   EncryptedKeyMaterial=wrapped.read_bytes(), **expiry)


def error(call):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


def test_the_guides_multi_region_import_procedure(make_server, tmp_path):
    server = make_server(extra=("--wrapping-pool-size", "0", "--dev-clock")).start()
    us, eu, ap = (server.client(region=r) for r in REGIONS)
    material = tmp_path / "PlaintextKeyMaterial.bin"
    subprocess.run(["openssl", "rand", "-out", str(material), "32"], check=True)

    # The primary, its material (expiring in 30 days), then the replicas.
    key = us.create_key(Origin="EXTERNAL", MultiRegion=True, Description="primary")["KeyMetadata"]["KeyId"]
    assert key.startswith("mrk-")
    now = advance(server, "1s")
    mat_id = openssl_import(us, key, material, tmp_path, ExpirationModel="KEY_MATERIAL_EXPIRES",
                            ValidTo=now + datetime.timedelta(days=30))["KeyMaterialId"]
    for region in REGIONS[1:]:
        out = us.replicate_key(KeyId=key, ReplicaRegion=region, Description=f"replica in {region}")
        meta = out["ReplicaKeyMetadata"]
        assert meta["KeyState"] == "Creating" and meta["KeyId"] == key
        assert meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        assert json.loads(out["ReplicaPolicy"])["Id"] == "key-default-1"
    for replica in (eu, ap):
        wait_for(replica, key, "PendingImport")
    config = us.describe_key(KeyId=key)["KeyMetadata"]["MultiRegionConfiguration"]
    assert config["PrimaryKey"]["Region"] == "us-east-1"
    assert sorted(r["Region"] for r in config["ReplicaKeys"]) == sorted(REGIONS[1:])

    # Other material is refused; the same material, wrapped for each replica, is taken.
    other = tmp_path / "Other.bin"
    other.write_bytes(os.urandom(32))
    code, _ = error(lambda: openssl_import(eu, key, other, tmp_path,
                                           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"))
    assert code == "IncorrectKeyMaterialException"
    out = openssl_import(eu, key, material, tmp_path, ExpirationModel="KEY_MATERIAL_EXPIRES",
                         ValidTo=now + datetime.timedelta(days=60))
    assert out["KeyMaterialId"] == mat_id
    openssl_import(ap, key, material, tmp_path, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    for replica in (eu, ap):
        assert replica.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"

    # Encrypted in one Region, decrypted in another, without a cross-Region call.
    ct = us.encrypt(KeyId=key, Plaintext=b"across regions")["CiphertextBlob"]
    for replica, region in ((eu, "eu-west-1"), (ap, "ap-southeast-2")):
        out = replica.decrypt(CiphertextBlob=ct)
        assert out["Plaintext"] == b"across regions"
        assert out["KeyId"] == f"arn:aws:kms:{region}:111122223333:key/{key}"
    back = ap.encrypt(KeyId=key, Plaintext=b"back")["CiphertextBlob"]
    assert us.decrypt(CiphertextBlob=back)["Plaintext"] == b"back"

    # Independent expiry: after 31 days the primary waits for its material, the replicas work.
    advance(server, "31d")
    assert us.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert error(lambda: us.decrypt(CiphertextBlob=ct))[0] == "KMSInvalidStateException"
    assert eu.decrypt(CiphertextBlob=ct)["Plaintext"] == b"across regions"
    openssl_import(us, key, material, tmp_path, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert us.decrypt(CiphertextBlob=ct)["Plaintext"] == b"across regions"

    # UpdatePrimaryRegion: eu-west-1 becomes the primary; us-east-1 a replica.
    us.update_primary_region(KeyId=key, PrimaryRegion="eu-west-1")
    wait_for(us, key, "Enabled")
    config = eu.describe_key(KeyId=key)["KeyMetadata"]["MultiRegionConfiguration"]
    assert config["MultiRegionKeyType"] == "PRIMARY"
    assert config["PrimaryKey"]["Arn"] == f"arn:aws:kms:eu-west-1:111122223333:key/{key}"
    code, message = error(lambda: us.replicate_key(KeyId=key, ReplicaRegion="sa-east-1"))
    assert (code, message) == ("UnsupportedOperationException",
                               f"arn:aws:kms:us-east-1:111122223333:key/{key} is not a multi-region primary key.")

    # The primary with replicas waits for their deletion, then its own window starts.
    out = eu.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in out
    meta = eu.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["PendingDeletionWindowInDays"] == 7
    for replica in (us, ap):
        replica.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    advance(server, "7d1h")
    meta = eu.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
    assert meta["MultiRegionConfiguration"]["ReplicaKeys"] == []
    assert error(lambda: us.describe_key(KeyId=key))[0] == "NotFoundException"
    assert server.stop() == 0
    trail = server.audit_events()
    created = [(r["eventName"], r["awsRegion"]) for r in trail if r.get("eventName") in ("CreateKey", "ReplicateKey")]
    assert ("CreateKey", "eu-west-1") in created and ("ReplicateKey", "us-east-1") in created


def test_get_key_last_usage_names_the_audit_record(server):
    kms = server.client()
    key = kms.create_key()["KeyMetadata"]
    out = kms.get_key_last_usage(KeyId=key["KeyId"])
    assert out["KeyLastUsage"] == {} and out["KeyCreationDate"] == key["CreationDate"]
    assert out["TrackingStartDate"] >= key["CreationDate"]
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=ct)
    last = kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]
    assert last["Operation"] == "Decrypt"
    # The audit trail has the record of that call under that event id.
    deadline = time.time() + 10
    while time.time() < deadline:
        records = server.audit_events()
        match = [r for r in records if r.get("eventID") == last["CloudTrailEventId"]]
        if match:
            break
        time.sleep(0.2)
    assert match and match[0]["eventName"] == "Decrypt" and match[0]["requestID"] == last["KmsRequestId"]
    # Alias names are not accepted (API: key id or key ARN).
    kms.create_alias(AliasName="alias/usage", TargetKeyId=key["KeyId"])
    assert error(lambda: kms.get_key_last_usage(KeyId="alias/usage"))[0] == "NotFoundException"
