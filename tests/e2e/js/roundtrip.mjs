// The AWS SDK for JavaScript v3, unmodified, against Trent over TLS (the CA comes from
// NODE_EXTRA_CA_CERTS; the JS SDK does not read AWS_CA_BUNDLE).
import { KMSClient, CreateKeyCommand, EncryptCommand, DecryptCommand } from "@aws-sdk/client-kms";

const kms = new KMSClient({ endpoint: process.env.TRENT_ENDPOINT });
const key = await kms.send(new CreateKeyCommand({ Description: "from the JS SDK" }));
const plaintext = new TextEncoder().encode("round trip over TLS");
const sealed = await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata.KeyId, Plaintext: plaintext }));
const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
console.log(new TextDecoder().decode(opened.Plaintext));
