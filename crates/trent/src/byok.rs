//! `trent byok`: the user's side of importing key material. `wrap` does locally what the AWS
//! guide does with openssl; `import` runs the whole ceremony (GetParametersForImport, wrap,
//! ImportKeyMaterial) against any AWS-KMS endpoint with the standard AWS credential chain.

use anyhow::Context as _;

use aws_sdk_kms::primitives::{Blob, DateTime, DateTimeFormat};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, ImportType, OriginType, WrappingKeySpec,
};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;
use trent_crypto::import::{wrap_material, WrapAlgorithm};

#[derive(Subcommand)]
pub enum Byok {
    /// Wrap key material under a wrapping public key from GetParametersForImport.
    Wrap(WrapArgs),
    /// Run the whole import ceremony against an endpoint (AWS credential chain).
    Import(ImportArgs),
}

#[derive(Args)]
pub struct WrapArgs {
    /// The wrapping public key (DER SubjectPublicKeyInfo, as GetParametersForImport returns it
    /// after base64 decoding).
    #[arg(long)]
    public_key: PathBuf,
    /// RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.
    #[arg(long)]
    algorithm: String,
    /// The plaintext key material (raw bytes; PKCS#8 DER for asymmetric keys).
    #[arg(long)]
    material: PathBuf,
    /// Where to write the EncryptedKeyMaterial.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The KMS key (key id or key ARN). Omit with --create.
    #[arg(long, required_unless_present = "create")]
    key_id: Option<String>,
    /// Create a new symmetric key with Origin=EXTERNAL first.
    #[arg(long, conflicts_with = "key_id")]
    create: bool,
    /// The plaintext key material to import (e.g. `openssl rand -out material.bin 32`).
    #[arg(long)]
    material: PathBuf,
    #[arg(long, default_value = "RSAES_OAEP_SHA_256")]
    algorithm: String,
    #[arg(long, default_value = "RSA_4096")]
    wrapping_key_spec: String,
    /// Expiry as RFC 3339 (`2027-01-31T00:00:00Z`).
    #[arg(long, conflicts_with_all = ["valid_for_days", "no_expiry"])]
    valid_to: Option<String>,
    /// Expiry in days from now.
    #[arg(long, conflicts_with = "no_expiry")]
    valid_for_days: Option<u32>,
    /// Import with KEY_MATERIAL_DOES_NOT_EXPIRE.
    #[arg(long)]
    no_expiry: bool,
    /// NEW_KEY_MATERIAL or EXISTING_KEY_MATERIAL (default: as AWS decides).
    #[arg(long)]
    import_type: Option<String>,
    /// KeyMaterialDescription.
    #[arg(long)]
    description: Option<String>,
    /// The endpoint (e.g. http://127.0.0.1:4599); default: AWS's.
    #[arg(long, env = "AWS_ENDPOINT_URL_KMS")]
    endpoint_url: Option<String>,
    /// The Region of the key (default: AWS_REGION, then the profile's region).
    #[arg(long)]
    region: Option<String>,
    /// The profile of the AWS shared config and credentials files to sign with (default:
    /// AWS_PROFILE, then `default`).
    #[arg(long)]
    profile: Option<String>,
}

fn algorithm(s: &str) -> anyhow::Result<WrapAlgorithm> {
    WrapAlgorithm::from_aws_name(s).ok_or_else(|| {
        anyhow::anyhow!("unknown algorithm {s}: use RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256")
    })
}

fn read(p: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
}

pub fn run(cmd: Byok) -> anyhow::Result<()> {
    match cmd {
        Byok::Wrap(a) => {
            let out = wrap_material(algorithm(&a.algorithm)?, &read(&a.public_key)?, &read(&a.material)?)
                .map_err(|_| anyhow::anyhow!("the public key is not an RSA SubjectPublicKeyInfo, or the material is too long for this algorithm (RSA private keys need RSA_AES_KEY_WRAP_*)"))?;
            std::fs::write(&a.out, out).with_context(|| format!("cannot write {}", a.out.display()))
        }
        Byok::Import(a) => {
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(import(a))
        }
    }
}

fn sdk_error<E>(step: &str, e: aws_sdk_kms::error::SdkError<E>) -> anyhow::Error
where
    E: std::error::Error + aws_sdk_kms::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    use aws_sdk_kms::error::ProvideErrorMetadata;
    match (e.code(), e.message()) {
        (Some(c), m) => anyhow::anyhow!("{step}: {c}: {}", m.unwrap_or("")),
        _ => anyhow::anyhow!("{step}: {}", aws_sdk_kms::error::DisplayErrorContext(&e)),
    }
}

async fn import(a: ImportArgs) -> anyhow::Result<()> {
    let alg = algorithm(&a.algorithm)?;
    let spec = WrappingKeySpec::from(a.wrapping_key_spec.as_str());
    let material = trent_crypto::Secret::new(read(&a.material)?);
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &a.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &a.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(u) = &a.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    // As the aws cli and boto3 do: AWS_CA_BUNDLE adds a CA to trust (e.g. the one
    // `trent serve --tls-self-signed` makes).
    if let Some(bundle) = std::env::var_os("AWS_CA_BUNDLE") {
        let pem = std::fs::read(&bundle).map_err(|e| {
            anyhow::anyhow!("AWS_CA_BUNDLE {}: {e}", std::path::Path::new(&bundle).display())
        })?;
        use aws_smithy_http_client::tls;
        let context = tls::TlsContext::builder()
            .with_trust_store(tls::TrustStore::default().with_pem_certificate(pem))
            .build()
            .context("AWS_CA_BUNDLE")?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
            .tls_context(context)
            .build_https();
        loader = loader.http_client(http);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(anyhow::anyhow!("no region: pass --region or set AWS_REGION"));
    }
    let client = aws_sdk_kms::Client::new(&config);
    let started = Instant::now();
    let key_id = match (&a.key_id, a.create) {
        (Some(k), _) => k.clone(),
        (None, _) => {
            let out = client
                .create_key()
                .origin(OriginType::External)
                .send()
                .await
                .map_err(|e| sdk_error("CreateKey", e))?;
            out.key_metadata.map(|m| m.key_id).unwrap_or_default()
        }
    };
    let t0 = Instant::now();
    let params = client
        .get_parameters_for_import()
        .key_id(&key_id)
        .wrapping_algorithm(AlgorithmSpec::from(alg.aws_name()))
        .wrapping_key_spec(spec)
        .send()
        .await
        .map_err(|e| sdk_error("GetParametersForImport", e))?;
    let get_params_ms = t0.elapsed().as_secs_f64() * 1e3;
    let public = params.public_key.context("GetParametersForImport returned no public key")?;
    let token = params.import_token.context("GetParametersForImport returned no import token")?;
    let t1 = Instant::now();
    let wrapped = wrap_material(alg, public.as_ref(), material.as_bytes())
        .map_err(|_| anyhow::anyhow!("cannot wrap the material with this public key"))?;
    let wrap_ms = t1.elapsed().as_secs_f64() * 1e3;
    let mut req = client
        .import_key_material()
        .key_id(&key_id)
        .import_token(token)
        .encrypted_key_material(Blob::new(wrapped));
    if a.no_expiry {
        req = req.expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire);
    } else {
        let valid_to = match (&a.valid_to, a.valid_for_days) {
            (Some(t), _) => {
                DateTime::from_str(t, DateTimeFormat::DateTime).context("--valid-to")?
            }
            (None, Some(d)) => DateTime::from_secs(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs()
                    as i64
                    + i64::from(d) * 86_400,
            ),
            (None, None) => anyhow::bail!(
                "say when the material expires: --valid-to, --valid-for-days or --no-expiry"
            ),
        };
        req = req.expiration_model(ExpirationModelType::KeyMaterialExpires).valid_to(valid_to);
    }
    if let Some(t) = &a.import_type {
        req = req.import_type(ImportType::from(t.as_str()));
    }
    if let Some(d) = &a.description {
        req = req.key_material_description(d);
    }
    let t2 = Instant::now();
    let out = req.send().await.map_err(|e| sdk_error("ImportKeyMaterial", e))?;
    let import_ms = t2.elapsed().as_secs_f64() * 1e3;
    let summary = serde_json::json!({
        "KeyId": out.key_id().unwrap_or(&key_id),
        "KeyMaterialId": out.key_material_id(),
        "WrappingAlgorithm": alg.aws_name(),
        "WrappingKeySpec": a.wrapping_key_spec,
        "Milliseconds": {
            "GetParametersForImport": get_params_ms,
            "Wrap": wrap_ms,
            "ImportKeyMaterial": import_ms,
            "Total": started.elapsed().as_secs_f64() * 1e3,
        }
    });
    println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    Ok(())
}
