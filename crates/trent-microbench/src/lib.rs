//! Micro-benchmarks of the paths every request crosses, run with
//! `cargo bench -p trent-microbench` (divan): the ciphertext blob (encode = Encrypt, decode =
//! Decrypt), SigV4 verification, import-token seal/open, and request JSON decoding. The
//! benchmarks are in `benches/hot_paths.rs`; this library is empty.
