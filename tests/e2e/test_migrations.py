"""Upgrades: today's trent opens a data directory written by the first release (schema 1,
fixtures/release-1, made by fixtures/make_release1.py with that release's binary), backs the
database up, migrates it, and finds every key, alias, tag, grant, imported material, user and
access key; ciphertexts made before the upgrade decrypt."""
import base64
import json
import os
import shutil
import sqlite3

from conftest import Server

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "release-1")


def user_version(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_a_first_release_data_directory_is_migrated_and_keeps_everything(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    os.chmod(data, 0o700)
    for name in os.listdir(data):
        os.chmod(data / name, 0o600)
    manifest = json.load(open(data / "manifest.json"))
    assert user_version(data / "trent.db") == 1
    server = Server(data).start()
    try:
        kms = server.client()
        aws_key, external = manifest["aws_key"], manifest["external_key"]
        assert {k["KeyId"] for k in kms.list_keys()["Keys"]} == {aws_key, external}
        meta = kms.describe_key(KeyId="alias/release-1-imported")["KeyMetadata"]
        assert (meta["KeyId"], meta["Origin"], meta["KeyState"]) == (external, "EXTERNAL", "Enabled")
        assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
        aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
        assert set(manifest["aliases"]) <= aliases
        assert kms.list_resource_tags(KeyId=aws_key)["Tags"] == [{"TagKey": "made-by", "TagValue": "release-1"}]
        grants = kms.list_grants(KeyId=aws_key)["Grants"]
        assert [g["GrantId"] for g in grants] == [manifest["grant_id"]]
        for key, blob in manifest["ciphertexts"].items():
            out = kms.decrypt(CiphertextBlob=base64.b64decode(blob), EncryptionContext=manifest["encryption_context"])
            assert (out["KeyId"].endswith(key), out["Plaintext"]) == (True, f"sealed by {key}".encode())
        # The user's access key and identity policy came through.
        alice = manifest["alice"]["AccessKey"]
        as_alice = server.client(alice["AccessKeyId"], alice["SecretAccessKey"])
        as_alice.encrypt(KeyId="alias/release-1", Plaintext=b"by alice")
    finally:
        assert server.stop() == 0
    # Migrated, with the database as it was beside it.
    assert user_version(data / "trent.db") >= 2
    assert user_version(str(data / "trent.db") + ".schema-1.bak") == 1
    # A second start has nothing to migrate: no new backup.
    backup_made = os.path.getmtime(str(data / "trent.db") + ".schema-1.bak")
    server.start()
    assert server.stop() == 0
    assert os.path.getmtime(str(data / "trent.db") + ".schema-1.bak") == backup_made
