// The KMS API as the console calls it: JSON 1.1, `X-Amz-Target: TrentService.<Operation>`,
// signed with the credentials held in memory by `signIn`. Errors carry AWS's `__type` and
// message, shown as they are.

import { sign } from "./sigv4.js";

let creds = null;

export class KmsError extends Error {
  constructor(type, message) {
    super(message || type);
    this.type = type;
  }
}

/** Keeps the credentials in this module's memory (never in storage, never in the URL). */
export function signIn(accessKeyId, secretAccessKey, region) {
  creds = { accessKeyId, secretAccessKey, region };
}

export function signOut() {
  creds = null;
}

export function region() {
  return creds && creds.region;
}

async function post(target, service, contentType, payload) {
  if (!creds) throw new KmsError("NotSignedIn", "Sign in first.");
  const body = JSON.stringify(payload || {});
  const headers = await sign({ ...creds, service, host: location.host, target, contentType, body });
  const resp = await fetch("/", { method: "POST", headers, body, credentials: "omit", cache: "no-store" });
  const text = await resp.text();
  const out = text ? JSON.parse(text) : {};
  if (!resp.ok) {
    const type = String(out.__type || `HTTP ${resp.status}`).split("#").pop();
    throw new KmsError(type, out.message || out.Message || "");
  }
  return out;
}

/** One KMS operation. */
export function kms(operation, payload) {
  return post(`TrentService.${operation}`, "kms", "application/x-amz-json-1.1", payload);
}

/** CloudTrail's LookupEvents on this server's trail. */
export function lookupEvents(payload) {
  return post("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "cloudtrail",
    "application/x-amz-json-1.1", payload);
}

/** Every page of a List* operation, following `NextMarker`. */
export async function all(operation, payload, field) {
  const out = [];
  let marker;
  do {
    const page = await kms(operation, { ...payload, ...(marker ? { Marker: marker } : {}) });
    out.push(...(page[field] || []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return out;
}

export function b64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

export function unb64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
