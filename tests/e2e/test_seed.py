"""Declarative seeding as a CI pipeline uses it: `trent serve --init seed.toml` makes a user with
an identity policy, an access key with a known id and secret, a key with a known id and alias,
and an EXTERNAL key with imported material from a file; a restart duplicates nothing, and a
seed file that contradicts the data stops the start with a clear message."""
import datetime
import json
import os
import subprocess

import pytest

from conftest import TRENT, Server

KEY = "11111111-2222-3333-4444-555555555555"
IMPORTED = "mrk-0123456789abcdef0123456789abcdef"
CI_KEY = ("AKIATESTSEEDCI000001", "test-only-secret-in-the-seed-file-000000")


def seed_file(tmp_path, spec="SYMMETRIC_DEFAULT"):
    (tmp_path / "material.bin").write_bytes(bytes(range(32)))
    (tmp_path / "seed.toml").write_text(f'''
[[accounts]]
id = "444455556666"

[[users]]
name = "ci"
policies = {{ all = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}' }}

[[access_keys]]
user = "ci"
id = "{CI_KEY[0]}"
secret = "{CI_KEY[1]}"

[[keys]]
id = "{KEY}"
spec = "{spec}"
{'usage = "GENERATE_VERIFY_MAC"' if spec.startswith("HMAC") else ''}
description = "seeded for CI"
aliases = ["alias/test"]
tags = {{ team = "ci" }}

[[keys]]
id = "{IMPORTED}"
origin = "EXTERNAL"
aliases = ["alias/test-imported"]
material_file = "material.bin"
valid_for_days = 30
''')
    return tmp_path / "seed.toml"


def test_a_seeded_server_has_its_keys_and_a_restart_duplicates_nothing(tmp_path):
    seed = seed_file(tmp_path)
    server = Server(tmp_path / "data", ("--wrapping-pool-size", "0", "--init", str(seed))).start()
    try:
        kms = server.client(*CI_KEY)
        blob = kms.encrypt(KeyId="alias/test", Plaintext=b"from ci")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["KeyId"].endswith(KEY)
        meta = kms.describe_key(KeyId="alias/test-imported")["KeyMetadata"]
        assert (meta["KeyId"], meta["Origin"], meta["KeyState"], meta["MultiRegion"]) == (IMPORTED, "EXTERNAL", "Enabled", True)
        left = meta["ValidTo"] - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(days=29) < left <= datetime.timedelta(days=30)
        kms.encrypt(KeyId="alias/test-imported", Plaintext=b"imported")
        assert kms.list_resource_tags(KeyId=KEY)["Tags"] == [{"TagKey": "team", "TagValue": "ci"}]
        assert kms.describe_key(KeyId=KEY)["KeyMetadata"]["Description"] == "seeded for CI"
    finally:
        assert server.stop() == 0
    server.start()
    try:
        kms = server.client(*CI_KEY)
        assert sorted(k["KeyId"] for k in kms.list_keys()["Keys"]) == sorted([KEY, IMPORTED])
        aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")]
        assert sorted(aliases) == ["alias/test", "alias/test-imported"]
        again = kms.describe_key(KeyId=IMPORTED)["KeyMetadata"]
        assert again["ValidTo"] == meta["ValidTo"], "the material was imported once, not again"
        accounts = json.loads(subprocess.run([TRENT, "admin", "--data-dir", server.data_dir, "list-access-keys",
                                              "--account-id", "444455556666"], check=True, capture_output=True,
                                             text=True).stdout)["AccessKeys"]
        assert [k["Arn"] for k in accounts] == ["arn:aws:iam::444455556666:root"], "the seeded account has its root"
        # The operator's view, through the running server's admin socket.
        listed = json.loads(subprocess.run([TRENT, "admin", "--data-dir", server.data_dir, "list-keys",
                                            "--account-id", "111122223333"], check=True, capture_output=True,
                                           text=True).stdout)["Keys"]
        assert {(k["KeyId"], k["Origin"], tuple(k["Aliases"])) for k in listed} == {
            (KEY, "AWS_KMS", ("alias/test",)), (IMPORTED, "EXTERNAL", ("alias/test-imported",))}
    finally:
        assert server.stop() == 0
    seeded = [l for l in open(server.log_path).read().splitlines() if " seeded file=" in l]
    assert len(seeded) == 2 and "made=0" in seeded[1], seeded


def test_a_seed_file_that_contradicts_the_data_stops_the_start(tmp_path):
    server = Server(tmp_path / "data", ("--wrapping-pool-size", "0", "--init", str(seed_file(tmp_path)))).start()
    assert server.stop() == 0
    server.extra[-1] = str(seed_file(tmp_path, spec="HMAC_256"))
    with pytest.raises((AssertionError, RuntimeError)):
        server.start()
    log = open(server.log_path).read()
    assert f"key arn:aws:kms:us-east-1:111122223333:key/{KEY} exists as SYMMETRIC_DEFAULT ENCRYPT_DECRYPT AWS_KMS" in log, log
    assert os.path.exists(tmp_path / "data" / "trent.db")
