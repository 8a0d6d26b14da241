//! Test fixtures shared by the suite's crates (dev-dependency only): a test PKI generated at run
//! time, a fake HTTP server on loopback for scripted answers, and loopback connections with
//! queued bytes for socket-table readers.

pub mod fake_http;
pub mod loopback;
pub mod pki;
