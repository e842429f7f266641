// SigV4 for the console's requests, with WebCrypto (SHA-256, HMAC-SHA256): the AWS
// "Signature Version 4 signing process" for a POST of a JSON body to this origin's `/`.
// The secret is used here and kept by the caller in memory only.

const enc = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(data) {
  return crypto.subtle.digest("SHA-256", typeof data === "string" ? enc.encode(data) : data);
}

async function hmac(key, data) {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/** `YYYYMMDDTHHMMSSZ` of a Date. */
export function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/**
 * The headers of a signed request: `x-amz-date`, `x-amz-target`, `content-type` and
 * `authorization` (the browser adds `host`, which is signed as `host`).
 */
export async function sign({ accessKeyId, secretAccessKey, region, service, host, target, contentType, body, now }) {
  const date = amzDate(now || new Date());
  const day = date.slice(0, 8);
  const headers = { "content-type": contentType, host, "x-amz-date": date, "x-amz-target": target };
  const names = Object.keys(headers).sort();
  const canonical = [
    "POST", "/", "",
    ...names.map((n) => `${n}:${headers[n]}`), "",
    names.join(";"),
    hex(await sha256(body)),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, hex(await sha256(canonical))].join("\n");
  let key = await hmac("AWS4" + secretAccessKey, day);
  key = await hmac(key, region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, toSign));
  delete headers.host;
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return headers;
}
