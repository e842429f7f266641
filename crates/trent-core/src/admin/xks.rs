//! The operator's XKS commands (`trent admin create-xks-endpoint` …): endpoints, their
//! credentials and the keys they serve, each recorded in the account's trail (credentials by
//! id only).

use super::{Admin, AdminRequest};
use crate::xks::XksAdminError;
use crate::{KmsError, Result};
use serde_json::{json, Value};
use trent_types::ErrorCode;

const SOURCE: &str = "trent.amazonaws.com";

impl From<XksAdminError> for KmsError {
    fn from(e: XksAdminError) -> Self {
        match e {
            XksAdminError::Invalid(m) => KmsError::validation(m),
            XksAdminError::NotFound(m) => KmsError::new(ErrorCode::NotFoundException, m),
            XksAdminError::Exists(m) => KmsError::new(ErrorCode::AlreadyExistsException, m),
            XksAdminError::Store(e) => e.into(),
            XksAdminError::Crypto(e) => e.into(),
            XksAdminError::Kms(e) => e,
        }
    }
}

fn uri_path(prefix: &str) -> String {
    match prefix.is_empty() {
        true => format!("/{}", trent_types::xks::API_ROOT),
        false => format!("/{prefix}/{}", trent_types::xks::API_ROOT),
    }
}

impl Admin<'_> {
    async fn account_of(&self, path_prefix: &str) -> Result<String> {
        let prefix = path_prefix.trim_matches('/');
        let e = self.kms.store().get_xks_endpoint(prefix).await?;
        e.map(|e| e.account).ok_or_else(|| {
            KmsError::new(ErrorCode::NotFoundException, format!("no XKS endpoint at {prefix}"))
        })
    }

    pub(super) async fn xks(&self, req: AdminRequest) -> Result<Value> {
        use AdminRequest as A;
        let kms = self.kms;
        Ok(match req {
            A::CreateXksEndpoint { account_id, path_prefix, client_subject } => {
                let e = kms.xks_create_endpoint(&account_id, &path_prefix, client_subject).await?;
                let out = json!({ "PathPrefix": e.path_prefix, "XksProxyUriPath": uri_path(&e.path_prefix), "AccountId": e.account, "ClientSubject": e.client_subject });
                let request =
                    json!({ "pathPrefix": e.path_prefix, "clientSubject": e.client_subject });
                self.note(&account_id, SOURCE, "CreateXksEndpoint", request, json!(null)).await?;
                out
            }
            A::CreateXksCredential { path_prefix } => {
                let account = self.account_of(&path_prefix).await?;
                let c = kms.xks_create_credential(&path_prefix).await?;
                let prefix = path_prefix.trim_matches('/');
                let request = json!({ "pathPrefix": prefix });
                let response = json!({ "accessKeyId": c.access_key_id });
                self.note(&account, SOURCE, "CreateXksCredential", request, response).await?;
                // The spec's proxy configuration file, as the AWS KMS console takes it.
                json!({
                    "XksProxyUriPath": uri_path(prefix),
                    "XksProxyAuthenticationCredential": {
                        "AccessKeyId": c.access_key_id,
                        "RawSecretAccessKey": String::from_utf8_lossy(c.secret_access_key.as_bytes()),
                    }
                })
            }
            A::DeleteXksCredential { access_key_id } => {
                let store = kms.store();
                let c = store.get_xks_credential(&access_key_id).await?.ok_or_else(|| {
                    KmsError::new(
                        ErrorCode::NotFoundException,
                        format!("no XKS credential {access_key_id}"),
                    )
                })?;
                let account = self.account_of(&c.path_prefix).await?;
                store.delete_xks_credential(&access_key_id).await?;
                let request = json!({ "accessKeyId": access_key_id });
                self.note(&account, SOURCE, "DeleteXksCredential", request, json!(null)).await?;
                json!({})
            }
            A::PutXksKey { path_prefix, external_key_id, region, key_id, usages, allowed } => {
                let account = self.account_of(&path_prefix).await?;
                let k = kms
                    .xks_put_key(
                        &path_prefix,
                        &external_key_id,
                        &region,
                        &key_id,
                        &usages,
                        &allowed,
                    )
                    .await?;
                let request = json!({ "pathPrefix": k.path_prefix, "externalKeyId": k.external_key_id, "region": region, "keyId": key_id, "usages": usages, "allowed": allowed });
                self.note(&account, SOURCE, "PutXksKey", request.clone(), json!(null)).await?;
                request
            }
            A::DeleteXksKey { path_prefix, external_key_id } => {
                let account = self.account_of(&path_prefix).await?;
                let prefix = path_prefix.trim_matches('/');
                kms.store().delete_xks_key(prefix, &external_key_id).await?;
                let request = json!({ "pathPrefix": prefix, "externalKeyId": external_key_id });
                self.note(&account, SOURCE, "DeleteXksKey", request, json!(null)).await?;
                json!({})
            }
            A::DeleteXksEndpoint { path_prefix } => {
                let account = self.account_of(&path_prefix).await?;
                let prefix = path_prefix.trim_matches('/');
                kms.store().delete_xks_endpoint(prefix).await?;
                let request = json!({ "pathPrefix": prefix });
                self.note(&account, SOURCE, "DeleteXksEndpoint", request, json!(null)).await?;
                json!({})
            }
            A::ListXksEndpoints { account_id } => {
                let store = kms.store();
                let mut endpoints = Vec::new();
                for e in store.list_xks_endpoints(&account_id).await? {
                    let credentials: Vec<Value> = store
                        .list_xks_credentials(&e.path_prefix)
                        .await?
                        .into_iter()
                        .map(|c| json!({ "AccessKeyId": c.access_key_id, "CreatedMs": c.created_ms }))
                        .collect();
                    let keys: Vec<Value> = store
                        .list_xks_keys(&e.path_prefix)
                        .await?
                        .into_iter()
                        .map(|k| {
                            let allowed: Value = serde_json::from_str(&k.allowed).unwrap_or(Value::Null);
                            json!({ "ExternalKeyId": k.external_key_id, "Region": k.region, "KeyId": k.key_id, "Usages": k.usages.split(',').filter(|u| !u.is_empty()).collect::<Vec<_>>(), "Allowed": allowed })
                        })
                        .collect();
                    endpoints.push(json!({ "PathPrefix": e.path_prefix, "XksProxyUriPath": uri_path(&e.path_prefix), "ClientSubject": e.client_subject, "Credentials": credentials, "Keys": keys }));
                }
                json!({ "XksEndpoints": endpoints })
            }
            other => return Err(KmsError::validation(format!("not an XKS command: {other:?}"))),
        })
    }
}
