"""What one tenant cannot do to the rules or to the others, driven as an attacker would with
boto3 and botocore's signer: step out of an explicit Deny by choosing the Region (every
partition, read from the one list in the code), flood LookupEvents while another account
encrypts, pass a policy over AWS's quota, share another account's wrapping key, or rehearse
AWS's own throttling with `--quotas aws`."""
import json
import os
import re
import statistics
import threading
import time
import urllib.error
import urllib.request

import botocore.auth
import botocore.exceptions
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ROOT, Server

MODEL = os.path.join(ROOT, "crates", "trent-store", "src", "model.rs")


def partitions():
    """`trent_store::PARTITIONS`, the one list of partitions and their Regions' prefixes."""
    text = open(MODEL).read()
    table = text[text.index("pub const PARTITIONS"):]
    table = table[:table.index("];")]
    found = re.findall(r'\("([a-z0-9-]+)", "([a-z-]*)"\)', table)
    assert ("aws", "") in found and ("aws-cn", "cn-") in found and ("aws-us-gov", "us-gov-") in found, found
    return found


def region_of(prefix):
    return "us-east-1" if prefix == "" else f"{prefix}east-1"


def code(e):
    return e.response["Error"]["Code"]


def test_an_explicit_deny_holds_in_every_partition(server):
    """alice may do everything but Decrypt; a key lets anyone of her account use it. Her
    Decrypt is refused in her partition, and her credentials are unknown in every other
    partition's Regions: no Region she signs for escapes the Deny."""
    listed = partitions()
    for i, (partition, prefix) in enumerate(listed):
        account = f"{900000000000 + i:012d}"
        region = region_of(prefix)
        root = server.account_client(account, partition, region)
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account}}}]}
        key = root.create_key(Policy=json.dumps(policy))["KeyMetadata"]
        assert key["Arn"].startswith(f"arn:{partition}:kms:{region}:{account}:key/")
        server.admin("create-user", "--account-id", account, "--user-name", "alice")
        deny = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}
        server.admin("put-user-policy", "--account-id", account, "--user-name", "alice",
                     "--policy-name", "no-decrypt", "--policy-document", json.dumps(deny))
        k = server.admin("create-access-key", "--account-id", account, "--user-name", "alice")["AccessKey"]
        assert k["Arn"] == f"arn:{partition}:iam::{account}:user/alice"
        alice = server.client(access_key=k["AccessKeyId"], secret=k["SecretAccessKey"], region=region)
        blob = alice.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]  # the Allow
        try:
            alice.decrypt(CiphertextBlob=blob)
            raise AssertionError(f"{partition}: the Deny did not hold")
        except botocore.exceptions.ClientError as e:
            assert code(e) == "AccessDeniedException", (partition, e.response)
        for other, other_prefix in listed:
            if other == partition:
                continue
            there = server.client(access_key=k["AccessKeyId"], secret=k["SecretAccessKey"],
                                  region=region_of(other_prefix))
            try:
                there.decrypt(CiphertextBlob=blob)
                raise AssertionError(f"{partition} credentials worked in {other}")
            except botocore.exceptions.ClientError as e:
                assert e.response["Error"] == {
                    "Code": "UnrecognizedClientException",
                    "Message": "The security token included in the request is invalid."}, e.response


def test_the_default_account_cannot_escape_a_deny_through_china_or_govcloud(server):
    """The reported case: alice of the default account, signing for cn-north-1 or us-gov-west-1."""
    server.admin("create-user", "--account-id", "111122223333", "--user-name", "alice")
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}
    server.admin("put-user-policy", "--account-id", "111122223333", "--user-name", "alice",
                 "--policy-name", "p", "--policy-document", json.dumps(deny))
    k = server.admin("create-access-key", "--account-id", "111122223333", "--user-name", "alice")["AccessKey"]
    for region in ("us-east-1", "cn-north-1", "us-gov-west-1", "eusc-de-east-1"):
        alice = server.client(access_key=k["AccessKeyId"], secret=k["SecretAccessKey"], region=region)
        try:
            alice.decrypt(CiphertextBlob=b"\x01" * 64)
            raise AssertionError(region)
        except botocore.exceptions.ClientError as e:
            expected = "InvalidCiphertextException" if region == "us-east-1" else "UnrecognizedClientException"
            # In her own partition the request reaches the key (a garbage blob); elsewhere it
            # is refused before anything is looked at.
            assert code(e) in (expected, "AccessDeniedException"), (region, e.response)
            if region != "us-east-1":
                assert code(e) == "UnrecognizedClientException"


def lookup(server, akid, sk, body):
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"})
    botocore.auth.SigV4Auth(Credentials(akid, sk), "cloudtrail", "us-east-1").add_auth(req)
    p = req.prepare()
    r = urllib.request.Request(p.url, data=p.body, headers=dict(p.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_a_lookup_events_flood_is_throttled_and_does_not_starve_another_account(server):
    owner = server.client()
    key = owner.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(200):
        owner.encrypt(KeyId=key, Plaintext=b"x")
    akid, sk = server.credentials()
    other = server.account_client("444455556666", "aws", "us-east-1")
    other_key = other.create_key()["KeyMetadata"]["KeyId"]
    statuses = []
    lock = threading.Lock()

    def flood():
        for _ in range(10):
            status, out = lookup(server, akid, sk, {"LookupAttributes": [
                {"AttributeKey": "EventId", "AttributeValue": "x"}]})
            with lock:
                statuses.append((status, out.get("__type")))

    threads = [threading.Thread(target=flood) for _ in range(30)]
    for t in threads:
        t.start()
    latencies = []
    while any(t.is_alive() for t in threads):
        t0 = time.perf_counter()
        other.encrypt(KeyId=other_key, Plaintext=b"y")
        latencies.append(time.perf_counter() - t0)
    for t in threads:
        t.join()
    throttled = sum(1 for s in statuses if s == (400, "ThrottlingException"))
    served = sum(1 for s in statuses if s[0] == 200)
    assert len(statuses) == 300 and throttled >= 250, (throttled, served)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else latencies[0]
    print(f"\nLookupEvents: {served} served, {throttled} throttled; the other account's Encrypt "
          f"p99 {p99 * 1000:.1f} ms over {len(latencies)} calls (debug build)")
    # A debug build on a shared CI machine: the bound only catches starvation (281 ms was
    # measured before the quota); the release figure is in docs/security.md.
    assert p99 < 0.25, p99


def policy_of(size):
    head = '{"Version":"2012-10-17","Statement":[{"Sid":"'
    tail = ('","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},'
            '"Action":"kms:*","Resource":"*"}]}')
    return head + "a" * (size - len(head) - len(tail)) + tail


def test_a_key_policy_over_32_kb_is_refused_as_aws_refuses_it(server):
    kms = server.client()
    kms.create_key(Policy=policy_of(30_000))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy_of(30_000))
    for call in (lambda: kms.create_key(Policy=policy_of(40_000)),
                 lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy_of(40_000))):
        try:
            call()
            raise AssertionError("a 40,000-byte policy was accepted")
        except botocore.exceptions.ClientError as e:
            assert code(e) == "LimitExceededException", e.response


def test_a_wrapping_key_pair_is_never_shared_between_accounts(make_server):
    s = make_server(extra=["--wrapping-pool-size", "2", "--tokens-per-wrapping-key", "5"]).start()
    mine = s.client()
    other = s.account_client("444455556666", "aws", "us-east-1")
    seen = {}
    for who, kms in (("mine", mine), ("other", other), ("mine", mine), ("other", other)):
        key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                          WrappingKeySpec="RSA_2048")
        seen.setdefault(p["PublicKey"], set()).add(who)
    assert all(len(owners) == 1 for owners in seen.values()), "a wrapping key served two accounts"


def test_quotas_aws_throttles_as_aws_does(make_server):
    """`--quotas aws`: GetParametersForImport is 0.25 per second per account and Region, as in
    AWS; the second call within four seconds gets AWS's ThrottlingException, and another
    Region is counted apart."""
    s = make_server(extra=["--wrapping-pool-size", "0", "--quotas", "aws"]).start()
    kms = s.client()
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    args = dict(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    kms.get_parameters_for_import(**args)
    try:
        kms.get_parameters_for_import(**args)
        raise AssertionError("not throttled")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"] == {
            "Code": "ThrottlingException",
            "Message": "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."}
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    west = s.client(region="us-west-2")
    west_key = west.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    west.get_parameters_for_import(**dict(args, KeyId=west_key))
