//! Tern's tables in ClickHouse, as DDL for one server or a cluster.
//!
//! Every table is a `ReplacingMergeTree(ver)`: a row is a version of the thing its ORDER BY
//! key names, the writer writes a whole new version to change it, and reads take the latest
//! version with `FINAL`. A version never moves between partitions (an invocation keeps the
//! `day` it was first stored with), so `FINAL` (which merges within a partition) always sees
//! every version of a key together. Deletions are tombstone versions (`deleted = 1`) or
//! dropped partitions.
//!
//! Only what 18.16 understands: `Nullable`, `Date`, `Int64` epoch milliseconds, the
//! `ENGINE = … PARTITION BY … ORDER BY` syntax, no TTL, codecs, `LowCardinality` or
//! `DateTime64`.
//!
//! Cluster mode (`cluster = "name"`): every statement runs `ON CLUSTER name`; the data lives
//! in `<table>_local`, a `ReplicatedReplacingMergeTree` under
//! `/clickhouse/tables/{shard}/<database>/<table>` with replica `{replica}` (macros each
//! server defines), and `<table>` is a `Distributed` front sharded by a hash of the key's
//! leading column, so every version of one key lands on one shard.

/// The schema this build writes. A database with a higher version is refused; an older one
/// is brought up to date by `open` (version 2 only added the sealing tables, which `CREATE
/// TABLE IF NOT EXISTS` makes; a database of version 1 has no seal, so every partition reads
/// raw until the first `seal`). Version 2 writers mark the partitions they write (`seal_state`),
/// which version 1 writers would not: the bump keeps them out. Version 3 added `sealed_days`;
/// opening an older database marks its sealed partitions as written to, so they read raw
/// until sealed again with daily rows (`tern seal`, or `tern serve`'s seal loop).
pub const SCHEMA_VERSION: i64 = 3;

/// The columns of `sealed_hours` and `sealed_days`.
const SEALED_COLUMNS: &str = "part Date, seal UInt64, function String, hour Int64, \
            o0 Int64, o1 Int64, o2 Int64, o3 Int64, o4 Int64, o5 Int64, \
            cold_starts Int64, over_20s Int64, billed_ms Float64, gb_seconds Float64, \
            max_memory_mb Nullable(Int64), first_ms Nullable(Int64), last_ms Nullable(Int64), \
            latest_memory_t Nullable(Int64), latest_memory_mb Nullable(Int64), \
            d_zero UInt64, d_keys Array(Int32), d_counts Array(UInt64), \
            d_min Nullable(Float64), d_max Nullable(Float64), d_sum Float64, \
            i_zero UInt64, i_keys Array(Int32), i_counts Array(UInt64), \
            i_min Nullable(Float64), i_max Nullable(Float64), i_sum Float64, \
            log_lines Int64, log_bytes Int64, ver UInt64";

pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    pub partition_by: Option<&'static str>,
    pub order_by: &'static str,
    /// The sharding expression of the Distributed front in cluster mode.
    pub shard_by: &'static str,
}

pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "meta",
        columns: "key String, value String, ver UInt64",
        partition_by: None,
        order_by: "key",
        shard_by: "0",
    },
    Table {
        name: "functions",
        columns: "name String, region Nullable(String), arch Nullable(String), \
            timeout_ms Nullable(Int64), runtime Nullable(String), \
            memory_size_mb Nullable(Int64), account Nullable(String), \
            function_arn Nullable(String), ephemeral_storage_mb Nullable(Int64), \
            log_group Nullable(String), log_format Nullable(String), \
            last_modified Nullable(String), tags Nullable(String), \
            inventory_ms Nullable(Int64), log_retention_days Nullable(Int64), ver UInt64",
        partition_by: None,
        order_by: "name",
        shard_by: "0",
    },
    Table {
        name: "invocations",
        columns: "log_group String, log_stream String, request_id String, function String, \
            day Date, t Int64, start_ms Nullable(Int64), end_ms Nullable(Int64), \
            complete UInt8, outcome UInt8, cold UInt8, cold_flag UInt8, signals UInt32, \
            version Nullable(String), duration_ms Nullable(Float64), \
            billed_ms Nullable(Float64), memory_mb Nullable(Int64), \
            max_memory_mb Nullable(Int64), init_ms Nullable(Float64), \
            restore_ms Nullable(Float64), billed_restore_ms Nullable(Float64), \
            status Nullable(String), report_error_type Nullable(String), \
            xray_trace_id Nullable(String), report_format UInt8, \
            error_type Nullable(String), error_message Nullable(String), \
            error_stack Nullable(String), runtime_version Nullable(String), \
            init_report_ms Nullable(Float64), lines String, log_lines Int64, log_bytes Int64, \
            group_key Nullable(Int64), occ_seq Int64, occ_pos Int64, ver UInt64",
        partition_by: Some("toYYYYMMDD(day)"),
        order_by: "(log_group, log_stream, request_id)",
        shard_by: "cityHash64(log_stream)",
    },
    Table {
        name: "stream_lines",
        columns: "log_group String, log_stream String, function String, day Date, \
            ts Int64, id String, message String, chunk_t Int64, ver UInt64",
        partition_by: Some("toYYYYMMDD(day)"),
        order_by: "(log_group, log_stream, ts, id)",
        shard_by: "cityHash64(log_stream)",
    },
    Table {
        name: "rollups",
        columns: "function String, hour Int64, day Date, outcomes Array(Int64), \
            cold_starts Int64, over_20s Int64, billed_ms Float64, gb_seconds Float64, \
            max_memory_mb Nullable(Int64), first_ms Nullable(Int64), last_ms Nullable(Int64), \
            latest_memory_t Nullable(Int64), latest_memory_mb Nullable(Int64), \
            duration String, init String, log_lines Int64, log_bytes Int64, ver UInt64",
        partition_by: Some("toYYYYMMDD(day)"),
        order_by: "(function, hour)",
        shard_by: "cityHash64(function)",
    },
    // Sealed partitions (`seal.rs`): one day partition of `invocations` and `stream_lines`,
    // aggregated per (function, hour of `t`) and per (function, environment), as generation
    // `seal` (the sealer's version, unique per partition and seal). Rows of a generation are
    // never replaced (`seal` is in the key); readers take the generation `seal_state` names.
    Table {
        name: "sealed_hours",
        columns: SEALED_COLUMNS,
        partition_by: Some("toYYYYMMDD(part)"),
        order_by: "(part, seal, function, hour)",
        shard_by: "cityHash64(function)",
    },
    // The same per (function, UTC day of `t`), `hour` being the day's start.
    Table {
        name: "sealed_days",
        columns: SEALED_COLUMNS,
        partition_by: Some("toYYYYMMDD(part)"),
        order_by: "(part, seal, function, hour)",
        shard_by: "cityHash64(function)",
    },
    Table {
        name: "sealed_envs",
        columns: "part Date, seal UInt64, function String, log_group String, log_stream String, \
            n Int64, cold Int64, first_ms Nullable(Int64), last_ms Nullable(Int64), \
            runtime_version Nullable(String), rv_t Nullable(Int64), ver UInt64",
        partition_by: Some("toYYYYMMDD(part)"),
        order_by: "(part, seal, function, log_group, log_stream)",
        shard_by: "cityHash64(function)",
    },
    // Per partition: the latest write mark (kind 0, written by ingest before and after it
    // writes there) and the latest seal (kind 1). A seal newer than every mark is valid.
    Table {
        name: "seal_state",
        columns: "part Date, kind UInt8, ver UInt64",
        partition_by: None,
        order_by: "(part, kind)",
        shard_by: "0",
    },
    Table {
        name: "error_groups",
        columns: "key Int64, function String, version UInt32, basis String, outcome UInt8, \
            error_type Nullable(String), title String, message Nullable(String), \
            culprit Nullable(String), frames String, first_ms Int64, last_ms Int64, \
            count Int64, status String, status_ms Nullable(Int64), \
            muted_until_ms Nullable(Int64), resolved_ms Nullable(Int64), regressions Int64, \
            regressed_ms Nullable(Int64), event_seq Int64, event String, deleted UInt8, \
            ver UInt64",
        partition_by: None,
        order_by: "key",
        shard_by: "0",
    },
    Table {
        name: "error_hours",
        columns: "key Int64, hour Int64, day Date, count Int64, first_t Int64, last_t Int64, \
            ver UInt64",
        partition_by: Some("toYYYYMMDD(day)"),
        order_by: "(key, hour)",
        shard_by: "0",
    },
    Table {
        name: "checkpoints",
        columns: "key String, value String, updated_ms Int64, ver UInt64",
        partition_by: None,
        order_by: "key",
        shard_by: "0",
    },
    Table {
        name: "incidents",
        columns: "id Int64, policy String, subject String, state String, opened_ms Int64, \
            last_firing_ms Int64, resolved_ms Nullable(Int64), value Nullable(Float64), \
            threshold Nullable(Float64), detail Nullable(String), ver UInt64",
        partition_by: None,
        order_by: "id",
        shard_by: "0",
    },
    Table {
        name: "outbox",
        columns: "id Int64, dedupe_key String, channel String, payload String, \
            created_ms Int64, attempts Int64, next_attempt_ms Int64, state String, \
            last_error Nullable(String), sent_ms Nullable(Int64), ver UInt64",
        partition_by: None,
        order_by: "id",
        shard_by: "0",
    },
    Table {
        name: "tuning_runs",
        columns: "function String, started_ms Int64, run String, ver UInt64",
        partition_by: None,
        order_by: "(function, started_ms)",
        shard_by: "0",
    },
    Table {
        name: "markers",
        columns: "id Int64, function String, at_ms Int64, note String, created_ms Int64, \
            ver UInt64",
        partition_by: None,
        order_by: "id",
        shard_by: "0",
    },
    Table {
        name: "leases",
        columns: "name String, holder String, expires_ms Int64, ver UInt64",
        partition_by: None,
        order_by: "name",
        shard_by: "0",
    },
    Table {
        name: "values_seen",
        columns: "function String, attribute String, value String, kind UInt8, ms Int64, \
            ver UInt64",
        partition_by: None,
        order_by: "(function, attribute, value, kind)",
        shard_by: "0",
    },
];

/// Where the tables go.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub database: String,
    pub cluster: Option<String>,
}

/// Quote an identifier with backquotes.
pub(crate) fn ident(s: &str) -> String {
    format!("`{}`", s.replace('\\', "\\\\").replace('`', "\\`"))
}

impl Layout {
    fn on_cluster(&self) -> String {
        match &self.cluster {
            Some(c) => format!(" ON CLUSTER {}", ident(c)),
            None => String::new(),
        }
    }

    /// `CREATE DATABASE` (run without a database selected).
    pub(crate) fn create_database(&self) -> String {
        format!(
            "CREATE DATABASE IF NOT EXISTS {}{}",
            ident(&self.database),
            self.on_cluster()
        )
    }

    /// Every `CREATE TABLE`, in order.
    pub(crate) fn create_tables(&self) -> Vec<String> {
        let db = ident(&self.database);
        let mut out = Vec::new();
        for t in TABLES {
            let partition = t
                .partition_by
                .map(|p| format!(" PARTITION BY {p}"))
                .unwrap_or_default();
            match &self.cluster {
                None => out.push(format!(
                    "CREATE TABLE IF NOT EXISTS {db}.{} ({}) ENGINE = ReplacingMergeTree(ver){partition} ORDER BY {}",
                    t.name, t.columns, t.order_by
                )),
                Some(_) => {
                    let path = format!("/clickhouse/tables/{{shard}}/{}/{}", self.database, t.name);
                    out.push(format!(
                        "CREATE TABLE IF NOT EXISTS {db}.{}_local{} ({}) ENGINE = ReplicatedReplacingMergeTree('{}', '{{replica}}', ver){partition} ORDER BY {}",
                        t.name,
                        self.on_cluster(),
                        t.columns,
                        path.replace('\'', "\\'"),
                        t.order_by
                    ));
                    out.push(format!(
                        "CREATE TABLE IF NOT EXISTS {db}.{}{} AS {db}.{}_local ENGINE = Distributed({}, {}, {}_local, {})",
                        t.name,
                        self.on_cluster(),
                        t.name,
                        ident(self.cluster.as_deref().unwrap_or_default()),
                        db,
                        t.name,
                        t.shard_by
                    ));
                }
            }
        }
        out
    }

    /// The table that holds a table's data (what `ALTER TABLE … DROP PARTITION` acts on).
    pub(crate) fn data_table(&self, name: &str) -> String {
        match &self.cluster {
            None => name.to_string(),
            Some(_) => format!("{name}_local"),
        }
    }

    /// `ALTER TABLE … DROP PARTITION` of one partition id (YYYYMMDD).
    /// Merge one partition of a single server's table into one part, versions collapsed.
    pub(crate) fn optimize_partition(&self, table: &str, partition: u32) -> String {
        format!(
            "OPTIMIZE TABLE {}.{} PARTITION {partition} FINAL",
            ident(&self.database),
            self.data_table(table)
        )
    }

    pub(crate) fn drop_partition(&self, table: &str, partition: u32) -> String {
        format!(
            "ALTER TABLE {}.{}{} DROP PARTITION {partition}",
            ident(&self.database),
            self.data_table(table),
            self.on_cluster()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn single_server_ddl() {
        let l = Layout {
            database: "tern".into(),
            cluster: None,
        };
        assert_eq!(l.create_database(), "CREATE DATABASE IF NOT EXISTS `tern`");
        let ddl = l.create_tables();
        assert_eq!(ddl.len(), TABLES.len());
        assert!(ddl
            .iter()
            .all(|s| s.contains("ENGINE = ReplacingMergeTree(ver)")));
        assert!(ddl.iter().all(|s| !s.contains("ON CLUSTER")));
        let inv = ddl
            .iter()
            .find(|s| s.contains("`tern`.invocations ("))
            .unwrap();
        assert!(inv
            .contains("PARTITION BY toYYYYMMDD(day) ORDER BY (log_group, log_stream, request_id)"));
        assert_eq!(
            l.drop_partition("invocations", 20260301),
            "ALTER TABLE `tern`.invocations DROP PARTITION 20260301"
        );
        // Nothing 18.16 lacks.
        for s in &ddl {
            for missing in [
                "TTL",
                "CODEC",
                "LowCardinality",
                "DateTime64",
                "Map(",
                "JSON",
            ] {
                assert!(!s.contains(missing), "{missing} in {s}");
            }
        }
    }

    #[test]
    fn cluster_ddl_is_replicated_with_distributed_fronts() {
        let l = Layout {
            database: "tern".into(),
            cluster: Some("prod".into()),
        };
        assert_eq!(
            l.create_database(),
            "CREATE DATABASE IF NOT EXISTS `tern` ON CLUSTER `prod`"
        );
        let ddl = l.create_tables();
        assert_eq!(ddl.len(), 2 * TABLES.len());
        for (pair, t) in ddl.chunks(2).zip(TABLES) {
            let (local, front) = (&pair[0], &pair[1]);
            assert!(
                local.starts_with(&format!(
                    "CREATE TABLE IF NOT EXISTS `tern`.{}_local ON CLUSTER `prod` (",
                    t.name
                )),
                "{local}"
            );
            assert!(
                local.contains(&format!(
                    "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/tern/{}', '{{replica}}', ver)",
                    t.name
                )),
                "{local}"
            );
            assert!(
                local.contains(&format!("ORDER BY {}", t.order_by)),
                "{local}"
            );
            assert_eq!(
                front,
                &format!(
                    "CREATE TABLE IF NOT EXISTS `tern`.{} ON CLUSTER `prod` AS `tern`.{}_local ENGINE = Distributed(`prod`, `tern`, {}_local, {})",
                    t.name, t.name, t.name, t.shard_by
                )
            );
        }
        assert_eq!(
            l.drop_partition("invocations", 20260301),
            "ALTER TABLE `tern`.invocations_local ON CLUSTER `prod` DROP PARTITION 20260301"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(ident("a`b"), "`a\\`b`");
    }
}
