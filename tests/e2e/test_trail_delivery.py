"""The trail delivered as CloudTrail delivers it, to a real S3-compatible server (moto_server,
started here) and to a directory, and judged by the unmodified aws cli's `aws cloudtrail
validate-logs`: it passes on the delivered trail and reports each kind of tampering — a log
file deleted, a log file edited, a digest deleted from the middle of the chain, a digest added
by someone without the key. Cutting the tail (the newest digest and log files) is invisible to
validate-logs, as it is on AWS; `trent audit verify --trail-bucket` finds it from the chain's
head kept in the store."""
import gzip
import json
import os
import subprocess
import sys
import time

import boto3
import pytest

from conftest import REGION, TRENT, Server

ACCOUNT = "111122223333"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/trent"
BUCKET = "trent-trail"
DIGESTS = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/"
LOGS = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/"


def s3_client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def s3_env(endpoint):
    return dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=REGION)


def keys(s3, prefix):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def start_delivering(tmp_path, endpoint, name="data", extra=()):
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    server = Server(tmp_path / name, ["--wrapping-pool-size", "0", "--trail-bucket", BUCKET,
                                      "--trail-s3-endpoint", endpoint, "--trail-delivery-secs", "1",
                                      "--trail-digest-secs", "2", "--trail-dir", str(tmp_path / "delivered"),
                                      *extra])
    server.env = s3_env(endpoint)
    return server.start()


def wait_for(what, check, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def validate(server, endpoint, start):
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file, AWS_CONFIG_FILE=os.devnull,
               AWS_ENDPOINT_URL_S3=endpoint)
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return subprocess.run([cli, "--endpoint-url", server.endpoint, "--region", REGION, "cloudtrail",
                           "validate-logs", "--trail-arn", TRAIL_ARN, "--start-time", start,
                           "--end-time", end, "--verbose"],
                          env=env, capture_output=True, text=True)


def verify_delivered(server, endpoint):
    """`trent audit verify` of the bucket against the store: by the running server (admin
    socket) while it holds the data directory, else by the command itself."""
    env = dict(s3_env(endpoint))
    return subprocess.run([TRENT, "audit", "verify", "--data-dir", server.data_dir, "--trail-bucket", BUCKET,
                           "--trail-s3-endpoint", endpoint], env=env, capture_output=True, text=True)


@pytest.fixture
def delivered(tmp_path, s3_server):
    """A server whose trail has several digests and log files in the bucket."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    server = start_delivering(tmp_path, s3_server)
    kms = server.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    s3 = s3_client(s3_server)
    for round in range(3):
        for _ in range(3):
            kms.encrypt(KeyId=key, Plaintext=b"x")
        before = len(keys(s3, DIGESTS))
        wait_for("a digest of the round", lambda: len(keys(s3, DIGESTS)) > before + 1)
    yield server, s3_server, s3, start
    assert server.stop() == 0


def test_validate_logs_passes_on_the_delivered_trail(delivered, tmp_path):
    server, endpoint, s3, start = delivered
    # What the bucket holds before validating (the server goes on delivering meanwhile:
    # validate-logs' own calls are recorded too).
    digests, logs = keys(s3, DIGESTS), keys(s3, LOGS)
    listed = {f["s3Object"] for d in digests for f in
              json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=d)["Body"].read()))["logFiles"]}
    p = validate(server, endpoint, start)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(digests) >= 6 and len(logs) >= 3 and len(listed) >= 3
    assert "INVALID" not in p.stdout + p.stderr
    # Every digest and every log file a digest lists is valid, the newest digest included.
    assert f"s3://{BUCKET}/{digests[-1]}\tvalid" in p.stdout + p.stderr
    for log in listed:
        assert f"s3://{BUCKET}/{log}\tvalid" in p.stdout + p.stderr
    # The records are CloudTrail's, one account and Region per file.
    # (The first file may hold only the seeding's records: CreateAccount, CreateAccessKey.)
    records = [r for log in logs for r in
               json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=log)["Body"].read()))["Records"]]
    assert {"CreateKey", "Encrypt"} <= {r["eventName"] for r in records}
    assert {r["recipientAccountId"] for r in records} == {ACCOUNT}
    # The directory holds the same files, the digests' signatures beside them.
    local = tmp_path / "delivered"
    assert (local / logs[0]).read_bytes() == s3.get_object(Bucket=BUCKET, Key=logs[0])["Body"].read()
    meta = json.loads((local / (digests[0] + ".metadata.json")).read_text())
    assert meta["signature-algorithm"] == "SHA256withRSA"
    assert meta["signature"] == s3.head_object(Bucket=BUCKET, Key=digests[0])["Metadata"]["signature"]
    # The trail as the API describes it.
    ct = boto3.client("cloudtrail", endpoint_url=server.endpoint, region_name=REGION,
                      aws_access_key_id=server.credentials()[0], aws_secret_access_key=server.credentials()[1])
    trail = ct.get_trail(Name=TRAIL_ARN)["Trail"]
    assert (trail["S3BucketName"], trail["LogFileValidationEnabled"]) == (BUCKET, True)
    status = ct.get_trail_status(Name="trent")
    assert status["IsLogging"] and "LatestDigestDeliveryTime" in status and "LatestDeliveryError" not in status
    with pytest.raises(ct.exceptions.TrailNotFoundException):
        ct.get_trail(Name="other")
    assert verify_delivered(server, endpoint).returncode == 0


def test_validate_logs_reports_a_deleted_or_edited_log_file(delivered):
    server, endpoint, s3, start = delivered
    logs = keys(s3, LOGS)
    s3.delete_object(Bucket=BUCKET, Key=logs[0])
    edited = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=logs[1])["Body"].read()))
    edited["Records"] = edited["Records"][1:]
    s3.put_object(Bucket=BUCKET, Key=logs[1], Body=gzip.compress(json.dumps(edited).encode()))
    p = validate(server, endpoint, start)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert f"Log file\ts3://{BUCKET}/{logs[0]}\tINVALID: not found" in out, out
    assert f"Log file\ts3://{BUCKET}/{logs[1]}\tINVALID: hash value doesn't match" in out, out
    report = verify_delivered(server, endpoint)
    assert report.returncode == 1 and logs[0] in report.stdout and logs[1] in report.stdout, report.stdout


def test_validate_logs_reports_a_digest_deleted_from_the_middle_or_forged(delivered):
    server, endpoint, s3, start = delivered
    digests = keys(s3, DIGESTS)
    middle = digests[len(digests) // 2]
    s3.delete_object(Bucket=BUCKET, Key=middle)
    # A digest made by someone without the key: the newest in the bucket, chained to the head.
    head = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=digests[-1])["Body"].read()))
    forged_key = digests[-1][:-len("20991231T235959Z.json.gz")] + "20991231T235959Z.json.gz"
    head["digestS3Object"] = forged_key
    s3.put_object(Bucket=BUCKET, Key=forged_key, Body=gzip.compress(json.dumps(head).encode()),
                  Metadata={"signature": "00" * 256, "signature-algorithm": "SHA256withRSA"})
    env_end = "2099-12-31T23:59:59Z"
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=server.credentials_file, AWS_CONFIG_FILE=os.devnull,
               AWS_ENDPOINT_URL_S3=endpoint)
    p = subprocess.run([cli, "--endpoint-url", server.endpoint, "--region", REGION, "cloudtrail", "validate-logs",
                        "--trail-arn", TRAIL_ARN, "--start-time", start, "--end-time", env_end, "--verbose"],
                       env=env, capture_output=True, text=True)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert f"Digest file\ts3://{BUCKET}/{middle}\tINVALID: not found" in out, out
    assert f"Digest file\ts3://{BUCKET}/{forged_key}\tINVALID: signature verification failed" in out, out
    report = verify_delivered(server, endpoint)
    assert report.returncode == 1 and middle in report.stdout and forged_key in report.stdout, report.stdout


def test_a_cut_tail_passes_validate_logs_but_not_trent_audit_verify(delivered):
    server, endpoint, s3, start = delivered
    digests = keys(s3, DIGESTS)
    newest = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=digests[-1])["Body"].read()))
    server.stop()
    # Everything the newest digests list goes, with them: nothing in the bucket is broken.
    for d in digests[-3:]:
        body = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=d)["Body"].read()))
        for log in body["logFiles"]:
            s3.delete_object(Bucket=BUCKET, Key=log["s3Object"])
        s3.delete_object(Bucket=BUCKET, Key=d)
    # Started again with hour-long periods: no new digest while validate-logs reads.
    for flag in ("--trail-digest-secs", "--trail-delivery-secs"):
        server.extra[server.extra.index(flag) + 1] = "3600"
    server.start()
    p = validate(server, endpoint, start)
    assert p.returncode == 0, p.stdout + p.stderr
    assert newest["digestS3Object"] not in p.stdout + p.stderr
    report = verify_delivered(server, endpoint)
    assert report.returncode == 1, report.stdout + report.stderr
    assert newest["digestS3Object"] in report.stdout, report.stdout
    # The same from the stopped server's data directory, the store opened by the command.
    server.stop()
    again = verify_delivered(server, endpoint)
    assert again.returncode == 1 and newest["digestS3Object"] in again.stdout, again.stdout
    assert "the trail's tail was cut" in report.stdout, report.stdout


def verify_journal(server):
    return subprocess.run([TRENT, "audit", "verify", "--data-dir", server.data_dir],
                          capture_output=True, text=True)


def test_the_journal_is_checked_against_the_store(tmp_path, s3_server):
    """A journal forged for a node the store never saw, or cut below what was delivered,
    is never "intact", however well chained."""
    import hashlib
    server = start_delivering(tmp_path, s3_server)
    kms = server.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(5):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    s3 = s3_client(s3_server)
    wait_for("a log file", lambda: keys(s3, LOGS))
    assert server.stop() == 0
    assert verify_journal(server).returncode == 0
    live = os.path.join(server.data_dir, "audit.log")
    lines = open(live).read().splitlines(keepends=True)
    # A node made up, chained from its public genesis with no key.
    genesis = hashlib.sha256(b"trent/v1/audit-genesis\0node-forged").hexdigest()
    record = json.loads(next(l for l in lines if '"record"' in l))["record"]
    forged = json.dumps({"node": "node-forged", "sequence": 1, "previousDigest": genesis, "record": record},
                        separators=(",", ":"))
    path = os.path.join(server.data_dir, "audit-000000000001.log")
    open(path, "w").write(forged + "\n")
    p = verify_journal(server)
    assert p.returncode == 1 and "node-forged" in p.stdout and "unknown to the store" in p.stdout, p.stdout
    os.remove(path)
    # Its newest lines deleted, below what the bucket already holds.
    open(live, "w").writelines(lines[:2])
    p = verify_journal(server)
    assert p.returncode == 1 and "its newest lines were deleted" in p.stdout, p.stdout + p.stderr
