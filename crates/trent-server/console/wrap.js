// Wrapping key material in the browser, so that plaintext material never leaves the
// operator's machine: RSAES_OAEP_SHA_1/256 (WebCrypto RSA-OAEP) and RSA_AES_KEY_WRAP_SHA_1/256
// (PKCS#11 CKM_RSA_AES_KEY_WRAP: an ephemeral AES-256 key wrapped with RSA-OAEP, then the
// material wrapped under it with AES key wrap with padding, RFC 5649). WebCrypto has no
// RFC 5649 and no raw AES block, so `aesKwp` builds it from one-block AES-CBC with a zero IV
// (which is AES-ECB of that block). Tested against RFC 5649's vectors (wrap.test.mjs).

// Looked up when used, so that the module loads before a test sets up WebCrypto.
const subtle = { importKey: (...a) => globalThis.crypto.subtle.importKey(...a), encrypt: (...a) => globalThis.crypto.subtle.encrypt(...a) };

async function aesBlock(key, block) {
  const out = await subtle.encrypt({ name: "AES-CBC", iv: new Uint8Array(16) }, key, block);
  return new Uint8Array(out, 0, 16);
}

/** RFC 5649 AES key wrap with padding of `data` under the raw AES key `kek`. */
export async function aesKwp(kek, data) {
  const key = await subtle.importKey("raw", kek, { name: "AES-CBC" }, false, ["encrypt"]);
  const m = data.length;
  const n = Math.max(1, Math.ceil(m / 8));
  const padded = new Uint8Array(n * 8);
  padded.set(data);
  const a = new Uint8Array(8);
  a.set([0xa6, 0x59, 0x59, 0xa6]);
  new DataView(a.buffer).setUint32(4, m);
  if (n === 1) {
    const block = new Uint8Array(16);
    block.set(a);
    block.set(padded, 8);
    return aesBlock(key, block);
  }
  const r = [];
  for (let i = 0; i < n; i++) r.push(padded.slice(i * 8, i * 8 + 8));
  let acc = a;
  for (let j = 0; j < 6; j++) {
    for (let i = 0; i < n; i++) {
      const block = new Uint8Array(16);
      block.set(acc);
      block.set(r[i], 8);
      const b = await aesBlock(key, block);
      acc = b.slice(0, 8);
      const t = BigInt(n * j + i + 1);
      const view = new DataView(acc.buffer);
      view.setBigUint64(0, view.getBigUint64(0) ^ t);
      r[i] = b.slice(8, 16);
    }
  }
  const out = new Uint8Array(8 + n * 8);
  out.set(acc);
  r.forEach((block, i) => out.set(block, 8 + i * 8));
  return out;
}

async function rsaOaep(spki, hash, data) {
  const key = await subtle.importKey("spki", spki, { name: "RSA-OAEP", hash }, false, ["encrypt"]);
  return new Uint8Array(await subtle.encrypt({ name: "RSA-OAEP" }, key, data));
}

/** `material` wrapped for ImportKeyMaterial with the wrapping public key (DER SPKI). */
export async function wrapMaterial(algorithm, spki, material) {
  const hash = algorithm.endsWith("SHA_1") ? "SHA-1" : "SHA-256";
  if (algorithm.startsWith("RSAES_OAEP_")) return rsaOaep(spki, hash, material);
  if (algorithm.startsWith("RSA_AES_KEY_WRAP_")) {
    const aesKey = globalThis.crypto.getRandomValues(new Uint8Array(32));
    try {
      const head = await rsaOaep(spki, hash, aesKey);
      const tail = await aesKwp(aesKey, material);
      const out = new Uint8Array(head.length + tail.length);
      out.set(head);
      out.set(tail, head.length);
      return out;
    } finally {
      aesKey.fill(0);
    }
  }
  throw new Error(`${algorithm} cannot be done in the browser`);
}
