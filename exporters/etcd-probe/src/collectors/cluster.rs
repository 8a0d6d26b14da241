//! The network collector: every configured member probed concurrently under the scrape deadline
//! (`/health`, `/metrics`, v3 status), then the cluster view (members, quorum, leader) and the
//! data-loss detector.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::http_probe::{Failure, HttpProbe, ProbeOptions, Response};
use common::{
    AsyncCollector, Build, CollectError, CollectFuture, CollectorDef, Desc, MetricSet,
    MutexExt as _, ScrapeContext, SetupError,
};

use crate::EtcdProbe;
use crate::config::Config;
use crate::data_loss::{self, Kind, Observation, State};
use crate::gateway::{self, MemberList, RangeCount, Status};
use crate::health;
use crate::member_metrics;

/// Most listed-but-unconfigured members asked for /health in one scrape.
const MAX_UNCONFIGURED: usize = 16;

/// Largest body read from a member (etcd's /metrics is about 150 KiB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// `etcd_endpoint_up{endpoint}`.
const ENDPOINT_UP: Desc = Desc::gauge(
    "etcd_endpoint_up",
    "1",
    "Whether the member's client URL answered HTTP (1) or not (0).",
);
/// `etcd_endpoint_probe_failure{endpoint,reason}`, only while /health cannot be read.
const ENDPOINT_PROBE_FAILURE: Desc = Desc::gauge(
    "etcd_endpoint_probe_failure",
    "1",
    "Why the member's /health could not be read (1 for the current reason).",
);
/// `etcd_health{endpoint}`.
const HEALTH: Desc = Desc::gauge(
    "etcd_health",
    "1",
    "Whether the member's /health says healthy (1) or not (0: unhealthy, alarm such as NOSPACE, no leader, unreachable).",
);
/// `etcd_endpoint_gateway_up{endpoint}`.
const ENDPOINT_GATEWAY_UP: Desc = Desc::gauge(
    "etcd_endpoint_gateway_up",
    "1",
    "Whether the member's v3 JSON gateway answered a status request (1) or not (0: unreachable, or with mTLS a server certificate without clientAuth).",
);
/// `etcd_endpoint_is_leader{endpoint}`, only for members that answered v3 status.
const ENDPOINT_IS_LEADER: Desc = Desc::gauge(
    "etcd_endpoint_is_leader",
    "1",
    "Whether the member reports itself as the raft leader (1) or not (0), from v3 status.",
);
/// `etcd_cluster_healthy_members`.
const CLUSTER_HEALTHY_MEMBERS: Desc = Desc::gauge(
    "etcd_cluster_healthy_members",
    "1",
    "Members whose /health is healthy: the configured endpoints plus the other listed voting members at their first client URL.",
);
/// `etcd_cluster_has_leader`.
const CLUSTER_HAS_LEADER: Desc = Desc::gauge(
    "etcd_cluster_has_leader",
    "1",
    "Whether an answering member reports a raft leader (1) or none does (0).",
);
/// `etcd_cluster_alarm_active{alarm}`.
const CLUSTER_ALARM_ACTIVE: Desc = Desc::gauge(
    "etcd_cluster_alarm_active",
    "1",
    "Whether a cluster alarm is raised (1) or not (0), from v3 status.",
);
/// `etcd_cluster_raft_term`, only when a member answered v3 status.
const CLUSTER_RAFT_TERM: Desc = Desc::gauge(
    "etcd_cluster_raft_term",
    "1",
    "Highest raft term reported (increases with every election).",
);
/// `etcd_cluster_members`, only when a member answered the member list.
const CLUSTER_MEMBERS: Desc = Desc::gauge(
    "etcd_cluster_members",
    "1",
    "Members listed by the cluster (voting and learners).",
);
/// `etcd_cluster_voting_members`.
const CLUSTER_VOTING_MEMBERS: Desc = Desc::gauge(
    "etcd_cluster_voting_members",
    "1",
    "Voting members listed by the cluster.",
);
/// `etcd_cluster_quorum`.
const CLUSTER_QUORUM: Desc = Desc::gauge(
    "etcd_cluster_quorum",
    "1",
    "Voting members needed for quorum (voting / 2 + 1).",
);
/// `etcd_cluster_member_info{member,learner}`.
const CLUSTER_MEMBER_INFO: Desc = Desc::info(
    "etcd_cluster_member_info",
    "A member listed by the cluster (name, learner), value 1.",
);
/// `etcd_cluster_keys`, only when the newest member answered the range count.
const CLUSTER_KEYS: Desc = Desc::gauge(
    "etcd_cluster_keys",
    "1",
    "Keys in the cluster (v3 range count over all keys).",
);
/// `etcd_cluster_revision`.
const CLUSTER_REVISION: Desc = Desc::gauge(
    "etcd_cluster_revision",
    "1",
    "Highest store revision reported.",
);
/// `etcd_data_loss_events_total{kind}`, persisted in the state file.
const DATA_LOSS_EVENTS: Desc = Desc::counter(
    "etcd_data_loss_events_total",
    "1",
    "Evidence of etcd data loss seen by this probe (persisted across its restarts), by kind.",
);
/// `etcd_data_loss_last_event_timestamp_seconds`, persisted in the state file.
const DATA_LOSS_LAST_EVENT: Desc = Desc::gauge(
    "etcd_data_loss_last_event_timestamp_seconds",
    "seconds",
    "Unix time of the last data-loss evidence, in seconds (0: never).",
);

/// What one member answered in one scrape.
#[derive(Debug, Default)]
struct MemberResult {
    endpoint: String,
    /// `None` when /health gave no usable answer.
    health: Option<bool>,
    failure: Option<Failure>,
    metrics: Option<String>,
    status: Option<Status>,
    members: Option<MemberList>,
    count: Option<RangeCount>,
}

/// The async collector of the cluster and its members.
pub struct ClusterProbe {
    http: HttpProbe,
    endpoints: Vec<String>,
    request_timeout: Duration,
    key_drop_ratio: f64,
    state_file: Option<PathBuf>,
    state: Arc<Mutex<State>>,
    /// False under `diagnose`: the running probe owns the state file, so it is read, never written.
    persist: bool,
    /// Set once a save failed, so a read-only disk is logged once, not at every change.
    save_failed: AtomicBool,
}

impl std::fmt::Debug for ClusterProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterProbe")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl ClusterProbe {
    /// Builds the prober; fails on unusable TLS files or a corrupt state file. With `persist`
    /// false the state file is read but never written.
    pub fn new(cfg: &Config, persist: bool) -> Result<Self, SetupError> {
        let opts = ProbeOptions {
            tls: cfg.tls.clone(),
            max_body_bytes: MAX_BODY,
            user_agent: format!("etcd-probe/{}", env!("CARGO_PKG_VERSION")),
        };
        let http =
            HttpProbe::new(&opts).map_err(|e| SetupError::Config(format!("field `tls`: {e}")))?;
        let state = match &cfg.state_file {
            Some(p) => data_loss::load(p)
                .map_err(|e| SetupError::Config(format!("field `state_file`: {e}")))?,
            None => State::default(),
        };
        Ok(Self {
            http,
            endpoints: cfg
                .endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_owned())
                .collect(),
            request_timeout: cfg.request_timeout,
            key_drop_ratio: cfg.key_drop_ratio,
            state_file: cfg.state_file.clone(),
            state: Arc::new(Mutex::new(state)),
            persist,
            save_failed: AtomicBool::new(false),
        })
    }

    async fn probe_member(http: HttpProbe, endpoint: String, deadline: Instant) -> MemberResult {
        let url = |path: &str| format!("{endpoint}{path}");
        // Everything is asked of every member at once: a hung member must not delay the cluster
        // view, which comes from whichever member answers.
        let (health_url, metrics_url, version_url) =
            (url("/health"), url("/metrics"), url("/version"));
        let (h, m, s, v, list, count) = tokio::join!(
            http.get(&health_url, deadline),
            http.get(&metrics_url, deadline),
            gateway_call::<Status>(
                &http,
                url("/v3/maintenance/status"),
                gateway::EMPTY_REQUEST,
                deadline
            ),
            http.get(&version_url, deadline),
            gateway_call::<MemberList>(
                &http,
                url("/v3/cluster/member/list"),
                gateway::EMPTY_REQUEST,
                deadline
            ),
            gateway_call::<RangeCount>(
                &http,
                url("/v3/kv/range"),
                gateway::COUNT_ALL_KEYS,
                deadline
            ),
        );
        let mut r = MemberResult {
            endpoint,
            status: s,
            members: list,
            count,
            ..MemberResult::default()
        };
        match h {
            Ok(resp) => match health::parse(&resp.body) {
                Ok(parsed) => r.health = Some(parsed.healthy),
                Err(e) => log::debug!("{}/health: {e}", r.endpoint),
            },
            Err(f) => r.failure = Some(f),
        }
        // Servers new enough to have a readiness endpoint must also be ready to count as healthy.
        let has_readyz = v
            .ok()
            .and_then(|resp| health::parse_version(&resp.body))
            .is_some_and(|v| v.has_readyz());
        if has_readyz && r.health == Some(true) {
            let ready = http.get(&format!("{}/readyz", r.endpoint), deadline).await;
            r.health = Some(matches!(ready, Ok(Response { status: 200, .. })));
        }
        if let Ok(Response {
            status: 200, body, ..
        }) = m
        {
            r.metrics = Some(String::from_utf8_lossy(&body).into_owned());
        }
        r
    }

    async fn run(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let deadline = members_deadline(Instant::now(), ctx.deadline, self.request_timeout);
        // One task per member, so a hung member costs no other member's time; dropping the set at
        // the scrape deadline aborts them all.
        let mut set = tokio::task::JoinSet::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            let (http, e) = (self.http.clone(), e.clone());
            set.spawn(async move { (i, Self::probe_member(http, e, deadline).await) });
        }
        let mut indexed = Vec::with_capacity(self.endpoints.len());
        while let Some(joined) = set.join_next().await {
            indexed
                .push(joined.map_err(|e| CollectError::Other(format!("member probe task: {e}")))?);
        }
        indexed.sort_by_key(|(i, _)| *i);
        let results: Vec<MemberResult> = indexed.into_iter().map(|(_, r)| r).collect();
        let mut m = MetricSet::new();
        let mut healthy = 0_u32;
        for r in &results {
            let ep = [("endpoint", r.endpoint.as_str())];
            let up = r.failure.is_none();
            m.add(&ENDPOINT_UP, &ep, f64::from(u8::from(up)));
            if let Some(f) = &r.failure {
                m.add(
                    &ENDPOINT_PROBE_FAILURE,
                    &[
                        ("endpoint", r.endpoint.as_str()),
                        ("reason", f.reason.as_str()),
                    ],
                    1.0,
                );
            }
            let ok = r.health == Some(true);
            healthy += u32::from(ok);
            m.add(&HEALTH, &ep, f64::from(u8::from(ok)));
            m.add(
                &ENDPOINT_GATEWAY_UP,
                &ep,
                f64::from(u8::from(r.status.is_some())),
            );
            if let Some(s) = &r.status {
                let is_leader = s.leader != 0 && s.leader == s.header.member_id;
                m.add(&ENDPOINT_IS_LEADER, &ep, f64::from(u8::from(is_leader)));
            }
            if let Some(text) = &r.metrics {
                member_metrics::reexport(text, &r.endpoint, &mut m);
            }
        }
        // Members the configuration does not name are asked for /health at their first client
        // URL, so a probe configured with only its local member still sees the cluster's health.
        if let Some(list) = results.iter().find_map(|r| r.members.as_ref()) {
            let extra: Vec<String> = list
                .members
                .iter()
                .filter(|x| !x.is_learner)
                .filter(|x| {
                    !x.client_urls
                        .iter()
                        .any(|u| self.endpoints.iter().any(|e| e == u.trim_end_matches('/')))
                })
                .filter_map(|x| {
                    x.client_urls
                        .first()
                        .map(|u| u.trim_end_matches('/').to_owned())
                })
                .take(MAX_UNCONFIGURED)
                .collect();
            healthy += self.count_healthy(extra, deadline).await;
        }
        m.add(&CLUSTER_HEALTHY_MEMBERS, &[], f64::from(healthy));

        // Cluster view from the members that answered v3 status.
        let statuses: Vec<&Status> = results.iter().filter_map(|r| r.status.as_ref()).collect();
        // A member cut off from the majority drops its leader after the election timeout, so any
        // answering member that names a leader means the cluster has one (also under NOSPACE,
        // when every /health is false).
        let has_leader = statuses.iter().any(|s| s.leader != 0);
        m.add(&CLUSTER_HAS_LEADER, &[], f64::from(u8::from(has_leader)));
        let mut alarms: Vec<String> = statuses
            .iter()
            .flat_map(|s| s.errors.iter())
            .filter_map(|e| e.split("alarm:").nth(1).map(|a| a.trim().to_owned()))
            .filter(|a| a.len() <= 16 && a.chars().all(|c| c.is_ascii_alphanumeric()))
            .collect();
        alarms.sort();
        alarms.dedup();
        for alarm in ["NOSPACE", "CORRUPT"] {
            m.add(
                &CLUSTER_ALARM_ACTIVE,
                &[("alarm", alarm)],
                f64::from(u8::from(alarms.iter().any(|a| a == alarm))),
            );
        }
        if let Some(term) = statuses.iter().map(|s| s.header.raft_term).max() {
            #[allow(clippy::cast_precision_loss)]
            m.add(&CLUSTER_RAFT_TERM, &[], term as f64);
        }

        // Member list from any member; key count from the member with the newest data.
        if let Some(list) = results.iter().find_map(|r| r.members.as_ref()) {
            let voting = list.members.iter().filter(|x| !x.is_learner).count();
            #[allow(clippy::cast_precision_loss)]
            {
                m.add(&CLUSTER_MEMBERS, &[], list.members.len() as f64);
                m.add(&CLUSTER_VOTING_MEMBERS, &[], voting as f64);
                m.add(&CLUSTER_QUORUM, &[], (voting / 2 + 1) as f64);
            }
            for member in &list.members {
                let name = if member.name.is_empty() {
                    "unstarted"
                } else {
                    member.name.as_str()
                };
                m.add(
                    &CLUSTER_MEMBER_INFO,
                    &[
                        ("member", name),
                        ("learner", if member.is_learner { "true" } else { "false" }),
                    ],
                    1.0,
                );
            }
        }
        let newest = results
            .iter()
            .filter_map(|r| Some((r.status.as_ref()?, r.count.as_ref())))
            .max_by_key(|(s, _)| s.header.revision);
        if let Some((status, count)) = newest {
            if let Some(c) = count {
                #[allow(clippy::cast_precision_loss)]
                m.add(&CLUSTER_KEYS, &[], c.count as f64);
            }
            #[allow(clippy::cast_precision_loss)]
            m.add(&CLUSTER_REVISION, &[], status.header.revision as f64);
            if status.header.cluster_id != 0 {
                self.observe(Observation {
                    cluster_id: status.header.cluster_id,
                    revision: status.header.revision,
                    keys: count.map(|c| c.count),
                });
            }
        }
        self.export_data_loss(&mut m);
        Ok(m)
    }

    /// How many of `urls` answer `/health` with healthy, asked concurrently before `deadline`.
    async fn count_healthy(&self, urls: Vec<String>, deadline: Instant) -> u32 {
        let mut set = tokio::task::JoinSet::new();
        for url in urls {
            let http = self.http.clone();
            set.spawn(async move {
                match http.get(&format!("{url}/health"), deadline).await {
                    Ok(resp) => health::parse(&resp.body).is_ok_and(|h| h.healthy),
                    Err(_) => false,
                }
            });
        }
        let mut n = 0;
        while let Some(joined) = set.join_next().await {
            n += u32::from(joined.unwrap_or(false));
        }
        n
    }

    fn observe(&self, obs: Observation) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut state = self.state.lock_or_recover();
        let before = state.clone();
        let found = state.observe(obs, self.key_drop_ratio, now);
        for k in &found {
            log::warn!(
                "data loss evidence: {} (cluster {:x}, revision {})",
                k.as_str(),
                obs.cluster_id,
                obs.revision
            );
        }
        if *state != before
            && self.persist
            && let Some(path) = &self.state_file
        {
            match data_loss::save(path, &state) {
                Err(e) if !self.save_failed.swap(true, Ordering::Relaxed) => {
                    log::warn!("{e} (data-loss evidence will not survive a restart of the probe)");
                }
                Err(e) => log::debug!("{e}"),
                Ok(()) => self.save_failed.store(false, Ordering::Relaxed),
            }
        }
    }

    fn export_data_loss(&self, m: &mut MetricSet) {
        let state = self.state.lock_or_recover();
        for k in Kind::ALL {
            #[allow(clippy::cast_precision_loss)]
            m.add(
                &DATA_LOSS_EVENTS,
                &[("kind", k.as_str())],
                state.count(k) as f64,
            );
        }
        m.add(&DATA_LOSS_LAST_EVENT, &[], state.last_event_unix);
    }
}

/// POSTs `body` to a v3 gateway URL and parses the answer; failures are logged at debug level
/// (the member's health series already say it is unreachable).
async fn gateway_call<T: for<'de> serde::Deserialize<'de>>(
    http: &HttpProbe,
    url: String,
    body: &'static [u8],
    deadline: Instant,
) -> Option<T> {
    match http
        .post_json(&url, Bytes::from_static(body), deadline)
        .await
    {
        Ok(Response {
            status: 200, body, ..
        }) => gateway::parse(&body)
            .map_err(|e| log::debug!("{url}: {e}"))
            .ok(),
        Ok(resp) => {
            log::debug!("{url}: HTTP {}", resp.status);
            None
        }
        Err(f) => {
            log::debug!("{url}: {f}");
            None
        }
    }
}

impl AsyncCollector for ClusterProbe {
    fn collect<'a>(&'a self, ctx: &'a ScrapeContext) -> CollectFuture<'a> {
        Box::pin(self.run(ctx))
    }
}

/// When the member probes must end: after `request_timeout`, and a little before the scrape
/// deadline to leave time to assemble the answer (5%, and at least a quarter of a short
/// deadline up to 250 ms: re-exporting three members' `/metrics` takes tens of milliseconds, so
/// a one-second `diagnose` limit must not leave only 50). Checked arithmetic: a huge timeout or
/// a young monotonic clock must not panic.
fn members_deadline(now: Instant, scrape_deadline: Instant, request_timeout: Duration) -> Instant {
    let left = scrape_deadline.saturating_duration_since(now);
    let margin = (left / 20).max((left / 4).min(Duration::from_millis(250)));
    let before_answer = scrape_deadline
        .checked_sub(margin)
        .unwrap_or(scrape_deadline);
    now.checked_add(request_timeout)
        .map_or(before_answer, |t| t.min(before_answer))
}

/// Registry entry: `etcd_scrape_collector_success{collector="cluster"}`.
pub(crate) const DEF: CollectorDef<EtcdProbe> = CollectorDef {
    name: "cluster",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        ENDPOINT_UP,
        ENDPOINT_PROBE_FAILURE,
        HEALTH,
        ENDPOINT_GATEWAY_UP,
        ENDPOINT_IS_LEADER,
        member_metrics::SERVER_HAS_LEADER,
        member_metrics::SERVER_IS_LEADER,
        member_metrics::HEARTBEAT_SEND_FAILURES,
        member_metrics::LEADER_CHANGES_SEEN,
        member_metrics::PROPOSALS_FAILED,
        member_metrics::PROPOSALS_PENDING,
        member_metrics::SLOW_APPLY,
        member_metrics::SLOW_READ_INDEXES,
        member_metrics::DB_TOTAL_SIZE,
        member_metrics::DB_SIZE_IN_USE,
        member_metrics::QUOTA_BACKEND,
        member_metrics::PROCESS_RESIDENT_MEMORY,
        member_metrics::MVCC_KEYS,
        member_metrics::WAL_FSYNC_DURATION,
        member_metrics::BACKEND_COMMIT_DURATION,
        member_metrics::GRPC_HANDLED,
        CLUSTER_HEALTHY_MEMBERS,
        CLUSTER_HAS_LEADER,
        CLUSTER_ALARM_ACTIVE,
        CLUSTER_RAFT_TERM,
        CLUSTER_MEMBERS,
        CLUSTER_VOTING_MEMBERS,
        CLUSTER_QUORUM,
        CLUSTER_MEMBER_INFO,
        CLUSTER_KEYS,
        CLUSTER_REVISION,
        DATA_LOSS_EVENTS,
        DATA_LOSS_LAST_EVENT,
    ],
    build: Build::Async(|e| Ok(Some(Box::new(ClusterProbe::new(&e.cfg, e.persist)?)))),
};

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[test]
    fn members_deadline_is_the_request_timeout_or_before_the_scrape_deadline_never_a_panic() {
        let now = Instant::now();
        let scrape = now + Duration::from_secs(10);
        assert_eq!(
            members_deadline(now, scrape, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
        assert_eq!(
            members_deadline(now, scrape, Duration::from_secs(60)),
            now + Duration::from_millis(9500)
        );
        // A timeout too large to add to the clock is no limit.
        assert_eq!(
            members_deadline(now, scrape, Duration::MAX),
            now + Duration::from_millis(9500)
        );
        assert_eq!(members_deadline(now, now, Duration::from_secs(1)), now);
        // A short deadline keeps a quarter, at most 250 ms, to assemble the answer.
        assert_eq!(
            members_deadline(now, now + Duration::from_secs(1), Duration::from_secs(30)),
            now + Duration::from_millis(750)
        );
        assert_eq!(
            members_deadline(now, now + Duration::from_secs(3), Duration::from_secs(30)),
            now + Duration::from_millis(2750)
        );
    }
}
