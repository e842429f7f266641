"""The AWS Encryption SDK for Python, unmodified, against Trent: envelope encryption with a
KMS master key (GenerateDataKey, Encrypt for a second key, Decrypt) — also with imported key
material, whose deletion makes the messages undecryptable until the same material returns."""
import os

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk.exceptions import DecryptKeyError
from aws_encryption_sdk.identifiers import CommitmentPolicy

from test_key_types import wrap


@pytest.fixture
def sdk(server, monkeypatch):
    """An Encryption SDK client whose KMS calls go to Trent (botocore's endpoint variable)."""
    akid, secret = server.credentials()
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", akid)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)

    def provider(*arns):
        return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=list(arns),
                                                                botocore_session=botocore.session.Session())
    return client, provider


def test_envelope_encryption_round_trip(server, sdk):
    client, provider = sdk
    kms = server.client()
    first = kms.create_key()["KeyMetadata"]["Arn"]
    second = kms.create_key()["KeyMetadata"]["Arn"]
    message = os.urandom(5000)
    ciphertext, header = client.encrypt(source=message, key_provider=provider(first, second),
                                        encryption_context={"purpose": "e2e"})
    assert {k.key_provider.key_info.decode() for k in header.encrypted_data_keys} == {first, second}
    # Either key alone decrypts (the data key was encrypted under both).
    for arn in (first, second):
        plaintext, dheader = client.decrypt(source=ciphertext, key_provider=provider(arn))
        assert plaintext == message and dheader.encryption_context["purpose"] == "e2e"


def test_imported_key_material_gates_decryption(server, sdk):
    client, provider = sdk
    kms = server.client()
    arn = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["Arn"]
    material = os.urandom(32)

    def import_material():
        token, wrapped = wrap(kms, arn, "RSAES_OAEP_SHA_256", "RSA_2048", material)
        kms.import_key_material(KeyId=arn, ImportToken=token, EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

    import_material()
    ciphertext, _ = client.encrypt(source=b"bring your own key", key_provider=provider(arn))
    kms.delete_imported_key_material(KeyId=arn)
    # KMS answers KMSInvalidStateException (PendingImport); the SDK reports it as its own error.
    with pytest.raises(DecryptKeyError):
        client.decrypt(source=ciphertext, key_provider=provider(arn))
    import_material()  # the same material again
    plaintext, _ = client.decrypt(source=ciphertext, key_provider=provider(arn))
    assert plaintext == b"bring your own key"
