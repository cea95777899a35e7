//! Several `tern serve` collectors sharing one store.
//!
//! Push ingest needs nothing here: any collector stores any request, and the idempotent
//! store merges what several of them write. Two kinds of work must not be done by all:
//!
//! * **Pull.** Each log group is pulled by one collector: the owner by rendezvous (highest
//!   random weight) hashing over the *live* collectors of `[cluster] collectors`. A collector
//!   is live while it holds its lease `collector/<id>` in the store, renewed every third of
//!   `cluster.lease_ttl`. When a collector stops (or starts), only the log groups it owned
//!   (or will own) move; the new owner resumes from the checkpoint stored with the data.
//! * **Once-per-fleet jobs.** The alert evaluator, the notification sender and retention run
//!   only in the collector holding the `alerts` lease; another takes over once it expires.
//!
//! A membership change is seen by each collector at its next renewal, so for up to a third
//! of the time to live two collectors may pull the same log group: harmless, as ingest is
//! idempotent and each checkpoint is written with the data it ends.
//!
//! A lease's holder is `<id>/<nonce>`, the nonce new for every process: a second process
//! started with the same id does not get the lease (it waits, pulls nothing and leads
//! nothing, and says so), and a restarted collector waits for its old lease to expire.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{bail, Result};
use tern_store::{Lease, StoreError};
use tokio::sync::watch;

use crate::config::Cluster;
use crate::writer::WriterHandle;

/// The lease of the alert evaluator, the notification sender and retention.
pub const ALERTS_LEASE: &str = "alerts";
/// Prefix of the collectors' own leases: `collector/<id>`.
pub const COLLECTOR_PREFIX: &str = "collector/";

/// The member of `members` that owns `key`: the one with the highest hash of (member, key),
/// ties (practically impossible) broken by name. Adding or removing a member moves only the
/// keys it gains or had; every process computes the same owner from the same members.
pub fn owner<'a>(key: &str, members: &'a [String]) -> Option<&'a str> {
    members
        .iter()
        .max_by_key(|m| (score(m, key), m.as_str()))
        .map(String::as_str)
}

/// FNV-1a over `member`, a 0xFF separator (never in UTF-8) and `key`, then the splitmix64
/// finalizer so that similar names spread evenly. Stable across versions and platforms:
/// changing it moves log groups between collectors.
fn score(member: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in member.bytes().chain([0xff]).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// What this collector last learned from the store.
#[derive(Debug, Clone, Default)]
struct View {
    /// Live configured collectors, sorted (this one included only while it holds its lease).
    live: Vec<String>,
    /// Whether this process holds `collector/<id>`.
    identity: bool,
    /// Whether this process holds the `alerts` lease.
    leads: bool,
    /// Who holds `alerts` (a collector id), if anyone.
    alerts_holder: Option<String>,
}

/// This collector's place in the cluster, shared by the pull loops, the alert tasks,
/// retention and `/metrics`.
pub struct Membership {
    id: String,
    /// `<id>/<nonce>`.
    holder: String,
    configured: Vec<String>,
    ttl: Duration,
    view: RwLock<View>,
    /// Turns true after the first renewal (success or failure).
    settled: watch::Sender<bool>,
    lease_errors: AtomicU64,
    warned_identity: AtomicBool,
    /// Per account/region: (log groups pulled here, log groups pulled elsewhere).
    groups: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("id", &self.id)
            .field("configured", &self.configured)
            .finish_non_exhaustive()
    }
}

impl Membership {
    /// This collector in `cluster`; `id` is `--collector-id`, else `cluster.self`. `None`
    /// when no `[cluster]` is configured. An id that is missing or not configured is an
    /// error.
    pub fn new(cluster: &Cluster, id: Option<&str>) -> Result<Option<Arc<Membership>>> {
        if cluster.collectors.is_empty() {
            if let Some(id) = id {
                bail!(
                    "--collector-id {id:?} is given, but the config has no [cluster] with \
                     collectors; add one or drop the flag"
                );
            }
            return Ok(None);
        }
        let Some(id) = id.or(cluster.self_id.as_deref()) else {
            bail!(
                "[cluster] needs this collector's id: set cluster.self or pass --collector-id \
                 (one of {})",
                cluster.collectors.join(", ")
            );
        };
        crate::config::check_collector_id(id)
            .map_err(|e| anyhow::anyhow!("--collector-id: {e:#}"))?;
        if !cluster.collectors.iter().any(|c| c == id) {
            bail!(
                "collector id {id:?} is not in cluster.collectors ({})",
                cluster.collectors.join(", ")
            );
        }
        let nonce: u64 = rand::random();
        Ok(Some(Arc::new(Membership {
            id: id.to_string(),
            holder: format!("{id}/{nonce:016x}"),
            configured: cluster.collectors.clone(),
            ttl: cluster.lease_ttl,
            view: RwLock::new(View::default()),
            settled: watch::channel(false).0,
            lease_errors: AtomicU64::new(0),
            warned_identity: AtomicBool::new(false),
            groups: Mutex::new(BTreeMap::new()),
        })))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn view(&self) -> View {
        self.view.read().map(|v| v.clone()).unwrap_or_default()
    }

    /// Whether this collector pulls `log_group` now.
    pub fn owns(&self, log_group: &str) -> bool {
        let v = self.view();
        v.identity && owner(log_group, &v.live) == Some(self.id.as_str())
    }

    /// Whether this collector runs the once-per-fleet jobs now.
    pub fn leads(&self) -> bool {
        self.view().leads
    }

    /// Wait until the first renewal has been tried (so the first pull round knows the
    /// members).
    pub async fn settled(&self) {
        let mut rx = self.settled.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Record how a target's log groups split between this collector and the others.
    pub fn record_groups(&self, target: &str, here: u64, elsewhere: u64) {
        if let Ok(mut g) = self.groups.lock() {
            g.insert(target.to_string(), (here, elsewhere));
        }
    }

    /// One renewal: take or renew `collector/<id>`, then (holding it) `alerts`, and read
    /// who is live. A failure leaves the members as they were but gives up leading at once:
    /// unable to renew, this collector cannot know it still holds the lease.
    pub async fn renew(&self, writer: &WriterHandle) {
        let now = crate::timeutil::now_ms();
        let ttl = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let name = format!("{COLLECTOR_PREFIX}{}", self.id);
        let holder = self.holder.clone();
        let r = writer
            .with_store(move |s| -> Result<(bool, bool, Vec<Lease>), StoreError> {
                let me = s.try_lease(&name, &holder, now, ttl)?;
                let leads = me && s.try_lease(ALERTS_LEASE, &holder, now, ttl)?;
                Ok((me, leads, s.leases("", now)?))
            })
            .await;
        match r {
            Ok(Ok((me, leads, leases))) => self.apply(me, leads, &leases),
            Ok(Err(e)) => self.failed(&e.to_string()),
            Err(e) => self.failed(&e.to_string()),
        }
        self.settled.send_replace(true);
    }

    fn apply(&self, me: bool, leads: bool, leases: &[Lease]) {
        let id_of = |holder: &str| holder.rsplit_once('/').map(|(id, _)| id.to_string());
        let mut live: Vec<String> = leases
            .iter()
            .filter_map(|l| {
                let id = l.name.strip_prefix(COLLECTOR_PREFIX)?;
                (id_of(&l.holder).as_deref() == Some(id)
                    && self.configured.iter().any(|c| c == id)
                    && (id != self.id || me))
                    .then(|| id.to_string())
            })
            .collect();
        live.sort();
        live.dedup();
        let alerts_holder = leases
            .iter()
            .find(|l| l.name == ALERTS_LEASE)
            .and_then(|l| id_of(&l.holder));
        if !me {
            if !self.warned_identity.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    collector = %self.id,
                    "Another process holds this collector's lease (the same id started twice, \
                     or this collector's previous run, whose lease expires soon); pulling \
                     nothing and leading nothing until it is free."
                );
            }
        } else if self.warned_identity.swap(false, Ordering::Relaxed) {
            tracing::info!(collector = %self.id, "This collector's lease is held; working.");
        }
        if let Ok(mut v) = self.view.write() {
            if v.leads != leads {
                tracing::info!(collector = %self.id, leads, "Alerting lease changed hands.");
            }
            *v = View {
                live,
                identity: me,
                leads,
                alerts_holder,
            };
        }
    }

    fn failed(&self, error: &str) {
        self.lease_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(collector = %self.id, error = %error, "Failed to renew the cluster leases.");
        if let Ok(mut v) = self.view.write() {
            v.leads = false;
        }
    }

    /// Give both leases up (on shutdown), so another collector takes over at once.
    pub async fn release(&self, writer: &WriterHandle) {
        let name = format!("{COLLECTOR_PREFIX}{}", self.id);
        let holder = self.holder.clone();
        let r = writer
            .with_store(move |s| -> Result<(), StoreError> {
                s.release_lease(ALERTS_LEASE, &holder)?;
                s.release_lease(&name, &holder)?;
                Ok(())
            })
            .await;
        if let Ok(mut v) = self.view.write() {
            *v = View::default();
        }
        match r {
            Ok(Ok(())) => tracing::info!(collector = %self.id, "Cluster leases released."),
            Ok(Err(e)) => tracing::warn!(error = %e, "Failed to release the cluster leases."),
            Err(e) => tracing::warn!(error = %e, "Failed to release the cluster leases."),
        }
    }

    /// Prometheus text for `/metrics`.
    pub fn render(&self, out: &mut String) {
        let v = self.view();
        let _ = writeln!(
            out,
            "# HELP tern_cluster_collectors Collectors in [cluster]: configured, and live (holding their lease).\n\
             # TYPE tern_cluster_collectors gauge\n\
             tern_cluster_collectors{{state=\"configured\"}} {}\n\
             tern_cluster_collectors{{state=\"live\"}} {}",
            self.configured.len(),
            v.live.len()
        );
        let _ = writeln!(
            out,
            "# HELP tern_cluster_lease_held Whether this collector holds the lease: its own (collector) and the alerting one (alerts).\n\
             # TYPE tern_cluster_lease_held gauge\n\
             tern_cluster_lease_held{{collector=\"{id}\",lease=\"collector\"}} {}\n\
             tern_cluster_lease_held{{collector=\"{id}\",lease=\"alerts\"}} {}",
            u8::from(v.identity),
            u8::from(v.leads),
            id = self.id
        );
        let _ = writeln!(
            out,
            "# HELP tern_cluster_alerts_holder The collector holding the alerting lease, as this collector last saw it.\n\
             # TYPE tern_cluster_alerts_holder gauge"
        );
        if let Some(h) = &v.alerts_holder {
            let _ = writeln!(out, "tern_cluster_alerts_holder{{collector=\"{h}\"}} 1");
        }
        let (here, elsewhere) = self
            .groups
            .lock()
            .map(|g| g.values().fold((0, 0), |(a, b), (h, e)| (a + h, b + e)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP tern_cluster_log_groups Log groups of the inventory, pulled by this collector (self) or another (other).\n\
             # TYPE tern_cluster_log_groups gauge\n\
             tern_cluster_log_groups{{owner=\"self\"}} {here}\n\
             tern_cluster_log_groups{{owner=\"other\"}} {elsewhere}"
        );
        let _ = writeln!(
            out,
            "# HELP tern_cluster_lease_errors_total Lease renewals that failed.\n\
             # TYPE tern_cluster_lease_errors_total counter\n\
             tern_cluster_lease_errors_total {}",
            self.lease_errors.load(Ordering::Relaxed)
        );
    }
}

/// The renewal loop, a `tern serve` background task: renew every third of the time to live
/// until shutdown, then release.
pub async fn run(m: Arc<Membership>, writer: WriterHandle, mut shutdown: watch::Receiver<bool>) {
    let every = (m.ttl / 3).max(Duration::from_millis(500));
    loop {
        m.renew(&writer).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => break,
        }
    }
    m.release(&writer).await;
}

/// Whether this process runs the once-per-fleet jobs: always when alone, else while it
/// holds the `alerts` lease.
#[derive(Debug, Clone, Default)]
pub struct Duty(pub Option<Arc<Membership>>);

impl Duty {
    pub fn leads(&self) -> bool {
        self.0.as_ref().is_none_or(|m| m.leads())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn members(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn groups(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("/aws/lambda/fn-{i:05}")).collect()
    }

    #[test]
    fn every_group_has_exactly_one_owner_and_spreads_evenly() {
        let m = members(&["a", "b", "c", "d"]);
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for g in groups(20_000) {
            *count.entry(owner(&g, &m).unwrap()).or_default() += 1;
        }
        assert_eq!(count.len(), 4);
        assert_eq!(count.values().sum::<usize>(), 20_000);
        for (c, n) in &count {
            // 5,000 expected; 4 standard deviations is about 245.
            assert!((4_700..=5_300).contains(n), "{c} owns {n} of 20000");
        }
    }

    #[test]
    fn owner_does_not_depend_on_member_order() {
        let a = members(&["a", "b", "c"]);
        let b = members(&["c", "a", "b"]);
        for g in groups(500) {
            assert_eq!(owner(&g, &a), owner(&g, &b));
        }
        assert_eq!(owner("/aws/lambda/x", &[]), None);
    }

    /// Stability: removing a collector moves only its groups; adding one moves only the
    /// groups it takes, and it takes about its share.
    #[test]
    fn only_the_changed_collectors_groups_move() {
        let before = members(&["a", "b", "c"]);
        let without_b = members(&["a", "c"]);
        let with_d = members(&["a", "b", "c", "d"]);
        let mut taken_by_d = 0;
        for g in groups(6_000) {
            let was = owner(&g, &before).unwrap();
            let now = owner(&g, &without_b).unwrap();
            if was != "b" {
                assert_eq!(was, now, "{g} moved from {was} though b left");
            }
            let now = owner(&g, &with_d).unwrap();
            if now != "d" {
                assert_eq!(was, now, "{g} moved from {was} to {now} though only d came");
            } else {
                taken_by_d += 1;
            }
        }
        assert!(
            (1_300..=1_700).contains(&taken_by_d),
            "d took {taken_by_d} of 6000"
        );
    }

    /// The hash is part of the deployment contract: collectors of two versions must agree.
    #[test]
    fn scores_are_stable() {
        let m = members(&["collector-1", "collector-2", "collector-3"]);
        let owners: Vec<String> = groups(12)
            .iter()
            .map(|g| format!("{g} -> {}", owner(g, &m).unwrap()))
            .collect();
        assert_eq!(score("a", "b"), score("a", "b"));
        assert_ne!(score("ab", "c"), score("a", "bc"));
        insta::assert_debug_snapshot!(owners);
    }

    fn cluster(ids: &[&str], me: Option<&str>) -> Cluster {
        Cluster {
            collectors: members(ids),
            self_id: me.map(str::to_string),
            lease_ttl: Duration::from_secs(30),
        }
    }

    #[test]
    fn membership_needs_a_configured_id() {
        assert!(Membership::new(&Cluster::default(), None)
            .unwrap()
            .is_none());
        let e = Membership::new(&Cluster::default(), Some("a")).unwrap_err();
        assert!(format!("{e:#}").contains("no [cluster]"), "{e:#}");
        let e = Membership::new(&cluster(&["a", "b"], None), None).unwrap_err();
        assert!(format!("{e:#}").contains("--collector-id"), "{e:#}");
        let e = Membership::new(&cluster(&["a", "b"], None), Some("c")).unwrap_err();
        assert!(
            format!("{e:#}").contains("not in cluster.collectors"),
            "{e:#}"
        );
        let e = Membership::new(&cluster(&["a", "b"], None), Some("a b")).unwrap_err();
        assert!(format!("{e:#}").contains("--collector-id"), "{e:#}");
        let m = Membership::new(&cluster(&["a", "b"], Some("b")), Some("a"))
            .unwrap()
            .unwrap();
        assert_eq!(m.id(), "a");
        // Before the first renewal it owns nothing and leads nothing.
        assert!(!m.owns("/aws/lambda/x"));
        assert!(!m.leads());
    }

    /// Two memberships over one store, renewed by hand: they split the groups without
    /// overlap, one leads, and when one stops the other takes everything over.
    #[tokio::test]
    async fn two_collectors_split_and_take_over() {
        let c = cluster(&["a", "b"], None);
        let a = Membership::new(&c, Some("a")).unwrap().unwrap();
        let b = Membership::new(&c, Some("b")).unwrap().unwrap();
        let (w, handle) =
            crate::writer::Writer::spawn(tern_store::SqliteStore::open_in_memory().unwrap(), 4);
        a.renew(&handle).await;
        b.renew(&handle).await;
        a.renew(&handle).await;
        let gs = groups(200);
        for g in &gs {
            assert!(a.owns(g) ^ b.owns(g), "{g}: exactly one owner");
        }
        assert!(gs.iter().filter(|g| a.owns(g)).count() > 50);
        assert!(a.leads() && !b.leads());
        let mut text = String::new();
        a.render(&mut text);
        assert!(
            text.contains("tern_cluster_collectors{state=\"live\"} 2"),
            "{text}"
        );
        assert!(text.contains("lease=\"alerts\"} 1"), "{text}");
        assert!(
            text.contains("tern_cluster_alerts_holder{collector=\"a\"} 1"),
            "{text}"
        );
        // A second process with a's id gets neither lease.
        let a2 = Membership::new(&c, Some("a")).unwrap().unwrap();
        a2.renew(&handle).await;
        assert!(!a2.leads() && gs.iter().all(|g| !a2.owns(g)));
        // a stops: b takes over everything at its next renewal.
        a.release(&handle).await;
        b.renew(&handle).await;
        assert!(gs.iter().all(|g| b.owns(g)));
        assert!(b.leads());
        assert!(!a.leads() && !a.owns(&gs[0]));
        drop(handle);
        w.join();
    }

    #[test]
    fn duty_without_a_cluster_always_leads() {
        assert!(Duty::default().leads());
    }
}
