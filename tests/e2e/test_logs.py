"""What the log says can be trusted: nothing a client sends forges or colours a line, every
refused authentication is logged (access key id, reason, source; never the secret), and
`--log-format json` writes one JSON object per line."""
import json
import time

import botocore.exceptions
import pytest

from conftest import Server

FORGED = "k\n2026-12-01T00:00:00.000000Z  WARN admin: root key exported\x1b[31m\x00\u009b"


def refuse(fn):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn()
    return e.value.response["Error"]["Code"]


def settle(server):
    time.sleep(0.3)
    return open(server.log_path, "rb").read()


def test_client_strings_cannot_forge_a_line(server):
    kms = server.client()
    assert refuse(lambda: kms.describe_key(KeyId=FORGED)) == "NotFoundException"
    log = settle(server)
    assert b"root key exported" in log  # it is logged, escaped ...
    for line in log.split(b"\n"):
        assert not line.startswith(b"2026-12-01T00:00:00"), line  # ... and never as its own line
    for bad in (b"\x1b", b"\x00", "\u009b".encode()):
        assert bad not in log


def test_refused_authentication_is_logged_without_secrets(server):
    akid, secret = server.credentials()
    wrong = server.client(secret="not-the-secret-at-all")
    assert refuse(wrong.list_keys) == "InvalidSignatureException"
    unknown = server.client(access_key="AKIAUNKNOWNKEY000000")
    assert refuse(unknown.list_keys) == "UnrecognizedClientException"
    log = settle(server).decode()
    lines = [l for l in log.splitlines() if "refused authentication" in l]
    assert any(akid in l and "InvalidSignatureException" in l and "127.0.0.1" in l for l in lines), log
    assert any("AKIAUNKNOWNKEY000000" in l and "UnrecognizedClientException" in l for l in lines), log
    assert "not-the-secret-at-all" not in log and secret not in log
    assert "Signature=" not in log


def test_json_log_lines(tmp_path):
    s = Server(tmp_path / "data", extra=("--wrapping-pool-size", "0", "--log-format", "json")).start()
    try:
        kms = s.client()
        refuse(lambda: kms.describe_key(KeyId=FORGED))
        refuse(s.client(secret="wrong").list_keys)
        lines = [l for l in settle(s).decode().splitlines() if l.strip()]
        events = [json.loads(l) for l in lines]  # every line is one JSON object
        refused = [e for e in events if e.get("fields", {}).get("message") == "refused authentication"]
        assert refused and refused[0]["fields"]["reason"].startswith("InvalidSignatureException")
        assert not any(c in "".join(lines) for c in "\x1b\x00\u009b")
    finally:
        s.stop()


def test_a_format_name_is_not_taken_for_a_filter(tmp_path):
    import subprocess
    from conftest import TRENT
    p = subprocess.run([TRENT, "serve", "--data-dir", str(tmp_path / "d"), "--log", "json"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--log-format json" in p.stderr
