//! The audit record of every API call, written here and nowhere else: for each request that
//! names an operation, success or failure, refused authentication included. The record's
//! shape is `trent_core::audit::ApiCall`; this module adds what only HTTP knows (the request
//! id the client saw, its address and user agent, the access key it claimed).

use crate::dispatch::Dispatched;
use crate::error::to_wire;
use crate::AppState;
use axum::http::HeaderMap;
use serde_json::Value;
use std::sync::atomic::Ordering;
use trent_core::audit::{ApiCall, AuditError, Outcome, Recorded};
use trent_core::Caller;
use trent_types::Operation;

/// What was called: an operation of one of the API surfaces on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Called {
    Kms(Operation),
    /// One of CloudTrail's operations.
    CloudTrail(crate::cloudtrail::TrailOp),
}

impl Called {
    /// The record's `eventName` (and the metrics' operation label).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Called::Kms(op) => op.name(),
            Called::CloudTrail(op) => op.name(),
        }
    }

    /// The record's `eventSource`.
    fn source(self) -> &'static str {
        match self {
            Called::Kms(_) => "kms.amazonaws.com",
            Called::CloudTrail(_) => "cloudtrail.amazonaws.com",
        }
    }

    fn read_only(self) -> bool {
        match self {
            Called::Kms(op) => op.spec().read_only,
            Called::CloudTrail(_) => true,
        }
    }
}

/// Where a request came from and what it claimed, read once from its headers.
pub(crate) struct Facts {
    called: Called,
    request_id: String,
    /// The record's `eventID`, made with the request id (one draw of the generator).
    event_id: String,
    source_ip: Option<String>,
    user_agent: Option<String>,
    /// The access key id and Region of the `Authorization` header, as sent.
    claimed: Option<(String, String)>,
}

impl Facts {
    /// What a request claimed matters only when it was not authenticated (`caller` known):
    /// the `Authorization` header is read again only then.
    pub(crate) fn new(
        called: Called,
        (request_id, event_id): (&str, String),
        source_ip: Option<&str>,
        headers: &HeaderMap,
        authenticated: bool,
    ) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let claimed = if authenticated {
            None
        } else {
            text("authorization")
                .and_then(|h| trent_sigv4::Authorization::parse(h).ok())
                .map(|a| (a.access_key_id.to_string(), a.region.to_string()))
        };
        Facts {
            called,
            request_id: request_id.to_string(),
            event_id,
            source_ip: source_ip.map(String::from),
            user_agent: text("user-agent").map(String::from),
            claimed,
        }
    }
}

/// The Region a refused request is recorded in: the one it claimed, if it is a Region name.
fn claimed_region(facts: &Facts) -> &str {
    match &facts.claimed {
        Some((_, r))
            if r.len() <= 32 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            r
        }
        _ => "us-east-1",
    }
}

/// What a call did, as its record shows it.
pub(crate) struct Done<'a> {
    pub request_parameters: &'a Value,
    pub response_elements: &'a Value,
    pub recorded: &'a Recorded,
    pub outcome: Outcome<'a>,
}

impl AppState {
    /// Writes the record of one call; `client_answered` when the client was answered
    /// otherwise (`additionalEventData`).
    pub(crate) async fn audit_call(
        &self,
        facts: &Facts,
        caller: Option<&Caller>,
        d: &Dispatched,
        client_answered: Option<&str>,
    ) -> Result<(), AuditError> {
        let failure = d.body.as_ref().err().map(to_wire);
        let outcome = match &failure {
            None => Outcome::Succeeded,
            Some(w) => Outcome::Failed { code: w.code, message: &w.message },
        };
        let done = Done {
            request_parameters: &d.request_parameters,
            response_elements: &d.response_elements,
            recorded: &d.recorded,
            outcome,
        };
        self.audit_record(facts, caller, done, client_answered).await
    }

    /// Writes the record of one call.
    async fn audit_record(
        &self,
        facts: &Facts,
        caller: Option<&Caller>,
        done: Done<'_>,
        client_answered: Option<&str>,
    ) -> Result<(), AuditError> {
        // Anyone can make the server refuse an authentication: those records are budgeted,
        // and the next one written says how many were left out.
        let left_out = match caller {
            Some(_) => 0,
            None => match self.unauthenticated_records.take() {
                Some(n) => n,
                None => return Ok(()),
            },
        };
        let event_id = &facts.event_id;
        let event_time_ms = self.kms.now_ms();
        // GetKeyLastUsage names this record's event id: a successful cryptographic call is
        // noted for its keys here, where the id is made.
        if let (Some(_), Outcome::Succeeded) = (caller, &done.outcome) {
            if let Called::Kms(op) = facts.called {
                self.kms.note_key_usage(
                    op,
                    &done.recorded.resources,
                    event_time_ms,
                    event_id,
                    &facts.request_id,
                );
            }
        }
        let call = ApiCall {
            event_time_ms,
            event_source: facts.called.source(),
            operation: facts.called.name(),
            read_only: facts.called.read_only(),
            region: caller.map(|c| c.region.as_str()).unwrap_or_else(|| claimed_region(facts)),
            caller,
            presented_access_key_id: match caller {
                Some(_) => None,
                None => facts.claimed.as_ref().map(|(akid, _)| akid.as_str()),
            },
            source_ip: facts.source_ip.as_deref(),
            user_agent: facts.user_agent.as_deref(),
            request_id: &facts.request_id,
            event_id,
            request_parameters: done.request_parameters,
            response_elements: done.response_elements,
            recorded: done.recorded,
            outcome: done.outcome,
            unauthenticated_calls_not_recorded: left_out,
            client_answered,
        };
        let written = self.kms.record_audit_all(call.to_records()).await;
        let failing = written.is_err();
        if self.audit_failing.swap(failing, Ordering::Relaxed) != failing {
            match &written {
                Err(e) => {
                    tracing::error!(error = %e, fail_open = self.audit_fail_open, "the audit trail cannot be written")
                }
                Ok(()) => tracing::info!("the audit trail is written again"),
            }
        }
        written
    }

    /// The record of a call still running after its client was answered: written when it
    /// ends, with what it did (and a note that the client saw the timeout).
    pub(crate) fn audit_late(
        self: &std::sync::Arc<Self>,
        facts: Facts,
        caller: Option<std::sync::Arc<Caller>>,
        task: tokio::task::JoinHandle<Dispatched>,
    ) {
        let st = self.clone();
        tokio::spawn(async move {
            let d = task.await.unwrap_or_else(|_| Dispatched::refused(crate::internal("panic")));
            let note = "KMSInternalException after the request timeout";
            // The client has its answer already; a failure here is logged by audit_call.
            let _ = st.audit_call(&facts, caller.as_deref(), &d, Some(note)).await;
        });
    }
}
