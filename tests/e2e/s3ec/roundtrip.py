"""The Amazon S3 Encryption Client for Python, unmodified, run in its own venv (.venv-s3ec) by
tests/e2e/test_consumers.py: `put` encrypts an object under a KMS key (GenerateDataKey on
Trent) into S3 (moto_server) and reads it back through the client and raw; `get` only reads it
back. Prints a JSON report; exits non-zero if the client fails.

Environment: KMS_ENDPOINT, S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (Trent's),
KEY (a key id or alias), BUCKET, OBJECT, BODY_FILE (for `put`)."""
import json
import os
import sys

import boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring


def s3():
    # moto accepts any credentials; Trent's are for KMS alone.
    return boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id="moto", aws_secret_access_key="moto")


def main(mode):
    kms = boto3.client("kms", endpoint_url=os.environ["KMS_ENDPOINT"], region_name="us-east-1")
    bucket, key = os.environ["BUCKET"], os.environ["OBJECT"]
    # The client hooks into the S3 client it wraps: a second one reads what S3 holds.
    client = S3EncryptionClient(s3(), S3EncryptionClientConfig(keyring=KmsKeyring(kms, os.environ["KEY"])))
    report = {}
    if mode == "put":
        with open(os.environ["BODY_FILE"], "rb") as f:
            body = f.read()
        plain = s3()
        plain.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key=key, Body=body)
        stored = plain.get_object(Bucket=bucket, Key=key)
        report["storedIsPlaintext"] = stored["Body"].read() == body
        report["metadata"] = sorted(stored["Metadata"])
    report["decryptedHex"] = client.get_object(Bucket=bucket, Key=key)["Body"].read().hex()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
