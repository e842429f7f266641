"""The libraries teams point at a KMS, unmodified, against Trent: the AWS Cryptographic
Material Providers Library's keyrings (KMS, multi-Region with a replica, RSA, ECDH) under the
AWS Encryption SDK, the Amazon S3 Encryption Client over a real S3-compatible server
(moto_server), and an Ethereum secp256k1 signer from npm whose signatures ethers recovers to
the key's address. A regression in what these libraries parse (a DER encoding, a public key's
form, a field of an answer) fails here before a user finds it."""
import json
import os
import subprocess
import time

import aws_encryption_sdk
import boto3
import pytest
from aws_cryptographic_material_providers.mpl import AwsCryptographicMaterialProviders
from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig
from aws_cryptographic_material_providers.mpl.models import (
    CreateAwsKmsEcdhKeyringInput, CreateAwsKmsKeyringInput, CreateAwsKmsMrkKeyringInput,
    CreateAwsKmsRsaKeyringInput, KmsEcdhStaticConfigurationsKmsPrivateKeyToStaticPublicKey,
    KmsEcdhStaticConfigurationsKmsPublicKeyDiscovery, KmsPrivateKeyToStaticPublicKeyInput,
    KmsPublicKeyDiscoveryInput)
from aws_encryption_sdk.identifiers import AlgorithmSuite, CommitmentPolicy
from cryptography.hazmat.primitives import serialization

from conftest import ROOT

MPL = AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())
JS = os.path.join(ROOT, "tests", "e2e", "js")


@pytest.fixture
def esdk():
    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


def round_trip(esdk, encrypt_keyring, decrypt_keyring, **options):
    message = os.urandom(3000)
    ciphertext, _ = esdk.encrypt(source=message, keyring=encrypt_keyring,
                                 encryption_context={"purpose": "consumers e2e"}, **options)
    plaintext, header = esdk.decrypt(source=ciphertext, keyring=decrypt_keyring)
    assert plaintext == message and header.encryption_context["purpose"] == "consumers e2e"
    return ciphertext


def test_mpl_kms_keyring(server, esdk):
    kms = server.client()
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    keyring = MPL.create_aws_kms_keyring(input=CreateAwsKmsKeyringInput(kms_key_id=arn, kms_client=kms))
    round_trip(esdk, keyring, keyring)


def test_mpl_mrk_keyring_decrypts_with_the_replica_in_another_region(server, esdk):
    east = server.client(region="us-east-1")
    west = server.client(region="us-west-2")
    arn = east.create_key(MultiRegion=True)["KeyMetadata"]["Arn"]
    replica = east.replicate_key(KeyId=arn, ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]["Arn"]
    assert replica.split(":")[3] == "us-west-2" and replica.split("/")[-1] == arn.split("/")[-1]
    # As in AWS, a replica is Creating for a moment before it is Enabled.
    deadline = time.time() + 30
    while west.describe_key(KeyId=replica)["KeyMetadata"]["KeyState"] != "Enabled":
        assert time.time() < deadline, "the replica never became Enabled"
        time.sleep(0.1)
    encrypt_with = MPL.create_aws_kms_mrk_keyring(input=CreateAwsKmsMrkKeyringInput(kms_key_id=arn, kms_client=east))
    decrypt_with = MPL.create_aws_kms_mrk_keyring(input=CreateAwsKmsMrkKeyringInput(kms_key_id=replica, kms_client=west))
    round_trip(esdk, encrypt_with, decrypt_with)


def test_mpl_rsa_keyring_encrypts_offline_with_the_public_key(server, esdk):
    kms = server.client()
    arn = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]
    der = kms.get_public_key(KeyId=arn)["PublicKey"]
    pem = serialization.load_der_public_key(der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # Encrypting needs no KMS call (the public key); decrypting calls Decrypt with OAEP-SHA256.
    encrypt_with = MPL.create_aws_kms_rsa_keyring(input=CreateAwsKmsRsaKeyringInput(
        kms_key_id=arn, public_key=pem, encryption_algorithm="RSAES_OAEP_SHA_256"))
    decrypt_with = MPL.create_aws_kms_rsa_keyring(input=CreateAwsKmsRsaKeyringInput(
        kms_key_id=arn, encryption_algorithm="RSAES_OAEP_SHA_256", kms_client=kms))
    # The RSA keyring admits only algorithm suites without signing.
    round_trip(esdk, encrypt_with, decrypt_with,
               algorithm=AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)


def test_mpl_ecdh_keyring_between_two_kms_key_pairs(server, esdk):
    kms = server.client()
    sender, recipient = (kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["Arn"]
                         for _ in range(2))
    sender_public = kms.get_public_key(KeyId=sender)["PublicKey"]
    recipient_public = kms.get_public_key(KeyId=recipient)["PublicKey"]
    # The sender derives the shared secret with DeriveSharedSecret and the recipient's public
    # key; the recipient derives it with its own key (discovery) from the sender's in the message.
    encrypt_with = MPL.create_aws_kms_ecdh_keyring(input=CreateAwsKmsEcdhKeyringInput(
        key_agreement_scheme=KmsEcdhStaticConfigurationsKmsPrivateKeyToStaticPublicKey(
            KmsPrivateKeyToStaticPublicKeyInput(sender_kms_identifier=sender, sender_public_key=sender_public,
                                                recipient_public_key=recipient_public)),
        curve_spec="ECC_NIST_P256", kms_client=kms))
    decrypt_with = MPL.create_aws_kms_ecdh_keyring(input=CreateAwsKmsEcdhKeyringInput(
        key_agreement_scheme=KmsEcdhStaticConfigurationsKmsPublicKeyDiscovery(
            KmsPublicKeyDiscoveryInput(recipient_kms_identifier=recipient)),
        curve_spec="ECC_NIST_P256", kms_client=kms))
    round_trip(esdk, encrypt_with, decrypt_with,
               algorithm=AlgorithmSuite.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
    usage = [e["eventName"] for e in server.audit_events() if e.get("eventName") == "DeriveSharedSecret"]
    assert len(usage) >= 2


S3EC_PYTHON = os.path.join(ROOT, ".venv-s3ec", "bin", "python")


def s3ec(mode, server, s3_server, **env):
    """tests/e2e/s3ec/roundtrip.py in the S3 Encryption Client's own venv (it pins an older
    cryptography than the main venv's tests need)."""
    akid, secret = server.credentials()
    run_env = dict(os.environ, KMS_ENDPOINT=server.endpoint, S3_ENDPOINT=s3_server, AWS_ACCESS_KEY_ID=akid,
                   AWS_SECRET_ACCESS_KEY=secret, BUCKET="encrypted", OBJECT="object", **env)
    return subprocess.run([S3EC_PYTHON, os.path.join(ROOT, "tests", "e2e", "s3ec", "roundtrip.py"), mode],
                          env=run_env, capture_output=True, text=True, timeout=120)


def test_s3_encryption_client_over_a_real_s3_server(server, s3_server, tmp_path):
    assert os.path.exists(S3EC_PYTHON), "scripts/setup makes .venv-s3ec"
    kms = server.client()
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/s3ec", TargetKeyId=arn)
    body = os.urandom(100_000)
    (tmp_path / "body").write_bytes(body)
    p = s3ec("put", server, s3_server, KEY="alias/s3ec", BODY_FILE=str(tmp_path / "body"))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    # What S3 holds is ciphertext, with the wrapped data key in the object's metadata; the
    # client gives the plaintext back (GenerateDataKey, then Decrypt, on Trent).
    assert out["storedIsPlaintext"] is False
    assert any(k.startswith("x-amz-") for k in out["metadata"]), out["metadata"]
    assert bytes.fromhex(out["decryptedHex"]) == body
    events = [e["eventName"] for e in server.audit_events()]
    assert "GenerateDataKey" in events and "Decrypt" in events
    # Once its KMS key is pending deletion, nothing opens the object.
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    p = s3ec("get", server, s3_server, KEY="alias/s3ec")
    assert p.returncode != 0 and "KMSInvalidStateException" in p.stderr, p.stderr


def test_ethereum_signer_from_npm_recovers_the_keys_address(server):
    kms = server.client()
    key = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    akid, secret = server.credentials()
    env = dict(os.environ, AWS_ENDPOINT_URL_KMS=server.endpoint, AWS_ACCESS_KEY_ID=akid,
               AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1", KEY_ID=key)
    p = subprocess.run(["node", os.path.join(JS, "eth_signer.mjs")], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    # The address the signer derived from GetPublicKey is the one ethers recovers from the
    # signatures of a message and of a transaction made with Sign (ECDSA_SHA_256, DIGEST).
    assert out["address"].startswith("0x") and len(out["address"]) == 42
    assert out["recoveredFromMessage"] == out["address"]
    assert out["recoveredFromTransaction"] == out["address"]
    signs = [e for e in server.audit_events() if e.get("eventName") == "Sign"]
    assert len(signs) >= 2
