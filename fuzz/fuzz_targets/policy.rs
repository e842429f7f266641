//! The policy-document parser and the evaluation of what it accepts, against a request with
//! condition keys: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_core::authz::{decide, decide_identity_only, PolicyDocument, RequestContext};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = PolicyDocument::parse(text) else { return };
    let mut ctx = RequestContext {
        principal_arn: "arn:aws:iam::111122223333:user/alice".into(),
        principal_account: "111122223333".into(),
        action: "kms:Encrypt".into(),
        resource: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            .into(),
        values: Default::default(),
    };
    ctx.set("kms:EncryptionContext:app", "x");
    ctx.set("aws:SourceIp", "10.0.0.1");
    ctx.set("aws:CurrentTime", "2026-12-01T00:00:00Z");
    ctx.set_many("kms:EncryptionContextKeys", vec!["app".into(), "team".into()]);
    let _ = decide(&doc, std::slice::from_ref(&doc), &ctx, "111122223333");
    let _ = decide_identity_only(std::slice::from_ref(&doc), &ctx);
});
