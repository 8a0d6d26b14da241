//! Test fixtures shared by the suite's crates (dev-dependency only): a test PKI generated at run
//! time and a fake HTTP server on loopback for scripted answers.

pub mod fake_http;
pub mod pki;
