"""SigV4 verification against requests signed by botocore's own signer (not by Trent's)."""
import datetime
import json
import subprocess
import urllib.error
import urllib.request

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import TRENT


def send(server, target, body, secret=None, headers=None, region="us-east-1"):
    akid, sk = server.credentials()
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"TrentService.{target}",
        **(headers or {}),
    })
    botocore.auth.SigV4Auth(Credentials(akid, secret or sk), "kms", region).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_botocore_signed_requests_verify(server):
    status, out = send(server, "CreateKey", b'{"Description":"signed by botocore"}')
    assert status == 200 and out["KeyMetadata"]["Description"] == "signed by botocore"
    # Extra signed headers with runs of spaces and mixed case are canonicalised alike.
    status, _ = send(server, "ListKeys", b"{}", headers={"X-Custom-Thing": "a   b  c", "x-amz-meta-Other": " v "})
    assert status == 200
    # The Region comes from the credential scope: another Region sees no keys.
    status, out = send(server, "ListKeys", b"{}", region="ap-southeast-2")
    assert status == 200 and out["Keys"] == []


def test_botocore_signature_with_wrong_secret_or_old_clock(server, monkeypatch):
    status, out = send(server, "ListKeys", b"{}", secret="wrong")
    assert (status, out["__type"]) == (400, "InvalidSignatureException")


def amz(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


def test_clock_skew_is_five_minutes_each_way_with_aws_messages(server, monkeypatch):
    """AWS refuses a request signed more than five minutes before or after its clock."""
    utcnow = lambda: datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    for minutes in (-2, 2):
        monkeypatch.setattr(botocore.auth, "get_current_datetime",
                            lambda m=minutes: utcnow() + datetime.timedelta(minutes=m))
        status, out = send(server, "Encrypt", b'{"KeyId":"alias/none","Plaintext":"AA=="}')
        assert out.get("__type") == "NotFoundException", (minutes, out)
    for minutes, word in ((-10, "expired"), (10, "not yet current")):
        signed = utcnow() + datetime.timedelta(minutes=minutes)
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda s=signed: s)
        status, out = send(server, "ListKeys", b"{}")
        after = utcnow()
        assert (status, out["__type"]) == (400, "InvalidSignatureException")
        msg = out["message"]
        if minutes < 0:
            prefix = f"Signature expired: {amz(signed)} is now earlier than "
            assert msg.startswith(prefix) and msg.endswith(" - 5 min.)"), msg
        else:
            prefix = f"Signature not yet current: {amz(signed)} is still later than "
            assert msg.startswith(prefix) and msg.endswith(" + 5 min.)"), msg
        # "<edge> (<now> ± 5 min.)": now is the server's clock when it answered.
        edge, now = msg[len(prefix):].split(" (")
        now = datetime.datetime.strptime(now.split(" ")[0], "%Y%m%dT%H%M%SZ")
        assert abs((now - after).total_seconds()) < 5
        shift = datetime.timedelta(minutes=-5 if minutes < 0 else 5)
        assert edge == amz(now + shift)


def test_version_and_help():
    out = subprocess.run([TRENT, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("trent ")
    for args in (["--help"], ["serve", "--help"]):
        out = subprocess.run([TRENT, *args], capture_output=True, text=True, check=True).stdout
        assert "Usage:" in out


def test_botocore_session_tokens_are_refused(server):
    """Trent issues no session credentials: a token (which botocore signs) is an invalid one."""
    akid, sk = server.credentials()
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"})
    botocore.auth.SigV4Auth(Credentials(akid, sk, "FwoGZXIvYXdzEJr//junk"), "kms", "us-east-1").add_auth(req)
    prepared = req.prepare()
    assert "x-amz-security-token" in prepared.headers["Authorization"]
    r = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        urllib.request.urlopen(r)
        raise AssertionError("a session token was accepted")
    except urllib.error.HTTPError as e:
        out = json.loads(e.read())
    assert out == {"__type": "UnrecognizedClientException",
                   "message": "The security token included in the request is invalid."}
