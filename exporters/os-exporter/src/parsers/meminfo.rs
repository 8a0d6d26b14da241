//! `/proc/meminfo`: the memory and swap totals, in bytes.

use common::parse::key_value_kb;

/// The fields of `/proc/meminfo` the memory collector uses, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MemInfo {
    /// `MemTotal`.
    pub(crate) mem_total: f64,
    /// `MemAvailable`, or `MemFree + Buffers + Cached` on kernels before 3.14 that lack it.
    pub(crate) mem_available: f64,
    /// `MemFree`.
    pub(crate) mem_free: f64,
    /// `SwapTotal`; 0 when no swap is configured.
    pub(crate) swap_total: f64,
    /// `SwapFree`.
    pub(crate) swap_free: f64,
}

/// Parses `/proc/meminfo`; `None` when `MemTotal` is missing (not a meminfo file).
pub fn parse(bytes: &[u8]) -> Option<MemInfo> {
    let kv = key_value_kb(bytes);
    let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let mem_total = get("MemTotal")?;
    let mem_free = get("MemFree").unwrap_or(0.0);
    let mem_available = get("MemAvailable")
        .unwrap_or_else(|| mem_free + get("Buffers").unwrap_or(0.0) + get("Cached").unwrap_or(0.0));
    Some(MemInfo {
        mem_total,
        mem_available,
        mem_free,
        swap_total: get("SwapTotal").unwrap_or(0.0),
        swap_free: get("SwapFree").unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_memory_and_swap_in_bytes() {
        let m = parse(b"MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\nSwapTotal: 200 kB\nSwapFree: 50 kB\n").unwrap();
        assert_eq!(m.mem_total, 1_024_000.0);
        assert_eq!(m.mem_available, 409_600.0);
        assert_eq!(m.swap_total, 204_800.0);
        assert_eq!(m.swap_free, 51_200.0);
    }

    #[test]
    fn old_kernels_without_memavailable_fall_back() {
        let m =
            parse(b"MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 90 kB\n").unwrap();
        assert_eq!(m.mem_available, 200.0 * 1024.0);
        assert_eq!(m.swap_total, 0.0);
    }

    #[test]
    fn not_a_meminfo_file_is_none() {
        assert_eq!(parse(b"hello\n"), None);
    }
}
