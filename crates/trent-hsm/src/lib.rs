//! The root key in a PKCS#11 token: an AES-256 key that never leaves the HSM wraps and
//! unwraps the data-encryption key (AES-GCM inside the token), once at start-up. Tested
//! against SoftHSM2. The only crate that reaches C through FFI (the `cryptoki` crate).

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::{AuthPin, Ulong};
use std::path::PathBuf;
use std::sync::Mutex;
use trent_crypto::{CryptoError, RootKey, Secret};

/// Where the root key lives.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The label of the token (slot) that holds the key.
    pub token_label: String,
    /// The user PIN of the token.
    pub pin: String,
    /// The label of the AES key in the token.
    pub key_label: String,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .finish_non_exhaustive()
    }
}

/// Why the HSM root key is unavailable. Messages name the setting to fix, never the PIN.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("cannot load the PKCS#11 module {0}: {1}")]
    Module(String, String),
    #[error("no PKCS#11 token is labelled '{0}'")]
    NoToken(String),
    #[error("cannot log in to token '{0}' (wrong PIN?): {1}")]
    Login(String, String),
    #[error("token '{token}' has no AES key labelled '{key}'")]
    NoKey { token: String, key: String },
    #[error("token '{token}' has {count} secret keys labelled '{key}'; labels must be unique")]
    AmbiguousKey { token: String, key: String, count: usize },
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
}

fn p11(e: cryptoki::error::Error) -> HsmError {
    HsmError::Pkcs11(e.to_string())
}

/// An AES-256 key inside a PKCS#11 token.
pub struct Pkcs11RootKey {
    description: String,
    /// PKCS#11 sessions may not be used from two threads at once.
    session: Mutex<Session>,
    key: ObjectHandle,
    // Keeps the module loaded and initialized for as long as the session lives.
    _context: Pkcs11,
}

const WRAP_AAD: &[u8] = b"trent/v1/root-key-wrap/pkcs11";
const IV_LEN: usize = 12;

impl Pkcs11RootKey {
    /// Opens the token and finds the key; with `create`, generates it (AES-256, sensitive,
    /// not extractable) when the token has none by that label.
    pub fn open(cfg: &Pkcs11Config, create: bool) -> Result<Self, HsmError> {
        let context = Pkcs11::new(&cfg.module)
            .map_err(|e| HsmError::Module(cfg.module.display().to_string(), e.to_string()))?;
        context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).map_err(p11)?;
        let mut slot = None;
        for s in context.get_slots_with_token().map_err(p11)? {
            if context.get_token_info(s).map_err(p11)?.label() == cfg.token_label {
                slot = Some(s);
                break;
            }
        }
        let slot = slot.ok_or_else(|| HsmError::NoToken(cfg.token_label.clone()))?;
        let session = context.open_rw_session(slot).map_err(p11)?;
        session
            .login(UserType::User, Some(&AuthPin::from(cfg.pin.clone())))
            .map_err(|e| HsmError::Login(cfg.token_label.clone(), e.to_string()))?;
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(cfg.key_label.as_bytes().to_vec()),
        ];
        let found = session.find_objects(&template).map_err(p11)?;
        let key = match found.as_slice() {
            [one] => *one,
            [] if create => session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::ValueLen(Ulong::from(32u64)),
                        Attribute::Label(cfg.key_label.as_bytes().to_vec()),
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                    ],
                )
                .map_err(p11)?,
            [] => {
                return Err(HsmError::NoKey {
                    token: cfg.token_label.clone(),
                    key: cfg.key_label.clone(),
                })
            }
            many => {
                return Err(HsmError::AmbiguousKey {
                    token: cfg.token_label.clone(),
                    key: cfg.key_label.clone(),
                    count: many.len(),
                })
            }
        };
        Ok(Pkcs11RootKey {
            description: format!(
                "PKCS#11 root key '{}' in token '{}' ({})",
                cfg.key_label,
                cfg.token_label,
                cfg.module.display()
            ),
            session: Mutex::new(session),
            key,
            _context: context,
        })
    }
}

impl RootKey for Pkcs11RootKey {
    fn describe(&self) -> String {
        self.description.clone()
    }

    /// `iv(12) || ciphertext || tag(16)`: AES-256-GCM computed by the token.
    fn wrap(&self, dek: &Secret) -> Result<Vec<u8>, CryptoError> {
        let mut iv = [0u8; IV_LEN];
        trent_crypto::random_bytes(&mut iv)?;
        let session = self.session.lock().map_err(|_| CryptoError::Library)?;
        let params = GcmParams::new(&mut iv, WRAP_AAD, Ulong::from(128u64))
            .map_err(|_| CryptoError::Library)?;
        let sealed = session
            .encrypt(&Mechanism::AesGcm(params), self.key, dek.as_bytes())
            .map_err(|_| CryptoError::Library)?;
        let mut out = iv.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Secret, CryptoError> {
        if wrapped.len() < IV_LEN + 16 {
            return Err(CryptoError::Decrypt);
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&wrapped[..IV_LEN]);
        let session = self.session.lock().map_err(|_| CryptoError::Library)?;
        let params = GcmParams::new(&mut iv, WRAP_AAD, Ulong::from(128u64))
            .map_err(|_| CryptoError::Decrypt)?;
        let plain = session
            .decrypt(&Mechanism::AesGcm(params), self.key, &wrapped[IV_LEN..])
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(Secret::new(plain))
    }
}
