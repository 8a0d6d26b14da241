//! Nothing to build: this crate only carries the rules package's metadata (see Cargo.toml).
