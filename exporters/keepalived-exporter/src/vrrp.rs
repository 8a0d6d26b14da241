//! The per-instance view of keepalived's VRRP state that both dump formats are parsed into.

use std::net::IpAddr;

/// A VRRP instance state as keepalived names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpState {
    /// INIT (before the first transition).
    Init,
    /// BACKUP.
    Backup,
    /// MASTER.
    Master,
    /// FAULT.
    Fault,
    /// STOP (being shut down).
    Stop,
}

impl VrrpState {
    /// Every state, in label order.
    pub const ALL: [VrrpState; 5] = [
        VrrpState::Init,
        VrrpState::Backup,
        VrrpState::Master,
        VrrpState::Fault,
        VrrpState::Stop,
    ];

    /// The `state` label value.
    pub fn label(self) -> &'static str {
        match self {
            VrrpState::Init => "init",
            VrrpState::Backup => "backup",
            VrrpState::Master => "master",
            VrrpState::Fault => "fault",
            VrrpState::Stop => "stop",
        }
    }

    /// keepalived's numeric state (`VRRP_STATE_*` in vrrp.h, as in the JSON dump).
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(VrrpState::Init),
            1 => Some(VrrpState::Backup),
            2 => Some(VrrpState::Master),
            3 => Some(VrrpState::Fault),
            97 | 98 => Some(VrrpState::Stop),
            _ => None,
        }
    }

    /// The word in the text data dump (`State = MASTER`).
    pub fn from_word(word: &str) -> Option<Self> {
        match word.trim() {
            "INIT" => Some(VrrpState::Init),
            "BACKUP" => Some(VrrpState::Backup),
            "MASTER" => Some(VrrpState::Master),
            "FAULT" => Some(VrrpState::Fault),
            "STOP" | "DELETED" => Some(VrrpState::Stop),
            _ => None,
        }
    }
}

/// One virtual address of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// The address.
    pub address: IpAddr,
    /// `dev X` of the VIP line, when given (else the instance's interface).
    pub interface: Option<String>,
}

impl Vip {
    /// Parses keepalived's VIP rendering, e.g. `10.77.0.100/24 dev eth0 scope global set`.
    pub fn parse(text: &str) -> Option<Vip> {
        let mut words = text.split_whitespace();
        let addr = words.next()?.split('/').next()?;
        let address: IpAddr = addr.parse().ok()?;
        let mut interface = None;
        while let Some(w) = words.next() {
            if w == "dev" {
                interface = words.next().map(str::to_owned);
            }
        }
        Some(Vip { address, interface })
    }
}

/// Gratuitous ARP settings in force for an instance.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Garp {
    /// Seconds between the burst on becoming master and the repeat burst.
    pub delay_seconds: Option<f64>,
    /// GARPs per burst.
    pub repeat: Option<f64>,
    /// Periodic refresh interval while master; 0 = off.
    pub refresh_seconds: Option<f64>,
    /// GARPs per refresh.
    pub refresh_repeat: Option<f64>,
}

/// VRRP counters of one instance (SIGJSON `stats` or the SIGUSR2 stats dump).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VrrpStats {
    /// Adverts received.
    pub advert_rcvd: f64,
    /// Adverts sent.
    pub advert_sent: f64,
    /// Transitions to MASTER.
    pub become_master: f64,
    /// Transitions out of MASTER.
    pub release_master: f64,
    /// Priority 0 adverts received (a master giving up).
    pub pri_zero_rcvd: f64,
    /// Priority 0 adverts sent.
    pub pri_zero_sent: f64,
    /// Packet errors (length, TTL, type, interval, address list).
    pub packet_errors: f64,
    /// Authentication errors (invalid type, mismatch, failure).
    pub auth_errors: f64,
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VrrpInstance {
    /// `vrrp_instance` name.
    pub name: String,
    /// Interface it runs on.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u32,
    /// Current state (`None` when keepalived reported a state this parser does not know).
    pub state: Option<VrrpState>,
    /// Configured priority.
    pub base_priority: Option<f64>,
    /// Priority after track weights.
    pub effective_priority: Option<f64>,
    /// Configured VIPs.
    pub vips: Vec<Vip>,
    /// Unix time of the last state change.
    pub last_transition: Option<f64>,
    /// GARP settings.
    pub garp: Garp,
    /// Counters, when the dump has them.
    pub stats: Option<VrrpStats>,
}

impl VrrpInstance {
    /// The interface a VIP lives on.
    pub fn vip_interface<'a>(&'a self, vip: &'a Vip) -> &'a str {
        vip.interface.as_deref().unwrap_or(&self.interface)
    }
}
