#!/usr/bin/env python3
"""Generates crates/trent-types/src/generated.rs from the public AWS KMS service model.

Every request shape becomes two Rust types: a `...Wire` struct that serde fills from JSON
(enum members kept as strings, so an unknown value is a ValidationException and not a
SerializationException, as in AWS), and the typed struct the domain uses. The generated
`validate` functions apply every constraint of the model (required, length, range, pattern,
enum) and phrase each failure exactly as AWS's Coral framework does:
`Value '<v>' at '<memberPath>' failed to satisfy constraint: <constraint>`.

Usage: scripts/gen-types.py [MODEL.json.gz] > crates/trent-types/src/generated.rs
The model defaults to model/kms-service-2.json.gz (the public botocore model, Apache-2.0);
the output is committed and
`scripts/test` checks it is up to date.
"""
import gzip
import json
import re
import sys

HERE = __file__.rsplit("/", 2)[0] if "/" in __file__ else "."
MODEL = sys.argv[1] if len(sys.argv) > 1 else f"{HERE}/model/kms-service-2.json.gz"
m = json.load(gzip.open(MODEL))
shapes = m["shapes"]
ops = m["operations"]

# Errors AWS returns with HTTP 500; every other modeled error is a 400.
SERVER_ERRORS = {"KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException"}
# Errors of the JSON 1.1 protocol and of AWS's front end that the model does not list.
PROTOCOL_ERRORS = [
    ("ValidationException", 400),
    ("SerializationException", 400),
    ("UnknownOperationException", 400),
    ("AccessDeniedException", 400),
    ("ThrottlingException", 400),
    ("UnrecognizedClientException", 400),
    ("InvalidSignatureException", 400),
    ("IncompleteSignatureException", 400),
    ("MissingAuthenticationTokenException", 400),
    ("InvalidClientTokenId", 403),
    ("NotAuthorizedException", 400),
    ("RequestEntityTooLargeException", 413),
    ("RequestTimeoutException", 408),
    ("RequestHeaderFieldsTooLargeException", 431),
]


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower()
    return {"type": "r#type", "ref": "r#ref"}.get(s, s)


def variant(value):
    parts = re.split(r"[_\-]", value)
    if value.upper() == value:
        out = "".join(p[:1].upper() + p[1:].lower() for p in parts)
    else:  # already CamelCase, e.g. PendingDeletion, ReEncryptFrom
        out = "".join(p[:1].upper() + p[1:] for p in parts)
    if out[0].isdigit():
        out = "V" + out
    return {"Self": "SelfOwned"}.get(out, out)


def lower_camel(name):
    return name[:1].lower() + name[1:]


def is_enum(sname):
    return shapes[sname]["type"] == "string" and "enum" in shapes[sname]


def pattern_to_rust(p):
    # Java's \w and \s are ASCII-only; Rust's are Unicode: spell them out (a nested class
    # is a union in Rust's regex syntax). Coral matches the whole value (Java's
    # Pattern.matches), so the pattern is anchored at both ends.
    p = p.replace("\\w", "[0-9A-Za-z_]").replace("\\s", "[ \\t\\n\\x0B\\f\\r]")
    return f"^(?:{p})$"


# ---- which structures are reachable from inputs / outputs --------------------------------
def reach(root, acc):
    if root in acc:
        return
    s = shapes[root]
    t = s["type"]
    if t == "structure":
        acc.add(root)
        for mem in s["members"].values():
            reach(mem["shape"], acc)
    elif t == "list":
        reach(s["member"]["shape"], acc)
    elif t == "map":
        reach(s["key"]["shape"], acc)
        reach(s["value"]["shape"], acc)


inputs, outputs = set(), set()
for op in ops.values():
    if "input" in op:
        reach(op["input"]["shape"], inputs)
    if "output" in op:
        reach(op["output"]["shape"], outputs)
inputs = {s for s in inputs if shapes[s]["type"] == "structure"}
outputs = {s for s in outputs if shapes[s]["type"] == "structure"}


# ---- Rust type of a member ----------------------------------------------------------------
def rust_type(sname, wire=False):
    s = shapes[sname]
    t = s["type"]
    if t == "string":
        if "enum" in s and not wire:
            return sname
        return "String"
    if t == "blob":
        return "Blob"
    if t == "integer":
        return "i64"
    if t == "long":
        return "i64"
    if t == "boolean":
        return "bool"
    if t == "timestamp":
        return "Timestamp"
    if t == "list":
        return f"Vec<{rust_type(s['member']['shape'], wire)}>"
    if t == "map":
        return f"BTreeMap<{rust_type(s['key']['shape'], wire)}, {rust_type(s['value']['shape'], wire)}>"
    if t == "structure":
        return f"{sname}Wire" if wire else sname
    raise ValueError(t)


out = []
w = out.append
w("//! Wire types of the AWS KMS API, generated from the public service model by")
w("//! `scripts/gen-types.py`. Do not edit by hand: change the generator and run it again.")
w("#![allow(clippy::all, missing_docs, non_camel_case_types, unused_variables, unused_mut)]")
w("")
w("use std::collections::BTreeMap;")
w("use serde::{Deserialize, Serialize};")
w("use crate::blob::Blob;")
w("use crate::timestamp::Timestamp;")
w("use crate::validate::{Errors, MemberPath};")
w("")

# ---- enums --------------------------------------------------------------------------------
for name in sorted(shapes):
    s = shapes[name]
    if not (s["type"] == "string" and "enum" in s):
        continue
    vals = s["enum"]
    w("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]")
    w(f"pub enum {name} {{")
    for v in vals:
        w(f"    {variant(v)},")
    w("}")
    w(f"impl {name} {{")
    w(f"    pub const ALL: &'static [{name}] = &[{', '.join(f'{name}::{variant(v)}' for v in vals)}];")
    w(f"    pub const NAMES: &'static [&'static str] = &[{', '.join(json.dumps(v) for v in vals)}];")
    w("    pub fn as_str(self) -> &'static str {")
    w("        match self {")
    for v in vals:
        w(f"            {name}::{variant(v)} => {json.dumps(v)},")
    w("        }")
    w("    }")
    w("    pub fn parse(s: &str) -> Option<Self> {")
    w("        match s {")
    for v in vals:
        w(f"            {json.dumps(v)} => Some({name}::{variant(v)}),")
    w("            _ => None,")
    w("        }")
    w("    }")
    w("}")
    w(f"impl std::fmt::Display for {name} {{")
    w("    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }")
    w("}")
    w(f"impl Serialize for {name} {{")
    w("    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }")
    w("}")
    w(f"impl<'de> Deserialize<'de> for {name} {{")
    w("    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {")
    w("        let s = String::deserialize(d)?;")
    w(f"        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!(\"unknown {name} value {{s}}\")))")
    w("    }")
    w("}")
    w("")


# ---- validation of one member value -------------------------------------------------------
def check_value(sname, ref, own, path_expr, indent):
    """Emit statements validating a wire value of shape sname: `ref` is a reference to it,
    `own` the value itself, which the returned expression moves into the typed value (a
    request's plaintext is moved, not copied: a copy would be one more buffer of a secret
    to wipe).
    """
    s = shapes[sname]
    t = s["type"]
    pad = " " * indent
    if t == "string":
        # A member the model marks sensitive (a key store password) is never quoted back.
        quoted = "_secret" if s.get("sensitive") else ""
        if "min" in s:
            w(f"{pad}errs.min_len_str{quoted}({path_expr}, {ref}, {s['min']});")
        if "max" in s:
            w(f"{pad}errs.max_len_str{quoted}({path_expr}, {ref}, {s['max']});")
        if "pattern" in s:
            fn = "pattern_secret" if s.get("sensitive") else "pattern"
            w(f"{pad}errs.{fn}({path_expr}, {ref}, &pattern_table::{pattern_name(s['pattern'])}, {json.dumps(s['pattern'])});")
        if "enum" in s:
            return f"errs.enum_value::<{sname}>({path_expr}, {ref}, {sname}::parse, {sname}::NAMES)?"
        return own
    if t == "blob":
        if "min" in s:
            w(f"{pad}errs.min_len_blob({path_expr}, {ref}, {s['min']});")
        if "max" in s:
            w(f"{pad}errs.max_len_blob({path_expr}, {ref}, {s['max']});")
        return own
    if t in ("integer", "long"):
        if "min" in s:
            w(f"{pad}errs.min_value({path_expr}, *{ref}, {s['min']});")
        if "max" in s:
            w(f"{pad}errs.max_value({path_expr}, *{ref}, {s['max']});")
        return own
    if t in ("boolean", "timestamp"):
        return own
    if t == "list":
        if "min" in s:
            w(f"{pad}errs.min_len_list({path_expr}, {ref}, {s['min']});")
        if "max" in s:
            w(f"{pad}errs.max_len_list({path_expr}, {ref}, {s['max']});")
        mem = s["member"]["shape"]
        w(f"{pad}let mut items = Vec::with_capacity({own}.len());")
        w(f"{pad}for (i, item) in {own}.into_iter().enumerate() {{")
        w(f"{pad}    let item_path = {path_expr}.item(i);")
        conv = check_value(mem, "&item", "item", "&item_path", indent + 4)
        w(f"{pad}    if let Some(v) = (|| Some({conv}))() {{ items.push(v); }}")
        w(f"{pad}}}")
        return "items"
    if t == "map":
        if "min" in s:
            w(f"{pad}errs.min_len_map({path_expr}, {ref}, {s['min']});")
        if "max" in s:
            w(f"{pad}errs.max_len_map({path_expr}, {ref}, {s['max']});")
        kshape, vshape = s["key"]["shape"], s["value"]["shape"]
        w(f"{pad}for (k, v) in {own}.iter() {{")
        w(f"{pad}    let key_path = {path_expr}.map_key(k);")
        check_value(kshape, "k", "k", "&key_path", indent + 4)
        w(f"{pad}    let value_path = {path_expr}.map_value(k);")
        check_value(vshape, "v", "v", "&value_path", indent + 4)
        w(f"{pad}}}")
        return own
    if t == "structure":
        return f"{sname}::from_wire({own}, {path_expr}, errs)?"
    raise ValueError(t)


pattern_names = {}


def pattern_name(p):
    if p not in pattern_names:
        pattern_names[p] = f"P{len(pattern_names)}"
    return pattern_names[p]


# ---- structures ---------------------------------------------------------------------------
def needs_wire(sname):
    return sname in inputs


def has_default(sname):
    """Whether the Rust type of a shape implements Default (an enum has no sensible one)."""
    return not is_enum(sname)


for name in sorted(set(shapes)):
    s = shapes[name]
    if s["type"] != "structure" or s.get("exception"):
        continue
    members = s["members"]
    # Members the model requires are plain fields in the structures a request can carry:
    # validation has reported a missing one, so no handler sees it absent. Output-only
    # structures keep `Option` (what AWS marks required there, it still omits at times).
    required = set(s.get("required", [])) if needs_wire(name) else set()
    defaultable = all(has_default(members[r]["shape"]) for r in required)
    derives = ["Debug", "Clone"] + (["Default"] if defaultable else []) + ["PartialEq"]
    w(f"#[derive({', '.join(derives)}, Serialize, Deserialize)]")
    if defaultable:
        w("#[serde(default)]")
    w(f"pub struct {name} {{")
    for mname, mem in members.items():
        if mname in required:
            w(f"    #[serde(rename = {json.dumps(mname)})]")
            w(f"    pub {snake(mname)}: {rust_type(mem['shape'])},")
        else:
            w(f"    #[serde(rename = {json.dumps(mname)}, skip_serializing_if = \"Option::is_none\")]")
            w(f"    pub {snake(mname)}: Option<{rust_type(mem['shape'])}>,")
    w("}")
    if not needs_wire(name):
        w("")
        continue
    w("#[derive(Default, Deserialize)]")
    w("#[serde(default)]")
    w(f"pub struct {name}Wire {{")
    for mname, mem in members.items():
        w(f"    #[serde(rename = {json.dumps(mname)})]")
        w(f"    pub {snake(mname)}: Option<{rust_type(mem['shape'], wire=True)}>,")
    w("}")
    w(f"impl {name} {{")
    w("    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`")
    w("    /// when a failure was recorded in `errs`.")
    w(f"    pub fn from_wire(wire: {name}Wire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {{")
    for mname, mem in members.items():
        field = snake(mname)
        local = "m_" + field.replace("r#", "")
        w(f"        let p = path.member({json.dumps(lower_camel(mname))});")
        w(f"        let {local} = match wire.{field} {{")
        if mname in required:
            w("            None => { errs.missing(&p); None }")
        else:
            w("            None => None,")
        w("            Some(value) => {")
        conv = check_value(mem["shape"], "&value", "value", "&p", 16)
        w(f"                (|| Some({conv}))()")
        w("            }")
        w("        };")
    w("        Some(Self {")
    for mname in members:
        field = snake(mname)
        local = "m_" + field.replace("r#", "")
        w(f"            {field}: {local}{'?' if mname in required else ''},")
    w("        })")
    w("    }")
    w("}")
    w("")

# ---- CloudTrail views -----------------------------------------------------------------------
# Members AWS leaves out of CloudTrail although they are plain strings: grant tokens are
# bearer credentials for a grant (AWS's CreateGrant example shows no grantToken).
TRAIL_OMITTED = {"GrantToken", "GrantTokens"}
# AWS's CreateKey example spells this member of keyMetadata as in the API.
TRAIL_NAMES = {"AWSAccountId": "AWSAccountId"}


def trail_expr(sname, expr):
    """The JSON a CloudTrail record shows for `expr` (a reference to a value of shape sname),
    or None when AWS never logs it: blobs (plaintext, ciphertext, public keys, import tokens,
    wrapped material, signatures, MACs) and the shapes the model marks sensitive."""
    s = shapes[sname]
    t = s["type"]
    if t == "blob" or s.get("sensitive"):
        return None
    if t == "string":
        return f"Value::from({expr}.to_string())"
    if t in ("integer", "long", "boolean"):
        return f"Value::from(*{expr})"
    if t == "timestamp":
        return f"crate::trail::date_text(*{expr})"
    if t == "list":
        inner = trail_expr(s["member"]["shape"], "x")
        return None if inner is None else f"Value::Array({expr}.iter().map(|x| {inner}).collect())"
    if t == "map":
        inner = trail_expr(s["value"]["shape"], "x")
        return None if inner is None else f"Value::Object({expr}.iter().map(|(k, x)| (k.to_string(), {inner})).collect())"
    if t == "structure":
        return f"{expr}.trail()"
    raise ValueError(t)


w("/// What a CloudTrail record shows of each structure: lowerCamelCase members (as AWS spells")
w("/// them, `AWSAccountId` becoming `aWSAccountId`), dates as text, and no blob or sensitive")
w("/// member at all.")
for name in sorted(inputs | outputs):
    s = shapes[name]
    if s.get("exception"):
        continue
    members = s["members"]
    required = set(s.get("required", [])) if needs_wire(name) else set()
    w(f"impl crate::trail::Trail for {name} {{")
    w("    fn trail(&self) -> serde_json::Value {")
    w("        use serde_json::Value;")
    w("        let mut m = serde_json::Map::new();")
    for mname, mem in members.items():
        field = snake(mname)
        e = None if mname in TRAIL_OMITTED else trail_expr(mem["shape"], "v")
        if e is None:
            continue
        key = json.dumps(TRAIL_NAMES.get(mname, lower_camel(mname)))
        if mname in required:
            w(f"        {{ let v = &self.{field}; m.insert({key}.into(), {e}); }}")
        else:
            w(f"        if let Some(v) = &self.{field} {{ m.insert({key}.into(), {e}); }}")
    w("        Value::Object(m)")
    w("    }")
    w("}")
w("")

# ---- patterns -----------------------------------------------------------------------------
w("pub(crate) mod pattern_table {")
w("    use regex::Regex;")
w("    use std::sync::LazyLock;")
for p, n in pattern_names.items():
    w(f"    pub static {n}: LazyLock<Regex> = LazyLock::new(|| Regex::new({json.dumps(pattern_to_rust(p))}).expect(\"model pattern\"));")
w("}")
w("")

# ---- operations ---------------------------------------------------------------------------
names = sorted(ops)
w("/// Every operation of the KMS API, named as in `X-Amz-Target: TrentService.<Operation>`.")
w("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]")
w("pub enum Operation {")
for n in names:
    w(f"    {n},")
w("}")
w("impl Operation {")
w(f"    pub const ALL: &'static [Operation] = &[{', '.join('Operation::' + n for n in names)}];")
w("    pub fn name(self) -> &'static str {")
w("        match self {")
for n in names:
    w(f"            Operation::{n} => {json.dumps(n)},")
w("        }")
w("    }")
w("    pub fn from_name(s: &str) -> Option<Self> {")
w("        match s {")
for n in names:
    w(f"            {json.dumps(n)} => Some(Operation::{n}),")
w("            _ => None,")
w("        }")
w("    }")


def max_body(op):
    """The body limit of an operation, from the members its input has: a key policy (up to
    131,072 characters) 256 KiB; grant tokens (up to 10 of 8,192) 128 KiB; else 64 KiB (room
    for the longest string member, a description of 8,192 characters, \\u-escaped)."""
    members = shapes[ops[op]["input"]["shape"]].get("members", {}) if "input" in ops[op] else {}
    if "Policy" in members:
        return 256 * 1024
    if "GrantTokens" in members:
        return 128 * 1024
    return 64 * 1024


w("    /// The largest body a request of this operation may have (from the members of its")
w("    /// input in the model: a key policy 256 KiB, grant tokens 128 KiB, else 64 KiB).")
w("    pub const fn max_body(self) -> usize {")
w("        match self {")
for n in names:
    w(f"            Operation::{n} => {max_body(n)},")
w("        }")
w("    }")
w("}")
w("")

# ---- operation lists for the crates that implement, dispatch or fuzz every operation --------
def input_of(op):
    return ops[op]["input"]["shape"] if "input" in ops[op] else None


w("/// Calls `$m! { Operation => RequestType, ... }` with every operation of the model: the")
w("/// server's dispatch table and the fuzzers are built from it, so a new operation reaches them")
w("/// (and fails to compile until its request type implements the domain's `Call`).")
w("#[macro_export]")
w("macro_rules! for_each_operation {")
w("    ($m:ident) => {")
w("        $m! {")
for n in names:
    w(f"            {n} => {input_of(n)},")
w("        }")
w("    };")
w("}")
w("")
def output_of(op):
    return ops[op]["output"]["shape"] if "output" in ops[op] else "()"


w("/// The request of one operation: which operation it is and what it answers. Written here,")
w("/// from the model, so that no handler names its operation or its response again.")
w("pub trait Request {")
w("    const OPERATION: Operation;")
w("    type Response;")
w("}")
for n in names:
    if input_of(n):
        w(f"impl Request for {input_of(n)} {{")
        w(f"    const OPERATION: Operation = Operation::{n};")
        w(f"    type Response = {output_of(n)};")
        w("}")
w("")
keyed = [n for n in names if input_of(n) and "KeyId" in shapes[input_of(n)].get("required", [])]
w("/// Calls `$m! { RequestType, ... }` with the request of every operation whose input requires")
w("/// `KeyId`: the key the operation acts on.")
w("#[macro_export]")
w("macro_rules! for_each_keyed_request {")
w("    ($m:ident) => {")
w("        $m! {")
for n in keyed:
    w(f"            {input_of(n)},")
w("        }")
w("    };")
w("}")
w("")

# ---- errors -------------------------------------------------------------------------------
errors = sorted(k for k, s in shapes.items() if s.get("exception"))
allerr = [(e, 500 if e in SERVER_ERRORS else 400) for e in errors] + PROTOCOL_ERRORS
w("/// Every error `__type` Trent can answer with: the model's exceptions and the protocol's.")
w("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]")
w("pub enum ErrorCode {")
for e, _ in allerr:
    w(f"    {e},")
w("}")
w("impl ErrorCode {")
w("    pub fn name(self) -> &'static str {")
w("        match self {")
for e, _ in allerr:
    w(f"            ErrorCode::{e} => {json.dumps(e)},")
w("        }")
w("    }")
w("    pub fn http_status(self) -> u16 {")
w("        match self {")
for e, st in allerr:
    w(f"            ErrorCode::{e} => {st},")
w("        }")
w("    }")
w("}")

print("\n".join(out))
