// The console's pages: sign-in, the key list, a key's page, creating a key, and the import
// wizard of the AWS guide. Every action is one or more KMS API calls (kms.js); text from the
// server is only ever set as text, never parsed as HTML. Routes live in the URL fragment and
// never hold a secret.

import { kms, all, signIn, signOut, region, lookupEvents, b64, unb64, KmsError } from "./kms.js";
import { wrapMaterial } from "./wrap.js";

const DAY = 86400;
const app = document.getElementById("app");
const status = document.getElementById("status");

/** An element: `h("a", { href: "#", onclick: f }, "text", child)`. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function show(title, ...content) {
  // Absent parts (a warning not needed) are left out, as `h` leaves out absent children:
  // replaceChildren would print them as the text "null".
  const parts = content.filter((c) => c !== undefined && c !== null && c !== false);
  app.replaceChildren(h("h1", {}, breakable(title)), ...parts);
  document.title = `${title} · Trent console`;
  app.focus();
}

function errorText(e) {
  return e instanceof KmsError ? `${e.type}: ${e.message}` : String(e && e.message ? e.message : e);
}

function errorBox() {
  return h("p", { class: "error", role: "alert" });
}

/** Runs `f`, writing its failure (AWS's error type and message) into `box`. */
async function attempt(box, f) {
  box.textContent = "";
  try {
    return await f();
  } catch (e) {
    box.textContent = errorText(e);
    return undefined;
  }
}

function say(text) {
  status.textContent = text;
}

/** `2026-12-19 20:17 UTC`: to the minute, as a person reads a date (the title has it whole). */
function date(seconds) {
  return seconds === undefined ? "" : new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/** A long name (an alias, an ARN) that may break after its `/`, `:` and `-`, not inside a word. */
function breakable(text) {
  return text.split(/(?<=[/:-])/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));
}

/** Names each cell by its column, for the narrow layout in which rows become cards
 * (style.css, `table.cards`). */
function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((td, i) => { if (heads[i]) td.setAttribute("data-label", heads[i]); });
  }
  return table;
}

/** A table of `columns` whose rows become labelled cards on a narrow window. */
function cardTable(attrs, columns, rows) {
  return labelCells(h("table", { ...attrs, class: "cards" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows)));
}

/** ValidTo with its countdown, marked when within 30 days. */
function expiry(validTo) {
  if (validTo === undefined) return h("span", { class: "muted" }, "—");
  const left = validTo - Date.now() / 1000;
  const days = Math.floor(left / DAY);
  const text = left <= 0 ? "expired" : days >= 1 ? `in ${days} days` : `in ${Math.ceil(left / 3600)} hours`;
  return h("span", { class: left < 30 * DAY ? "soon expiry" : "expiry", title: date(validTo) },
    `${date(validTo)} (${text})`);
}

// --- Sign-in ----------------------------------------------------------------------------

function signInPage() {
  const box = errorBox();
  const insecure = !window.isSecureContext
    ? h("p", { class: "warning" }, "This page is not a secure context: WebCrypto, which signs requests and wraps key material, works only over HTTPS or on localhost (127.0.0.1). Serve Trent with TLS (docs/configuration.md) or open it on localhost.")
    : null;
  const form = h("form", { id: "sign-in-form", onsubmit: async (ev) => {
      ev.preventDefault();
      const akid = form.querySelector("#akid").value.trim();
      const secret = form.querySelector("#secret");
      signIn(akid, secret.value, form.querySelector("#region").value.trim() || "us-east-1");
      secret.value = "";
      const ok = await attempt(box, () => kms("ListKeys", { Limit: 1 }));
      if (ok === undefined) {
        signOut();
        return;
      }
      document.getElementById("who").textContent = `${akid} · ${region()}`;
      document.getElementById("sign-out").hidden = false;
      location.hash = "#/keys";
      route();
    } },
    h("label", { for: "akid" }, "Access key ID"),
    h("input", { id: "akid", type: "text", autocomplete: "off", required: true, spellcheck: "false" }),
    h("label", { for: "secret" }, "Secret access key"),
    h("input", { id: "secret", type: "password", autocomplete: "off", required: true }),
    h("label", { for: "region" }, "Region"),
    h("input", { id: "region", type: "text", value: "us-east-1", spellcheck: "false" }),
    h("p", { class: "muted" }, "The secret stays in this page's memory: it signs each request here (SigV4) and is never sent, stored or put in the address."),
    h("button", { id: "sign-in", type: "submit" }, "Sign in"),
    box);
  show("Sign in", insecure, form);
  form.querySelector("#akid").focus();
}

// --- The key list ------------------------------------------------------------------------

const markers = [];

async function keyListPage(marker) {
  say("Loading keys…");
  const page = await kms("ListKeys", { Limit: 25, ...(marker ? { Marker: marker } : {}) });
  const aliases = await all("ListAliases", { Limit: 100 }, "Aliases");
  const metas = await Promise.all((page.Keys || []).map((k) =>
    kms("DescribeKey", { KeyId: k.KeyId }).then((r) => r.KeyMetadata)));
  say("");
  const names = (id) => aliases.filter((a) => a.TargetKeyId === id).map((a) => a.AliasName);
  const filter = h("input", { id: "filter", type: "text", placeholder: "alias or key ID", "aria-label": "Filter by alias or key ID" });
  const origin = h("select", { id: "origin-filter", "aria-label": "Filter by origin" },
    ["All origins", "AWS_KMS", "EXTERNAL"].map((o) => h("option", { value: o.startsWith("All") ? "" : o }, o)));
  const table = cardTable({ id: "keys-table" }, ["Aliases", "Key ID", "Status", "Origin", "Key spec", "Key usage", "Expiration date"], []);
  const tbody = table.querySelector("tbody");
  const render = () => {
    const text = filter.value.trim().toLowerCase();
    const shown = metas
      .filter((m) => !origin.value || m.Origin === origin.value)
      .filter((m) => !text || m.KeyId.includes(text) || names(m.KeyId).some((n) => n.toLowerCase().includes(text)));
    if (!shown.length) {
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No key on this page matches the filter.")));
      return;
    }
    tbody.replaceChildren(...shown
      .map((m) => h("tr", { "data-key-id": m.KeyId },
        // One element in the cell (its card puts the label beside it), none without aliases.
        h("td", { class: "aliases" }, names(m.KeyId).length ? h("span", {}, names(m.KeyId).map((n) => h("div", {}, breakable(n)))) : null),
        h("td", { class: "mono key-id" }, h("a", { href: `#/key/${m.KeyId}` }, m.KeyId)),
        h("td", { class: "state" }, m.KeyState),
        h("td", { class: "origin" }, m.Origin),
        h("td", {}, m.KeySpec),
        h("td", {}, m.KeyUsage),
        h("td", {}, expiry(m.ValidTo)))));
    labelCells(table);
  };
  filter.addEventListener("input", render);
  origin.addEventListener("change", render);
  render();
  const nav = h("div", {},
    markers.length ? h("button", { class: "secondary", type: "button", onclick: () => { markers.pop(); keyListPage(markers[markers.length - 1]); } }, "Previous page") : null,
    page.Truncated ? h("button", { class: "secondary", type: "button", id: "next-page", onclick: () => { markers.push(page.NextMarker); keyListPage(page.NextMarker); } }, "Next page") : null);
  const createButton = h("button", { id: "create-key", type: "button", onclick: () => { location.hash = "#/create"; } }, "Create key");
  if (!metas.length && !markers.length) {
    show(`Customer managed keys (${region()})`,
      h("div", { class: "panel empty", id: "keys-empty" },
        h("p", {}, `This account has no keys in ${region()} yet.`),
        h("p", { class: "muted" }, "Create a key whose material Trent generates, or an EXTERNAL key to import your own key material (the AWS guide's procedure, in the import wizard)."),
        createButton));
    return;
  }
  show(`Customer managed keys (${region()})`,
    h("div", { class: "toolbar" }, createButton, filter, origin),
    table,
    nav);
}

// --- Creating a key ----------------------------------------------------------------------

const SPECS = ["SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "RSA_2048", "RSA_3072",
  "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519",
  "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"];
const USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"];

function options(id, values, selected) {
  return h("select", { id }, values.map((v) => h("option", { value: v, selected: v === selected }, v)));
}

function createKeyPage() {
  const box = errorBox();
  const form = h("form", { id: "create-form", onsubmit: async (ev) => {
      ev.preventDefault();
      const get = (id) => form.querySelector(`#${id}`);
      const spec = get("key-spec").value;
      const req = { KeySpec: spec, Origin: get("origin").value, Description: get("description").value };
      if (spec !== "SYMMETRIC_DEFAULT") req.KeyUsage = get("key-usage").value;
      if (get("multi-region").checked) req.MultiRegion = true;
      const out = await attempt(box, () => kms("CreateKey", req));
      if (!out) return;
      const id = out.KeyMetadata.KeyId;
      const alias = get("alias").value.trim();
      if (alias) {
        const name = alias.startsWith("alias/") ? alias : `alias/${alias}`;
        if ((await attempt(box, () => kms("CreateAlias", { AliasName: name, TargetKeyId: id }))) === undefined) return;
      }
      location.hash = req.Origin === "EXTERNAL" ? `#/import/${id}` : `#/key/${id}`;
    } },
    h("fieldset", {}, h("legend", {}, "Key material origin"),
      h("label", {}, h("input", { type: "radio", name: "origin-choice", value: "AWS_KMS", checked: true, onchange: () => { form.querySelector("#origin").value = "AWS_KMS"; } }), " KMS (Trent generates the key material)"),
      h("label", {}, h("input", { type: "radio", id: "origin-external", name: "origin-choice", value: "EXTERNAL", onchange: () => { form.querySelector("#origin").value = "EXTERNAL"; } }), " External (import key material)")),
    h("input", { id: "origin", type: "hidden", value: "AWS_KMS" }),
    h("label", { for: "key-spec" }, "Key spec"), options("key-spec", SPECS, "SYMMETRIC_DEFAULT"),
    h("label", { for: "key-usage" }, "Key usage (not for SYMMETRIC_DEFAULT)"), options("key-usage", USAGES, "ENCRYPT_DECRYPT"),
    h("label", { for: "alias" }, "Alias (optional)"), h("input", { id: "alias", type: "text", placeholder: "alias/my-key" }),
    h("label", { for: "description" }, "Description"), h("input", { id: "description", type: "text" }),
    h("label", {}, h("input", { id: "multi-region", type: "checkbox" }), " Multi-Region key"),
    h("button", { id: "create", type: "submit" }, "Create key"),
    h("button", { class: "secondary", type: "button", onclick: () => { location.hash = "#/keys"; } }, "Cancel"),
    box);
  show("Create key", form);
}

// --- A key's page ------------------------------------------------------------------------

function definition(pairs) {
  return h("dl", {}, pairs.filter(([, v]) => v !== undefined && v !== "").flatMap(([k, v]) =>
    [h("dt", {}, k), h("dd", { "data-field": k }, v)]));
}

const DELETE_WARNING = "Deleting key material makes the KMS key unusable at once: every cryptographic operation with it fails, and data encrypted under it cannot be decrypted until you import the same key material again. You cannot recover the key material from Trent. Delete it?";

async function keyPage(id) {
  say("Loading key…");
  const m = (await kms("DescribeKey", { KeyId: id })).KeyMetadata;
  const arn = m.Arn;
  const aliases = await all("ListAliases", { KeyId: id, Limit: 100 }, "Aliases");
  const box = errorBox();
  const refresh = () => keyPage(id);
  const act = (label, f, cls, domId) => h("button", { type: "button", class: cls, id: domId, onclick: async () => {
      if ((await attempt(box, f)) !== undefined) refresh();
    } }, label);
  const actions = h("div", {},
    m.KeyState === "Enabled" ? act("Disable", () => kms("DisableKey", { KeyId: id }), "secondary", "disable") : null,
    m.KeyState === "Disabled" ? act("Enable", () => kms("EnableKey", { KeyId: id }), "secondary", "enable") : null,
    m.KeyState === "PendingDeletion" || m.KeyState === "PendingReplicaDeletion"
      ? act("Cancel key deletion", () => kms("CancelKeyDeletion", { KeyId: id }), "secondary", "cancel-deletion")
      : act("Schedule key deletion", () => {
          const days = prompt("Waiting period in days (7 to 30):", "30");
          if (days === null) return Promise.resolve(undefined);
          return kms("ScheduleKeyDeletion", { KeyId: id, PendingWindowInDays: Number(days) });
        }, "danger", "schedule-deletion"),
    m.Origin === "EXTERNAL" && m.KeyState !== "PendingDeletion"
      ? h("button", { type: "button", id: "import-material", onclick: () => { location.hash = `#/import/${id}`; } }, "Import key material")
      : null);
  // What the key's state means for its users, said where they look first.
  const notice = {
    PendingDeletion: `This key is scheduled for deletion on ${date(m.DeletionDate)}. Until then no cryptographic operation can use it; cancel the deletion to keep it.`,
    PendingReplicaDeletion: "This key waits for its replicas to be deleted before its own deletion is scheduled.",
    PendingImport: "This key has no key material: no cryptographic operation can use it until you import key material (Import key material).",
    Disabled: "This key is disabled: cryptographic operations with it fail until you enable it.",
    Unavailable: "This key's external key store is not connected: cryptographic operations with it fail until the store is connected again.",
  }[m.KeyState];
  const sections = [notice ? h("p", { class: "warning", id: "key-notice" }, notice) : null, actions, box,
    h("h2", {}, "General configuration"),
    definition([["ARN", arn], ["Status", h("span", { id: "state" }, m.KeyState)], ["Created", date(m.CreationDate)],
      ["Description", m.Description], ["Origin", m.Origin], ["Key spec", m.KeySpec], ["Key usage", m.KeyUsage],
      ["Expiration model", m.ExpirationModel], ["Expiration date", m.ValidTo !== undefined ? expiry(m.ValidTo) : undefined],
      ["Current key material", m.CurrentKeyMaterialId], ["Deletion date", date(m.DeletionDate)],
      ["Regionality", m.MultiRegion ? `Multi-Region ${m.MultiRegionConfiguration.MultiRegionKeyType.toLowerCase()}` : "Single-Region"],
      ...multiRegion(m),
      ["Encryption algorithms", (m.EncryptionAlgorithms || []).join(", ")],
      ["Signing algorithms", (m.SigningAlgorithms || []).join(", ")],
      ["MAC algorithms", (m.MacAlgorithms || []).join(", ")],
      ["Key agreement algorithms", (m.KeyAgreementAlgorithms || []).join(", ")]]),
    h("h2", {}, "Aliases"), aliasSection(id, aliases, refresh),
    ...(ASYMMETRIC.test(m.KeySpec) ? [h("h2", {}, "Public key"), await publicKeySection(id)] : []),
    h("h2", {}, "Key material and rotations"), await materialSection(m, refresh),
    h("h2", {}, "Key policy"), await policySection(id),
    h("h2", {}, "Tags"), await tagSection(id, refresh),
    h("h2", {}, "Grants"), await grantSection(id),
    h("h2", {}, "Audit trail"), await auditSection(arn)];
  say("");
  show(aliases.length ? aliases[0].AliasName : id, ...sections);
}

/** The other Regions of a multi-Region key: its primary's, its replicas'. */
function multiRegion(m) {
  const c = m.MultiRegionConfiguration;
  if (!m.MultiRegion || !c) return [];
  const replicas = (c.ReplicaKeys || []).map((r) => r.Region).join(", ");
  return [["Primary key Region", c.PrimaryKey ? c.PrimaryKey.Region : ""], ["Replica Regions", replicas || "none yet"]];
}

const ASYMMETRIC = /^(RSA|ECC|SM2|ML_DSA|ML_KEM)/;

/** The public key of an asymmetric key, in PEM to read and as DER to download (GetPublicKey). */
async function publicKeySection(id) {
  // A disabled key or one pending deletion has no public key to give (AWS's error is shown
  // here, the rest of the key's page still is).
  const box = errorBox();
  const out = await attempt(box, () => kms("GetPublicKey", { KeyId: id }));
  if (!out) return h("div", { class: "panel", id: "public-key-refused" }, box);
  const lines = out.PublicKey.match(/.{1,64}/g) || [];
  const pem = ["-----BEGIN PUBLIC KEY-----", ...lines, "-----END PUBLIC KEY-----"].join("\n");
  return h("div", { class: "panel" }, h("pre", { id: "public-key", class: "mono" }, pem),
    h("p", {}, download("PublicKey.der", unb64(out.PublicKey))));
}

function aliasSection(id, aliases, refresh) {
  const box = errorBox();
  const input = h("input", { id: "new-alias", type: "text", placeholder: "alias/name", "aria-label": "New alias" });
  return h("div", { class: "panel" },
    aliases.length ? null : h("p", { class: "muted" }, "No aliases."),
    h("ul", {}, aliases.map((a) => h("li", {}, breakable(a.AliasName), " ",
      h("button", { class: "secondary", type: "button", onclick: async () => {
        if ((await attempt(box, () => kms("DeleteAlias", { AliasName: a.AliasName }))) !== undefined) refresh();
      } }, "Delete")))),
    h("div", { class: "row" }, h("div", {}, input), h("div", {}, h("button", { type: "button", onclick: async () => {
      const name = input.value.trim();
      if ((await attempt(box, () => kms("CreateAlias", { AliasName: name.startsWith("alias/") ? name : `alias/${name}`, TargetKeyId: id }))) !== undefined) refresh();
    } }, "Add alias"))), box);
}

async function materialSection(m, refresh) {
  const box = errorBox();
  const id = m.KeyId;
  const parts = [];
  if (m.KeySpec === "SYMMETRIC_DEFAULT") {
    const rotations = await all("ListKeyRotations", { KeyId: id, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }, "Rotations");
    const external = m.Origin === "EXTERNAL";
    // Import state, expiration and deletion are an imported material's; generated material
    // has none of them, so its table leaves those columns out.
    const columns = external
      ? ["Key material ID", "State", "Import state", "Expiration model", "Expiration date", "Rotation", ""]
      : ["Key material ID", "State", "Rotation"];
    parts.push(cardTable({ id: "materials" }, columns,
      rotations.map((r) => h("tr", { "data-material-id": r.KeyMaterialId },
        h("td", { class: "mono" }, r.KeyMaterialId),
        h("td", {}, r.KeyMaterialState),
        external ? h("td", {}, r.ImportState || "") : null,
        external ? h("td", {}, r.ExpirationModel || "") : null,
        external ? h("td", {}, expiry(r.ValidTo)) : null,
        h("td", {}, r.RotationType ? `${r.RotationType.replace("_", " ").toLowerCase()}, ${date(r.RotationDate)}` : external ? "first material" : "created with the key"),
        !external ? null : h("td", {}, r.ImportState === "IMPORTED"
          ? h("button", { class: "danger", type: "button", "data-delete-material": r.KeyMaterialId, onclick: async () => {
              if (!confirm(DELETE_WARNING)) return;
              if ((await attempt(box, () => kms("DeleteImportedKeyMaterial", { KeyId: id, KeyMaterialId: r.KeyMaterialId }))) !== undefined) refresh();
            } }, "Delete key material")
          : "")))));
    if (m.Origin === "AWS_KMS") {
      const s = await kms("GetKeyRotationStatus", { KeyId: id });
      parts.push(h("p", {}, s.KeyRotationEnabled
        ? `Automatic rotation every ${s.RotationPeriodInDays} days; next ${date(s.NextRotationDate)}.`
        : "Automatic rotation is off."),
      s.KeyRotationEnabled
        ? h("button", { class: "secondary", type: "button", onclick: async () => { if ((await attempt(box, () => kms("DisableKeyRotation", { KeyId: id }))) !== undefined) refresh(); } }, "Disable automatic rotation")
        : h("button", { class: "secondary", type: "button", onclick: async () => { if ((await attempt(box, () => kms("EnableKeyRotation", { KeyId: id }))) !== undefined) refresh(); } }, "Enable automatic rotation (365 days)"));
    }
    parts.push(h("button", { class: "secondary", type: "button", id: "rotate-now", onclick: async () => {
      if ((await attempt(box, () => kms("RotateKeyOnDemand", { KeyId: id }))) !== undefined) refresh();
    } }, "Rotate key material now"));
  } else if (m.Origin === "EXTERNAL") {
    parts.push(definition([["Expiration model", m.ExpirationModel], ["Expiration date", m.ValidTo !== undefined ? expiry(m.ValidTo) : undefined]]));
    if (m.KeyState === "Enabled" || m.KeyState === "Disabled") {
      parts.push(h("button", { class: "danger", type: "button", id: "delete-material", onclick: async () => {
        if (!confirm(DELETE_WARNING)) return;
        if ((await attempt(box, () => kms("DeleteImportedKeyMaterial", { KeyId: id }))) !== undefined) refresh();
      } }, "Delete key material"));
    }
  } else {
    parts.push(h("p", { class: "muted" }, "Key material generated by Trent; this key spec has a single key material."));
  }
  return h("div", { class: "panel" }, ...parts, box);
}

async function policySection(id) {
  const box = errorBox();
  const p = await kms("GetKeyPolicy", { KeyId: id, PolicyName: "default" });
  const area = h("textarea", { id: "policy", "aria-label": "Key policy", spellcheck: "false" });
  area.value = p.Policy;
  return h("div", { class: "panel" }, area, h("button", { type: "button", id: "save-policy", onclick: async () => {
    if ((await attempt(box, () => kms("PutKeyPolicy", { KeyId: id, PolicyName: "default", Policy: area.value }))) !== undefined) say("Key policy saved.");
  } }, "Save key policy"), box);
}

async function tagSection(id, refresh) {
  const box = errorBox();
  const tags = await all("ListResourceTags", { KeyId: id }, "Tags");
  const key = h("input", { type: "text", id: "tag-key", "aria-label": "Tag key", placeholder: "Tag key" });
  const value = h("input", { type: "text", id: "tag-value", "aria-label": "Tag value", placeholder: "Tag value" });
  return h("div", { class: "panel" },
    h("ul", {}, tags.map((t) => h("li", {}, `${t.TagKey} = ${t.TagValue} `, h("button", { class: "secondary", type: "button", onclick: async () => {
      if ((await attempt(box, () => kms("UntagResource", { KeyId: id, TagKeys: [t.TagKey] }))) !== undefined) refresh();
    } }, "Remove")))),
    h("div", { class: "row" }, h("div", {}, key), h("div", {}, value), h("div", {}, h("button", { type: "button", onclick: async () => {
      if ((await attempt(box, () => kms("TagResource", { KeyId: id, Tags: [{ TagKey: key.value, TagValue: value.value }] }))) !== undefined) refresh();
    } }, "Add tag"))), box);
}

async function grantSection(id) {
  const grants = await all("ListGrants", { KeyId: id }, "Grants");
  if (!grants.length) return h("p", { class: "muted" }, "No grants.");
  return cardTable({ id: "grants" }, ["Grant ID", "Name", "Grantee", "Operations"],
    grants.map((g) => h("tr", {}, h("td", { class: "mono" }, g.GrantId), h("td", {}, g.Name || ""),
      h("td", { class: "mono" }, g.GranteePrincipal), h("td", {}, (g.Operations || []).join(", ")))));
}

async function auditSection(arn) {
  const box = errorBox();
  const out = await attempt(box, () => lookupEvents({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: arn }], MaxResults: 20 }));
  if (!out) return h("div", {}, box);
  const events = out.Events || [];
  if (!events.length) return h("p", { class: "muted", id: "audit-empty" }, "No events yet.");
  return cardTable({ id: "audit" }, ["Time", "Event", "User", "Error"],
    events.map((e) => {
      const record = JSON.parse(e.CloudTrailEvent || "{}");
      return h("tr", {}, h("td", {}, date(e.EventTime)), h("td", {}, e.EventName), e.Username ? h("td", { class: "mono" }, e.Username) : h("td", { class: "muted" }, "KMS itself"),
        h("td", {}, record.errorCode || ""));
    }));
}

// --- The import wizard ("Importing key material", AWS KMS developer guide) --------------

function download(name, bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  return h("a", { href: url, download: name, class: "download" }, `Download ${name}`);
}

async function readFile(input) {
  const file = input.files && input.files[0];
  if (!file) throw new Error("Choose a file first.");
  return new Uint8Array(await file.arrayBuffer());
}

async function importPage(id) {
  const m = (await kms("DescribeKey", { KeyId: id })).KeyMetadata;
  // Each step says its own failure under its own button.
  const box = errorBox();
  const box2 = errorBox();
  let params = null;
  const paramsOut = h("div", { id: "parameters" });
  const step1 = h("form", { onsubmit: async (ev) => {
      ev.preventDefault();
      const algorithm = step1.querySelector("#wrapping-algorithm").value;
      params = await attempt(box, () => kms("GetParametersForImport", {
        KeyId: id, WrappingAlgorithm: algorithm, WrappingKeySpec: step1.querySelector("#wrapping-key-spec").value }));
      if (!params) return;
      params.algorithm = algorithm;
      paramsOut.replaceChildren(h("p", {}, `Wrapping public key and import token valid until ${date(params.ParametersValidTo)}.`),
        h("p", {}, download("WrappingPublicKey.bin", unb64(params.PublicKey)), " · ", download("ImportToken.bin", unb64(params.ImportToken))));
      step2.hidden = false;
    } },
    h("h2", {}, "1. Wrapping key and import token"),
    h("label", { for: "wrapping-key-spec" }, "Wrapping key spec"), options("wrapping-key-spec", ["RSA_2048", "RSA_3072", "RSA_4096"], "RSA_4096"),
    h("label", { for: "wrapping-algorithm" }, "Wrapping algorithm"),
    options("wrapping-algorithm", ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1"], "RSAES_OAEP_SHA_256"),
    h("div", {}, h("button", { id: "get-parameters", type: "submit" }, "Get wrapping key and import token")), box, paramsOut);
  const symmetric = m.KeySpec === "SYMMETRIC_DEFAULT";
  const step2 = h("form", { hidden: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const get = (sel) => step2.querySelector(sel);
      const done = await attempt(box2, async () => {
        let wrapped;
        if (get("#mode-browser").checked) {
          const material = await readFile(get("#material-file"));
          try {
            wrapped = await wrapMaterial(params.algorithm, unb64(params.PublicKey), material);
          } finally {
            material.fill(0);
          }
        } else {
          wrapped = await readFile(get("#wrapped-file"));
        }
        const req = { KeyId: id, ImportToken: params.ImportToken, EncryptedKeyMaterial: b64(wrapped) };
        if (get("#expires").checked) {
          const when = get("#valid-to").value;
          if (!when) throw new Error("Choose the expiration date.");
          req.ExpirationModel = "KEY_MATERIAL_EXPIRES";
          req.ValidTo = Date.parse(`${when}T00:00:00Z`) / 1000;
        } else {
          req.ExpirationModel = "KEY_MATERIAL_DOES_NOT_EXPIRE";
        }
        if (symmetric && get("#import-type").value) req.ImportType = get("#import-type").value;
        const description = get("#material-description") && get("#material-description").value;
        if (symmetric && description) req.KeyMaterialDescription = description;
        return kms("ImportKeyMaterial", req);
      });
      if (done) location.hash = `#/key/${id}`;
    } },
    h("h2", {}, "2. Key material"),
    h("fieldset", {}, h("legend", {}, "How the material is wrapped"),
      h("label", {}, h("input", { type: "radio", name: "mode", id: "mode-browser", checked: true }), " Wrap a local key material file in this browser (the plaintext never leaves this machine)"),
      h("label", { for: "material-file" }, "Plaintext key material file"), h("input", { type: "file", id: "material-file" }),
      h("label", {}, h("input", { type: "radio", name: "mode", id: "mode-wrapped" }), " Upload material I wrapped myself (openssl, as in the AWS guide)"),
      h("label", { for: "wrapped-file" }, "Encrypted key material file"), h("input", { type: "file", id: "wrapped-file" })),
    h("h2", {}, "3. Expiration"),
    h("fieldset", {}, h("legend", {}, "Key material expiration"),
      h("label", {}, h("input", { type: "radio", name: "expiry", id: "never", checked: true }), " Key material never expires"),
      h("label", {}, h("input", { type: "radio", name: "expiry", id: "expires" }), " Key material expires on (at most 365 days ahead)"),
      h("input", { type: "date", id: "valid-to", "aria-label": "Expiration date" })),
    symmetric ? h("div", {},
      h("label", { for: "import-type" }, "Import type"),
      h("select", { id: "import-type" }, h("option", { value: "" }, "Default (first import or reimport)"),
        h("option", { value: "EXISTING_KEY_MATERIAL" }, "EXISTING_KEY_MATERIAL (reimport)"),
        h("option", { value: "NEW_KEY_MATERIAL" }, "NEW_KEY_MATERIAL (for an on-demand rotation)")),
      h("label", { for: "material-description" }, "Key material description (optional)"),
      h("input", { type: "text", id: "material-description" })) : null,
    h("div", {}, h("button", { id: "import", type: "submit" }, "Import key material")), box2);
  show(`Import key material · ${id}`, h("p", { class: "muted" }, `${m.KeySpec} · ${m.KeyUsage} · ${m.KeyState}`), step1, step2);
}

// --- Routing -----------------------------------------------------------------------------

async function route() {
  const [, page, arg] = location.hash.split("/");
  if (!region()) return signInPage();
  try {
    if (page === "key" && arg) await keyPage(decodeURIComponent(arg));
    else if (page === "import" && arg) await importPage(decodeURIComponent(arg));
    else if (page === "create") createKeyPage();
    else await keyListPage();
  } catch (e) {
    say("");
    show("Error", h("p", { class: "error", role: "alert" }, errorText(e)),
      h("p", {}, h("a", { href: "#/keys" }, "Back to the keys")));
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  document.getElementById("who").textContent = "";
  document.getElementById("sign-out").hidden = true;
  location.hash = "";
  signInPage();
});
window.addEventListener("hashchange", route);
route();
