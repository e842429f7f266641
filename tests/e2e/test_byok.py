"""Importing key material as users do it: the AWS guide's openssl procedure, `trent byok`,
expiry in real time, and offline decryption with the documented blob format."""
import base64
import json
import os
import struct
import subprocess
import time

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from conftest import ROOT, TRENT, import_material

GUIDE = os.path.join(ROOT, "tests", "e2e", "byok_guide.sh")
ALGORITHMS = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"]
SPECS = ["RSA_2048", "RSA_3072", "RSA_4096"]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_aws_guide_procedure_with_openssl(server, tmp_path, alg, spec):
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file, AWS_CONFIG_FILE=os.devnull)
    p = subprocess.run([GUIDE, server.endpoint, alg, spec, str(tmp_path / "work")], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    key_id = p.stdout.strip().splitlines()[-1]
    meta = server.client().describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Origin"] == "EXTERNAL"
    assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and "ValidTo" not in meta


def byok(server, *args):
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file, AWS_CONFIG_FILE=os.devnull,
               AWS_REGION="us-east-1")
    p = subprocess.run([TRENT, "byok", *args], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_trent_byok_wrap_and_import(server, tmp_path):
    kms = server.client()
    material = os.urandom(32)
    (tmp_path / "material.bin").write_bytes(material)
    # `trent byok wrap` with the aws cli around it.
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                           WrappingKeySpec="RSA_3072")
    (tmp_path / "pub.der").write_bytes(params["PublicKey"])
    byok(server, "wrap", "--public-key", str(tmp_path / "pub.der"), "--algorithm", "RSA_AES_KEY_WRAP_SHA_256",
         "--material", str(tmp_path / "material.bin"), "--out", str(tmp_path / "wrapped.bin"))
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=(tmp_path / "wrapped.bin").read_bytes(),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    ct = kms.encrypt(KeyId=key_id, Plaintext=b"wrapped by trent")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"wrapped by trent"
    # `trent byok import`: the whole ceremony, creating the key.
    out = json.loads(byok(server, "import", "--create", "--material", str(tmp_path / "material.bin"),
                          "--valid-for-days", "30", "--endpoint-url", server.endpoint))
    assert len(out["KeyMaterialId"]) == 64
    meta = kms.describe_key(KeyId=out["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    # Reimporting the same material into the same key is allowed and yields the same id.
    again = json.loads(byok(server, "import", "--key-id", out["KeyId"], "--material", str(tmp_path / "material.bin"),
                            "--no-expiry", "--endpoint-url", server.endpoint, "--wrapping-key-spec", "RSA_2048"))
    assert again["KeyMaterialId"] == out["KeyMaterialId"]


def test_material_expires_at_valid_to_and_reimport_restores(server):
    kms = server.client()
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = os.urandom(32)
    valid_to = int(time.time()) + 3
    import_material(kms, key_id, material, ValidTo=valid_to)
    ct = kms.encrypt(KeyId=key_id, Plaintext=b"before expiry")["CiphertextBlob"]
    time.sleep(max(0, valid_to - time.time()) + 0.2)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert e.value.response["Error"]["Code"] == "KMSInvalidStateException"
    assert e.value.response["Error"]["Message"].endswith("is pending import.")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    import_material(kms, key_id, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"before expiry"
    # The expiry was recorded as a CloudTrail-shaped service event in the audit log.
    events = server.audit_events()
    expired = [e for e in events if e.get("eventName") == "DeleteExpiredKeyMaterial"]
    assert expired and expired[0]["serviceEventDetails"]["keyId"] == key_id


def offline_decrypt(blob, material, context):
    """The recipe of docs/ciphertext-format.md, verbatim."""
    assert blob[0] == 1
    r = blob[26]
    header_len = 75 + r
    salt = blob[59 + r:75 + r]
    nonce = blob[header_len:header_len + 12]
    ctx = struct.pack(">H", len(context))
    for k, v in sorted((k.encode(), v.encode()) for k, v in context.items()):
        ctx += struct.pack(">H", len(k)) + k + struct.pack(">H", len(v)) + v
    key = HKDF(hashes.SHA256(), 32, salt, b"trent/v1/symmetric-default").derive(material)
    return AESGCM(key).decrypt(nonce, blob[header_len + 12:], blob[:header_len] + ctx)


def test_owner_of_imported_material_can_decrypt_offline(server):
    kms = server.client()
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = os.urandom(32)
    import_material(kms, key_id, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    ct = kms.encrypt(KeyId=key_id, Plaintext=b"disaster recovery", EncryptionContext={"b": "2", "a": "1"})["CiphertextBlob"]
    assert offline_decrypt(ct, material, {"a": "1", "b": "2"}) == b"disaster recovery"
    # And the imported material itself is nowhere on disk (in no regular file: the admin
    # socket is not one).
    for root, _, files in os.walk(server.data_dir):
        for f in files:
            path = os.path.join(root, f)
            if not os.path.isfile(path):
                continue
            data = open(path, "rb").read()
            assert material not in data and base64.b64encode(material) not in data, f
