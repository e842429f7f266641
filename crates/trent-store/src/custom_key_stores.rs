//! Custom key stores in the store: their rows, written once over an engine like the rest of
//! `store.rs` (statements in `statements.rs`, row mapping in `rows.rs`).

use crate::engine::{values, Engine, Miss, Step};
use crate::model::CustomKeyStoreRecord;
use crate::rows;
use crate::statements as sql;
use crate::traits::CustomKeyStoreStore;
use crate::{Result, SqlStore, StoreError};
use async_trait::async_trait;

#[async_trait]
impl<E: Engine> CustomKeyStoreStore for SqlStore<E> {
    async fn create_custom_key_store(&self, c: &CustomKeyStoreRecord, max: i64) -> Result<()> {
        let mut params = rows::custom_key_store_values(c);
        params.extend(values![max]);
        let step = Step::new(sql::INSERT_CUSTOM_KEY_STORE, params).one_or(Miss::Conflict);
        self.exec(step).await.map(drop)
    }

    async fn get_custom_key_store(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<CustomKeyStoreRecord>> {
        let params = values![account, region, id];
        self.one(sql::GET_CUSTOM_KEY_STORE, params, rows::custom_key_store_row).await
    }

    async fn list_custom_key_stores(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<CustomKeyStoreRecord>> {
        let params = values![account, region];
        self.all(sql::LIST_CUSTOM_KEY_STORES, params, rows::custom_key_store_row).await
    }

    async fn update_custom_key_store(&self, c: &CustomKeyStoreRecord) -> Result<()> {
        let step = Step::new(sql::UPDATE_CUSTOM_KEY_STORE, rows::update_custom_key_store_values(c))
            .one_or(Miss::Conflict);
        self.exec(step).await.map(drop)
    }

    async fn delete_custom_key_store(&self, account: &str, region: &str, id: &str) -> Result<bool> {
        let deleted = self
            .exec(Step::new(sql::DELETE_CUSTOM_KEY_STORE, values![account, region, id]))
            .await?;
        if deleted == 1 {
            return Ok(true);
        }
        let exists = self.get_custom_key_store(account, region, id).await?;
        match exists {
            None => Err(StoreError::NotFound),
            Some(_) => {
                let keys = self
                    .count(sql::COUNT_CUSTOM_KEY_STORE_KEYS, values![account, region, id])
                    .await?;
                // Deleted by no one and holding no key: another node changed it meanwhile.
                if keys == 0 {
                    Err(StoreError::Conflict)
                } else {
                    Ok(false)
                }
            }
        }
    }
}
