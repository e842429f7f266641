"""Post-quantum keys against Python's `cryptography`: ML-DSA signatures over a message and
over an external mu (FIPS 204 §6.2), imported ML-DSA keys, ML-KEM encapsulation, and
known-answer tests (ML-DSA KATs, NIST CAVS ECDH) from tests/e2e/vectors/."""
import hashlib
import json
import os

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa

from test_key_types import code, import_key, private_der

MLDSA = {"ML_DSA_44": mldsa.MLDSA44PrivateKey, "ML_DSA_65": mldsa.MLDSA65PrivateKey,
         "ML_DSA_87": mldsa.MLDSA87PrivateKey}


def mu(public_raw, message):
    """mu = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64): pure ML-DSA, empty context."""
    tr = hashlib.shake_256(public_raw).digest(64)
    return hashlib.shake_256(tr + b"\x00\x00" + message).digest(64)


@pytest.mark.parametrize("spec", list(MLDSA))
def test_ml_dsa_raw_and_external_mu_interop(server, spec):
    kms = server.client()
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    m = mu(public.public_bytes_raw(), b"post-quantum")
    for message_type, message in [("RAW", b"post-quantum"), ("EXTERNAL_MU", m)]:
        sig = kms.sign(KeyId=key_id, Message=message, MessageType=message_type,
                       SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
        public.verify(sig, b"post-quantum")  # raises if invalid
        public.verify_mu(sig, m)
        for mt, msg in [("RAW", b"post-quantum"), ("EXTERNAL_MU", m)]:
            assert kms.verify(KeyId=key_id, Message=msg, MessageType=mt, Signature=sig,
                              SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.sign(KeyId=key_id, Message=m[:32], MessageType="EXTERNAL_MU", SigningAlgorithm="ML_DSA_SHAKE_256")
    assert code(e) == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.verify(KeyId=key_id, Message=mu(public.public_bytes_raw(), b"other"), MessageType="EXTERNAL_MU",
                   Signature=sig, SigningAlgorithm="ML_DSA_SHAKE_256")
    assert code(e) == "KMSInvalidSignatureException"


def test_imported_ml_dsa_key_signs_as_the_original(server):
    kms = server.client()
    private = mldsa.MLDSA65PrivateKey.generate()
    key_id = import_key(kms, "ML_DSA_65", "SIGN_VERIFY", private_der(private), "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")
    public = private.public_key()
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    sig = kms.sign(KeyId=key_id, Message=b"imported", SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    public.verify(sig, b"imported")
    local = private.sign_mu(mu(public.public_bytes_raw(), b"signed locally"))
    assert kms.verify(KeyId=key_id, Message=b"signed locally", Signature=local,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]


@pytest.mark.parametrize("spec", ["ML_KEM_768", "ML_KEM_1024"])
def test_ml_kem_local_encapsulation_decapsulates_in_trent(server, spec):
    kms = server.client()
    key = kms.create_key(KeySpec=spec, KeyUsage="ENCAPSULATE_DECAPSULATE")["KeyMetadata"]
    assert key["EncapsulationAlgorithms"] == ["ML_KEM"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    shared, ciphertext = public.encapsulate()
    out = kms.decapsulate(KeyId=key["KeyId"], SharedSecretCiphertextBlob=ciphertext, EncapsulationAlgorithm="ML_KEM")
    assert out["SharedSecret"] == shared
    theirs = kms.encapsulate(KeyId=key["KeyId"], EncapsulationAlgorithm="ML_KEM")
    assert len(theirs["SharedSecret"]) == 32
    assert kms.decapsulate(KeyId=key["KeyId"], SharedSecretCiphertextBlob=theirs["SharedSecretCiphertextBlob"],
                           EncapsulationAlgorithm="ML_KEM")["SharedSecret"] == theirs["SharedSecret"]


def test_ml_kem_data_key_pair_is_a_usable_key(server):
    kms = server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ML_KEM_768")
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
    shared, ciphertext = serialization.load_der_public_key(pair["PublicKey"]).encapsulate()
    assert private.decapsulate(ciphertext) == shared


def vectors(name):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors", name)) as f:
        return json.load(f)["vectors"]


@pytest.mark.parametrize("v", vectors("mldsa_kat.json"), ids=lambda v: v["spec"])
def test_ml_dsa_known_answers(server, v):
    """KeyGen: the seed xi imported into Trent gives the vector's public key. SigVer: the
    vector's signature (made with a context string) verifies through EXTERNAL_MU, whose mu
    carries the context: SHAKE256(tr || 0x00 || len(ctx) || ctx || M)."""
    kms = server.client()
    seed = bytes.fromhex(v["xi"])
    private = MLDSA[v["spec"]].from_seed_bytes(seed)
    key_id = import_key(kms, v["spec"], "SIGN_VERIFY", private_der(private), "RSAES_OAEP_SHA_256", "RSA_2048")
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert public.public_bytes_raw().hex() == v["pk"]
    ctx, msg = bytes.fromhex(v["ctx"]), bytes.fromhex(v["msg"])
    tr = hashlib.shake_256(bytes.fromhex(v["pk"])).digest(64)
    m = hashlib.shake_256(tr + bytes([0, len(ctx)]) + ctx + msg).digest(64)
    assert kms.verify(KeyId=key_id, Message=m, MessageType="EXTERNAL_MU", Signature=bytes.fromhex(v["signature"]),
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]


@pytest.mark.parametrize("v", vectors("ecdh_cavs.json"), ids=lambda v: v["spec"])
def test_ecdh_known_answers_nist_cavs(server, v):
    """NIST CAVS ECC CDH: the vector's private key imported into Trent derives the vector's Z
    with the vector's peer public key."""
    curve = {"ECC_NIST_P256": ec.SECP256R1(), "ECC_NIST_P384": ec.SECP384R1(), "ECC_NIST_P521": ec.SECP521R1()}[v["spec"]]
    kms = server.client()
    private = ec.derive_private_key(int(v["d"], 16), curve)
    key_id = import_key(kms, v["spec"], "KEY_AGREEMENT", private_der(private), "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")
    peer = ec.EllipticCurvePublicNumbers(int(v["peer_x"], 16), int(v["peer_y"], 16), curve).public_key()
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=public_der_of(peer))
    assert out["SharedSecret"].hex() == v["z"]


def public_der_of(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
