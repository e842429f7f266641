"""Trent driven by boto3 exactly as applications use AWS KMS."""
import base64
import os

import botocore.exceptions
import pytest

ACCOUNT = "111122223333"


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"].get("Message", "")


def test_round_trip_with_alias_and_context(server):
    kms = server.client()
    key = kms.create_key(Description="e2e")["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and key["Origin"] == "AWS_KMS"
    kms.create_alias(AliasName="alias/e2e", TargetKeyId=key["KeyId"])
    ct = kms.encrypt(KeyId="alias/e2e", Plaintext=b"attack at dawn",
                     EncryptionContext={"tenant": "a"})["CiphertextBlob"]
    out = kms.decrypt(CiphertextBlob=ct, EncryptionContext={"tenant": "a"})
    assert out["Plaintext"] == b"attack at dawn"
    assert out["KeyId"] == key["Arn"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=ct, EncryptionContext={"tenant": "b"})
    assert code_of(e)[0] == "InvalidCiphertextException"
    aliases = kms.list_aliases()["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/e2e"]


def test_data_keys(server):
    kms = server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(dk["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    np = kms.generate_data_key_without_plaintext(KeyId=key_id, NumberOfBytes=24)
    assert "Plaintext" not in np
    assert len(kms.decrypt(CiphertextBlob=np["CiphertextBlob"])["Plaintext"]) == 24
    assert len(kms.generate_random(NumberOfBytes=16)["Plaintext"]) == 16


def test_disable_and_deletion_lifecycle(server):
    kms = server.client()
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code_of(e) == ("DisabledException", f"{key['Arn']} is disabled.")
    sched = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert sched["KeyState"] == "PendingDeletion"
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_wrong_signature_and_unknown_key_are_rejected(server):
    akid, _ = server.credentials()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client(secret="not-the-secret").list_keys()
    assert code_of(e)[0] == "InvalidSignatureException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client(access_key="AKIAIOSFODNN7EXAMPLE", secret="x").list_keys()
    assert code_of(e)[0] == "UnrecognizedClientException"


def test_restart_keeps_keys_and_ciphertexts(make_server):
    s = make_server().start()
    kms = s.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/keep", TargetKeyId=key_id)
    ct = kms.encrypt(KeyId="alias/keep", Plaintext=b"durable")["CiphertextBlob"]
    creds = open(s.credentials_file).read()
    assert s.stop() == 0
    s.start()
    assert open(s.credentials_file).read() == creds
    kms = s.client()
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"durable"
    assert kms.describe_key(KeyId="alias/keep")["KeyMetadata"]["KeyId"] == key_id


def test_no_plaintext_secrets_in_the_data_dir(make_server):
    s = make_server().start()
    kms = s.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    secret_plaintext = os.urandom(48)
    kms.encrypt(KeyId=key_id, Plaintext=secret_plaintext)
    _, secret_key = s.credentials()
    assert s.stop() == 0  # flush everything to disk
    needles = {
        "data key": dk["Plaintext"],
        "data key (base64)": base64.b64encode(dk["Plaintext"]),
        "data key (hex)": dk["Plaintext"].hex().encode(),
        "encrypted plaintext": secret_plaintext,
        "secret access key": secret_key.encode(),
    }
    for root, _, files in os.walk(s.data_dir):
        for f in files:
            if f == "credentials":
                continue  # the credentials file holds the secret access key by design
            blob = open(os.path.join(root, f), "rb").read()
            for what, needle in needles.items():
                assert needle not in blob, f"{what} found in {f}"


def test_files_are_private(server):
    for f in ("root.key", "credentials", "trent.db"):
        mode = os.stat(os.path.join(server.data_dir, f)).st_mode & 0o777
        assert mode == 0o600, f"{f} has mode {oct(mode)}"
