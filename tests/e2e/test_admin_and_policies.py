"""`trent admin` creates users, keys and identity policies; boto3 clients signing as those
users are then allowed or denied exactly as their policies and the key policy say."""
import json
import os
import subprocess

import botocore.exceptions
import pytest

from conftest import TRENT


def admin(server, *args):
    p = subprocess.run([TRENT, "admin", "--data-dir", server.data_dir, *args], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_users_and_identity_policies(server, tmp_path):
    admin(server, "create-user", "--account-id", "111122223333", "--user-name", "reader")
    key = admin(server, "create-access-key", "--account-id", "111122223333", "--user-name", "reader",
                "--credentials-file", str(tmp_path / "creds"), "--profile", "reader")["AccessKey"]
    assert key["Arn"] == "arn:aws:iam::111122223333:user/reader"
    assert "[reader]" in (tmp_path / "creds").read_text()
    reader = server.client(access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    owner = server.client()
    key_id = owner.create_key()["KeyMetadata"]["KeyId"]
    ct = owner.encrypt(KeyId=key_id, Plaintext=b"for the reader")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reader.decrypt(CiphertextBlob=ct)
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDeniedException"
    assert err["Message"].startswith("User: arn:aws:iam::111122223333:user/reader is not authorized to perform: kms:Decrypt")
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}))
    admin(server, "put-user-policy", "--account-id", "111122223333", "--user-name", "reader",
          "--policy-name", "decrypt-only", "--policy-document", f"file://{policy}")
    assert reader.decrypt(CiphertextBlob=ct)["Plaintext"] == b"for the reader"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        reader.encrypt(KeyId=key_id, Plaintext=b"x")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    listed = admin(server, "list-access-keys", "--account-id", "111122223333")["AccessKeys"]
    assert {k["Arn"] for k in listed} == {"arn:aws:iam::111122223333:root", key["Arn"]}
    assert all("SecretAccessKey" not in k for k in listed)


def test_second_account(server):
    other = admin(server, "create-account", "--account-id", "444455556666")["Root"]
    kms = server.client(access_key=other["AccessKeyId"], secret=other["SecretAccessKey"])
    assert kms.create_key()["KeyMetadata"]["AWSAccountId"] == "444455556666"
    assert kms.list_keys()["Keys"][0]["KeyArn"].startswith("arn:aws:kms:us-east-1:444455556666:key/")
    # The first account's keys are invisible to it.
    assert len(server.client().list_keys()["Keys"]) == 0


def test_admin_refuses_bad_input(server):
    p = subprocess.run([TRENT, "admin", "--data-dir", server.data_dir, "put-user-policy", "--account-id", "111122223333",
                        "--user-name", "ghost", "--policy-name", "p", "--policy-document", "{}"], capture_output=True, text=True)
    assert p.returncode != 0 and "cannot be found" in p.stderr


def test_bulk_loaded_keys_are_ordinary_keys(server):
    """`trent admin create-keys` (the scale-test fast path) makes keys exactly as CreateKey
    does, usable at once by a running server and by `trent bench --existing-keys`."""
    other = admin(server, "create-account", "--account-id", "444455556666")["Root"]
    out = admin(server, "create-keys", "--account-id", "444455556666", "--count", "2500")
    assert out["Created"] == 2500
    kms = server.client(access_key=other["AccessKeyId"], secret=other["SecretAccessKey"])
    ids = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]]
    assert len(ids) == len(set(ids)) == 2500
    meta = kms.describe_key(KeyId=ids[1234])["KeyMetadata"]
    assert (meta["KeyState"], meta["KeySpec"], meta["Origin"]) == ("Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS")
    assert '"AWS" : "arn:aws:iam::444455556666:root"' in kms.get_key_policy(KeyId=ids[0], PolicyName="default")["Policy"]
    blob = kms.encrypt(KeyId=ids[-1], Plaintext=b"bulk")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"bulk"
    env = dict(os.environ, AWS_ACCESS_KEY_ID=other["AccessKeyId"], AWS_SECRET_ACCESS_KEY=other["SecretAccessKey"])
    p = subprocess.run([TRENT, "bench", "--endpoint", server.endpoint, "--workload", "encrypt", "--connections", "2",
                        "--requests", "40", "--existing-keys", "2000", "--json"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["errors"] == 0


def test_deleted_access_key_stops_working(server):
    """`trent admin` reaches the running server through its admin socket, so a key deleted
    with it is refused on the very next request, without a restart."""
    admin(server, "create-user", "--account-id", "111122223333", "--user-name", "leaver")
    key = admin(server, "create-access-key", "--account-id", "111122223333", "--user-name", "leaver")["AccessKey"]
    kms = server.client(access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.list_keys()  # signed and recognized: refused by policy, not by authentication
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    admin(server, "delete-access-key", "--access-key-id", key["AccessKeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.list_keys()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
