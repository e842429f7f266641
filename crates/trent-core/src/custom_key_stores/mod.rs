//! Custom key stores (docs/xks.md, "Let Trent use a key held in an XKS proxy"): the six
//! operations for `EXTERNAL_KEY_STORE` stores — an XKS proxy Trent reaches over HTTPS with a
//! SigV4 credential the store keeps sealed — with AWS's connection states and errors; keys of
//! such a store (`keys.rs`) encrypt twice, under Trent's material and then the external key.
//! `AWS_CLOUDHSM` stores cannot exist here (there is no CloudHSM cluster): creating one is
//! answered as AWS answers a cluster id it cannot find.

pub mod keys;
pub mod proxy;

use crate::gate::AccountTarget;
use crate::ops::paging::page_after;
use crate::quotas::ResourceQuota;
use crate::{Authorized, Call, Kms, KmsError, Result};
use proxy::{CallMetadata, Proxy, ProxyFailure, ProxyTarget};
use trent_crypto::Secret;
use trent_store::{CustomKeyStoreRecord, StoreError};
use trent_types::*;

use ConnectionStateType as State;

/// What the sealed proxy secret is bound to: its store.
fn secret_context(c: &CustomKeyStoreRecord) -> String {
    format!("trent/v1/custom-key-store-credential\0{}\0{}\0{}", c.account, c.region, c.id)
}

fn not_found(id: &str) -> KmsError {
    KmsError::new(
        ErrorCode::CustomKeyStoreNotFoundException,
        format!("Custom key store '{id}' does not exist."),
    )
}

fn invalid_state(message: String) -> KmsError {
    KmsError::new(ErrorCode::CustomKeyStoreInvalidStateException, message)
}

/// `cks-` and 17 hex digits, as AWS's ids are.
fn new_store_id() -> Result<String> {
    let mut b = [0u8; 9];
    trent_crypto::random_bytes(&mut b)?;
    Ok(format!("cks-{}", &hex::encode(b)[..17]))
}

fn state_of(c: &CustomKeyStoreRecord) -> State {
    State::parse(&c.connection_state).unwrap_or(State::Disconnected)
}

/// The host of an `XksProxyUriEndpoint` (`https://` and a host name, as the model's pattern
/// allows).
fn host_of(endpoint: &str) -> &str {
    endpoint.strip_prefix("https://").unwrap_or(endpoint)
}

/// A store as DescribeCustomKeyStores lists it.
fn entry(c: &CustomKeyStoreRecord) -> CustomKeyStoresListEntry {
    let state = state_of(c);
    CustomKeyStoresListEntry {
        custom_key_store_id: Some(c.id.clone()),
        custom_key_store_name: Some(c.name.clone()),
        connection_state: Some(state),
        connection_error_code: if state == State::Failed {
            c.connection_error.as_deref().and_then(ConnectionErrorCodeType::parse)
        } else {
            None
        },
        creation_date: Some(Timestamp(c.created_ms)),
        custom_key_store_type: Some(CustomKeyStoreType::ExternalKeyStore),
        xks_proxy_configuration: Some(XksProxyConfigurationType {
            connectivity: XksProxyConnectivityType::parse(&c.connectivity),
            access_key_id: Some(c.access_key_id.clone()),
            uri_endpoint: Some(c.uri_endpoint.clone()),
            uri_path: Some(c.uri_path.clone()),
            vpc_endpoint_service_name: None,
            vpc_endpoint_service_owner: None,
        }),
        ..Default::default()
    }
}

/// CloudHSM key stores need a cluster; none exists here (CreateCustomKeyStore's and
/// UpdateCustomKeyStore's `CloudHsmClusterNotFoundException`).
fn no_cluster(id: &str) -> KmsError {
    KmsError::new(
        ErrorCode::CloudHsmClusterNotFoundException,
        format!("Cannot find the AWS CloudHSM cluster with the cluster ID {id}. This server has no CloudHSM clusters."),
    )
}

/// VPC endpoint services do not exist outside AWS (`XksProxyVpcEndpointServiceNotFoundException`).
fn no_vpc_endpoint_service(name: Option<&str>) -> KmsError {
    match name {
        Some(name) => KmsError::new(
            ErrorCode::XksProxyVpcEndpointServiceNotFoundException,
            format!("Cannot find the VPC endpoint service {name}. This server reaches XKS proxies over public endpoints only (PUBLIC_ENDPOINT)."),
        ),
        None => KmsError::validation(
            "XksProxyVpcEndpointServiceName is required for VPC_ENDPOINT_SERVICE connectivity.",
        ),
    }
}

/// A proxy's refusal of the settings CreateCustomKeyStore and UpdateCustomKeyStore try.
fn settings_refused(f: &ProxyFailure) -> KmsError {
    let code = match f {
        ProxyFailure::TimedOut(_) | ProxyFailure::Unreachable(_) => {
            ErrorCode::XksProxyUriUnreachableException
        }
        ProxyFailure::Authentication => {
            ErrorCode::XksProxyIncorrectAuthenticationCredentialException
        }
        ProxyFailure::InvalidResponse(_) => ErrorCode::XksProxyInvalidResponseException,
        _ => ErrorCode::XksProxyInvalidConfigurationException,
    };
    KmsError::new(code, format!("The external key store proxy check failed: {f}."))
}

/// AWS's error if another store of `held` has `c`'s name or proxy address.
fn taken(held: &[CustomKeyStoreRecord], c: &CustomKeyStoreRecord) -> Option<KmsError> {
    let others = || held.iter().filter(|o| o.id != c.id);
    if others().any(|o| o.name == c.name) {
        return Some(KmsError::new(
            ErrorCode::CustomKeyStoreNameInUseException,
            format!(
                "The custom key store name '{}' is already in use in this account and Region.",
                c.name
            ),
        ));
    }
    others().any(|o| (&o.uri_endpoint, &o.uri_path) == (&c.uri_endpoint, &c.uri_path)).then(|| {
        KmsError::new(
            ErrorCode::XksProxyUriInUseException,
            format!(
                "The external key store proxy URI {}{} is already associated with another external key store in this Region.",
                c.uri_endpoint, c.uri_path
            ),
        )
    })
}

impl Kms {
    pub(crate) fn proxy(&self) -> Proxy<'_> {
        Proxy {
            transport: self.hooks.xks.as_ref(),
            timeout: self.config.xks_timeout,
            now_ms: self.now_ms(),
        }
    }

    /// A store of the caller's account and Region.
    pub(crate) async fn custom_key_store(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<CustomKeyStoreRecord> {
        self.store().get_custom_key_store(account, region, id).await?.ok_or_else(|| not_found(id))
    }

    /// The proxy secret of `c`, opened (for one call: never kept).
    pub(crate) fn open_proxy_secret(&self, c: &CustomKeyStoreRecord) -> Result<Secret> {
        self.keyring()
            .open_secret(&secret_context(c), &c.sealed_secret)
            .map_err(|_| KmsError::broken("the proxy credential of a custom key store"))
    }

    /// GetHealthStatus against the store's proxy as its settings now say.
    async fn check_proxy(
        &self,
        c: &CustomKeyStoreRecord,
        operation: &str,
    ) -> std::result::Result<(), ProxyFailure> {
        let secret = self
            .open_proxy_secret(c)
            .map_err(|_| ProxyFailure::Proxy("the sealed proxy credential does not open".into()))?;
        let target = ProxyTarget {
            host: host_of(&c.uri_endpoint),
            uri_path: &c.uri_path,
            region: &c.region,
            access_key_id: &c.access_key_id,
            secret: &secret,
        };
        let m = CallMetadata {
            operation: operation.into(),
            request_id: keys::request_id(),
            ..Default::default()
        };
        self.proxy().health(&target, &m).await
    }

    fn seal_proxy_secret(&self, c: &mut CustomKeyStoreRecord, raw: &str) -> Result<()> {
        c.sealed_secret = self.keyring().seal_secret(&secret_context(c), raw.as_bytes())?;
        Ok(())
    }

    /// A store written: a name or address taken is AWS's error for it.
    async fn write_store(&self, c: &CustomKeyStoreRecord, new: bool) -> Result<()> {
        let limit = self.config.resource_quotas.limit(ResourceQuota::CustomKeyStoresPerRegion);
        let written = if new {
            self.store().create_custom_key_store(c, limit as i64).await
        } else {
            self.store().update_custom_key_store(c).await
        };
        match written {
            Err(StoreError::AlreadyExists) => {
                let others = self.store().list_custom_key_stores(&c.account, &c.region).await?;
                Err(taken(&others, c).unwrap_or_else(|| KmsError::broken("custom key store taken")))
            }
            Err(StoreError::Conflict) if new => {
                let held = self.store().list_custom_key_stores(&c.account, &c.region).await?;
                self.config
                    .resource_quotas
                    .check(ResourceQuota::CustomKeyStoresPerRegion, held.len() as u64 + 1)
                    .and(Err(KmsError::broken("custom key store insert refused")))
            }
            Err(StoreError::Conflict) => Err(invalid_state(format!(
                "Custom key store {} changed while it was being updated. Try again.",
                c.id
            ))),
            other => other.map_err(Into::into),
        }
    }
}

impl Call for CreateCustomKeyStoreRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<CreateCustomKeyStoreResponse> {
        let caller = auth.caller();
        let kind = self.custom_key_store_type.unwrap_or(CustomKeyStoreType::AwsCloudhsm);
        if kind == CustomKeyStoreType::AwsCloudhsm {
            let Some(cluster) = &self.cloud_hsm_cluster_id else {
                return Err(KmsError::validation(
                    "CloudHsmClusterId is required for a custom key store of type AWS_CLOUDHSM.",
                ));
            };
            return Err(no_cluster(cluster));
        }
        let hsm_only = [
            ("CloudHsmClusterId", self.cloud_hsm_cluster_id.is_some()),
            ("TrustAnchorCertificate", self.trust_anchor_certificate.is_some()),
            ("KeyStorePassword", self.key_store_password.is_some()),
        ];
        if let Some((name, _)) = hsm_only.iter().find(|(_, given)| *given) {
            return Err(KmsError::validation(format!(
                "{name} is not valid for a custom key store of type EXTERNAL_KEY_STORE."
            )));
        }
        let required = |v: bool, name: &str| {
            if v {
                Ok(())
            } else {
                Err(KmsError::validation(format!(
                    "{name} is required for a custom key store of type EXTERNAL_KEY_STORE."
                )))
            }
        };
        required(self.xks_proxy_connectivity.is_some(), "XksProxyConnectivity")?;
        if self.xks_proxy_connectivity == Some(XksProxyConnectivityType::VpcEndpointService) {
            return Err(no_vpc_endpoint_service(
                self.xks_proxy_vpc_endpoint_service_name.as_deref(),
            ));
        }
        if self.xks_proxy_vpc_endpoint_service_name.is_some() {
            return Err(KmsError::validation(
                "XksProxyVpcEndpointServiceName is valid only for VPC_ENDPOINT_SERVICE connectivity.",
            ));
        }
        required(self.xks_proxy_uri_endpoint.is_some(), "XksProxyUriEndpoint")?;
        required(self.xks_proxy_uri_path.is_some(), "XksProxyUriPath")?;
        let Some(credential) = self.xks_proxy_authentication_credential else {
            return Err(KmsError::validation(
                "XksProxyAuthenticationCredential is required for a custom key store of type EXTERNAL_KEY_STORE.",
            ));
        };
        let held = kms.store().list_custom_key_stores(&caller.account, &caller.region).await?;
        kms.config
            .resource_quotas
            .check(ResourceQuota::CustomKeyStoresPerRegion, held.len() as u64 + 1)?;
        let mut c = CustomKeyStoreRecord {
            account: caller.account.clone(),
            region: caller.region.clone(),
            id: new_store_id()?,
            version: 1,
            name: self.custom_key_store_name,
            store_type: CustomKeyStoreType::ExternalKeyStore.as_str().into(),
            created_ms: kms.now_ms(),
            connectivity: XksProxyConnectivityType::PublicEndpoint.as_str().into(),
            uri_endpoint: self.xks_proxy_uri_endpoint.unwrap_or_default(),
            uri_path: self.xks_proxy_uri_path.unwrap_or_default(),
            access_key_id: credential.access_key_id,
            sealed_secret: Vec::new(),
            connection_state: State::Disconnected.as_str().into(),
            connection_error: None,
        };
        kms.seal_proxy_secret(&mut c, &credential.raw_secret_access_key)?;
        // The name and address first, then the proxy: a taken name is reported as such
        // whatever the proxy does (the store's unique indexes decide a race).
        if let Some(taken) = taken(&held, &c) {
            return Err(taken);
        }
        // "For external key stores with PUBLIC_ENDPOINT connectivity, this endpoint must be
        // reachable before you create the custom key store" (CreateCustomKeyStore API).
        kms.check_proxy(&c, "CreateCustomKeyStore").await.map_err(|f| settings_refused(&f))?;
        kms.write_store(&c, true).await?;
        tracing::info!(store = %c.id, endpoint = %c.uri_endpoint, "created custom key store");
        Ok(CreateCustomKeyStoreResponse { custom_key_store_id: Some(c.id) })
    }
}

impl Call for DescribeCustomKeyStoresRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<DescribeCustomKeyStoresResponse> {
        let caller = auth.caller();
        if self.custom_key_store_id.is_some() && self.custom_key_store_name.is_some() {
            return Err(KmsError::validation(
                "You cannot specify both CustomKeyStoreId and CustomKeyStoreName.",
            ));
        }
        let all = kms.store().list_custom_key_stores(&caller.account, &caller.region).await?;
        let chosen: Vec<CustomKeyStoreRecord> =
            match (&self.custom_key_store_id, &self.custom_key_store_name) {
                (Some(id), _) => {
                    let one: Vec<_> = all.into_iter().filter(|c| &c.id == id).collect();
                    if one.is_empty() {
                        return Err(not_found(id));
                    }
                    one
                }
                (_, Some(name)) => {
                    let one: Vec<_> = all.into_iter().filter(|c| &c.name == name).collect();
                    if one.is_empty() {
                        return Err(KmsError::new(
                            ErrorCode::CustomKeyStoreNotFoundException,
                            format!("Custom key store with name '{name}' does not exist."),
                        ));
                    }
                    one
                }
                _ => all,
            };
        let (page, next) = page_after(&chosen, &self.marker, self.limit, |c| c.id.clone())?;
        Ok(DescribeCustomKeyStoresResponse {
            custom_key_stores: Some(page.iter().map(entry).collect()),
            truncated: Some(next.is_some()),
            next_marker: next,
        })
    }
}

impl Call for UpdateCustomKeyStoreRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<UpdateCustomKeyStoreResponse> {
        let caller = auth.caller();
        let old = kms
            .custom_key_store(&caller.account, &caller.region, &self.custom_key_store_id)
            .await?;
        if let Some(cluster) = &self.cloud_hsm_cluster_id {
            return Err(KmsError::validation(format!(
                "CloudHsmClusterId {cluster} is not valid for a custom key store of type EXTERNAL_KEY_STORE."
            )));
        }
        if self.key_store_password.is_some() {
            return Err(KmsError::validation(
                "KeyStorePassword is not valid for a custom key store of type EXTERNAL_KEY_STORE.",
            ));
        }
        if self.xks_proxy_connectivity == Some(XksProxyConnectivityType::VpcEndpointService)
            || self.xks_proxy_vpc_endpoint_service_name.is_some()
        {
            return Err(no_vpc_endpoint_service(
                self.xks_proxy_vpc_endpoint_service_name.as_deref(),
            ));
        }
        let state = state_of(&old);
        // UpdateCustomKeyStore API: the name, the URI path and the credential may change
        // while connected; the endpoint and the connectivity only while disconnected.
        let needs_disconnected =
            self.xks_proxy_uri_endpoint.is_some() || self.xks_proxy_connectivity.is_some();
        if needs_disconnected && state != State::Disconnected {
            return Err(invalid_state(format!(
                "Custom key store {} must be disconnected to change its XksProxyUriEndpoint or XksProxyConnectivity.",
                old.id
            )));
        }
        let mut c = old.clone();
        c.version += 1;
        if let Some(name) = self.new_custom_key_store_name {
            c.name = name;
        }
        if let Some(e) = self.xks_proxy_uri_endpoint {
            c.uri_endpoint = e;
        }
        if let Some(p) = self.xks_proxy_uri_path {
            c.uri_path = p;
        }
        let mut proxy_changed =
            (&c.uri_endpoint, &c.uri_path) != (&old.uri_endpoint, &old.uri_path);
        if let Some(cred) = self.xks_proxy_authentication_credential {
            c.access_key_id = cred.access_key_id;
            kms.seal_proxy_secret(&mut c, &cred.raw_secret_access_key)?;
            proxy_changed = true;
        }
        let held = kms.store().list_custom_key_stores(&c.account, &c.region).await?;
        if let Some(taken) = taken(&held, &c) {
            return Err(taken);
        }
        // New proxy settings are tried before they are kept ("The path must be reachable
        // before you create the external key store or update its settings").
        if proxy_changed {
            kms.check_proxy(&c, "UpdateCustomKeyStore").await.map_err(|f| settings_refused(&f))?;
        }
        kms.write_store(&c, false).await?;
        Ok(UpdateCustomKeyStoreResponse::default())
    }
}

impl Call for DeleteCustomKeyStoreRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<DeleteCustomKeyStoreResponse> {
        let caller = auth.caller();
        let id = &self.custom_key_store_id;
        let c = kms.custom_key_store(&caller.account, &caller.region, id).await?;
        if state_of(&c) != State::Disconnected {
            return Err(invalid_state(format!(
                "Custom key store {id} must be disconnected before it is deleted."
            )));
        }
        match kms.store().delete_custom_key_store(&caller.account, &caller.region, id).await {
            Ok(true) => Ok(DeleteCustomKeyStoreResponse::default()),
            Ok(false) => Err(KmsError::new(
                ErrorCode::CustomKeyStoreHasCMKsException,
                format!("Custom key store {id} contains KMS keys. Delete them before deleting the custom key store."),
            )),
            Err(StoreError::NotFound) => Err(not_found(id)),
            Err(e) => Err(e.into()),
        }
    }
}

impl Call for ConnectCustomKeyStoreRequest {
    type Target = AccountTarget;

    /// AWS answers at once and connects in the background (CONNECTING, then CONNECTED or
    /// FAILED); Trent tries the proxy within the call (its 250 ms budget) and answers after,
    /// so that the state a client polls for is already there. A failed attempt still
    /// succeeds: the store is FAILED with the `ConnectionErrorCode` of the cause.
    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<ConnectCustomKeyStoreResponse> {
        let caller = auth.caller();
        let id = &self.custom_key_store_id;
        let old = kms.custom_key_store(&caller.account, &caller.region, id).await?;
        match state_of(&old) {
            State::Connected | State::Connecting => {
                return Ok(ConnectCustomKeyStoreResponse::default())
            }
            State::Failed | State::Disconnecting => {
                return Err(invalid_state(format!(
                    "Custom key store {id} is {}: disconnect it before connecting it again.",
                    old.connection_state
                )))
            }
            State::Disconnected => {}
        }
        let mut c = old.clone();
        c.version += 1;
        match kms.check_proxy(&c, "ConnectCustomKeyStore").await {
            Ok(()) => {
                c.connection_state = State::Connected.as_str().into();
                c.connection_error = None;
            }
            Err(f) => {
                tracing::warn!(store = %c.id, cause = %f, "custom key store failed to connect");
                c.connection_state = State::Failed.as_str().into();
                c.connection_error = Some(f.connection_error().as_str().into());
            }
        }
        kms.write_store(&c, false).await?;
        Ok(ConnectCustomKeyStoreResponse::default())
    }
}

impl Call for DisconnectCustomKeyStoreRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<DisconnectCustomKeyStoreResponse> {
        let caller = auth.caller();
        let id = &self.custom_key_store_id;
        let old = kms.custom_key_store(&caller.account, &caller.region, id).await?;
        if matches!(state_of(&old), State::Disconnected | State::Disconnecting) {
            return Err(invalid_state(format!("Custom key store {id} is not connected.")));
        }
        let mut c = old;
        c.version += 1;
        c.connection_state = State::Disconnected.as_str().into();
        c.connection_error = None;
        kms.write_store(&c, false).await?;
        Ok(DisconnectCustomKeyStoreResponse::default())
    }
}
