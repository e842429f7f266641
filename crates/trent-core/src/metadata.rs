//! `KeyMetadata` as AWS returns it from CreateKey and DescribeKey.

use crate::Kms;
use trent_store::{KeyRecord, MaterialRecord};
use trent_types::*;

fn customer_master_key_spec(spec: KeySpec) -> Option<CustomerMasterKeySpec> {
    CustomerMasterKeySpec::parse(spec.as_str())
}

impl Kms {
    pub(crate) fn key_metadata(&self, k: &KeyRecord, materials: &[MaterialRecord]) -> KeyMetadata {
        let arn = k.key.arn();
        let imported = k.origin == OriginType::External;
        // For imported material: the expiration model of the current material, and ValidTo
        // = the earliest expiry among the materials permanently associated with the key.
        // Both disappear while the material is deleted (recorded against AWS).
        let present: Vec<&MaterialRecord> =
            materials.iter().filter(|m| m.sealed.is_some() && !m.is_pending_rotation()).collect();
        let (expiration_model, valid_to) =
            if imported && k.state != KeyState::PendingImport && !present.is_empty() {
                let current =
                    present.iter().find(|m| Some(&m.material_id) == k.current_material_id.as_ref());
                let model = current.and_then(|m| m.expiration_model);
                let valid_to = present.iter().filter_map(|m| m.valid_to_ms).min().map(Timestamp);
                (
                    model,
                    if model == Some(ExpirationModelType::KeyMaterialExpires) {
                        valid_to
                    } else {
                        None
                    },
                )
            } else {
                (None, None)
            };
        let algorithms = crate::keyspec::algorithms(k.key_spec, k.key_usage);
        KeyMetadata {
            aws_account_id: Some(k.key.account.clone()),
            key_id: Some(k.key.key_id.clone()),
            arn: Some(arn.clone()),
            creation_date: Some(Timestamp(k.created_ms)),
            enabled: Some(k.state == KeyState::Enabled),
            description: Some(k.description.clone()),
            key_usage: Some(k.key_usage),
            key_state: Some(k.state),
            deletion_date: if k.state == KeyState::PendingDeletion {
                k.deletion_date_ms.map(Timestamp)
            } else {
                None
            },
            // A primary waiting for its replicas' deletion shows its waiting period instead.
            pending_deletion_window_in_days: if k.state == KeyState::PendingReplicaDeletion {
                k.pending_window_days
            } else {
                None
            },
            valid_to,
            origin: Some(k.origin),
            expiration_model,
            key_manager: Some(KeyManagerType::Customer),
            customer_master_key_spec: customer_master_key_spec(k.key_spec),
            key_spec: Some(k.key_spec),
            encryption_algorithms: algorithms.encryption,
            signing_algorithms: algorithms.signing,
            mac_algorithms: algorithms.mac,
            key_agreement_algorithms: algorithms.key_agreement,
            encapsulation_algorithms: algorithms.encapsulation,
            multi_region: Some(k.multi_region),
            // Without the replicas (a new primary has none): DescribeKey and ReplicateKey
            // fill in the whole set (`ops::multi_region`).
            multi_region_configuration: k.multi_region.then(|| MultiRegionConfiguration {
                multi_region_key_type: Some(if k.is_replica() {
                    MultiRegionKeyType::Replica
                } else {
                    MultiRegionKeyType::Primary
                }),
                primary_key: Some(MultiRegionKey {
                    arn: Some(arn.clone()),
                    region: Some(k.key.region.clone()),
                }),
                replica_keys: Some(vec![]),
            }),
            custom_key_store_id: k.xks.as_ref().map(|x| x.custom_key_store_id.clone()),
            xks_key_configuration: k
                .xks
                .as_ref()
                .map(|x| XksKeyConfigurationType { id: Some(x.xks_key_id.clone()) }),
            current_key_material_id: if k.key_spec == KeySpec::SymmetricDefault {
                k.current_material_id.clone()
            } else {
                None
            },
            ..Default::default()
        }
    }
}
