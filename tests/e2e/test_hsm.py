"""The root key in an HSM: `trent serve` with a SoftHSM2 token (PKCS#11). The AES root key is
created inside the token (non-extractable), no root.key file is written, data survives a
restart, the PIN comes only from the environment, and a wrong PIN or token stops start-up."""
import os
import subprocess

import pytest

from conftest import TRENT, Server

MODULE = os.environ.get("TRENT_TEST_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
# A PIN no log line can contain by chance (a digit-only PIN once matched a timestamp).
PIN = "pin-Qx7vK2"


@pytest.fixture
def token(tmp_path):
    """A fresh SoftHSM2 token 'trent' (user PIN `PIN`) in its own directory."""
    assert os.path.exists(MODULE), "install softhsm2 (scripts/test does)"
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "trent", "--pin", PIN, "--so-pin", "5678"],
                   env=env, check=True, capture_output=True)
    return env


def hsm_server(data_dir, env, pin=PIN, token_label="trent"):
    s = Server(data_dir, extra=("--wrapping-pool-size", "0", "--pkcs11-module", MODULE,
                                "--pkcs11-token-label", token_label))
    s.env = dict(env, TRENT_PKCS11_PIN=pin)
    return s


def test_root_key_in_softhsm(tmp_path, token):
    data = tmp_path / "data"
    server = hsm_server(data, token).start()
    try:
        kms = server.client()
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"guarded by the HSM")["CiphertextBlob"]
    finally:
        assert server.stop() == 0
    assert not (data / "root.key").exists()
    log = open(server.log_path).read()
    assert "PKCS#11 root key 'trent-root-key' in token 'trent'" in log and PIN not in log
    again = hsm_server(data, token).start()
    try:
        assert again.client().decrypt(CiphertextBlob=blob)["Plaintext"] == b"guarded by the HSM"
    finally:
        again.stop()


@pytest.mark.parametrize("pin,label,message", [("bad-pin-Jw4", "trent", "wrong PIN"),
                                               (PIN, "other", "no PKCS#11 token is labelled 'other'")])
def test_start_up_fails_clearly(tmp_path, token, pin, label, message):
    p = subprocess.run([TRENT, "serve", "--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:0",
                        "--pkcs11-module", MODULE, "--pkcs11-token-label", label],
                       env=dict(token, TRENT_PKCS11_PIN=pin), capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and message in p.stderr, p.stderr
    assert pin not in p.stderr


def test_pin_is_required(tmp_path, token):
    env = {k: v for k, v in token.items() if k != "TRENT_PKCS11_PIN"}
    p = subprocess.run([TRENT, "serve", "--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:0",
                        "--pkcs11-module", MODULE, "--pkcs11-token-label", "trent"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "TRENT_PKCS11_PIN" in p.stderr


def test_admin_uses_the_hsm_root_key(tmp_path, token):
    data = tmp_path / "data"
    server = hsm_server(data, token).start()
    server.stop()
    env = dict(token, TRENT_PKCS11_PIN=PIN)
    p = subprocess.run([TRENT, "admin", "--data-dir", str(data), "--pkcs11-module", MODULE, "--pkcs11-token-label",
                        "trent", "create-user", "--account-id", "111122223333", "--user-name", "ops"],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    # Without the HSM settings the database cannot be opened (its DEK is wrapped in the
    # token), and no root key file is made for it.
    p = subprocess.run([TRENT, "admin", "--data-dir", str(data), "list-users", "--account-id", "111122223333"],
                       env=env, capture_output=True, text=True)
    assert p.returncode != 0 and "root.key is missing" in p.stderr and "PKCS#11" in p.stderr
    assert not (data / "root.key").exists()
