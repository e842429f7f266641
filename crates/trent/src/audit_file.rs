//! The audit log of `trent serve`: CloudTrail-shaped events appended as JSON lines to
//! `DATA_DIR/audit.log` (mode 0600), one write per event.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use trent_core::audit::AuditSink;

pub struct FileAudit(Mutex<File>);

impl FileAudit {
    pub fn open(path: &Path) -> Result<Self, String> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(FileAudit(Mutex::new(f)))
    }
}

impl AuditSink for FileAudit {
    fn record(&self, event: serde_json::Value) {
        let mut line = event.to_string();
        line.push('\n');
        match self.0.lock() {
            Ok(mut f) => {
                if let Err(e) = f.write_all(line.as_bytes()) {
                    tracing::error!(error = %e, "cannot write the audit log");
                }
            }
            Err(_) => tracing::error!("audit log lock poisoned"),
        }
    }
}
