//! Member validation: collects constraint failures and words them as AWS (Coral) does,
//! e.g. `1 validation error detected: Value '' at 'keyId' failed to satisfy constraint:
//! Member must have length greater than or equal to 1`.

use crate::blob::Blob;
use regex::Regex;
use std::collections::BTreeMap;

/// Where a member sits in the request, in AWS's lowerCamel dotted form (`tags.1.member.tagKey`).
/// Built lazily from borrowed segments: text is made only when a constraint fails.
#[derive(Debug, Clone, Copy)]
pub struct MemberPath<'a> {
    parent: Option<&'a MemberPath<'a>>,
    seg: Seg<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Root,
    Member(&'a str),
    Item(usize),
    MapKey,
    MapValue(&'a str),
}

impl<'a> MemberPath<'a> {
    pub fn root() -> Self {
        MemberPath { parent: None, seg: Seg::Root }
    }
    pub fn member(&'a self, name: &'a str) -> Self {
        MemberPath { parent: Some(self), seg: Seg::Member(name) }
    }
    pub fn item(&'a self, index: usize) -> Self {
        MemberPath { parent: Some(self), seg: Seg::Item(index) }
    }
    pub fn map_key(&'a self, _key: &'a str) -> Self {
        MemberPath { parent: Some(self), seg: Seg::MapKey }
    }
    pub fn map_value(&'a self, key: &'a str) -> Self {
        MemberPath { parent: Some(self), seg: Seg::MapValue(key) }
    }
    fn write(&self, out: &mut String) {
        if let Some(p) = self.parent {
            p.write(out);
        }
        let sep = if out.is_empty() { "" } else { "." };
        match self.seg {
            Seg::Root => {}
            Seg::Member(n) | Seg::MapValue(n) => {
                out.push_str(sep);
                out.push_str(n);
            }
            Seg::Item(i) => out.push_str(&format!("{sep}{}.member", i + 1)),
            Seg::MapKey => out.push_str(&format!("{sep}key")),
        }
    }
    pub fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// The failures found so far, in the order the members are checked.
#[derive(Debug, Default)]
pub struct Errors(Vec<String>);

impl Errors {
    fn push(&mut self, value: Option<&str>, path: &MemberPath, constraint: &str) {
        let v = match value {
            Some(v) => format!("Value '{v}' at"),
            None => "Value at".to_string(),
        };
        self.0.push(format!("{v} '{}' failed to satisfy constraint: {constraint}", path.text()));
    }

    /// Adds a failure with a hand-written message (rules the model cannot express).
    pub fn custom(&mut self, message: String) {
        self.0.push(message);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The whole ValidationException message, or `None` when nothing failed.
    pub fn into_message(self) -> Option<String> {
        match self.0.len() {
            0 => None,
            1 => Some(format!("1 validation error detected: {}", self.0[0])),
            n => Some(format!("{n} validation errors detected: {}", self.0.join("; "))),
        }
    }

    pub fn missing(&mut self, path: &MemberPath) {
        self.0.push(format!(
            "Value null at '{}' failed to satisfy constraint: Member must not be null",
            path.text()
        ));
    }

    pub fn min_len_str(&mut self, path: &MemberPath, v: &str, min: usize) {
        if v.chars().count() < min {
            self.push(
                Some(v),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }

    pub fn max_len_str(&mut self, path: &MemberPath, v: &str, max: usize) {
        if v.chars().count() > max {
            self.push(
                Some(v),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// As `min_len_str`, for a member the model marks sensitive: its value is not quoted.
    pub fn min_len_str_secret(&mut self, path: &MemberPath, v: &str, min: usize) {
        if v.chars().count() < min {
            let constraint = format!("Member must have length greater than or equal to {min}");
            self.push(None, path, &constraint);
        }
    }

    /// As `max_len_str`, for a member the model marks sensitive.
    pub fn max_len_str_secret(&mut self, path: &MemberPath, v: &str, max: usize) {
        if v.chars().count() > max {
            let constraint = format!("Member must have length less than or equal to {max}");
            self.push(None, path, &constraint);
        }
    }

    /// As `pattern`, for a member the model marks sensitive.
    pub fn pattern_secret(&mut self, path: &MemberPath, v: &str, re: &Regex, source: &str) {
        if !re.is_match(v) {
            let constraint = format!("Member must satisfy regular expression pattern: {source}");
            self.push(None, path, &constraint);
        }
    }

    pub fn pattern(&mut self, path: &MemberPath, v: &str, re: &Regex, source: &str) {
        if !re.is_match(v) {
            self.push(
                Some(v),
                path,
                &format!("Member must satisfy regular expression pattern: {source}"),
            );
        }
    }

    pub fn enum_value<T>(
        &mut self,
        path: &MemberPath,
        v: &str,
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Option<T> {
        let parsed = parse(v);
        if parsed.is_none() {
            self.push(
                Some(v),
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    crate::enum_order::aws_order(names, names).join(", ")
                ),
            );
        }
        parsed
    }

    // Blob values are never echoed (they may be plaintext): `Value at 'plaintext' ...`.
    pub fn min_len_blob(&mut self, path: &MemberPath, v: &Blob, min: usize) {
        if v.len() < min {
            self.push(
                None,
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }

    pub fn max_len_blob(&mut self, path: &MemberPath, v: &Blob, max: usize) {
        if v.len() > max {
            self.push(None, path, &format!("Member must have length less than or equal to {max}"));
        }
    }

    pub fn min_value(&mut self, path: &MemberPath, v: i64, min: i64) {
        if v < min {
            self.push(
                Some(&v.to_string()),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
    }

    pub fn max_value(&mut self, path: &MemberPath, v: i64, max: i64) {
        if v > max {
            self.push(
                Some(&v.to_string()),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub fn min_len_list<T: std::fmt::Debug>(&mut self, path: &MemberPath, v: &[T], min: usize) {
        if v.len() < min {
            self.push(
                Some(&list_text(v)),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }

    pub fn max_len_list<T: std::fmt::Debug>(&mut self, path: &MemberPath, v: &[T], max: usize) {
        if v.len() > max {
            self.push(
                Some(&list_text(v)),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn min_len_map<K, V>(&mut self, path: &MemberPath, v: &BTreeMap<K, V>, min: usize) {
        if v.len() < min {
            self.push(
                None,
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }

    pub fn max_len_map<K, V>(&mut self, path: &MemberPath, v: &BTreeMap<K, V>, max: usize) {
        if v.len() > max {
            self.push(None, path, &format!("Member must have length less than or equal to {max}"));
        }
    }
}

/// Java's `List.toString()`: `[a, b]` (strings unquoted).
fn list_text<T: std::fmt::Debug>(v: &[T]) -> String {
    let items: Vec<String> =
        v.iter().map(|i| format!("{i:?}").trim_matches('"').to_string()).collect();
    format!("[{}]", items.join(", "))
}
