//! Arbitrary bytes as an audit trail (and, optionally, its sidecar), verified
//! with and without a trusted key: `verify` reports, it never panics, and
//! the report is consistent with itself.
//!
//! Input: the first byte's low bit says whether a sidecar is written; with
//! one, the bytes after the last NUL are the sidecar and those before the
//! trail. The trusted key is fixed (`rustchain_fuzz::trusted_key`), so the
//! seeds signed with it reach the signature checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustchain_tools::audit::{VerifyStatus, verify};

fuzz_target!(
    init: {
        // `run.sh` names the corpus; libFuzzer reads it after this runs.
        if let Some(dir) = std::env::var_os("RUSTCHAIN_FUZZ_SEEDS") {
            rustchain_fuzz::write_audit_seeds(std::path::Path::new(&dir))
                .expect("writes the audit seeds");
        }
    },
    |data: &[u8]| {
    let Some((flags, rest)) = data.split_first() else {
        return;
    };
    let (trail, sidecar) = match (flags & 1, rest.iter().rposition(|byte| *byte == 0)) {
        (1, Some(at)) => (&rest[..at], Some(&rest[at + 1..])),
        _ => (rest, None),
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, trail).expect("writes the trail");
    if let Some(sidecar) = sidecar {
        std::fs::write(dir.path().join("audit.jsonl.checkpoint"), sidecar)
            .expect("writes the sidecar");
    }
    let key = rustchain_fuzz::trusted_key().verifying_key();
    for key in [None, Some(&key)] {
        if let Ok(report) = verify(&path, key) {
            let status = report.status();
            assert_eq!(
                status == VerifyStatus::Intact,
                report.findings.is_empty(),
                "{report:?}"
            );
            if let Some(through) = report.signed_through {
                assert!(
                    report.last_seq.is_some_and(|last| through <= last) || status != VerifyStatus::Intact,
                    "signed through {through} beyond the trail: {report:?}"
                );
            }
        }
    }
}
);
