//! The kernel's entropy (the "tomcat启动慢" fault of document 001 §3.5: low entropy blocks
//! SecureRandom): `os_entropy_available` and `os_entropy_pool_size` from
//! `/proc/sys/kernel/random` (raw: since kernel 5.19, and stable backports, both read 256
//! always, so they only mean something on older kernels), and `os_crng_ready`, whether the
//! kernel's CRNG is initialised, asked with `getrandom(GRND_NONBLOCK)`, which fails with EAGAIN
//! until it is (the early-boot window in which `/dev/random` still blocks).

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;

const AVAILABLE: Desc = Desc::gauge(
    "os_entropy_available",
    "bits",
    "Bits in the kernel's entropy pool, entropy_avail (256 always on kernels 5.19 and later; below about 200 on older kernels, /dev/random readers block).",
);
const POOL_SIZE: Desc = Desc::gauge(
    "os_entropy_pool_size",
    "bits",
    "Size of the kernel's entropy pool in bits (poolsize).",
);
const CRNG_READY: Desc = Desc::gauge(
    "os_crng_ready",
    "1",
    "1 when the kernel's CRNG is initialised (getrandom with GRND_NONBLOCK succeeds), 0 before: /dev/random and a JVM seeding from it block.",
);

struct Entropy {
    paths: SysPaths,
}

/// `Some(true)` ready, `Some(false)` not yet, `None` cannot tell (no getrandom).
fn crng_ready() -> Option<bool> {
    let mut byte = [0u8; 1];
    match rustix::rand::getrandom(&mut byte, rustix::rand::GetRandomFlags::NONBLOCK) {
        Ok(_) => Some(true),
        Err(rustix::io::Errno::AGAIN) => Some(false),
        Err(_) => None,
    }
}

impl Collector for Entropy {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        for (desc, file) in [
            (&AVAILABLE, "sys/kernel/random/entropy_avail"),
            (&POOL_SIZE, "sys/kernel/random/poolsize"),
        ] {
            // A tree without the file (a fixture, a restricted /proc) has no row.
            if let Ok(b) = std::fs::read_to_string(self.paths.proc(file))
                && let Ok(v) = b.trim().parse::<f64>()
            {
                set.add(desc, &[], v);
            }
        }
        // The running kernel's CRNG, whatever tree --path.procfs names.
        if let Some(r) = crng_ready() {
            set.add(&CRNG_READY, &[], f64::from(u8::from(r)));
        }
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Box<dyn Collector>> {
    Ok(Some(Box::new(Entropy {
        paths: e.paths.clone(),
    })))
}

/// Registry entry: `os_scrape_collector_success{collector="entropy"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "entropy",
    enabled_by_default: true,
    file: file!(),
    metrics: &[AVAILABLE, POOL_SIZE, CRNG_READY],
    build: Build::Inline(build),
};
