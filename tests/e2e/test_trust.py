"""What a careless operator and an attacker try: a second server on one data directory, a
lost root key, an alias re-pointed by someone who may not use its key, admin commands while
the server runs."""
import json
import os
import subprocess

import botocore.exceptions
import pytest

from conftest import TRENT, Server


def admin(data_dir, *args):
    p = subprocess.run([TRENT, "admin", "--data-dir", str(data_dir), *args], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_a_second_server_on_one_data_directory_exits_naming_the_first(server):
    second = Server(server.data_dir)
    p = subprocess.run([TRENT, "serve", "--data-dir", server.data_dir, "--listen", f"127.0.0.1:{second.port}"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"is in use by trent serve, pid {server.proc.pid}" in p.stderr, p.stderr
    # The first server is untouched and still answers.
    assert server.client().list_keys()["Keys"] == []


def test_a_missing_root_key_refuses_to_start_and_writes_nothing(tmp_path):
    data = tmp_path / "data"
    s = Server(data).start()
    key_id = s.client().create_key()["KeyMetadata"]["KeyId"]
    assert s.stop() == 0
    os.remove(data / "root.key")
    before = sorted(os.listdir(data))
    again = Server(data)
    p = subprocess.run([TRENT, "serve", "--data-dir", str(data), "--listen", f"127.0.0.1:{again.port}"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "root.key is missing" in p.stderr and "restore it from your backup" in p.stderr, p.stderr
    assert not (data / "root.key").exists()
    assert sorted(os.listdir(data)) == before
    assert key_id  # the key is still in the database, waiting for its root key


def test_an_alias_cannot_be_hijacked(server, tmp_path):
    """mallory may UpdateAlias and Decrypt with her own key; re-pointing alias/prod (whose key
    she may not use) to her key would let her read what the application encrypts to it."""
    owner = server.client()
    prod = owner.create_key(Description="prod")["KeyMetadata"]["Arn"]
    owner.create_alias(AliasName="alias/prod", TargetKeyId=prod)
    own = owner.create_key(Description="mallory's")["KeyMetadata"]["Arn"]
    admin(server.data_dir, "create-user", "--account-id", "111122223333", "--user-name", "mallory")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:UpdateAlias", "kms:Decrypt"], "Resource": own},
        {"Effect": "Allow", "Action": ["kms:UpdateAlias", "kms:DeleteAlias"],
         "Resource": "arn:aws:kms:us-east-1:111122223333:alias/*"}]}
    admin(server.data_dir, "put-user-policy", "--account-id", "111122223333", "--user-name", "mallory",
          "--policy-name", "p", "--policy-document", json.dumps(policy))
    key = admin(server.data_dir, "create-access-key", "--account-id", "111122223333",
                "--user-name", "mallory")["AccessKey"]
    mallory = server.client(access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    for call in (lambda: mallory.update_alias(AliasName="alias/prod", TargetKeyId=own),
                 lambda: mallory.delete_alias(AliasName="alias/prod")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        err = e.value.response["Error"]
        assert err["Code"] == "AccessDeniedException"
        assert prod in err["Message"], err["Message"]
    aliases = owner.list_aliases(KeyId=prod)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/prod"]
    # The application's secrets stay out of her reach.
    ct = owner.encrypt(KeyId="alias/prod", Plaintext=b"payroll")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        mallory.decrypt(CiphertextBlob=ct)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"


def test_admin_works_while_the_server_runs_and_alone_after(server):
    out = admin(server.data_dir, "create-user", "--account-id", "111122223333", "--user-name", "ops")
    assert out["User"]["Arn"] == "arn:aws:iam::111122223333:user/ops"
    assert os.path.exists(os.path.join(server.data_dir, "admin.sock"))
    assert server.stop() == 0
    server.proc = None
    assert not os.path.exists(os.path.join(server.data_dir, "admin.sock"))
    # With no server, trent admin opens the data directory itself.
    users = admin(server.data_dir, "list-users", "--account-id", "111122223333")["Users"]
    assert [u["UserName"] for u in users] == ["ops"]
    server.start()
