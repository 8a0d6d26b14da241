//! The command line every exporter shares, and the start-up sequence built on it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use serde::de::DeserializeOwned;

use crate::collector::CollectorSet;
use crate::logging::{LogFormat, LogLevel};
use crate::paths::SysPaths;
use crate::self_metrics::BuildInfo;
use crate::server::{App, ProbeHandler, Server, ServerOptions};
use crate::web_config::WebSettings;

/// Flags of the Prometheus exporter family, shared by every binary.
#[derive(Debug, Clone, Parser)]
pub struct CommonArgs {
    /// Address to listen on, e.g. `127.0.0.1:9910` or `:9910` (all interfaces).
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
    #[arg(long = "config.file")]
    pub config_file: Option<PathBuf>,
    /// Validate the configuration (and web config) and exit.
    #[arg(long = "config.check")]
    pub config_check: bool,
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_enum, default_value = "info")]
    pub log_level: LogLevel,
    /// Output format of log messages.
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    pub log_format: LogFormat,
    /// procfs mountpoint.
    #[arg(long = "path.procfs", default_value = "/proc")]
    pub procfs: PathBuf,
    /// sysfs mountpoint.
    #[arg(long = "path.sysfs", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// Root filesystem of the host (for files such as /etc and /var/log).
    #[arg(long = "path.rootfs", default_value = "/")]
    pub rootfs: PathBuf,
}

/// What identifies an exporter binary.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Binary name.
    pub name: &'static str,
    /// Metric prefix, e.g. `os`.
    pub prefix: &'static str,
    /// Default listen address.
    pub default_listen: &'static str,
    /// One-line description for `--help`.
    pub about: &'static str,
    /// Build information.
    pub build: BuildInfo,
}

/// What an exporter's setup function receives.
#[derive(Debug)]
pub struct Context<C> {
    /// The parsed config (defaults when no file was given).
    pub config: C,
    /// The config file, when one was given.
    pub config_path: Option<PathBuf>,
    /// Rooted paths for `/proc`, `/sys` and `/`.
    pub paths: SysPaths,
    /// True under `--config.check`: validate only, start no background work.
    pub check_only: bool,
}

/// What an exporter's setup function returns.
pub struct Built {
    /// The collectors run at each scrape.
    pub collectors: CollectorSet,
    /// The `/probe` handler, if the exporter offers one.
    pub probe: Option<Arc<dyn ProbeHandler>>,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("collectors", &self.collectors)
            .finish()
    }
}

impl Built {
    /// Collectors only, no probe endpoint.
    pub fn collectors(collectors: CollectorSet) -> Self {
        Self {
            collectors,
            probe: None,
        }
    }
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

/// Parses flags, loads config, builds the collectors with `setup` and serves until SIGTERM/SIGINT.
pub fn main<C, F>(spec: Spec, setup: F) -> ExitCode
where
    C: DeserializeOwned + Default,
    F: FnOnce(Context<C>) -> Result<Built, String>,
{
    let cmd = CommonArgs::command()
        .name(spec.name)
        .version(spec.build.version)
        .about(spec.about);
    let matches = cmd.get_matches();
    let args = match CommonArgs::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    crate::logging::init(args.log_format, args.log_level);

    let config: C = match &args.config_file {
        None => C::default(),
        Some(p) => match crate::config::load_toml(p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}: {e}", spec.name);
                return ExitCode::from(EXIT_CONFIG);
            }
        },
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name(spec.name)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: starting the runtime: {e}", spec.name);
            return ExitCode::FAILURE;
        }
    };
    let paths = SysPaths {
        procfs: args.procfs.clone(),
        sysfs: args.sysfs.clone(),
        rootfs: args.rootfs.clone(),
    };
    let ctx = Context {
        config,
        config_path: args.config_file.clone(),
        paths,
        check_only: args.config_check,
    };
    // Setup may spawn background tasks, so it runs inside the runtime.
    let built = {
        let _guard = runtime.enter();
        setup(ctx)
    };
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", spec.name);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.config_check {
        println!("{}: configuration is valid", spec.name);
        return ExitCode::SUCCESS;
    }
    let listen = args
        .listen_address
        .clone()
        .unwrap_or_else(|| spec.default_listen.to_owned());
    let opts = ServerOptions {
        telemetry_path: args.telemetry_path.clone(),
        max_requests: args.max_requests,
        default_timeout: args.scrape_timeout,
        timeout_offset: args.timeout_offset,
        web,
        ..ServerOptions::default()
    };
    let app = Arc::new(App {
        collectors: built.collectors,
        probe: built.probe,
        build: spec.build,
    });
    runtime.block_on(async move {
        let server = match Server::bind(&listen, opts, app).await {
            Ok(s) => s,
            Err(e) => {
                log::error!("listening on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let scheme = if server_is_tls(&args) {
            "https"
        } else {
            "http"
        };
        log::info!(
            "{} {} listening on {scheme}://{}{}",
            spec.name,
            spec.build.version,
            server
                .local_addr()
                .map_or(listen.clone(), |a| a.to_string()),
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
