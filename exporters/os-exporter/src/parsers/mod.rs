//! Pure parsers, one per kernel source file: bytes in, typed struct out.

pub mod access_log;
pub mod catalina_log;
pub mod cron_log;
pub mod diskstats;
pub mod file_nr;
pub mod hsperfdata;
pub mod kmsg;
pub mod limits;
pub mod loadavg;
pub mod meminfo;
pub mod memory_errors;
pub mod mountinfo;
pub mod net_dev;
pub mod net_tcp;
pub mod netclass;
pub mod netstat;
pub mod ntp_conf;
pub mod server_xml;
pub mod shadow;
pub mod stat;
pub mod syslog_line;
pub mod uptime;
pub mod vmstat;

/// Every parser against mutated real captures and random bytes: items may be skipped, nothing
/// may panic (docs/architecture.md, Collecting: parsers are tolerant). A fixed-seed xorshift keeps it reproducible.
#[cfg(test)]
mod robustness {
    use std::path::PathBuf;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
        }
    }

    fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..=rng.below(8) {
            let at = rng.below(v.len() + 1);
            match rng.below(4) {
                0 if at < v.len() => {
                    let ugly = b" :\n\\0x9\t()-";
                    v[at] = ugly[rng.below(ugly.len())];
                }
                1 if at < v.len() => {
                    let end = (at + rng.below(40)).min(v.len());
                    v.drain(at..end);
                }
                2 => v.insert(at.min(v.len()), rng.next().to_le_bytes()[0]),
                _ => v.truncate(at),
            }
        }
        v
    }

    fn all(b: &[u8]) {
        let _ = super::diskstats::parse(b);
        let _ = super::file_nr::parse(b);
        let _ = super::loadavg::parse(b);
        let _ = super::meminfo::parse(b);
        let _ = super::mountinfo::parse(b);
        let _ = super::net_dev::parse(b);
        let _ = super::netstat::parse(b, b);
        if let Ok(t) = std::str::from_utf8(b) {
            for l in t.lines().filter_map(super::syslog_line::parse) {
                let _ = super::cron_log::reason(l.program, l.message);
            }
        }
        let _ = std::str::from_utf8(b).map(super::ntp_conf::parse);
        let _ = std::str::from_utf8(b).map(common::proc_table::parse_pid_stat);
        let _ = common::proc_table::state_letter(b);
        let _ = super::stat::parse(b);
        let _ = super::uptime::parse_uptime(b);
        let _ = common::proc_table::boot_time(b);
        let _ = super::vmstat::parse(b);
        let _ = super::limits::parse_open_files(b);
        let _ = super::hsperfdata::parse(b).map(|p| super::hsperfdata::JvmStats::from_counters(&p));
        let _ = super::kmsg::parse(b).map(|r| r.is_kernel_error());
        let _ = super::memory_errors::classify(&String::from_utf8_lossy(b));
        let _ = super::netclass::parse(Some(b), Some(b), Some(b));
        let mut c = super::net_tcp::QueueCounts::default();
        if let Ok(t) = std::str::from_utf8(b) {
            let _ = super::server_xml::connector_ports(t);
            let _ = super::catalina_log::classify(t);
            for p in ["common", "combined", t] {
                if let Ok(p) = super::access_log::Pattern::compile(p, Some(10)) {
                    let _ = p.parse(t);
                }
            }
        }
        let _ = super::net_tcp::count_blocked(b, 1, &mut c, |_| {});
        let _ = common::netlink::sock_diag::decode_datagram(b, 0, &mut |_| {});
        let _ = common::netlink::sock_diag::decode(20, b);
    }

    #[test]
    fn parsers_survive_mutated_captures_and_noise() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ugly/proc");
        let files = [
            "stat",
            "self/mountinfo",
            "diskstats",
            "net/dev",
            "net/netstat",
            "net/tcp",
            "net/tcp6",
            "42/stat",
            "meminfo",
            "uptime",
        ];
        let inputs: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(root.join(f)).unwrap())
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..3000 {
            let base = &inputs[round % inputs.len()];
            all(&mutate(&mut rng, base));
        }
        for len in 0..200 {
            let noise: Vec<u8> = (0..len).map(|_| rng.next().to_le_bytes()[0]).collect();
            all(&noise);
        }
    }
}
