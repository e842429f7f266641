"""The test clock of rehearsals: `trent serve --dev-clock` (loudly unsafe) and
`trent admin clock advance`, driving every expiry through the API — an import token past its
24 hours, imported material past its ValidTo — in seconds; a server without it refuses."""
import datetime
import json
import os
import subprocess

import botocore.exceptions
import pytest

from conftest import TRENT, import_material


def advance(server, duration, check=True):
    p = subprocess.run([TRENT, "admin", "--data-dir", server.data_dir, "clock", "advance", duration],
                       capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
        return datetime.datetime.fromisoformat(json.loads(p.stdout)["Now"].replace("Z", "+00:00"))
    return p


def test_the_clock_makes_a_token_and_material_expire(make_server):
    server = make_server(extra=("--wrapping-pool-size", "0", "--dev-clock")).start()
    kms = server.client()
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    now = advance(server, "25h")
    # The token was valid for 24 hours of the server's time.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=b"\0" * 256,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert e.value.response["Error"]["Code"] == "ExpiredImportTokenException"
    # Material valid for two days of the server's (moved) time, then two days and an hour on.
    import_material(kms, key, os.urandom(32), ValidTo=now + datetime.timedelta(days=2),
                    ExpirationModel="KEY_MATERIAL_EXPIRES")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    # A deletion window of 7 days, and an automatic rotation due in 90.
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    rotating = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotating, RotationPeriodInDays=90)
    advance(server, "2d1h")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    advance(server, "90d")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_key(KeyId=doomed)
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    rotations = kms.list_key_rotations(KeyId=rotating)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
    # The advance ran the background pass: the expiry is persisted and in the audit trail.
    assert server.stop() == 0
    records = server.audit_events()
    names = [r.get("eventName") or r.get("detail-type") for r in records]
    assert "DeleteExpiredKeyMaterial" in names and "KMS Imported Key Material Expiration" in names
    # What KMS did by itself is recorded once each, as AWS records it (AwsServiceEvent).
    deleted = [r for r in records if r.get("eventName") == "DeleteKey"]
    assert len(deleted) == 1 and deleted[0]["resources"][0]["ARN"].endswith(doomed), deleted
    rotated = [r for r in records if r.get("eventName") == "RotateKey"]
    assert len(rotated) == 1 and rotated[0]["serviceEventDetails"]["rotationType"] == "AUTOMATIC", rotated
    assert rotated[0]["serviceEventDetails"]["currentKeyMaterialId"] == rotations[0]["KeyMaterialId"]
    assert all(r["eventType"] == "AwsServiceEvent" for r in deleted + rotated)
    log = open(server.log_path).read()
    assert "--dev-clock" in log and "test clock moved forward" in log


def test_without_the_flag_the_clock_does_not_move(server):
    p = advance(server, "25h", check=False)
    assert p.returncode != 0 and "--dev-clock" in p.stderr, p.stderr
    p = advance(server, "soon", check=False)
    assert p.returncode != 0 and "is not a duration" in p.stderr, p.stderr
