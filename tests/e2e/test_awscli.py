"""Trent driven by the aws cli with the credentials file it wrote on first start."""
import json


def test_cli_tour(server, tmp_path):
    assert json.loads(server.aws("kms", "list-keys").stdout) == {"Keys": []}
    key = json.loads(server.aws("kms", "create-key", "--description", "cli").stdout)["KeyMetadata"]
    server.aws("kms", "create-alias", "--alias-name", "alias/cli", "--target-key-id", key["KeyId"])
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"hello from the cli")
    out = json.loads(server.aws("kms", "encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{plain}",
                                "--encryption-context", "app=tour").stdout)
    assert out["KeyId"] == key["Arn"]
    import base64
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    dec = json.loads(server.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                                "--encryption-context", "app=tour").stdout)
    assert base64.b64decode(dec["Plaintext"]) == b"hello from the cli"
    bad = server.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", check=False)
    assert bad.returncode != 0 and "InvalidCiphertextException" in bad.stderr
    dk = json.loads(server.aws("kms", "generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256").stdout)
    assert len(base64.b64decode(dk["Plaintext"])) == 32
    server.aws("kms", "disable-key", "--key-id", key["KeyId"])
    dis = server.aws("kms", "encrypt", "--key-id", key["KeyId"], "--plaintext", f"fileb://{plain}", check=False)
    assert "DisabledException" in dis.stderr
    sched = json.loads(server.aws("kms", "schedule-key-deletion", "--key-id", key["KeyId"],
                                  "--pending-window-in-days", "7").stdout)
    assert sched["KeyState"] == "PendingDeletion"
    server.aws("kms", "cancel-key-deletion", "--key-id", key["KeyId"])
    policy = server.aws("kms", "get-key-policy", "--key-id", key["KeyId"], "--policy-name", "default",
                        "--output", "text", "--query", "Policy").stdout
    assert json.loads(policy)["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::111122223333:root"


def test_accept_any_mode(make_server):
    s = make_server(extra=["--auth", "accept-any"]).start()
    kms = s.client(access_key="anything", secret="whatever")
    key = kms.create_key()["KeyMetadata"]
    # CI environments export whatever session token they have: accept-any ignores it.
    import boto3
    with_token = boto3.client("kms", endpoint_url=s.endpoint, region_name="us-east-1",
                              aws_access_key_id="anything", aws_secret_access_key="whatever",
                              aws_session_token="from-the-ci-environment")
    assert with_token.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    assert key["AWSAccountId"] == "111122223333"
    assert "accept-any" in open(s.log_path).read()
