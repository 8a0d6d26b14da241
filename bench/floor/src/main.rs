//! The floor of os-exporter's scrape cost: a loop that makes only the kernel reads one scrape
//! makes (found by tracing a real scrape), with no parsing and no encoding, and prints its CPU
//! per pass. `bench/os_exporter.sh` sets it beside os-exporter's CPU per scrape.
//!
//! Usage: scrape-floor TRACE EXPORTER_PID PASSES [--list]
//!   TRACE        `strace -f -y -e trace=openat,getdents64,statx,newfstatat,statfs,socket` output
//!                of the exporter during one scrape
//!   EXPORTER_PID the traced process (its /proc entry is read as /proc/self)
//!   PASSES       timed passes, after 20 untimed warm-up passes
//! Prints a line describing the sources, then `cpu_ms_per_pass <ms>`.

mod cpu;
mod pass;
mod sock_diag;
mod trace;

use std::process::ExitCode;

use trace::{PID, Source};

const WARM_UP: usize = 20;

/// Why the floor was not measured.
#[derive(Debug, thiserror::Error)]
enum FloorError {
    #[error("usage: scrape-floor TRACE EXPORTER_PID PASSES [--list]")]
    Usage,
    #[error("reading trace {0}: {1}")]
    Trace(String, std::io::Error),
    #[error("the trace names no kernel source (was the scrape traced?)")]
    Empty,
    #[error(transparent)]
    Pass(#[from] pass::PassError),
    #[error(transparent)]
    Cpu(#[from] cpu::CpuError),
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scrape-floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), FloorError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [trace_path, pid, passes, rest @ ..] = args.as_slice() else {
        return Err(FloorError::Usage);
    };
    let pid: u32 = pid.parse().map_err(|_| FloorError::Usage)?;
    let passes: usize = passes.parse().map_err(|_| FloorError::Usage)?;
    let list = rest.iter().any(|a| a == "--list");
    let text = std::fs::read_to_string(trace_path)
        .map_err(|e| FloorError::Trace(trace_path.clone(), e))?;
    let sources = trace::sources(&text, pid);
    if sources.is_empty() || passes == 0 {
        return Err(FloorError::Empty);
    }
    let mut floor = pass::Floor::new(sources)?;
    for _ in 0..WARM_UP {
        floor.pass()?;
    }
    let c0 = cpu::seconds()?;
    for _ in 0..passes {
        floor.pass()?;
    }
    let per_pass = (cpu::seconds()? - c0) / passes as f64;
    if list {
        for s in floor.sources() {
            eprintln!("{s:?}");
        }
    }
    println!("{}", describe(floor.sources(), floor.pids(), floor.failed));
    println!("cpu_ms_per_pass {:.4}", per_pass * 1e3);
    Ok(())
}

/// One line saying what a pass reads.
fn describe(sources: &[Source], pids: usize, failed: usize) -> String {
    let count = |f: fn(&Source) -> bool| sources.iter().filter(|s| f(s)).count();
    let per_pid: Vec<&str> = sources
        .iter()
        .filter(|s| s.path().contains(PID))
        .map(Source::path)
        .collect();
    let mut d = format!(
        "{} files, {} listings, {} stats, {} statfs",
        count(|s| matches!(s, Source::Read(p) if !p.contains(PID))),
        count(|s| matches!(s, Source::List(p) if !p.contains(PID))),
        count(|s| matches!(s, Source::Stat(p) if !p.contains(PID))),
        count(|s| matches!(s, Source::Statfs(_))),
    );
    if !per_pid.is_empty() {
        d.push_str(&format!(
            ", {} for each of {pids} processes",
            per_pid.join(" ")
        ));
    }
    if sources.contains(&Source::TcpDump) {
        d.push_str(", sock_diag TCP dump");
    }
    if failed > 0 {
        d.push_str(&format!(
            "; {failed} reads answered an error in the last pass"
        ));
    }
    d
}
