"""SM2 in a China Region against openssl 3: SM2DSA signatures (default distinguishing ID
1234567812345678, SM3) verify both ways, SM2PKE ciphertexts (ASN.1 C1C3C2) decrypt both
ways, and the China import path: openssl wraps an SM2 private key with Trent's SM2 wrapping
public key (SM2PKE) and Trent imports it."""
import subprocess

import botocore.exceptions
import pytest

from test_key_types import code

DISTID = "distid:1234567812345678"


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


@pytest.fixture
def kms(server):
    # An account of the China partition: credentials sign only for their partition's Regions.
    return server.account_client("666677778888", "aws-cn", "cn-north-1")


@pytest.fixture
def local_key(tmp_path):
    """An SM2 key pair made by openssl: (PEM path, PKCS#8 DER, SPKI DER)."""
    pem = tmp_path / "sm2.pem"
    openssl("genpkey", "-algorithm", "SM2", "-out", str(pem))
    pkcs8 = openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(pem), "-outform", "DER")
    spki = openssl("pkey", "-in", str(pem), "-pubout", "-outform", "DER")
    return pem, pkcs8, spki


def import_sm2(kms, tmp_path, usage, pkcs8):
    """The AWS guide's procedure with an SM2 wrapping key: openssl pkeyutl -encrypt (SM2PKE)."""
    key_id = kms.create_key(KeySpec="SM2", KeyUsage=usage, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    p = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="SM2PKE", WrappingKeySpec="SM2")
    (tmp_path / "wrapping.der").write_bytes(p["PublicKey"])
    (tmp_path / "material.der").write_bytes(pkcs8)
    wrapped = openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "wrapping.der"),
                      "-in", str(tmp_path / "material.der"))
    kms.import_key_material(KeyId=key_id, ImportToken=p["ImportToken"], EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    return key_id


def test_trent_sm2dsa_signatures_verify_with_openssl(kms, tmp_path):
    key = kms.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert key["SigningAlgorithms"] == ["SM2DSA"]
    (tmp_path / "pub.der").write_bytes(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    (tmp_path / "msg").write_bytes(b"signed by trent")
    sig = kms.sign(KeyId=key["KeyId"], Message=b"signed by trent", SigningAlgorithm="SM2DSA")["Signature"]
    (tmp_path / "sig").write_bytes(sig)
    out = openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "pub.der"), "-rawin",
                  "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"), "-digest", "sm3", "-pkeyopt", DISTID)
    assert b"Verified Successfully" in out


def test_imported_sm2_key_verifies_openssl_signatures(kms, tmp_path, local_key):
    pem, pkcs8, spki = local_key
    key_id = import_sm2(kms, tmp_path, "SIGN_VERIFY", pkcs8)
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == spki
    (tmp_path / "msg").write_bytes(b"signed by openssl")
    sig = openssl("pkeyutl", "-sign", "-inkey", str(pem), "-rawin", "-in", str(tmp_path / "msg"), "-digest", "sm3",
                  "-pkeyopt", DISTID)
    assert kms.verify(KeyId=key_id, Message=b"signed by openssl", Signature=sig,
                      SigningAlgorithm="SM2DSA")["SignatureValid"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.verify(KeyId=key_id, Message=b"tampered", Signature=sig, SigningAlgorithm="SM2DSA")
    assert code(e) == "KMSInvalidSignatureException"


def test_sm2pke_both_ways_with_openssl(kms, tmp_path, local_key):
    pem, pkcs8, _ = local_key
    key_id = import_sm2(kms, tmp_path, "ENCRYPT_DECRYPT", pkcs8)
    # Trent encrypts, openssl decrypts with the original private key.
    ct = kms.encrypt(KeyId=key_id, Plaintext=b"to openssl", EncryptionAlgorithm="SM2PKE")["CiphertextBlob"]
    (tmp_path / "ct").write_bytes(ct)
    assert openssl("pkeyutl", "-decrypt", "-inkey", str(pem), "-in", str(tmp_path / "ct")) == b"to openssl"
    # openssl encrypts to Trent's public key, Trent decrypts.
    (tmp_path / "pub.der").write_bytes(kms.get_public_key(KeyId=key_id)["PublicKey"])
    (tmp_path / "pt").write_bytes(b"from openssl")
    ct = openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "pub.der"),
                 "-in", str(tmp_path / "pt"))
    out = kms.decrypt(KeyId=key_id, CiphertextBlob=ct, EncryptionAlgorithm="SM2PKE")
    assert out["Plaintext"] == b"from openssl" and out["EncryptionAlgorithm"] == "SM2PKE"


def test_sm2_exists_only_in_china(server):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client().create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    assert code(e) == "ValidationException"
