"""Interop of every key type with Python's `cryptography` and openssl: Trent's signatures
verify locally, local signatures verify through Trent, local encryption decrypts in Trent,
HMACs and ECDH secrets match local computations, imported keys behave as the originals,
and known-answer vectors (RFC 8032) come out byte for byte."""
import hashlib
import hmac
import json
import os
import subprocess

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

HERE = os.path.dirname(os.path.abspath(__file__))
HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}


def code(e):
    return e.value.response["Error"]["Code"]


def local_verify(public_der, alg, message, signature):
    pub = serialization.load_der_public_key(public_der)
    if alg.startswith("RSASSA_PSS"):
        h = HASHES[alg[-3:]]
        pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    elif alg.startswith("RSASSA_PKCS1"):
        pub.verify(signature, message, padding.PKCS1v15(), HASHES[alg[-3:]])
    elif alg.startswith("ECDSA"):
        pub.verify(signature, message, ec.ECDSA(HASHES[alg[-3:]]))
    elif alg == "ED25519_SHA_512":
        pub.verify(signature, message)
    else:
        raise AssertionError(alg)


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
                                  "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"])
def test_trent_signatures_verify_with_cryptography(server, spec):
    kms = server.client()
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    public = kms.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    for alg in key["SigningAlgorithms"]:
        if alg == "ED25519_PH_SHA_512":
            continue
        sig = kms.sign(KeyId=key["KeyId"], Message=b"interop", SigningAlgorithm=alg)["Signature"]
        local_verify(public, alg, b"interop", sig)


def test_local_signatures_verify_through_trent(server):
    kms = server.client()
    for spec, curve, alg in [("ECC_NIST_P256", ec.SECP256R1(), "ECDSA_SHA_256"), ("ECC_NIST_P384", ec.SECP384R1(), "ECDSA_SHA_384")]:
        private = ec.generate_private_key(curve)
        key_id = import_key(kms, spec, "SIGN_VERIFY", private_der(private), "RSA_AES_KEY_WRAP_SHA_256")
        sig = private.sign(b"signed locally", ec.ECDSA(HASHES[alg[-3:]]))
        assert kms.verify(KeyId=key_id, Message=b"signed locally", Signature=sig, SigningAlgorithm=alg)["SignatureValid"]
        digest = hashlib.new("sha" + alg[-3:], b"signed locally").digest()
        assert kms.verify(KeyId=key_id, Message=digest, MessageType="DIGEST", Signature=sig, SigningAlgorithm=alg)["SignatureValid"]
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.verify(KeyId=key_id, Message=b"tampered", Signature=sig, SigningAlgorithm=alg)
        assert code(e) == "KMSInvalidSignatureException"


def test_local_encryption_decrypts_through_trent(server):
    kms = server.client()
    key_id = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    pub = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    for alg, h in [("RSAES_OAEP_SHA_1", hashes.SHA1()), ("RSAES_OAEP_SHA_256", hashes.SHA256())]:
        ct = pub.encrypt(b"from python", padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
        out = kms.decrypt(KeyId=key_id, CiphertextBlob=ct, EncryptionAlgorithm=alg)
        assert out["Plaintext"] == b"from python" and out["EncryptionAlgorithm"] == alg


def test_openssl_encrypts_for_trent(server, tmp_path):
    kms = server.client()
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    (tmp_path / "pub.der").write_bytes(kms.get_public_key(KeyId=key_id)["PublicKey"])
    (tmp_path / "msg").write_bytes(b"openssl was here")
    subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "pub.der"),
                    "-in", str(tmp_path / "msg"), "-out", str(tmp_path / "ct"), "-pkeyopt", "rsa_padding_mode:oaep",
                    "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"], check=True)
    out = kms.decrypt(KeyId=key_id, CiphertextBlob=(tmp_path / "ct").read_bytes(), EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["Plaintext"] == b"openssl was here"


def wrap(kms, key_id, algorithm, wrapping_spec, material):
    p = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_spec)
    pub = serialization.load_der_public_key(p["PublicKey"])
    h = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    if algorithm.startswith("RSA_AES"):
        aes = os.urandom(32)
        return p["ImportToken"], pub.encrypt(aes, oaep) + aes_key_wrap_with_padding(aes, material)
    return p["ImportToken"], pub.encrypt(material, oaep)


def import_key(kms, spec, usage, material, algorithm="RSAES_OAEP_SHA_256", wrapping_spec="RSA_4096"):
    key_id = kms.create_key(KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    token, wrapped = wrap(kms, key_id, algorithm, wrapping_spec, material)
    kms.import_key_material(KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped,
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    return key_id


def private_der(k):
    return k.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_der(k):
    return k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("spec,bits", [("HMAC_224", 28), ("HMAC_256", 64), ("HMAC_384", 48), ("HMAC_512", 128)])
def test_imported_hmac_matches_local_hmac(server, spec, bits):
    kms = server.client()
    material = os.urandom(bits)
    key_id = import_key(kms, spec, "GENERATE_VERIFY_MAC", material, "RSAES_OAEP_SHA_1", "RSA_2048")
    alg = "HMAC_SHA_" + spec[-3:]
    mac = kms.generate_mac(KeyId=key_id, Message=b"hmac interop", MacAlgorithm=alg)["Mac"]
    assert mac == hmac.new(material, b"hmac interop", "sha" + spec[-3:]).digest()
    assert kms.verify_mac(KeyId=key_id, Message=b"hmac interop", Mac=mac, MacAlgorithm=alg)["MacValid"]


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"])
@pytest.mark.parametrize("spec,curve", [("ECC_NIST_P256", ec.SECP256R1()), ("ECC_NIST_P384", ec.SECP384R1()),
                                        ("ECC_NIST_P521", ec.SECP521R1()), ("ECC_SECG_P256K1", ec.SECP256K1())])
def test_import_ecc_keys_with_every_algorithm(server, spec, curve, algorithm):
    kms = server.client()
    private = ec.generate_private_key(curve)
    key_id = import_key(kms, spec, "SIGN_VERIFY", private_der(private), algorithm, "RSA_4096")
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == public_der(private)


def test_import_rsa_keys_and_forbidden_combinations(server):
    kms = server.client()
    private = rsa.generate_private_key(65537, 2048)
    key_id = import_key(kms, "RSA_2048", "ENCRYPT_DECRYPT", private_der(private), "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")
    assert kms.get_public_key(KeyId=key_id)["PublicKey"] == public_der(private)
    ct = private.public_key().encrypt(b"imported rsa", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    assert kms.decrypt(KeyId=key_id, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"imported rsa"
    ext = kms.create_key(KeySpec="RSA_3072", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    for alg in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.get_parameters_for_import(KeyId=ext, WrappingAlgorithm=alg, WrappingKeySpec="RSA_4096")
        assert code(e) == "ValidationException"
    # A key of the wrong size is refused when imported.
    token, wrapped = wrap(kms, ext, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048", private_der(private))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.import_key_material(KeyId=ext, ImportToken=token, EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code(e) == "IncorrectKeyMaterialException"
    p521 = kms.create_key(KeySpec="ECC_NIST_P521", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.get_parameters_for_import(KeyId=p521, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    assert code(e) == "ValidationException"


def test_ecdh_matches_local_computation(server):
    kms = server.client()
    for spec, curve in [("ECC_NIST_P256", ec.SECP256R1()), ("ECC_NIST_P521", ec.SECP521R1())]:
        key_id = kms.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
        mine = ec.generate_private_key(curve)
        out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=public_der(mine))
        theirs = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
        assert out["SharedSecret"] == mine.exchange(ec.ECDH(), theirs)


def test_ed25519_known_answers_rfc8032(server):
    kms = server.client()
    for v in json.load(open(os.path.join(HERE, "vectors", "ed25519_rfc8032.json")))["vectors"]:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["secret_key"]))
        key_id = import_key(kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY", private_der(private))
        public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
        assert public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex() == v["public_key"]
        if not v["message"]:
            # AWS's model requires a message of at least one byte; so does Trent.
            with pytest.raises(botocore.exceptions.ClientError) as e:
                kms.sign(KeyId=key_id, Message=b"", SigningAlgorithm="ED25519_SHA_512")
            assert code(e) == "ValidationException"
            continue
        sig = kms.sign(KeyId=key_id, Message=bytes.fromhex(v["message"]), SigningAlgorithm="ED25519_SHA_512")["Signature"]
        assert sig.hex() == v["signature"]
    for v in json.load(open(os.path.join(HERE, "vectors", "ed25519_rfc8032.json")))["ph_vectors"]:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["secret_key"]))
        key_id = import_key(kms, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY", private_der(private))
        digest = hashlib.sha512(bytes.fromhex(v["message"])).digest()
        sig = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
        assert sig.hex() == v["signature"]
        assert kms.verify(KeyId=key_id, Message=digest, MessageType="DIGEST", Signature=sig,
                          SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"]


def test_data_key_pairs_are_usable_keys(server):
    kms = server.client()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    out = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P384")
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], None)
    assert public_der(private) == out["PublicKey"]
    assert kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])["Plaintext"] == out["PrivateKeyPlaintext"]
    sig = private.sign(b"x", ec.ECDSA(hashes.SHA384()))
    serialization.load_der_public_key(out["PublicKey"]).verify(sig, b"x", ec.ECDSA(hashes.SHA384()))


def test_rsa_pkcs1_known_answers_nist_cavp(server):
    """NIST CAVP SigGen15 vectors: PKCS#1 v1.5 signatures are deterministic, so a key
    imported from the vector's (n, e, d) must sign exactly the vector's signature."""
    from cryptography.hazmat.primitives.asymmetric.rsa import (RSAPrivateNumbers, RSAPublicNumbers, rsa_crt_dmp1,
                                                               rsa_crt_dmq1, rsa_crt_iqmp, rsa_recover_prime_factors)
    kms = server.client()
    keys = {}
    for v in json.load(open(os.path.join(HERE, "vectors", "rsa_siggen15.json")))["vectors"]:
        n, e, d = int(v["n"], 16), int(v["e"], 16), int(v["d"], 16)
        if v["n"] not in keys:
            p, q = rsa_recover_prime_factors(n, e, d)
            private = RSAPrivateNumbers(p, q, d, rsa_crt_dmp1(d, p), rsa_crt_dmq1(d, q), rsa_crt_iqmp(p, q),
                                        RSAPublicNumbers(e, n)).private_key()
            keys[v["n"]] = import_key(kms, f"RSA_{v['mod']}", "SIGN_VERIFY", private_der(private),
                                      "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048")
        alg = "RSASSA_PKCS1_V1_5_SHA_" + v["alg"][3:]
        sig = kms.sign(KeyId=keys[v["n"]], Message=bytes.fromhex(v["msg"]), SigningAlgorithm=alg)["Signature"]
        assert sig.hex() == v["signature"], (v["mod"], v["alg"])
        assert kms.verify(KeyId=keys[v["n"]], Message=bytes.fromhex(v["msg"]), Signature=sig,
                          SigningAlgorithm=alg)["SignatureValid"]
