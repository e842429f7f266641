//! The key-state table: which operations a key in each state allows, and the exact refusal
//! AWS gives (<https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>).

use crate::KmsError;
use trent_store::KeyRecord;
use trent_types::{ErrorCode, KeyState, OriginType};

/// Operation families that share a row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Encrypt, Decrypt, ReEncrypt, GenerateDataKey*.
    Crypto,
    /// CreateAlias, TagResource, UntagResource, UpdateKeyDescription, target of UpdateAlias.
    Metadata,
    /// EnableKey, DisableKey.
    EnableDisable,
    ScheduleDeletion,
    CancelDeletion,
    /// EnableKeyRotation, DisableKeyRotation.
    RotationConfig,
    RotateOnDemand,
    /// ReplicateKey (on the primary).
    Replicate,
    /// UpdatePrimaryRegion (on the primary and on the replica that becomes primary).
    UpdatePrimary,
}

pub(crate) fn disabled(arn: &str) -> KmsError {
    KmsError::new(ErrorCode::DisabledException, format!("{arn} is disabled."))
}

pub(crate) fn pending_deletion(arn: &str) -> KmsError {
    KmsError::new(ErrorCode::KMSInvalidStateException, format!("{arn} is pending deletion."))
}

pub(crate) fn pending_import(arn: &str) -> KmsError {
    KmsError::new(ErrorCode::KMSInvalidStateException, format!("{arn} is pending import."))
}

pub(crate) fn origin_not_valid(arn: &str, origin: OriginType) -> KmsError {
    KmsError::new(
        ErrorCode::UnsupportedOperationException,
        format!("{arn} origin is {origin} which is not valid for this operation."),
    )
}

fn other_state(arn: &str, state: KeyState) -> KmsError {
    let what = match state {
        KeyState::PendingReplicaDeletion => "pending replica deletion",
        KeyState::Unavailable => "unavailable",
        KeyState::Creating => "creating",
        KeyState::Updating => "updating",
        KeyState::Disabled => "disabled",
        KeyState::PendingImport => "pending import",
        KeyState::PendingDeletion => "pending deletion",
        KeyState::Enabled => "enabled",
    };
    KmsError::new(ErrorCode::KMSInvalidStateException, format!("{arn} is {what}."))
}

/// Checks that `key` may take part in an operation of `family`.
pub(crate) fn check(family: Family, key: &KeyRecord) -> Result<(), KmsError> {
    use KeyState::*;
    // Made only for an error: a call that passes (nearly all) needs no ARN.
    let arn = || key.key.arn();
    let s = key.state;
    match family {
        // UpdatePrimaryRegion may run while the keys are still updating from the last one.
        Family::Crypto | Family::UpdatePrimary => match s {
            Enabled | Updating => Ok(()),
            Disabled => Err(disabled(&arn())),
            PendingDeletion | PendingReplicaDeletion => Err(pending_deletion_like(&arn(), s)),
            PendingImport => Err(pending_import(&arn())),
            Unavailable | Creating => Err(other_state(&arn(), s)),
        },
        Family::Metadata => match s {
            PendingDeletion | PendingReplicaDeletion => Err(pending_deletion_like(&arn(), s)),
            _ => Ok(()),
        },
        Family::EnableDisable => match s {
            Enabled | Disabled | Unavailable => Ok(()),
            PendingDeletion | PendingReplicaDeletion => Err(pending_deletion_like(&arn(), s)),
            PendingImport => Err(pending_import(&arn())),
            Creating | Updating => Err(other_state(&arn(), s)),
        },
        Family::ScheduleDeletion => match s {
            PendingDeletion | PendingReplicaDeletion => Err(pending_deletion_like(&arn(), s)),
            Updating => Err(other_state(&arn(), s)),
            _ => Ok(()),
        },
        Family::CancelDeletion => match s {
            PendingDeletion | PendingReplicaDeletion => Ok(()),
            _ => Err(KmsError::new(
                ErrorCode::KMSInvalidStateException,
                format!("{} is not pending deletion.", arn()),
            )),
        },
        Family::RotationConfig => {
            // Automatic rotation is not supported for imported key material: the origin
            // check comes before the state (recorded against AWS; key-state.html lists
            // rotation for AWS_KMS keys only).
            if key.origin != OriginType::AwsKms {
                return Err(origin_not_valid(&arn(), key.origin));
            }
            match s {
                Enabled | Updating => Ok(()),
                Disabled => Err(disabled(&arn())),
                PendingDeletion | PendingReplicaDeletion => Err(pending_deletion_like(&arn(), s)),
                _ => Err(other_state(&arn(), s)),
            }
        }
        Family::RotateOnDemand | Family::Replicate => match s {
            Enabled => Ok(()),
            Disabled => Err(disabled(&arn())),
            PendingDeletion | PendingReplicaDeletion => Err(pending_deletion_like(&arn(), s)),
            PendingImport => Err(pending_import(&arn())),
            _ => Err(other_state(&arn(), s)),
        },
    }
}

fn pending_deletion_like(arn: &str, s: KeyState) -> KmsError {
    if s == KeyState::PendingReplicaDeletion {
        other_state(arn, s)
    } else {
        pending_deletion(arn)
    }
}

#[cfg(test)]
mod tests {
    //! The whole table, family by state, as the AWS key-state page gives it: a change to one
    //! cell fails here with the family and state named.
    use super::*;
    use trent_store::KeyRef;
    use trent_types::{KeySpec, KeyUsageType};

    const OK: &str = "ok";
    const DISABLED: &str = "DisabledException: is disabled.";
    const DELETING: &str = "KMSInvalidStateException: is pending deletion.";
    const IMPORTING: &str = "KMSInvalidStateException: is pending import.";
    const REPLICA: &str = "KMSInvalidStateException: is pending replica deletion.";
    const UNAVAILABLE: &str = "KMSInvalidStateException: is unavailable.";
    const CREATING: &str = "KMSInvalidStateException: is creating.";
    const UPDATING: &str = "KMSInvalidStateException: is updating.";
    const NOT_DELETING: &str = "KMSInvalidStateException: is not pending deletion.";

    /// Columns in `KeyState::ALL` order: Creating, Enabled, Disabled, PendingDeletion,
    /// PendingImport, PendingReplicaDeletion, Unavailable, Updating.
    const TABLE: &[(Family, [&str; 8])] = &[
        (Family::Crypto, [CREATING, OK, DISABLED, DELETING, IMPORTING, REPLICA, UNAVAILABLE, OK]),
        (Family::Metadata, [OK, OK, OK, DELETING, OK, REPLICA, OK, OK]),
        (Family::EnableDisable, [CREATING, OK, OK, DELETING, IMPORTING, REPLICA, OK, UPDATING]),
        (Family::ScheduleDeletion, [OK, OK, OK, DELETING, OK, REPLICA, OK, UPDATING]),
        (
            Family::CancelDeletion,
            [
                NOT_DELETING,
                NOT_DELETING,
                NOT_DELETING,
                OK,
                NOT_DELETING,
                OK,
                NOT_DELETING,
                NOT_DELETING,
            ],
        ),
        (
            Family::RotationConfig,
            [CREATING, OK, DISABLED, DELETING, IMPORTING, REPLICA, UNAVAILABLE, OK],
        ),
        (
            Family::RotateOnDemand,
            [CREATING, OK, DISABLED, DELETING, IMPORTING, REPLICA, UNAVAILABLE, UPDATING],
        ),
        (
            Family::Replicate,
            [CREATING, OK, DISABLED, DELETING, IMPORTING, REPLICA, UNAVAILABLE, UPDATING],
        ),
        (
            Family::UpdatePrimary,
            [CREATING, OK, DISABLED, DELETING, IMPORTING, REPLICA, UNAVAILABLE, OK],
        ),
    ];

    fn key(state: KeyState, origin: OriginType) -> KeyRecord {
        let key = KeyRef {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        };
        let mut rec = trent_store::KeyRecord::new(
            key,
            0,
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            origin,
            String::new(),
        );
        rec.state = state;
        rec
    }

    fn outcome(family: Family, rec: &KeyRecord) -> String {
        match check(family, rec) {
            Ok(()) => OK.into(),
            Err(e) => {
                let arn = rec.key.arn();
                let rest = e.message().strip_prefix(arn.as_str()).unwrap_or(e.message());
                format!("{}:{rest}", e.code().name())
            }
        }
    }

    #[test]
    fn every_family_in_every_state_answers_as_the_table_says() {
        assert_eq!(KeyState::ALL.len(), 8, "a new key state needs a column in TABLE");
        let mut wrong = Vec::new();
        for (family, row) in TABLE {
            for (state, want) in KeyState::ALL.iter().zip(row) {
                let got = outcome(*family, &key(*state, OriginType::AwsKms));
                if got != *want {
                    wrong.push(format!("{family:?} in {state}: got {got:?}, want {want:?}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn rotation_of_imported_material_is_refused_by_origin_before_state() {
        for state in KeyState::ALL {
            let got = outcome(Family::RotationConfig, &key(*state, OriginType::External));
            assert_eq!(
                got,
                "UnsupportedOperationException: origin is EXTERNAL which is not valid for this operation.",
                "in {state}"
            );
        }
    }
}
