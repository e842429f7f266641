//! The HTTP API suites, driven through aws-sdk-kms and raw SigV4 requests against a
//! real server on real SQLite. One test binary for all of them: each binary links the
//! whole server and the SDK, so one link instead of fourteen saves minutes and gigabytes.
// A test (or benchmark) crate: its helpers unwrap what the test expects to succeed.
#![allow(clippy::unwrap_used)]

mod common;

mod asymmetric;
mod audit;
mod authz;
mod authz_matrix;
mod conditions;
mod crypto;
mod deviations;
mod import;
mod keys;
mod limits;
mod malformed;
mod metadata;
mod ml_kem;
mod monitoring;
mod multi_region;
mod races;
mod seed;
mod signing;
mod sigv4;
mod sm2;
mod trust;
