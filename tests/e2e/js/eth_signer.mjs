// An Ethereum signer from npm (@rumblefishdev/eth-signer-kms, ethers v6) against Trent: the
// address comes from GetPublicKey, the signatures from Sign (ECC_SECG_P256K1), and ethers
// recovers the address from them. Prints {address, recoveredFromMessage, recoveredFromTransaction}.
// The KMS client finds Trent through AWS_ENDPOINT_URL_KMS (tests/e2e/test_consumers.py).
import { KMSClient } from "@aws-sdk/client-kms";
import { KMSSigner } from "@rumblefishdev/eth-signer-kms";
import { JsonRpcProvider, Transaction, verifyMessage, parseEther } from "ethers";

const kms = new KMSClient({});
// No chain is reached: the provider is never asked (staticNetwork, complete transactions).
const provider = new JsonRpcProvider("http://127.0.0.1:9", 1, { staticNetwork: true });
const signer = await KMSSigner.create(provider, process.env.KEY_ID, kms);
const address = await signer.getAddress();

const message = "Trent signs for Ethereum";
const recoveredFromMessage = verifyMessage(message, await signer.signMessage(message));

const signed = await signer.signTransaction({
  type: 2, chainId: 1, nonce: 7, to: "0x000000000000000000000000000000000000dEaD",
  value: parseEther("0.01"), gasLimit: 21000n, maxFeePerGas: 30_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
});
const recoveredFromTransaction = Transaction.from(signed).from;

console.log(JSON.stringify({ address, recoveredFromMessage, recoveredFromTransaction }));
