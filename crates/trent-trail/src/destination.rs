//! Where the trail's files go: an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage, moto)
//! through aws-sdk-s3, and/or a directory laid out as the bucket is. A digest's signature
//! travels as the object's metadata (`x-amz-meta-signature`, `-signature-algorithm`), as
//! CloudTrail delivers it; in a directory it is a `<object>.metadata.json` beside the file.

use async_trait::async_trait;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("writing {path} failed")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("putting s3://{bucket}/{key} failed")]
    S3 {
        bucket: String,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// One place the trail's files are delivered to.
#[async_trait]
pub trait Destination: Send + Sync {
    /// Stores `body` as `key` with `metadata`, replacing what was there.
    async fn put(
        &self,
        key: &str,
        body: &[u8],
        metadata: &[(&str, &str)],
    ) -> Result<(), DeliveryError>;
    /// What the operator configured (for the log and GetTrailStatus).
    fn describe(&self) -> String;
    /// An object and its metadata; `None` if there is none (for verification).
    async fn get(&self, key: &str) -> Result<Option<Fetched>, DeliveryError>;
    /// The keys under `prefix`, in order (for verification).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, DeliveryError>;
}

/// An object read back.
pub struct Fetched {
    pub body: Vec<u8>,
    pub metadata: HashMap<String, String>,
}

const SIDECAR: &str = ".metadata.json";

/// A directory in the bucket's layout.
pub struct Directory {
    root: PathBuf,
}

impl Directory {
    pub fn new(root: &Path) -> Self {
        Directory { root: root.to_path_buf() }
    }

    /// The file of an object key (keys are made by `TrailPlace`: no `..`, no leading `/`).
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, synced, renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl Destination for Directory {
    async fn put(
        &self,
        key: &str,
        body: &[u8],
        metadata: &[(&str, &str)],
    ) -> Result<(), DeliveryError> {
        let path = self.path_of(key);
        let meta = (!metadata.is_empty()).then(|| {
            let map: HashMap<&str, &str> = metadata.iter().copied().collect();
            (PathBuf::from(format!("{}{SIDECAR}", path.display())), serde_json::json!(map))
        });
        let body = body.to_vec();
        tokio::task::spawn_blocking(move || {
            // The metadata first: a digest file is never there without its signature.
            if let Some((meta_path, value)) = &meta {
                write_whole(meta_path, value.to_string().as_bytes())
                    .map_err(|source| DeliveryError::File { path: meta_path.clone(), source })?;
            }
            write_whole(&path, &body).map_err(|source| DeliveryError::File { path, source })
        })
        .await
        .unwrap_or_else(|e| {
            Err(DeliveryError::File { path: self.root.clone(), source: std::io::Error::other(e) })
        })
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, DeliveryError> {
        let path = self.path_of(key);
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(DeliveryError::File { path, source }),
        };
        let sidecar = PathBuf::from(format!("{}{SIDECAR}", path.display()));
        let metadata = std::fs::read(&sidecar)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Ok(Some(Fetched { body, metadata }))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, DeliveryError> {
        let mut out = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(DeliveryError::File { path: dir, source }),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(rel) = path.strip_prefix(&self.root) else { continue };
                let key = rel.to_string_lossy().into_owned();
                if key.starts_with(prefix) && !key.ends_with(SIDECAR) {
                    out.push(key);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// An S3-compatible bucket.
pub struct Bucket {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Bucket {
    /// A client of `bucket` with the SDK's usual configuration (credentials, Region and
    /// `AWS_ENDPOINT_URL_S3` from the environment or profile); `endpoint` overrides the
    /// endpoint and asks for path-style addressing, as MinIO, Ceph, Garage and moto serve.
    pub async fn connect(bucket: &str, endpoint: Option<&str>, region: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_string()));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            config = config.region(aws_config::Region::new("us-east-1"));
        }
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Bucket { client: aws_sdk_s3::Client::from_conf(config.build()), bucket: bucket.into() }
    }
}

#[async_trait]
impl Destination for Bucket {
    async fn put(
        &self,
        key: &str,
        body: &[u8],
        metadata: &[(&str, &str)],
    ) -> Result<(), DeliveryError> {
        let metadata: HashMap<String, String> =
            metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/x-gzip")
            .set_metadata((!metadata.is_empty()).then_some(metadata))
            .body(body.to_vec().into())
            .send()
            .await
            .map(drop)
            .map_err(|e| DeliveryError::S3 {
                bucket: self.bucket.clone(),
                key: key.to_string(),
                source: Box::new(e),
            })
    }

    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, DeliveryError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| DeliveryError::S3 {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            source,
        };
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(failed(Box::new(e))),
        };
        let metadata = out.metadata().cloned().unwrap_or_default();
        let body = out.body.collect().await.map_err(|e| failed(Box::new(e)))?.to_vec();
        Ok(Some(Fetched { body, metadata }))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, DeliveryError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| DeliveryError::S3 {
                bucket: self.bucket.clone(),
                key: prefix.to_string(),
                source: Box::new(e),
            })?;
            out.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        out.sort();
        Ok(out)
    }
}
