//! os-exporter: the host resource metrics of the OS monitoring table (document 001, §2.1).

mod collectors;
mod config;
mod disk_filter;
mod netlink;
mod parsers;
mod partitions;
mod sampler;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use common::audit::AuditJournal;
use common::statfs::Statfs;
use common::{Built, CollectorSet, Context, Spec};

/// Where the journal goes when `[audit] path` is not set.
const DEFAULT_AUDIT_PATH: &str = "/var/lib/os-exporter/audit.jsonl";

fn setup(ctx: Context<config::Config>) -> Result<Built, String> {
    ctx.config.validate()?;
    let journal = Arc::new(AuditJournal::new(
        ctx.config.audit.clone(),
        Path::new(DEFAULT_AUDIT_PATH),
    ));
    journal.declare_checks(sampler::CHECKS);
    let shared = collectors::Shared {
        journal,
        status: Arc::default(),
        statfs: Statfs::new(),
    };
    let mut set = CollectorSet::new("os");
    collectors::register(&mut set, &ctx.paths, &ctx.config, &shared)?;
    let sampler = sampler::Sampler::new(
        ctx.paths.clone(),
        ctx.config.clone(),
        shared.statfs.clone(),
        Arc::clone(&shared.journal),
        Arc::clone(&shared.status),
    )?;
    if !ctx.check_only && ctx.config.audit.enabled {
        log::info!(
            "audit journal {} every {:?}",
            shared.journal.path().display(),
            ctx.config.audit_checks.interval
        );
        sampler
            .spawn()
            .map_err(|e| format!("starting the audit sampler: {e}"))?;
    }
    Ok(Built::collectors(set))
}

/// Uses a single glibc malloc arena: each thread otherwise gets its own arena and keeps freed
/// pages, which for an exporter of a few MiB is most of its resident memory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator tunable; it is called before any thread exists.
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    common::cli::main(
        Spec {
            name: "os-exporter",
            prefix: "os",
            default_listen: ":9910",
            about: "Prometheus exporter for the host resource metrics of the OS monitoring table",
            build: common::build_info!(),
        },
        setup,
    )
}
