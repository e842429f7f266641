"""Backups as an operator takes them: `trent admin backup` while clients keep writing, then
`trent admin restore` into a fresh data directory that has only the root key, where every
ciphertext made before the backup decrypts; a restore refuses a running server and a backup
that the directory's root key does not open."""
import os
import shutil
import subprocess
import threading

from conftest import TRENT, Server


def admin(data_dir, *args, check=True):
    p = subprocess.run([TRENT, "admin", "--data-dir", str(data_dir), *args], capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_an_online_backup_restores_into_a_fresh_directory(make_server, tmp_path):
    source = make_server("source").start()
    kms = source.client()
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)]
    before = [(kms.encrypt(KeyId=k, Plaintext=f"{k}/{i}".encode())["CiphertextBlob"], f"{k}/{i}".encode())
              for k in keys for i in range(20)]
    # Clients keep creating keys and encrypting while the backup runs.
    stop, errors = threading.Event(), []

    def load():
        client = source.client()
        while not stop.is_set():
            try:
                client.encrypt(KeyId=client.create_key()["KeyMetadata"]["KeyId"], Plaintext=b"during")
            except Exception as e:  # noqa: BLE001 - any failure under load is the test's failure
                errors.append(e)
    workers = [threading.Thread(target=load) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        backup = tmp_path / "trent-backup.db"
        admin(source.data_dir, "backup", "--to", str(backup))
        # Never written over.
        again = admin(source.data_dir, "backup", "--to", str(backup), check=False)
        assert again.returncode != 0 and "never written over" in again.stderr
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert errors == []
    assert oct(os.stat(backup).st_mode & 0o777) == "0o600"
    # A restore refuses while a server has the database open.
    busy = admin(source.data_dir, "restore", "--from", str(backup), check=False)
    assert busy.returncode != 0 and "stop the server first" in busy.stderr
    # A fresh directory with the root key only (kept apart from the database, as advised).
    fresh = tmp_path / "fresh"
    fresh.mkdir(mode=0o700)
    shutil.copy(os.path.join(source.data_dir, "root.key"), fresh / "root.key")
    os.chmod(fresh / "root.key", 0o600)
    admin(fresh, "restore", "--from", str(backup))
    restored = Server(fresh).start()
    try:
        client = restored.client()
        for blob, plain in before:
            assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == plain
        assert set(keys) <= {k["KeyId"] for k in client.list_keys(Limit=1000)["Keys"]}
    finally:
        assert restored.stop() == 0
    # Restored again over it: the database it replaces is set aside, not lost.
    admin(fresh, "restore", "--from", str(backup))
    assert any(n.startswith("trent.db.before-restore-") for n in os.listdir(fresh))


def test_a_backup_that_the_root_key_does_not_open_is_refused(make_server, tmp_path):
    source = make_server("source").start()
    source.client().create_key()
    backup = tmp_path / "b.db"
    admin(source.data_dir, "backup", "--to", str(backup))
    other = make_server("other").start()
    assert other.stop() == 0
    refused = admin(other.data_dir, "restore", "--from", str(backup), check=False)
    assert refused.returncode != 0 and "does not open with this data directory's root key" in refused.stderr, refused.stderr
    assert not os.path.exists(os.path.join(other.data_dir, "trent.db.restoring"))
