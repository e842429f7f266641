//! The workloads of `trent bench`: what each request sends, and the keys and data each
//! needs prepared before the clock starts.

use anyhow::Context as _;

use super::client::Client;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use trent_crypto::import::{wrap_material, WrapAlgorithm};

const IMPORT_ALGORITHM: WrapAlgorithm = WrapAlgorithm::OaepSha256;

#[derive(Clone, Debug)]
pub enum Workload {
    Encrypt,
    Decrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    DescribeKey,
    ReEncrypt,
    /// Encrypt, Decrypt, GenerateDataKey and DescribeKey in turn.
    Mixed,
    GetParametersForImport(String),
    ImportKeyMaterial(String),
    Ceremony(String),
}

#[derive(Default)]
pub struct Prepared {
    key_id: String,
    /// With `--existing-keys`: the keys requests take in turn.
    key_ids: Vec<String>,
    plaintext: String,
    ciphertext: String,
    material: Vec<u8>,
    /// ImportKeyMaterial: (token, wrapped material) pairs fetched before the clock starts.
    tokens: Mutex<Vec<(String, String)>>,
}

impl Workload {
    pub fn parse(name: &str, spec: &str) -> anyhow::Result<Self> {
        let spec = spec.to_string();
        Ok(match name {
            "encrypt" => Workload::Encrypt,
            "decrypt" => Workload::Decrypt,
            "generate-data-key" => Workload::GenerateDataKey,
            "generate-data-key-without-plaintext" => Workload::GenerateDataKeyWithoutPlaintext,
            "describe-key" => Workload::DescribeKey,
            "re-encrypt" => Workload::ReEncrypt,
            "mixed" => Workload::Mixed,
            "get-parameters-for-import" => Workload::GetParametersForImport(spec),
            "import-key-material" => Workload::ImportKeyMaterial(spec),
            "ceremony" => Workload::Ceremony(spec),
            other => return Err(anyhow::anyhow!("unknown workload {other}")),
        })
    }

    fn is_import(&self) -> bool {
        matches!(
            self,
            Workload::GetParametersForImport(_)
                | Workload::ImportKeyMaterial(_)
                | Workload::Ceremony(_)
        )
    }

    pub async fn setup(
        &self,
        c: &mut Client,
        requests: usize,
        existing_keys: usize,
    ) -> anyhow::Result<Arc<Prepared>> {
        let mut p = Prepared::default();
        if existing_keys > 0 && !self.is_import() {
            p.key_ids = list_keys(c, existing_keys).await?;
        }
        let origin = if self.is_import() { "EXTERNAL" } else { "AWS_KMS" };
        let created =
            c.ok("CreateKey", json!({ "Origin": origin, "Description": "trent bench" })).await?;
        p.key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
        let mut plain = vec![0u8; 1024];
        trent_crypto::random_bytes(&mut plain)?;
        p.plaintext = B64.encode(&plain);
        if !self.is_import() {
            let out =
                c.ok("Encrypt", json!({ "KeyId": p.key_id, "Plaintext": p.plaintext })).await?;
            p.ciphertext = out["CiphertextBlob"].as_str().unwrap_or_default().to_string();
        }
        if let Workload::ImportKeyMaterial(spec) | Workload::Ceremony(spec) = self {
            p.material = vec![0u8; 32];
            trent_crypto::random_bytes(&mut p.material)?;
            // Bind the key to the material once; the measured imports are reimports.
            let (token, wrapped) = fetch_and_wrap(c, &p.key_id, spec, &p.material).await?;
            import(c, &p.key_id, &token, &wrapped).await?;
            if let Workload::ImportKeyMaterial(_) = self {
                if requests == 0 {
                    return Err(anyhow::anyhow!(
                        "the import-key-material workload needs --requests (one token each)"
                    ));
                }
                let mut tokens = Vec::with_capacity(requests);
                for _ in 0..requests {
                    tokens.push(fetch_and_wrap(c, &p.key_id, spec, &p.material).await?);
                }
                p.tokens = Mutex::new(tokens);
            }
        }
        Ok(Arc::new(p))
    }

    pub async fn once(
        &self,
        c: &mut Client,
        p: &Prepared,
        worker: usize,
        i: usize,
    ) -> anyhow::Result<()> {
        let key = p.key(worker, i);
        match self {
            Workload::Mixed => {
                let each = [Workload::Encrypt, Workload::Decrypt, Workload::GenerateDataKey, Workload::DescribeKey];
                Box::pin(each[(worker + i) % each.len()].once(c, p, worker, i)).await
            }
            Workload::Encrypt => c.ok("Encrypt", json!({ "KeyId": key, "Plaintext": p.plaintext })).await.map(drop),
            Workload::Decrypt => c.ok("Decrypt", json!({ "CiphertextBlob": p.ciphertext })).await.map(drop),
            Workload::GenerateDataKey => c.ok("GenerateDataKey", json!({ "KeyId": key, "KeySpec": "AES_256" })).await.map(drop),
            Workload::GenerateDataKeyWithoutPlaintext => c
                .ok("GenerateDataKeyWithoutPlaintext", json!({ "KeyId": key, "KeySpec": "AES_256" }))
                .await
                .map(drop),
            Workload::DescribeKey => c.ok("DescribeKey", json!({ "KeyId": key })).await.map(drop),
            Workload::ReEncrypt => c
                .ok("ReEncrypt", json!({ "CiphertextBlob": p.ciphertext, "DestinationKeyId": key }))
                .await
                .map(drop),
            Workload::GetParametersForImport(spec) => c
                .ok(
                    "GetParametersForImport",
                    json!({ "KeyId": p.key_id, "WrappingAlgorithm": IMPORT_ALGORITHM.aws_name(), "WrappingKeySpec": spec }),
                )
                .await
                .map(drop),
            Workload::ImportKeyMaterial(_) => {
                let (token, wrapped) = p.tokens.lock().map_err(|_| anyhow::anyhow!("the token list is poisoned"))?.pop().context("out of import tokens")?;
                import(c, &p.key_id, &token, &wrapped).await
            }
            Workload::Ceremony(spec) => {
                let (token, wrapped) = fetch_and_wrap(c, &p.key_id, spec, &p.material).await?;
                import(c, &p.key_id, &token, &wrapped).await
            }
        }
    }
}

impl Prepared {
    /// The key request `i` of `worker` uses.
    fn key(&self, worker: usize, i: usize) -> &str {
        if self.key_ids.is_empty() {
            return &self.key_id;
        }
        // A stride per worker so that concurrent requests use different keys.
        &self.key_ids[(worker.wrapping_mul(7919).wrapping_add(i)) % self.key_ids.len()]
    }
}

/// The first `n` keys of the account (ListKeys pages of 1,000).
async fn list_keys(c: &mut Client, n: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    let mut marker: Option<String> = None;
    while ids.len() < n {
        let mut req = json!({ "Limit": 1000 });
        if let Some(m) = &marker {
            req["Marker"] = json!(m);
        }
        let out = c.ok("ListKeys", req).await?;
        for k in out["Keys"].as_array().into_iter().flatten() {
            if ids.len() < n {
                ids.push(k["KeyId"].as_str().unwrap_or_default().to_string());
            }
        }
        marker = out["NextMarker"].as_str().map(str::to_string);
        if marker.is_none() || out["Truncated"] != json!(true) {
            break;
        }
    }
    if ids.len() < n {
        return Err(anyhow::anyhow!(
            "--existing-keys {n}: the account has only {} keys",
            ids.len()
        ));
    }
    Ok(ids)
}

async fn fetch_and_wrap(
    c: &mut Client,
    key_id: &str,
    spec: &str,
    material: &[u8],
) -> anyhow::Result<(String, String)> {
    let out = c
        .ok(
            "GetParametersForImport",
            json!({ "KeyId": key_id, "WrappingAlgorithm": IMPORT_ALGORITHM.aws_name(), "WrappingKeySpec": spec }),
        )
        .await?;
    let field =
        |v: &Value, k: &str| v[k].as_str().map(String::from).with_context(|| format!("no {k}"));
    let public = B64.decode(field(&out, "PublicKey")?)?;
    let wrapped = wrap_material(IMPORT_ALGORITHM, &public, material)?;
    Ok((field(&out, "ImportToken")?, B64.encode(wrapped)))
}

async fn import(c: &mut Client, key_id: &str, token: &str, wrapped: &str) -> anyhow::Result<()> {
    c.ok(
        "ImportKeyMaterial",
        json!({
            "KeyId": key_id, "ImportToken": token, "EncryptedKeyMaterial": wrapped,
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"
        }),
    )
    .await
    .map(drop)
}
