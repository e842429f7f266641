#!/usr/bin/env bash
# The AWS developer guide's import procedure, step by step, with the aws cli and openssl.
# Usage: byok_guide.sh ENDPOINT WRAPPING_ALGORITHM WRAPPING_KEY_SPEC WORKDIR
# Needs AWS_SHARED_CREDENTIALS_FILE (or other AWS credentials) in the environment.
# Prints the key id on success.
set -euo pipefail
endpoint=$1 alg=$2 spec=$3 dir=$4
mkdir -p "$dir" && cd "$dir"
kms() { aws --endpoint-url "$endpoint" --region us-east-1 kms "$@"; }

# Step 1: a KMS key with no key material.
key_id=$(kms create-key --origin EXTERNAL --query KeyMetadata.KeyId --output text)

# Step 2: the wrapping public key and import token.
kms get-parameters-for-import --key-id "$key_id" --wrapping-algorithm "$alg" \
    --wrapping-key-spec "$spec" > params.json
python3 -c 'import json,base64,sys; p=json.load(open("params.json")); open("WrappingPublicKey.bin","wb").write(base64.b64decode(p["PublicKey"])); open("ImportToken.bin","wb").write(base64.b64decode(p["ImportToken"]))'

# Step 3: the key material, wrapped.
openssl rand -out PlaintextKeyMaterial.bin 32
case "$alg" in
  RSAES_OAEP_SHA_1)
    openssl pkeyutl -encrypt -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin \
      -inkey WrappingPublicKey.bin -keyform DER -pubin \
      -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 ;;
  RSAES_OAEP_SHA_256)
    openssl pkeyutl -encrypt -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin \
      -inkey WrappingPublicKey.bin -keyform DER -pubin \
      -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 ;;
  RSA_AES_KEY_WRAP_SHA_1|RSA_AES_KEY_WRAP_SHA_256)
    md=sha256; [ "$alg" = RSA_AES_KEY_WRAP_SHA_1 ] && md=sha1
    openssl rand -out aes-key.bin 32
    if openssl enc -id-aes256-wrap-pad -K "$(xxd -p < aes-key.bin | tr -d '\n')" -iv A65959A6 \
         -in PlaintextKeyMaterial.bin -out key-material-wrapped.bin 2>/dev/null; then :; else
      # OpenSSL builds without -id-aes256-wrap-pad: RFC 5649 with Python's cryptography.
      python3 -c 'from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding as w; open("key-material-wrapped.bin","wb").write(w(open("aes-key.bin","rb").read(), open("PlaintextKeyMaterial.bin","rb").read()))'
    fi
    openssl pkeyutl -encrypt -in aes-key.bin -out aes-key-wrapped.bin \
      -inkey WrappingPublicKey.bin -keyform DER -pubin \
      -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:$md -pkeyopt rsa_mgf1_md:$md
    cat aes-key-wrapped.bin key-material-wrapped.bin > EncryptedKeyMaterial.bin ;;
esac

# Step 4: import.
kms import-key-material --key-id "$key_id" --encrypted-key-material fileb://EncryptedKeyMaterial.bin \
    --import-token fileb://ImportToken.bin --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE > /dev/null

# The imported key encrypts and decrypts through the API.
printf 'imported key works' > plain.txt
kms encrypt --key-id "$key_id" --plaintext fileb://plain.txt --query CiphertextBlob --output text \
    | base64 -d > blob.bin
kms decrypt --ciphertext-blob fileb://blob.bin --query Plaintext --output text | base64 -d > back.txt
cmp plain.txt back.txt
echo "$key_id"
