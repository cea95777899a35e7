//! `tern prune` and `tern seal`: retention and sealing on demand.

use crate::{cli, config, ingest, text, timeutil};

/// `tern prune`: retention on demand.
pub fn prune(args: cli::PruneArgs) -> anyhow::Result<String> {
    use anyhow::bail;
    use tern_store::Store;
    let age = |v: &Option<String>, flag: &str| -> anyhow::Result<Option<std::time::Duration>> {
        v.as_deref()
            .map(|s| config::parse_duration(s, flag))
            .transpose()
    };
    let raw = age(&args.raw_older_than, "--raw-older-than")?;
    let rollups = age(&args.rollups_older_than, "--rollups-older-than")?;
    match (raw, rollups) {
        (None, None) => bail!("say what to delete: --raw-older-than AGE and/or --rollups-older-than AGE"),
        (Some(r), Some(u)) if u < r => bail!(
            "--rollups-older-than is shorter than --raw-older-than: statistics must outlive the raw \
             data they summarize"
        ),
        _ => {}
    }
    let mut store = ingest::open_existing(&args.db.backend()?)?;
    let now = timeutil::now_ms();
    let cut = |d: Option<std::time::Duration>| d.map(|d| now - d.as_millis() as i64);
    let stats = store.apply_retention(tern_store::Retention {
        raw_before_ms: cut(raw),
        rollups_before_ms: cut(rollups),
    })?;
    Ok(format!("{}\n", text::retention_stats(&stats)))
}

/// `tern seal`: sealing on demand.
pub fn seal(args: cli::SealArgs) -> anyhow::Result<String> {
    use tern_store::Store;
    let mut store = ingest::open_existing(&args.db.backend()?)?;
    let started = std::time::Instant::now();
    let s = store.seal(timeutil::now_ms())?;
    Ok(format!(
        "sealed {} partitions ({} rows) in {:.1} s\n",
        s.partitions,
        s.rows,
        started.elapsed().as_secs_f64()
    ))
}
