// node --test crates/trent-server/console/wrap.test.mjs: the browser's wrapping routine
// against RFC 5649 section 6's vectors, and RSA_AES_KEY_WRAP's layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { aesKwp, wrapMaterial } from "./wrap.js";

// Node 18 has WebCrypto only as `node:crypto`'s `webcrypto`, not as a global.
globalThis.crypto ??= webcrypto;
const crypto = globalThis.crypto;

const bytes = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
const hex = (b) => Buffer.from(b).toString("hex");
const KEK = bytes("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");

test("RFC 5649: 20 octets", async () => {
  const out = await aesKwp(KEK, bytes("c37b7e6492584340bed12207808941155068f738"));
  assert.equal(hex(out), "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
});

test("RFC 5649: 7 octets (one block)", async () => {
  const out = await aesKwp(KEK, bytes("466f7250617369"));
  assert.equal(hex(out), "afbeb0f07dfbf5419200f2ccb50bb24f");
});

test("RSA_AES_KEY_WRAP is an RSA-OAEP block then the wrapped material", async () => {
  const { publicKey, privateKey } = await crypto.subtle.generateKey(
    { name: "RSA-OAEP", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true, ["encrypt", "decrypt"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const material = crypto.getRandomValues(new Uint8Array(32));
  const out = await wrapMaterial("RSA_AES_KEY_WRAP_SHA_256", spki, material);
  assert.equal(out.length, 256 + 40);
  const aesKey = new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, privateKey, out.slice(0, 256)));
  assert.equal(hex(await aesKwp(aesKey, material)), hex(out.slice(256)));
  const direct = await wrapMaterial("RSAES_OAEP_SHA_256", spki, material);
  const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, privateKey, direct));
  assert.equal(hex(plain), hex(material));
});
