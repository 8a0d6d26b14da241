//! The exporter skeleton: the command line every exporter shares, the [`Exporter`] trait an
//! exporter implements, and the start-up sequence built on them (flags, config and its
//! validation, the collector registry, background jobs, serving). An exporter's `main.rs` is
//! `common::cli::run::<TheExporter>()`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use serde::de::DeserializeOwned;

use crate::collector::CollectorSet;
use crate::diagnose::{DiagnoseArgs, OutputFormat, Walk};
use crate::job::Job;
use crate::logging::{LogFormat, LogLevel};
use crate::paths::SysPaths;
use crate::registry::{CollectorDef, CollectorsConfig, SetupError};
use crate::self_metrics::BuildInfo;
use crate::server::{
    App, DocumentHandler, ListenAddr, Listener, ProbeHandler, Server, ServerOptions,
};
use crate::web_config::WebSettings;

/// Flags of the Prometheus exporter family, shared by every binary.
#[derive(Debug, Clone, Parser)]
pub struct CommonArgs {
    /// Address to listen on: HOST:PORT, [IPv6]:PORT, or :PORT for every interface.
    #[arg(long = "web.listen-address")]
    pub listen_address: Option<String>,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    pub telemetry_path: String,
    /// Web config file (exporter-toolkit format) enabling TLS and/or basic auth.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Maximum number of parallel scrape requests; 0 disables the limit.
    #[arg(long = "web.max-requests", default_value_t = 40)]
    pub max_requests: usize,
    /// Scrape timeout used when Prometheus does not send X-Prometheus-Scrape-Timeout-Seconds.
    #[arg(long = "web.scrape-timeout", default_value = "10s", value_parser = crate::config::parse_duration)]
    pub scrape_timeout: Duration,
    /// Time subtracted from the scrape timeout to leave room for encoding.
    #[arg(long = "web.timeout-offset", default_value = "250ms", value_parser = crate::config::parse_duration)]
    pub timeout_offset: Duration,
    /// TOML configuration file; without it the embedded defaults are used.
    #[arg(global = true, long = "config.file")]
    pub config_file: Option<PathBuf>,
    /// Validate the configuration (and web config) and exit.
    #[arg(long = "config.check")]
    pub config_check: bool,
    /// Only log messages with the given severity or above.
    #[arg(global = true, long = "log.level", value_enum, default_value = "info")]
    pub log_level: LogLevel,
    /// Output format of log messages.
    #[arg(
        global = true,
        long = "log.format",
        value_enum,
        default_value = "logfmt"
    )]
    pub log_format: LogFormat,
    /// procfs mountpoint.
    #[arg(global = true, long = "path.procfs", default_value = "/proc")]
    pub procfs: PathBuf,
    /// sysfs mountpoint.
    #[arg(global = true, long = "path.sysfs", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// Root filesystem of the host (for files such as /etc and /var/log).
    #[arg(global = true, long = "path.rootfs", default_value = "/")]
    pub rootfs: PathBuf,
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands every exporter has.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Walk the source document's troubleshooting procedure on this host and print the
    /// evidence and a verdict (read-only; exit status 1 when a cause is found).
    Diagnose(crate::diagnose::DiagnoseArgs),
}

/// What identifies an exporter binary.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Binary name.
    pub name: &'static str,
    /// Metric prefix, e.g. `os`: the one place it is written.
    pub prefix: &'static str,
    /// Default listen address.
    pub default_listen: &'static str,
    /// One-line description for `--help`.
    pub about: &'static str,
    /// Build information.
    pub build: BuildInfo,
}

/// Where and how an exporter runs, besides its configuration.
#[derive(Debug, Clone)]
pub struct Context {
    /// The config file, when one was given.
    pub config_path: Option<PathBuf>,
    /// Rooted paths for `/proc`, `/sys` and `/`.
    pub paths: SysPaths,
    /// True under `--config.check`: validate only; constructors must not touch the monitored
    /// service (no signals, no commands), and jobs are not started.
    pub check_only: bool,
    /// True under `diagnose`: collectors and jobs run, but nothing is persisted (state files,
    /// the audit journal), since the running exporter owns them.
    pub diagnose: bool,
}

/// An exporter's configuration: TOML with unknown keys rejected, defaults for everything.
pub trait ExporterConfig: DeserializeOwned + Default + Send + 'static {
    /// The `[collectors]` table.
    fn collectors(&self) -> &CollectorsConfig;
    /// Checks what types cannot; the message names the field. The skeleton adds the file.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// One exporter: its identity, configuration, collector table and shared state.
pub trait Exporter: Sized + Send + Sync + 'static {
    /// The TOML configuration.
    type Config: ExporterConfig;
    /// Name, prefix, default port: `common::spec!(prefix: "os", listen: ":9910")`.
    const SPEC: Spec;
    /// The collector table, read by the skeleton.
    const COLLECTORS: &'static [CollectorDef<Self>];
    /// Builds the state the collector constructors share, from a validated config.
    fn new(config: Self::Config, ctx: &Context) -> Result<Self, SetupError>;
    /// Background jobs not tied to one collector; started only when serving.
    fn jobs(&self) -> Vec<Job> {
        Vec::new()
    }
    /// The `/probe` handler, for probe-style exporters.
    fn probe(&self) -> Option<Arc<dyn ProbeHandler>> {
        None
    }
    /// Extra paths served with a document (`/manifest`), behind the same web config.
    fn documents(&self) -> Vec<(String, Arc<dyn DocumentHandler>)> {
        Vec::new()
    }
    /// Walks the document's troubleshooting procedure (`<binary> diagnose`). The default
    /// reports which collectors fail.
    fn diagnose(&self, walk: &mut Walk) -> impl Future<Output = ()> + Send {
        crate::diagnose::collectors_walk(walk)
    }
}

/// An exporter assembled from its configuration, ready to serve. The exporter's own state lives
/// on in what its collectors, jobs and probe handler took from it.
pub struct Assembled {
    /// Its enabled collectors and declared jobs (not started).
    pub collectors: CollectorSet,
    /// Its `/probe` handler.
    pub probe: Option<Arc<dyn ProbeHandler>>,
    /// Its extra document paths.
    pub documents: Vec<(String, Arc<dyn DocumentHandler>)>,
}

impl std::fmt::Debug for Assembled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assembled")
            .field("collectors", &self.collectors)
            .field("probe", &self.probe.is_some())
            .finish()
    }
}

/// A configuration the exporter cannot start with: one line, naming the file and, where known,
/// the line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(String);

/// Validates the config, selects and builds the collectors, declares the jobs. `config_text` is
/// the config file's text (for line numbers). Runs constructors, so call it inside a runtime.
pub fn assemble<E: Exporter>(
    config: E::Config,
    ctx: &Context,
    config_text: Option<&str>,
) -> Result<Assembled, StartError> {
    build::<E>(config, ctx, config_text).map(|(_, a)| a)
}

/// [`assemble`], keeping the exporter's state (for `diagnose`, which asks it for its procedure).
fn build<E: Exporter>(
    config: E::Config,
    ctx: &Context,
    config_text: Option<&str>,
) -> Result<(E, Assembled), StartError> {
    let where_ = |msg: String| match &ctx.config_path {
        Some(p) => StartError(format!("config file {}: {msg}", p.display())),
        None => StartError(format!("configuration: {msg}")),
    };
    config.validate().map_err(where_)?;
    let selected = crate::registry::select(E::COLLECTORS, config.collectors()).map_err(|e| {
        let line = config_text.map(|t| crate::config::line_column(t, e.span.start));
        match (&ctx.config_path, line) {
            (Some(p), Some((line, column))) => StartError(format!(
                "config file {}, line {line}, column {column}, {e}",
                p.display()
            )),
            _ => where_(e.to_string()),
        }
    })?;
    let in_file = |e: SetupError| match &ctx.config_path {
        Some(p) => StartError(format!("config file {}: {e}", p.display())),
        None => StartError(e.to_string()),
    };
    let exporter = E::new(config, ctx).map_err(in_file)?;
    let mut collectors = CollectorSet::new(E::SPEC.prefix);
    crate::registry::build_into(&selected, &exporter, &mut collectors).map_err(in_file)?;
    for job in exporter.jobs() {
        collectors.add_job(job);
    }
    let probe = exporter.probe();
    let documents = exporter.documents();
    Ok((
        exporter,
        Assembled {
            collectors,
            probe,
            documents,
        },
    ))
}

/// Exit code for bad configuration, flags or files (as clap uses for bad flags).
pub const EXIT_CONFIG: u8 = 2;

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    log::info!("shutting down");
}

fn read_config<C: DeserializeOwned + Default>(
    path: Option<&Path>,
) -> Result<(C, Option<String>), String> {
    let Some(p) = path else {
        return Ok((C::default(), None));
    };
    let text =
        std::fs::read_to_string(p).map_err(|e| format!("config file {}: {e}", p.display()))?;
    let config = crate::config::parse_toml(p, &text).map_err(|e| e.to_string())?;
    Ok((config, Some(text)))
}

/// The whole life of an exporter binary: flags, config, collectors, serving until SIGTERM or
/// SIGINT. Bad flags, config or files exit with [`EXIT_CONFIG`] before anything starts.
pub fn run<E: Exporter>() -> ExitCode {
    crate::allocator::limit_arenas();
    let spec = E::SPEC;
    let cmd = CommonArgs::command()
        .name(spec.name)
        .version(spec.build.version)
        .about(spec.about)
        .mut_arg("listen_address", |a| a.default_value(spec.default_listen));
    let matches = cmd.get_matches();
    let args = match CommonArgs::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    if let Some(Command::Diagnose(d)) = &args.command {
        // The report is the output: only warnings and errors are logged, unless asked.
        let explicit = matches!(
            matches.value_source("log_level"),
            Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
        );
        let level = if explicit {
            args.log_level
        } else {
            LogLevel::Warn
        };
        crate::logging::init(args.log_format, level);
        crate::logging::route_panics_to_log();
        return diagnose::<E>(&args, d);
    }
    crate::logging::init(args.log_format, args.log_level);
    crate::logging::route_panics_to_log();
    let listen = args
        .listen_address
        .clone()
        .unwrap_or_else(|| spec.default_listen.to_owned());
    let listen_error = |e: &dyn std::fmt::Display| {
        eprintln!("{}: --web.listen-address={listen}: {e}", spec.name);
        ExitCode::from(EXIT_CONFIG)
    };
    let listen_addr = match ListenAddr::parse(&listen) {
        Ok(a) => a,
        Err(e) => return listen_error(&e),
    };
    let fds = crate::fd_limit::raise_to_hard();
    log::debug!("open-file limit {fds}");

    let (config, config_text) = match read_config::<E::Config>(args.config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", spec.name);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let web = match &args.web_config_file {
        None => WebSettings::default(),
        Some(p) => match crate::web_config::load(p) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{}: {e}", spec.name);
                return ExitCode::from(EXIT_CONFIG);
            }
        },
    };
    let runtime = match runtime(spec) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: starting the runtime: {e}", spec.name);
            return ExitCode::FAILURE;
        }
    };
    let ctx = context(&args, args.config_check, false);
    // Bound before the collectors are built, so a port in use stops the start at once.
    let listener = if args.config_check {
        None
    } else {
        match runtime.block_on(Listener::bind(&listen_addr)) {
            Ok(l) => Some(l),
            Err(e) => return listen_error(&e),
        }
    };
    // Constructors may create runtime resources (timers, sockets), so they run inside it.
    let assembled = {
        let _guard = runtime.enter();
        assemble::<E>(config, &ctx, config_text.as_deref())
    };
    let assembled = match assembled {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{}: {e}", spec.name);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Some(listener) = listener else {
        println!("{}: configuration is valid", spec.name);
        return ExitCode::SUCCESS;
    };
    serve(spec, &args, web, &runtime, listener, assembled)
}

/// The runtime every binary runs on: two workers (scrapes are I/O-bound), room for blocking
/// reads stuck on hung mounts.
fn runtime(spec: Spec) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name(spec.name)
        .enable_all()
        .build()
}

/// The [`Context`] of the flags.
fn context(args: &CommonArgs, check_only: bool, diagnose: bool) -> Context {
    Context {
        config_path: args.config_file.clone(),
        paths: SysPaths {
            procfs: args.procfs.clone(),
            sysfs: args.sysfs.clone(),
            rootfs: args.rootfs.clone(),
        },
        check_only,
        diagnose,
    }
}

/// `<binary> diagnose`: builds the exporter from its config as for serving (no listener), walks
/// its procedure and prints the report. Exit status 0 when no fault is found, 1 when a cause is
/// named, [`EXIT_CONFIG`] for bad flags or config.
fn diagnose<E: Exporter>(args: &CommonArgs, d: &DiagnoseArgs) -> ExitCode {
    let spec = E::SPEC;
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("{} diagnose: {e}", spec.name);
        ExitCode::from(EXIT_CONFIG)
    };
    let window = match crate::diagnose::Window::from_flags(d.since.as_deref(), d.until.as_deref()) {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let (config, config_text) = match read_config::<E::Config>(args.config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let runtime = match runtime(spec) {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("starting the runtime: {e}")),
    };
    let ctx = context(args, false, true);
    let built = {
        let _guard = runtime.enter();
        build::<E>(config, &ctx, config_text.as_deref())
    };
    let (exporter, assembled) = match built {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let report = runtime.block_on(async {
        let mut walk = Walk::new(d.clone(), window, assembled.collectors);
        exporter.diagnose(&mut walk).await;
        walk.finish(spec.name, spec.build.version)
    });
    let out = match d.output {
        OutputFormat::Text => crate::diagnose::render_text(&report),
        OutputFormat::Json => crate::diagnose::render_json(&report),
    };
    println!("{out}");
    // A check cut at its deadline may still hold a thread (a hung mount): do not wait for it.
    runtime.shutdown_background();
    if report.found_fault() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn serve(
    spec: Spec,
    args: &CommonArgs,
    web: WebSettings,
    runtime: &tokio::runtime::Runtime,
    listener: Listener,
    assembled: Assembled,
) -> ExitCode {
    let opts = ServerOptions {
        telemetry_path: args.telemetry_path.clone(),
        max_requests: args.max_requests,
        default_timeout: args.scrape_timeout,
        timeout_offset: args.timeout_offset,
        web,
        ..ServerOptions::default()
    };
    let app = Arc::new(App {
        collectors: assembled.collectors,
        probe: assembled.probe,
        build: spec.build,
        documents: assembled.documents,
    });
    runtime.block_on(async move {
        let server = Server::new(listener, opts, Arc::clone(&app));
        // Jobs start only once the exporter can serve their results.
        app.collectors.start_jobs();
        let jobs = app.collectors.job_names();
        if !jobs.is_empty() {
            log::info!("background jobs started: {}", jobs.join(", "));
        }
        let scheme = if server_is_tls(args) { "https" } else { "http" };
        log::info!(
            "{} {} listening on {scheme}://{}{}",
            spec.name,
            spec.build.version,
            server
                .local_addr()
                .map_or_else(|_| "?".to_owned(), |a| a.to_string()),
            args.telemetry_path
        );
        server.run(shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

fn server_is_tls(args: &CommonArgs) -> bool {
    args.web_config_file
        .as_deref()
        .and_then(|p| crate::web_config::load(p).ok())
        .is_some_and(|w| w.tls.is_some())
}
