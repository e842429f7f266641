//! The PKCS#11 root key against a real SoftHSM2 token, initialized in a temporary directory
//! (scripts/test installs the `softhsm2` package).
// A test (or benchmark) crate: its helpers unwrap what the test expects to succeed.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use trent_crypto::{CryptoError, RootKey, Secret};
use trent_hsm::{HsmError, Pkcs11Config, Pkcs11RootKey};

/// The SoftHSM2 module: `TRENT_TEST_PKCS11_MODULE`, or where Debian installs it.
fn module() -> PathBuf {
    let path = std::env::var("TRENT_TEST_PKCS11_MODULE")
        .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into());
    assert!(
        std::path::Path::new(&path).exists(),
        "SoftHSM2 is missing ({path}): install the softhsm2 package (scripts/test does)"
    );
    path.into()
}

/// PKCS#11 allows one initialization of a module per process at a time: tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A fresh token in its own directory; SOFTHSM2_CONF is process-wide, so every test of this
/// binary shares one directory and uses its own token label.
fn token(label: &str) -> Pkcs11Config {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\n",
                dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        std::env::set_var("SOFTHSM2_CONF", &conf);
        dir
    });
    let status = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", dir.path().join("softhsm2.conf"))
        .args(["--init-token", "--free", "--label", label, "--pin", "1234", "--so-pin", "5678"])
        .output()
        .expect("softhsm2-util runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    Pkcs11Config {
        module: module(),
        token_label: label.into(),
        pin: "1234".into(),
        key_label: "trent-root".into(),
    }
}

#[test]
fn wraps_in_the_token_and_survives_reopening() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = token("trent-a");
    let dek = Secret::from_slice(&[42u8; 32]);
    let wrapped = {
        let root = Pkcs11RootKey::open(&cfg, true).unwrap();
        assert!(root.describe().contains("'trent-root' in token 'trent-a'"));
        let w = root.wrap(&dek).unwrap();
        assert_eq!(w.len(), 12 + 32 + 16);
        assert_ne!(&w[12..44], dek.as_bytes());
        assert_eq!(root.unwrap(&w).unwrap(), dek);
        // Fresh IV each time.
        assert_ne!(root.wrap(&dek).unwrap(), w);
        w
    };
    // A new session (a restart) finds the same key without creating one.
    let root = Pkcs11RootKey::open(&cfg, false).unwrap();
    assert_eq!(root.unwrap(&wrapped).unwrap(), dek);
    let mut bad = wrapped.clone();
    bad[20] ^= 1;
    assert!(matches!(root.unwrap(&bad), Err(CryptoError::Decrypt)));
    assert!(matches!(root.unwrap(&wrapped[..20]), Err(CryptoError::Decrypt)));
}

#[test]
fn refuses_what_is_not_there() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = token("trent-b");
    let missing = Pkcs11RootKey::open(&cfg, false).err().unwrap();
    assert!(matches!(missing, HsmError::NoKey { .. }), "{missing}");
    let wrong_pin = Pkcs11Config { pin: "0000".into(), ..cfg.clone() };
    let e = Pkcs11RootKey::open(&wrong_pin, true).err().unwrap();
    assert!(matches!(e, HsmError::Login(..)), "{e}");
    assert!(!e.to_string().contains("0000"), "the PIN never appears in errors");
    let no_token = Pkcs11Config { token_label: "nope".into(), ..cfg.clone() };
    assert!(matches!(Pkcs11RootKey::open(&no_token, true), Err(HsmError::NoToken(_))));
    let no_module = Pkcs11Config { module: "/nonexistent/lib.so".into(), ..cfg };
    assert!(matches!(Pkcs11RootKey::open(&no_module, true), Err(HsmError::Module(..))));
}
