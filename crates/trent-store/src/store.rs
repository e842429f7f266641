//! The store, written once over an [`Engine`]: each trait method is its statements
//! (`statements.rs`), its parameters and row mapping (`rows.rs`) and the engine call that
//! runs them. SQLite and PostgreSQL differ only in their adapters.

use crate::engine::{values, Engine, Miss, Query, RowFn, Step, Value};
use crate::model::*;
use crate::rows::{self, of_key};
use crate::statements as sql;
use crate::traits::*;
use crate::{Result, StoreError};
use async_trait::async_trait;

/// The store on one engine (`SqliteStore`, `PostgresStore`).
pub struct SqlStore<E> {
    pub(crate) engine: E,
}

impl<E: Engine> SqlStore<E> {
    pub(crate) async fn all<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        map: RowFn<T>,
    ) -> Result<Vec<T>> {
        self.engine.query(Query::new(sql, params, map)).await
    }

    pub(crate) async fn one<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        map: RowFn<T>,
    ) -> Result<Option<T>> {
        Ok(self.all(sql, params, map).await?.into_iter().next())
    }

    pub(crate) async fn count(&self, sql: &'static str, params: Vec<Value>) -> Result<u64> {
        Ok(self.one(sql, params, rows::count).await?.unwrap_or(0))
    }

    /// One write statement; the rows it changed.
    pub(crate) async fn exec(&self, step: Step) -> Result<u64> {
        Ok(self.engine.write(vec![step]).await?.first().copied().unwrap_or(0))
    }

    async fn key_refs(&self, sql: &'static str, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.all(sql, values![now_ms], rows::key_ref).await
    }

    /// After a compare-and-set on an alias that changed `n` rows: done, or why not.
    async fn alias_outcome(&self, n: u64, account: &str, region: &str, name: &str) -> Result<()> {
        if n == 1 {
            return Ok(());
        }
        let exists = self.one(sql::GET_ALIAS, values![account, region, name], rows::exists).await?;
        Err(if exists.is_some() { StoreError::Conflict } else { StoreError::NotFound })
    }
}

fn outbox_step(e: &OutboxEvent) -> Step {
    Step::new(sql::INSERT_OUTBOX, rows::outbox_values(e))
}

/// The statements that create a key and its first materials.
fn insert_key(steps: &mut Vec<Step>, k: &KeyRecord, materials: &[MaterialRecord]) -> Result<()> {
    steps.push(Step::new(sql::INSERT_KEY, rows::key_values(k)?));
    steps.extend(
        materials.iter().map(|m| Step::new(sql::UPSERT_MATERIAL, rows::material_values(m))),
    );
    Ok(())
}

#[async_trait]
impl<E: Engine> MetaStore for SqlStore<E> {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.one(sql::GET_META, values![name], rows::blob).await
    }

    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.exec(Step::new(sql::PUT_META_IF_ABSENT, values![name, value])).await?;
        self.get_meta(name).await?.ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl<E: Engine> IdentityStore for SqlStore<E> {
    async fn put_account(&self, a: &AccountRecord) -> Result<()> {
        self.exec(Step::new(sql::PUT_ACCOUNT, rows::account_values(a))).await.map(drop)
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<AccountRecord>> {
        self.one(sql::GET_ACCOUNT, values![account_id], rows::account_row).await
    }

    async fn put_access_key(&self, k: &AccessKeyRecord) -> Result<()> {
        self.exec(Step::new(sql::INSERT_ACCESS_KEY, rows::access_key_values(k))).await.map(drop)
    }

    async fn get_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>> {
        self.one(sql::GET_ACCESS_KEY, values![id], rows::access_key_row).await
    }

    async fn list_access_keys(&self, account_id: &str) -> Result<Vec<AccessKeyRecord>> {
        self.all(sql::LIST_ACCESS_KEYS, values![account_id], rows::access_key_row).await
    }

    async fn delete_access_key(&self, id: &str) -> Result<()> {
        let step = Step::new(sql::DELETE_ACCESS_KEY, values![id]).one_or(Miss::NotFound);
        self.exec(step).await.map(drop)
    }

    async fn put_user(&self, u: &UserRecord) -> Result<()> {
        self.exec(Step::new(sql::INSERT_USER, rows::user_values(u))).await.map(drop)
    }

    async fn get_user(&self, account_id: &str, name: &str) -> Result<Option<UserRecord>> {
        self.one(sql::GET_USER, values![account_id, name], rows::user_row).await
    }

    async fn list_users(&self, account_id: &str) -> Result<Vec<UserRecord>> {
        self.all(sql::LIST_USERS, values![account_id], rows::user_row).await
    }

    async fn put_identity_policy(
        &self,
        principal_arn: &str,
        name: &str,
        document: &str,
    ) -> Result<()> {
        let step = Step::new(sql::PUT_IDENTITY_POLICY, values![principal_arn, name, document]);
        self.exec(step).await.map(drop)
    }

    async fn delete_identity_policy(&self, principal_arn: &str, name: &str) -> Result<()> {
        let step = Step::new(sql::DELETE_IDENTITY_POLICY, values![principal_arn, name])
            .one_or(Miss::NotFound);
        self.exec(step).await.map(drop)
    }

    async fn list_identity_policies(&self, principal_arn: &str) -> Result<Vec<(String, String)>> {
        self.all(sql::LIST_IDENTITY_POLICIES, values![principal_arn], rows::text_pair).await
    }
}

#[async_trait]
impl<E: Engine> KeyStore for SqlStore<E> {
    async fn create_key(&self, k: &KeyRecord, materials: &[MaterialRecord]) -> Result<()> {
        let mut steps = Vec::with_capacity(1 + materials.len());
        insert_key(&mut steps, k, materials)?;
        self.engine.write(steps).await.map(drop)
    }

    async fn create_keys(&self, keys: Vec<(KeyRecord, Vec<MaterialRecord>)>) -> Result<()> {
        let mut steps = Vec::with_capacity(keys.len() * 2);
        for (k, materials) in &keys {
            insert_key(&mut steps, k, materials)?;
        }
        self.engine.write(steps).await.map(drop)
    }

    async fn get_key(&self, key: &KeyRef) -> Result<Option<KeyRecord>> {
        self.one(sql::GET_KEY, of_key(key), rows::key_row).await
    }

    async fn get_key_with_materials(
        &self,
        key: &KeyRef,
    ) -> Result<Option<(KeyRecord, Vec<MaterialRecord>)>> {
        let (keys, materials) = self
            .engine
            .query2(
                Query::new(sql::GET_KEY, of_key(key), rows::key_row),
                Query::new(sql::GET_MATERIALS, of_key(key), rows::material_row),
            )
            .await?;
        Ok(keys.into_iter().next().map(|k| (k, materials)))
    }

    async fn list_keys(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let params = values![account, region, after.unwrap_or(""), limit as i64];
        self.all(sql::LIST_KEYS, params, rows::key_row).await
    }

    async fn key_was_deleted(&self, key: &KeyRef) -> Result<bool> {
        Ok(self.count(sql::KEY_WAS_DELETED, of_key(key)).await? > 0)
    }

    async fn count_keys(&self, account: &str, region: &str) -> Result<u64> {
        self.count(sql::COUNT_KEYS, values![account, region]).await
    }

    async fn update_keys(&self, updates: Vec<KeyUpdate>) -> Result<()> {
        let mut steps = Vec::new();
        for u in &updates {
            let k = &u.key;
            steps.push(
                Step::new(sql::UPDATE_KEY, rows::update_key_values(k)?).one_or(Miss::Conflict),
            );
            for m in &u.upsert {
                steps.push(Step::new(sql::UPSERT_MATERIAL, rows::material_values(m)));
            }
            for id in &u.remove {
                let mut params = of_key(&k.key);
                params.push(Value::from(id));
                steps.push(Step::new(sql::DELETE_MATERIAL, params));
            }
            steps.extend(u.events.iter().map(outbox_step));
        }
        self.engine.write(steps).await.map(drop)
    }

    async fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        self.all(sql::RELATED_KEYS, values![account, key_id], rows::key_row).await
    }

    async fn delete_key(&self, key: &KeyRef, events: &[OutboxEvent]) -> Result<()> {
        let mut steps: Vec<Step> =
            sql::DELETE_KEY_CASCADE.iter().map(|s| Step::new(s, of_key(key))).collect();
        steps.extend(events.iter().map(outbox_step));
        self.engine.write(steps).await.map(drop)
    }

    async fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs(sql::KEYS_DUE_FOR_DELETION, now_ms).await
    }

    async fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs(sql::KEYS_DUE_FOR_ROTATION, now_ms).await
    }

    async fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs(sql::KEYS_WITH_EXPIRED_MATERIAL, now_ms).await
    }

    async fn get_materials(&self, key: &KeyRef) -> Result<Vec<MaterialRecord>> {
        self.all(sql::GET_MATERIALS, of_key(key), rows::material_row).await
    }

    async fn count_keys_by_state(&self) -> Result<Vec<KeyCount>> {
        self.all(sql::COUNT_KEYS_BY_STATE, Vec::new(), rows::key_count_row).await
    }

    async fn expiring_materials(&self) -> Result<Vec<ExpiringMaterial>> {
        self.all(sql::EXPIRING_MATERIALS, Vec::new(), rows::expiring_row).await
    }
}

#[async_trait]
impl<E: Engine> AliasStore for SqlStore<E> {
    async fn create_alias(&self, a: &AliasRecord) -> Result<()> {
        self.exec(Step::new(sql::INSERT_ALIAS, rows::alias_values(a))).await.map(drop)
    }

    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>> {
        self.one(sql::GET_ALIAS, values![account, region, name], rows::alias_row).await
    }

    async fn update_alias(&self, a: &AliasRecord, expected_target: &str) -> Result<()> {
        let params = values![
            &a.target_key_id,
            a.updated_ms,
            &a.account,
            &a.region,
            &a.name,
            expected_target
        ];
        let n = self.exec(Step::new(sql::UPDATE_ALIAS, params)).await?;
        self.alias_outcome(n, &a.account, &a.region, &a.name).await
    }

    async fn delete_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
        expected_target: &str,
    ) -> Result<()> {
        let params = values![account, region, name, expected_target];
        let n = self.exec(Step::new(sql::DELETE_ALIAS, params)).await?;
        self.alias_outcome(n, account, region, name).await
    }

    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        let params = values![account, region, key_id, after.unwrap_or(""), limit as i64];
        self.all(sql::LIST_ALIASES, params, rows::alias_row).await
    }
}

#[async_trait]
impl<E: Engine> GrantStore for SqlStore<E> {
    async fn put_grant(&self, g: &GrantRecord) -> Result<()> {
        self.exec(Step::new(sql::INSERT_GRANT, rows::grant_values(g)?)).await.map(drop)
    }

    async fn list_grants(&self, key: &KeyRef) -> Result<Vec<GrantRecord>> {
        self.all(sql::LIST_GRANTS, of_key(key), rows::grant_row).await
    }

    async fn get_grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        self.one(sql::GET_GRANT_BY_TOKEN, values![token], rows::grant_row).await
    }

    async fn list_grants_by_retiring(&self, principal: &str) -> Result<Vec<GrantRecord>> {
        self.all(sql::LIST_GRANTS_BY_RETIRING, values![principal], rows::grant_row).await
    }

    async fn delete_grant(&self, key: &KeyRef, grant_id: &str) -> Result<()> {
        let mut params = of_key(key);
        params.push(Value::from(grant_id));
        self.exec(Step::new(sql::DELETE_GRANT, params).one_or(Miss::NotFound)).await.map(drop)
    }
}

#[async_trait]
impl<E: Engine> TrailStore for SqlStore<E> {
    async fn put_log_files(&self, files: Vec<TrailLogFile>) -> Result<()> {
        let steps = files
            .iter()
            .map(|f| Step::new(sql::PUT_TRAIL_LOG_FILE, rows::trail_log_file_values(f)))
            .collect();
        self.engine.write(steps).await.map(drop)
    }

    async fn packaged_through(&self, node: &str) -> Result<Option<i64>> {
        Ok(self.one(sql::PACKAGED_THROUGH, values![node], rows::opt_int).await?.flatten())
    }

    async fn undigested_log_files(&self, account: &str, region: &str) -> Result<Vec<TrailLogFile>> {
        self.all(sql::UNDIGESTED_LOG_FILES, values![account, region], rows::trail_log_file_row)
            .await
    }

    async fn trail_regions(&self) -> Result<Vec<(String, String)>> {
        self.all(sql::TRAIL_REGIONS, values![], rows::text_pair).await
    }

    async fn digest_head(&self, account: &str, region: &str) -> Result<Option<TrailDigest>> {
        self.one(sql::DIGEST_HEAD, values![account, region], rows::trail_digest_row).await
    }

    async fn chain_digest(&self, digest: &TrailDigest, log_files: &[String]) -> Result<bool> {
        // The head must still be `previous_key`: a digest chained since is newer.
        let head = self.digest_head(&digest.account, &digest.region).await?;
        if head.map(|h| h.object_key) != digest.previous_key {
            return Ok(false);
        }
        let mut steps =
            vec![Step::new(sql::INSERT_TRAIL_DIGEST, rows::trail_digest_values(digest))];
        steps.extend(log_files.iter().map(|f| {
            Step::new(sql::DIGEST_LOG_FILE, values![&digest.object_key, f]).one_or(Miss::Conflict)
        }));
        match self.engine.write(steps).await {
            Ok(_) => Ok(true),
            Err(StoreError::AlreadyExists | StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn undelivered_digests(&self) -> Result<Vec<TrailDigest>> {
        self.all(sql::UNDELIVERED_DIGESTS, values![], rows::trail_digest_row).await
    }

    async fn digest_delivered(&self, object_key: &str) -> Result<()> {
        self.exec(Step::new(sql::DIGEST_DELIVERED, values![object_key])).await.map(drop)
    }

    async fn ship_events(&self, events: Vec<TrailEvent>) -> Result<()> {
        let steps = events
            .iter()
            .map(|e| Step::new(sql::SHIP_EVENT, rows::trail_event_values(e)))
            .collect();
        self.engine.write(steps).await.map(drop)
    }

    async fn shipped_through(&self, node: &str) -> Result<Option<i64>> {
        Ok(self.one(sql::SHIPPED_THROUGH, values![node], rows::opt_int).await?.flatten())
    }

    async fn events_before(
        &self,
        account: &str,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, String)>> {
        let before = before_id.unwrap_or(i64::MAX);
        self.all(sql::EVENTS_BEFORE, values![account, before, limit], rows::id_and_text).await
    }

    async fn prune_events(&self, before_ms: i64) -> Result<()> {
        self.exec(Step::new(sql::PRUNE_EVENTS, values![before_ms])).await.map(drop)
    }

    async fn put_outbox(&self, events: &[OutboxEvent]) -> Result<()> {
        self.engine.write(events.iter().map(outbox_step).collect()).await.map(drop)
    }

    async fn outbox_done(&self, event_id: &str) -> Result<()> {
        self.exec(Step::new(sql::OUTBOX_DONE, values![event_id])).await.map(drop)
    }

    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<OutboxEvent>> {
        self.all(sql::STALE_OUTBOX, values![before_ms], rows::outbox_row).await
    }

    async fn claim_outbox(
        &self,
        event_id: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<bool> {
        let step = Step::new(sql::CLAIM_OUTBOX, values![now_ms, event_id, stale_before_ms]);
        Ok(self.exec(step).await? == 1)
    }

    async fn trail_digests(&self, account: &str, region: &str) -> Result<Vec<TrailDigest>> {
        self.all(sql::TRAIL_DIGESTS, values![account, region], rows::trail_digest_row).await
    }

    async fn trail_log_files(&self, account: &str, region: &str) -> Result<Vec<TrailLogFile>> {
        self.all(sql::TRAIL_LOG_FILES, values![account, region], rows::trail_log_file_row).await
    }
}

#[async_trait]
impl<E: Engine> XksStore for SqlStore<E> {
    async fn put_xks_endpoint(&self, e: &XksEndpointRecord) -> Result<()> {
        let step = Step::new(
            sql::INSERT_XKS_ENDPOINT,
            values![&e.path_prefix, &e.account, e.created_ms, e.client_subject.as_deref()],
        );
        self.exec(step).await.map(drop)
    }

    async fn get_xks_endpoint(&self, path_prefix: &str) -> Result<Option<XksEndpointRecord>> {
        self.one(sql::GET_XKS_ENDPOINT, values![path_prefix], rows::xks_endpoint_row).await
    }

    async fn list_xks_endpoints(&self, account: &str) -> Result<Vec<XksEndpointRecord>> {
        self.all(sql::LIST_XKS_ENDPOINTS, values![account], rows::xks_endpoint_row).await
    }

    async fn delete_xks_endpoint(&self, path_prefix: &str) -> Result<()> {
        let steps = vec![
            Step::new(sql::DELETE_XKS_ENDPOINT_CREDENTIALS, values![path_prefix]),
            Step::new(sql::DELETE_XKS_ENDPOINT_KEYS, values![path_prefix]),
            Step::new(sql::DELETE_XKS_ENDPOINT, values![path_prefix]).one_or(Miss::NotFound),
        ];
        self.engine.write(steps).await.map(drop)
    }

    async fn put_xks_credential(&self, c: &XksCredentialRecord, max: i64) -> Result<()> {
        let params = values![&c.access_key_id, &c.path_prefix, &c.sealed_secret, c.created_ms, max];
        let step = Step::new(sql::INSERT_XKS_CREDENTIAL, params).one_or(Miss::Conflict);
        self.exec(step).await.map(drop)
    }

    async fn get_xks_credential(&self, access_key_id: &str) -> Result<Option<XksCredentialRecord>> {
        self.one(sql::GET_XKS_CREDENTIAL, values![access_key_id], rows::xks_credential_row).await
    }

    async fn list_xks_credentials(&self, path_prefix: &str) -> Result<Vec<XksCredentialRecord>> {
        self.all(sql::LIST_XKS_CREDENTIALS, values![path_prefix], rows::xks_credential_row).await
    }

    async fn delete_xks_credential(&self, access_key_id: &str) -> Result<()> {
        let step =
            Step::new(sql::DELETE_XKS_CREDENTIAL, values![access_key_id]).one_or(Miss::NotFound);
        self.exec(step).await.map(drop)
    }

    async fn put_xks_key(&self, k: &XksKeyRecord) -> Result<()> {
        let step = Step::new(sql::INSERT_XKS_KEY, rows::xks_key_values(k)).one_or(Miss::NotFound);
        self.exec(step).await.map(drop)
    }

    async fn get_xks_key(
        &self,
        path_prefix: &str,
        external_key_id: &str,
    ) -> Result<Option<XksKeyRecord>> {
        let params = values![path_prefix, external_key_id];
        self.one(sql::GET_XKS_KEY, params, rows::xks_key_row).await
    }

    async fn list_xks_keys(&self, path_prefix: &str) -> Result<Vec<XksKeyRecord>> {
        self.all(sql::LIST_XKS_KEYS, values![path_prefix], rows::xks_key_row).await
    }

    async fn delete_xks_key(&self, path_prefix: &str, external_key_id: &str) -> Result<()> {
        let step = Step::new(sql::DELETE_XKS_KEY, values![path_prefix, external_key_id])
            .one_or(Miss::NotFound);
        self.exec(step).await.map(drop)
    }
}

#[async_trait]
impl<E: Engine> NoticeStore for SqlStore<E> {
    async fn claim_notice(&self, notice: &Notice, now_ms: i64) -> Result<bool> {
        let n =
            self.exec(Step::new(sql::CLAIM_NOTICE, rows::notice_values(notice, now_ms))).await?;
        Ok(n == 1)
    }

    async fn prune_notices(&self, before_ms: i64) -> Result<()> {
        self.exec(Step::new(sql::PRUNE_NOTICES, values![before_ms])).await.map(drop)
    }
}

#[async_trait]
impl<E: Engine> UsageStore for SqlStore<E> {
    async fn put_last_usage(&self, usages: Vec<KeyLastUsageRecord>) -> Result<()> {
        let steps = usages
            .iter()
            .map(|u| Step::new(sql::UPSERT_LAST_USAGE, rows::last_usage_values(u)))
            .collect();
        self.engine.write(steps).await.map(drop)
    }

    async fn get_last_usage(&self, key: &KeyRef) -> Result<Option<KeyLastUsageRecord>> {
        self.one(sql::GET_LAST_USAGE, of_key(key), rows::last_usage_row).await
    }
}

#[async_trait]
impl<E: Engine> BackupStore for SqlStore<E> {
    async fn backup_to(&self, to: &std::path::Path) -> Result<()> {
        self.engine.backup_to(to).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders of a statement: its highest `$n` (one may be used twice).
    fn params_of(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<usize>().ok()
            })
            .max()
            .unwrap_or(0)
    }

    /// Each insert binds as many values as its statement has placeholders.
    #[test]
    fn inserts_bind_every_column() {
        let k = KeyRef { account: "1".into(), region: "r".into(), key_id: "k".into() };
        let m = MaterialRecord::new(
            k.clone(),
            "m".into(),
            None,
            trent_types::KeyMaterialState::Current,
            0,
        );
        assert_eq!(rows::material_values(&m).len(), params_of(sql::UPSERT_MATERIAL));
        let a = AliasRecord {
            account: "1".into(),
            region: "r".into(),
            name: "alias/a".into(),
            target_key_id: "k".into(),
            created_ms: 0,
            updated_ms: 0,
        };
        assert_eq!(rows::alias_values(&a).len(), params_of(sql::INSERT_ALIAS));
        let u = UserRecord {
            account_id: "1".into(),
            name: "u".into(),
            created_ms: 0,
            partition: "aws".into(),
        };
        assert_eq!(rows::user_values(&u).len(), params_of(sql::INSERT_USER));
        let ak = AccessKeyRecord {
            access_key_id: "A".into(),
            account_id: "1".into(),
            principal_arn: "p".into(),
            sealed_secret: vec![],
            created_ms: 0,
        };
        assert_eq!(rows::access_key_values(&ak).len(), params_of(sql::INSERT_ACCESS_KEY));
        let ac = AccountRecord { account_id: "1".into(), created_ms: 0, partition: "aws".into() };
        assert_eq!(rows::account_values(&ac).len(), params_of(sql::PUT_ACCOUNT));
        let usage = KeyLastUsageRecord {
            key: k.clone(),
            operation: "Encrypt".into(),
            used_ms: 0,
            event_id: "e".into(),
            request_id: "r".into(),
        };
        assert_eq!(rows::last_usage_values(&usage).len(), params_of(sql::UPSERT_LAST_USAGE));
        let xk = XksKeyRecord {
            path_prefix: "p".into(),
            external_key_id: "x".into(),
            region: "r".into(),
            key_id: "k".into(),
            usages: "ENCRYPT".into(),
            allowed: "{}".into(),
            created_ms: 0,
        };
        assert_eq!(rows::xks_key_values(&xk).len(), params_of(sql::INSERT_XKS_KEY));
        let notice = Notice {
            material: ExpiringMaterial { key: k, material_id: "m".into(), valid_to_ms: 0 },
            kind: "expired".into(),
        };
        assert_eq!(rows::notice_values(&notice, 0).len(), params_of(sql::CLAIM_NOTICE));
        assert_eq!(rows::key_values(&key_record()).unwrap().len(), params_of(sql::INSERT_KEY));
        let log_file = TrailLogFile {
            object_key: "o".into(),
            account: "1".into(),
            region: "r".into(),
            sha256: "h".into(),
            oldest_ms: 0,
            newest_ms: 0,
            delivered_ms: 0,
            node: "n".into(),
            last_sequence: 0,
            digest_key: None,
        };
        let n = rows::trail_log_file_values(&log_file).len();
        assert_eq!(n, params_of(sql::PUT_TRAIL_LOG_FILE));
        let digest = TrailDigest {
            account: "1".into(),
            region: "r".into(),
            previous_key: None,
            object_key: "o".into(),
            bucket: "b".into(),
            end_ms: 0,
            sha256: "h".into(),
            signature: "s".into(),
            gzip: vec![],
            delivered: false,
        };
        let n = rows::trail_digest_values(&digest).len();
        assert_eq!(n, params_of(sql::INSERT_TRAIL_DIGEST));
        let event = OutboxEvent { event_id: "e".into(), made_ms: 0, record: "{}".into() };
        let shipped = TrailEvent {
            node: "n".into(),
            sequence: 1,
            account: "1".into(),
            event_time_ms: 0,
            record: "{}".into(),
        };
        assert_eq!(rows::trail_event_values(&shipped).len(), params_of(sql::SHIP_EVENT));
        assert_eq!(rows::outbox_values(&event).len(), params_of(sql::INSERT_OUTBOX));
        assert_eq!(
            rows::update_key_values(&key_record()).unwrap().len(),
            params_of(sql::UPDATE_KEY)
        );
    }

    fn key_record() -> KeyRecord {
        let k = KeyRef { account: "1".into(), region: "r".into(), key_id: "k".into() };
        let (spec, usage) =
            (trent_types::KeySpec::SymmetricDefault, trent_types::KeyUsageType::EncryptDecrypt);
        KeyRecord::new(k, 0, spec, usage, trent_types::OriginType::AwsKms, "{}".into())
    }
}
