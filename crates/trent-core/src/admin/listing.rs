//! `trent admin list-keys`: an operator's view of the keys of one account and Region, with
//! their aliases, read from the store (states as stored: see `stats.rs` on what time did).

use super::Admin;
use crate::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Rows read per store call.
const PAGE: usize = 1000;

impl Admin<'_> {
    pub async fn list_keys(&self, account: &str, region: &str) -> Result<Value> {
        let store = &self.kms.store;
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_aliases(account, region, None, after.as_deref(), PAGE).await?;
            for a in &page {
                aliases.entry(a.target_key_id.clone()).or_default().push(a.name.clone());
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.name.clone()),
                _ => break,
            }
        }
        let mut keys = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_keys(account, region, after.as_deref(), PAGE).await?;
            for k in &page {
                keys.push(json!({
                    "KeyId": k.key.key_id,
                    "Arn": k.key.arn(),
                    "KeyState": k.state.as_str(),
                    "Origin": k.origin.as_str(),
                    "KeySpec": k.key_spec.as_str(),
                    "KeyUsage": k.key_usage.as_str(),
                    "Description": k.description,
                    "Aliases": aliases.remove(&k.key.key_id).unwrap_or_default(),
                }));
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.key.key_id.clone()),
                _ => break,
            }
        }
        Ok(json!({ "Keys": keys }))
    }
}
