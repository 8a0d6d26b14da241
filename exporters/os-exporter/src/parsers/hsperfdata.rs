//! The JVM's hsperfdata file (`/tmp/hsperfdata_<user>/<pid>`, jvmstat PerfData v2): bytes in,
//! named counters out ([`parse`]); then the counters a JVM row needs ([`JvmStats::from_counters`]).
//!
//! Layout (HotSpot `perfMemory.hpp`, `perfData.cpp`): a 32-byte prologue (magic `CA FE C0 C0`,
//! byte order, version 2.0, accessible flag, used bytes, entry offset, entry count), then
//! contiguous entries of a 20-byte header, a NUL-terminated name and the data: `J` longs and `B`
//! byte vectors (strings). The file is 32 KiB of shared memory another process writes, so every
//! offset is checked against the length before it is read.

use std::collections::BTreeMap;

/// The prologue's size; the first entry cannot start before it.
const PROLOGUE_LEN: usize = 32;
/// An entry's fixed header.
const ENTRY_HEADER_LEN: usize = 20;
/// HotSpot names are short (`sun.gc.generation.0.space.2.initCapacity`); longer is not ours.
const MAX_NAME_LEN: usize = 256;
/// Strings (`java.rt.vmArgs`, `sun.rt.javaCommand`) are kept up to this many bytes.
const MAX_STRING_LEN: usize = 1024;

/// Why a file is not a PerfData file we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsperfError {
    /// Shorter than the prologue.
    #[error("hsperfdata too short: {len} bytes, the prologue alone is 32")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// Not `CA FE C0 C0`.
    #[error("not an hsperfdata file: magic {0:02x?}")]
    BadMagic([u8; 4]),
    /// The byte-order byte is neither 0 (big) nor 1 (little).
    #[error("hsperfdata byte order {0} is neither 0 nor 1")]
    BadByteOrder(u8),
    /// A major version other than 2.
    #[error("hsperfdata version {major}.{minor} is not 2.x")]
    UnsupportedVersion {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// The JVM has not finished setting the file up (accessible byte 0).
    #[error("hsperfdata not accessible yet (the JVM is still creating it)")]
    NotAccessible,
    /// The prologue says more bytes are used than the file holds: a cut copy.
    #[error("hsperfdata truncated: {used} bytes used but the file has {len}")]
    Truncated {
        /// The prologue's `used`.
        used: usize,
        /// The file's length.
        len: usize,
    },
    /// An entry header, name or value lies outside the used bytes.
    #[error("hsperfdata entry {index} at offset {offset} is out of bounds: {what}")]
    BadEntry {
        /// The entry's position in the file.
        index: usize,
        /// Its offset from the start of the file.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
}

/// One counter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A `J` scalar.
    Long(i64),
    /// A `B` vector up to its first NUL (strings), lossily decoded.
    Str(String),
}

/// A parsed PerfData file: every entry by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerfData {
    /// The entries; a name seen twice keeps its first value.
    pub entries: BTreeMap<String, Value>,
}

impl PerfData {
    /// A `J` entry.
    pub fn long(&self, name: &str) -> Option<i64> {
        match self.entries.get(name)? {
            Value::Long(v) => Some(*v),
            Value::Str(_) => None,
        }
    }

    /// A `B` entry as text.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.entries.get(name)? {
            Value::Str(v) => Some(v),
            Value::Long(_) => None,
        }
    }
}

/// Reads fixed-size integers in the file's byte order, `None` past the end.
struct Reader<'a> {
    buf: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.buf.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn i32(&self, at: usize) -> Option<i32> {
        let b = self.bytes::<4>(at)?;
        Some(if self.little {
            i32::from_le_bytes(b)
        } else {
            i32::from_be_bytes(b)
        })
    }

    fn i64(&self, at: usize) -> Option<i64> {
        let b = self.bytes::<8>(at)?;
        Some(if self.little {
            i64::from_le_bytes(b)
        } else {
            i64::from_be_bytes(b)
        })
    }

    /// A non-negative `i32` as an offset or length.
    fn len(&self, at: usize) -> Option<usize> {
        usize::try_from(self.i32(at)?).ok()
    }
}

/// Parses a PerfData v2 file.
///
/// # Errors
/// [`HsperfError`] when the bytes are not a complete, ready PerfData v2 file or an entry points
/// outside it.
pub fn parse(buf: &[u8]) -> Result<PerfData, HsperfError> {
    if buf.len() < PROLOGUE_LEN {
        return Err(HsperfError::TooShort { len: buf.len() });
    }
    let magic = [buf[0], buf[1], buf[2], buf[3]];
    if magic != [0xca, 0xfe, 0xc0, 0xc0] {
        return Err(HsperfError::BadMagic(magic));
    }
    let little = match buf[4] {
        0 => false,
        1 => true,
        other => return Err(HsperfError::BadByteOrder(other)),
    };
    if buf[5] != 2 {
        return Err(HsperfError::UnsupportedVersion {
            major: buf[5],
            minor: buf[6],
        });
    }
    if buf[7] == 0 {
        return Err(HsperfError::NotAccessible);
    }
    let r = Reader { buf, little };
    let prologue = |what| HsperfError::BadEntry {
        index: 0,
        offset: 8,
        what,
    };
    let used = r.len(8).ok_or(prologue("negative used size"))?;
    if used > buf.len() {
        return Err(HsperfError::Truncated {
            used,
            len: buf.len(),
        });
    }
    let used_bytes = &buf[..used];
    let r = Reader {
        buf: used_bytes,
        little,
    };
    let mut offset = r.len(24).ok_or(prologue("bad entry offset"))?;
    let count = r.len(28).ok_or(prologue("negative entry count"))?;
    if offset < PROLOGUE_LEN {
        return Err(prologue("entry offset inside the prologue"));
    }
    // Each entry takes at least its header: a larger count cannot fit.
    if count > used / ENTRY_HEADER_LEN {
        return Err(prologue("more entries than fit in the used bytes"));
    }
    let mut entries = BTreeMap::new();
    for index in 0..count {
        let bad = |what| HsperfError::BadEntry {
            index,
            offset,
            what,
        };
        let header = |field: usize| r.len(offset + field).ok_or(bad("header past the end"));
        let entry_len = header(0)?;
        let name_off = header(4)?;
        let vector_len = header(8)?;
        let data_type = r
            .bytes::<1>(offset + 12)
            .ok_or(bad("header past the end"))?[0];
        let data_off = header(16)?;
        let end = offset
            .checked_add(entry_len)
            .filter(|e| *e <= used)
            .ok_or(bad("entry longer than the file"))?;
        if entry_len < ENTRY_HEADER_LEN {
            return Err(bad("entry shorter than its header"));
        }
        let entry = &used_bytes[offset..end];
        if name_off < ENTRY_HEADER_LEN || name_off >= entry.len() {
            return Err(bad("name outside the entry"));
        }
        let name_bytes = &entry[name_off..];
        let name_end = name_bytes
            .iter()
            .position(|b| *b == 0)
            .filter(|n| *n <= MAX_NAME_LEN)
            .ok_or(bad("name not NUL-terminated"))?;
        let name = String::from_utf8_lossy(&name_bytes[..name_end]).into_owned();
        let value = match (data_type, vector_len) {
            (b'J', 0) => {
                let er = Reader { buf: entry, little };
                Value::Long(er.i64(data_off).ok_or(bad("long outside the entry"))?)
            }
            (b'B', n) => {
                let data = data_off
                    .checked_add(n)
                    .and_then(|e| entry.get(data_off..e))
                    .ok_or(bad("vector outside the entry"))?;
                let text = data.split(|b| *b == 0).next().unwrap_or_default();
                let text = &text[..text.len().min(MAX_STRING_LEN)];
                Value::Str(String::from_utf8_lossy(text).into_owned())
            }
            // Other types (vectors of longs, never used by HotSpot 17) are skipped, not fatal.
            _ => {
                offset = end;
                continue;
            }
        };
        entries.entry(name).or_insert(value);
        offset = end;
    }
    Ok(PerfData { entries })
}

/// The garbage collector the JVM runs, from `sun.gc.policy.name` or the collector names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcPolicy {
    /// `-XX:+UseG1GC` (`GarbageFirst`).
    G1,
    /// `-XX:+UseParallelGC` (`ParScav:MSC`).
    Parallel,
    /// `-XX:+UseSerialGC` (`Copy:MSC`).
    Serial,
    /// `-XX:+UseZGC` (no policy name, only `Z concurrent cycle pauses`).
    Z,
    /// `-XX:+UseShenandoahGC` (no policy name, `Shenandoah full`).
    Shenandoah,
    /// Anything else (an older JVM's CMS, a vendor collector).
    Other,
}

impl GcPolicy {
    /// The `policy` label value.
    pub fn label(self) -> &'static str {
        match self {
            GcPolicy::G1 => "g1",
            GcPolicy::Parallel => "parallel",
            GcPolicy::Serial => "serial",
            GcPolicy::Z => "z",
            GcPolicy::Shenandoah => "shenandoah",
            GcPolicy::Other => "other",
        }
    }

    /// Whether `sun.gc.collector.1` counts full (stop-the-world, whole-heap) collections: not
    /// on Shenandoah, whose collector 1 counts every cycle, nor on ZGC, which has none.
    pub fn full_count_meaningful(self) -> bool {
        matches!(
            self,
            GcPolicy::G1 | GcPolicy::Parallel | GcPolicy::Serial | GcPolicy::Other
        )
    }

    fn detect(p: &PerfData) -> Self {
        match p.string("sun.gc.policy.name") {
            Some("GarbageFirst") => return GcPolicy::G1,
            Some(n) if n.starts_with("ParScav") => return GcPolicy::Parallel,
            Some(n) if n.starts_with("Copy") => return GcPolicy::Serial,
            _ => {}
        }
        let names: Vec<&str> = (0..3)
            .filter_map(|i| p.string(&format!("sun.gc.collector.{i}.name")))
            .collect();
        if names.iter().any(|n| n.starts_with("Shenandoah")) {
            GcPolicy::Shenandoah
        } else if names.iter().any(|n| n.starts_with("Z ")) {
            GcPolicy::Z
        } else {
            GcPolicy::Other
        }
    }
}

/// One collector's counters (`sun.gc.collector.N.*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectorStats {
    /// Collections since the JVM started.
    pub invocations: u64,
    /// Time spent in them, seconds.
    pub time_seconds: f64,
    /// When the last one ended, seconds since the epoch; `None` before the first.
    pub last_end_seconds: Option<f64>,
    /// How long the last one took, seconds; `None` before the first.
    pub last_duration_seconds: Option<f64>,
}

/// What a JVM row needs, from one [`PerfData`].
#[derive(Debug, Clone, PartialEq)]
pub struct JvmStats {
    /// The collector in use.
    pub policy: GcPolicy,
    /// `sun.rt.createVmBeginTime`, seconds since the epoch.
    pub start_seconds: f64,
    /// Heap in use: the sum of every space's `used`, bytes.
    pub heap_used_bytes: f64,
    /// Heap committed: the sum of every generation's `capacity`, bytes.
    pub heap_committed_bytes: f64,
    /// The heap's maximum, bytes: G1 reports the whole heap as each generation's maximum, so
    /// its old generation alone; other collectors, the sum.
    pub heap_max_bytes: f64,
    /// The young collector (`collector.0`); `None` on ZGC.
    pub young: Option<CollectorStats>,
    /// The full collector (`collector.1`); `None` on ZGC.
    pub full: Option<CollectorStats>,
    /// Live Java threads (`java.threads.live`).
    pub threads_live: Option<f64>,
    /// `sun.rt.javaCommand`: main class or `-jar` file and its arguments.
    pub java_command: Option<String>,
    /// `java.property.java.home`: where the JVM's `java.security` is.
    pub java_home: Option<String>,
    /// `java.rt.vmArgs`: the JVM's options, `-D` properties included.
    pub vm_args: Option<String>,
}

/// Why counters cannot give a [`JvmStats`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// A counter every HotSpot writes is missing or out of range.
    #[error("hsperfdata lacks a usable {0}")]
    Missing(&'static str),
}

impl JvmStats {
    /// Maps the counters of a HotSpot PerfData file.
    ///
    /// # Errors
    /// [`StatsError`] when the start time or timer frequency is missing or not positive.
    #[allow(clippy::cast_precision_loss)]
    pub fn from_counters(p: &PerfData) -> Result<Self, StatsError> {
        let start_ms = p
            .long("sun.rt.createVmBeginTime")
            .filter(|v| *v > 0)
            .ok_or(StatsError::Missing("sun.rt.createVmBeginTime"))?;
        let freq = p
            .long("sun.os.hrt.frequency")
            .filter(|v| *v > 0)
            .ok_or(StatsError::Missing("sun.os.hrt.frequency"))? as f64;
        let start_seconds = start_ms as f64 / 1000.0;
        let policy = GcPolicy::detect(p);
        let nonneg = |name: &str| p.long(name).map_or(0.0, |v| v.max(0) as f64);
        let (mut used, mut committed, mut max_sum) = (0.0, 0.0, 0.0);
        let mut max_old = 0.0;
        for g in 0..2 {
            let pre = format!("sun.gc.generation.{g}");
            committed += nonneg(&format!("{pre}.capacity"));
            let max = nonneg(&format!("{pre}.maxCapacity"));
            max_sum += max;
            if g == 1 {
                max_old = max;
            }
            let spaces = p.long(&format!("{pre}.spaces")).unwrap_or(0).clamp(0, 8);
            for s in 0..spaces {
                used += nonneg(&format!("{pre}.space.{s}.used"));
            }
        }
        let collector = |n: u32| -> Option<CollectorStats> {
            let pre = format!("sun.gc.collector.{n}");
            let invocations = p.long(&format!("{pre}.invocations"))?;
            let entry = p.long(&format!("{pre}.lastEntryTime")).unwrap_or(0);
            let exit = p.long(&format!("{pre}.lastExitTime")).unwrap_or(0);
            // Both are 0 until the first collection; an exit before its entry is one in progress.
            let done = exit > 0;
            Some(CollectorStats {
                invocations: u64::try_from(invocations).unwrap_or(0),
                time_seconds: nonneg(&format!("{pre}.time")) / freq,
                last_end_seconds: done.then(|| start_seconds + exit as f64 / freq),
                last_duration_seconds: done.then(|| (exit - entry).max(0) as f64 / freq),
            })
        };
        let (young, full) = if policy == GcPolicy::Z {
            (None, None)
        } else {
            (collector(0), collector(1))
        };
        Ok(Self {
            policy,
            start_seconds,
            heap_used_bytes: used,
            heap_committed_bytes: committed,
            heap_max_bytes: if policy == GcPolicy::G1 {
                max_old
            } else {
                max_sum
            },
            young,
            full,
            threads_live: p.long("java.threads.live").map(|v| v.max(0) as f64),
            java_command: p.string("sun.rt.javaCommand").map(str::to_owned),
            java_home: p.string("java.property.java.home").map(str::to_owned),
            vm_args: p.string("java.rt.vmArgs").map(str::to_owned),
        })
    }

    /// Heap used as a percentage of its maximum; `None` when the maximum is unknown.
    pub fn heap_use_percent(&self) -> Option<f64> {
        (self.heap_max_bytes > 0.0).then(|| self.heap_used_bytes / self.heap_max_bytes * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hsperfdata")
            .join(name);
        std::fs::read(p).unwrap()
    }

    fn stats(name: &str) -> JvmStats {
        JvmStats::from_counters(&parse(&fixture(name)).unwrap()).unwrap()
    }

    const MIB256: f64 = 268_435_456.0;

    #[test]
    fn g1_maps_young_full_and_does_not_double_the_max() {
        let p = parse(&fixture("jdk17_g1.hsperfdata")).unwrap();
        assert_eq!(p.string("sun.gc.policy.name"), Some("GarbageFirst"));
        assert!(p.entries.len() > 150, "{}", p.entries.len());
        let s = JvmStats::from_counters(&p).unwrap();
        assert_eq!(s.policy, GcPolicy::G1);
        // jstat -gcutil of that JVM said YGC 8, FGC 2.
        assert_eq!(s.young.unwrap().invocations, 8);
        let full = s.full.unwrap();
        assert_eq!(full.invocations, 2);
        assert!((full.time_seconds - 0.076).abs() < 0.001, "{full:?}");
        // -Xmx256m: G1 writes 256 MiB + 8 bytes as the old generation's maximum.
        assert!(
            (s.heap_max_bytes - MIB256).abs() < 64.0,
            "{}",
            s.heap_max_bytes
        );
        let end = full.last_end_seconds.unwrap();
        assert!(end > s.start_seconds && end < s.start_seconds + 10.0);
        assert!(full.last_duration_seconds.unwrap() < full.time_seconds);
        assert_eq!(s.threads_live, Some(6.0));
        assert_eq!(s.java_command.as_deref(), Some("GcDemo"));
        assert!(s.policy.full_count_meaningful());
    }

    #[test]
    fn parallel_and_serial_sum_both_generations() {
        for (f, policy, young, full) in [
            ("jdk17_parallel.hsperfdata", GcPolicy::Parallel, 13, 2),
            ("jdk17_serial.hsperfdata", GcPolicy::Serial, 10, 2),
        ] {
            let s = stats(f);
            assert_eq!(s.policy, policy, "{f}");
            assert_eq!(s.heap_max_bytes, MIB256, "{f}");
            assert_eq!(s.young.unwrap().invocations, young, "{f}");
            assert_eq!(s.full.unwrap().invocations, full, "{f}");
            assert!(s.heap_used_bytes > 0.0 && s.heap_used_bytes <= s.heap_committed_bytes);
        }
    }

    #[test]
    fn z_has_no_young_or_full_collector() {
        let s = stats("jdk17_z.hsperfdata");
        assert_eq!(s.policy, GcPolicy::Z);
        assert_eq!((s.young, s.full), (None, None));
        assert!(!s.policy.full_count_meaningful());
        assert_eq!(s.heap_max_bytes, MIB256);
        // jstat said O 7.03 % of the 256 MiB.
        assert_eq!(s.heap_used_bytes, 18_874_368.0);
    }

    #[test]
    fn shenandoah_full_count_is_flagged_meaningless() {
        let s = stats("jdk17_shenandoah.hsperfdata");
        assert_eq!(s.policy, GcPolicy::Shenandoah);
        assert!(!s.policy.full_count_meaningful());
        assert_eq!(s.full.unwrap().invocations, 96);
    }

    #[test]
    fn cut_foreign_and_unready_files_are_typed_errors() {
        let good = fixture("jdk17_g1.hsperfdata");
        assert_eq!(parse(&good[..10]), Err(HsperfError::TooShort { len: 10 }));
        assert!(matches!(
            parse(&good[..4096]),
            Err(HsperfError::Truncated { len: 4096, .. })
        ));
        assert!(matches!(
            parse(b"#!/bin/sh\necho this is not perf data at all\n"),
            Err(HsperfError::BadMagic(_))
        ));
        let mut v = good.clone();
        v[7] = 0;
        assert_eq!(parse(&v), Err(HsperfError::NotAccessible));
        let mut v = good.clone();
        v[4] = 7;
        assert_eq!(parse(&v), Err(HsperfError::BadByteOrder(7)));
        let mut v = good.clone();
        v[5] = 1;
        assert!(matches!(
            parse(&v),
            Err(HsperfError::UnsupportedVersion { major: 1, .. })
        ));
        // The first entry's length pointing past the end.
        let mut v = good;
        v[32..36].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(matches!(
            parse(&v),
            Err(HsperfError::BadEntry { index: 0, .. })
        ));
    }

    #[test]
    fn big_endian_files_parse_too() {
        // One entry, built by hand as a big-endian JVM would write it.
        let mut v = vec![0xca, 0xfe, 0xc0, 0xc0, 0, 2, 0, 1];
        let name = b"java.threads.live\0\0\0\0\0";
        let entry_len = 20 + name.len() + 8;
        let used = 32 + entry_len;
        v.extend_from_slice(&i32::try_from(used).unwrap().to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&0i64.to_be_bytes());
        v.extend_from_slice(&32i32.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes());
        v.extend_from_slice(&i32::try_from(entry_len).unwrap().to_be_bytes());
        v.extend_from_slice(&20i32.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&[b'J', 1, 4, 3]);
        v.extend_from_slice(&i32::try_from(20 + name.len()).unwrap().to_be_bytes());
        v.extend_from_slice(name);
        v.extend_from_slice(&42i64.to_be_bytes());
        assert_eq!(parse(&v).unwrap().long("java.threads.live"), Some(42));
    }

    #[test]
    fn every_cut_of_a_real_file_is_an_error_or_a_parse_never_a_panic() {
        let good = fixture("jdk17_parallel.hsperfdata");
        for len in (0..good.len()).step_by(7) {
            let _ = parse(&good[..len]).map(|p| JvmStats::from_counters(&p));
        }
    }
}
