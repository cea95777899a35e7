//! The words of a recommendation: its summary, the architecture advice, the evidence of the
//! natural experiment, and the `tern tune` command that would measure a size.

use super::advice::{
    ev, ArchAdvice, Confidence, CurvePoint, Decision, Evidence, SizeGroup, Support,
};
use super::choose::monthly_cost;
use super::decide;
use super::input::{FunctionInput, Observation};
use crate::cost::{self, usd};
use crate::model::Arch;

/// The decision in one sentence: what to do, how much it gains and what it rests on.
pub(super) fn summary(
    cur: &CurvePoint,
    rec: &CurvePoint,
    choice: &decide::Choice,
    tune: Option<&str>,
) -> String {
    let measure = tune.map_or(String::new(), |t| format!("; measure it: {t}"));
    if let Decision::Keep { reason } = &choice.decision {
        return format!("{} MB → keep: {reason}{measure}", cur.memory_mb);
    }
    let than = decide::compare(rec, cur);
    let basis = match rec.support {
        Support::Measured => format!(
            "measured {than} ({} and {} warm invocations)",
            cur.samples, rec.samples
        ),
        Support::Interpolated => format!("interpolated between measured sizes: {than}"),
        Support::Extrapolated => format!(
            "estimated beyond the measured sizes: {than} (p95 {:.0} to {:.0} ms, {} to {} a month)",
            rec.p95.low,
            rec.p95.high,
            usd(rec.cost.low),
            usd(rec.cost.high)
        ),
    };
    let forced = cur.limit.as_deref().map_or(String::new(), |l| {
        format!("; {} MB breaks a limit: {l}", cur.memory_mb)
    });
    format!(
        "{} MB → {} MB: {basis}{forced}{measure}",
        cur.memory_mb, rec.memory_mb
    )
}

pub(super) fn arch_advice(
    groups: &[SizeGroup],
    arch: Arch,
    at: &CurvePoint,
    region: &str,
    rate: f64,
    uncertainty: f64,
) -> ArchAdvice {
    let alternative = match arch {
        Arch::X86_64 => Arch::Arm64,
        Arch::Arm64 => Arch::X86_64,
    };
    // Measured when both architectures ran at one size within the version.
    let mut ratios = Vec::new();
    for g in groups.iter().filter(|g| g.arch == alternative) {
        if let Some(h) = groups
            .iter()
            .find(|h| h.arch == arch && h.memory_mb == g.memory_mb && h.p50_ms > 0.0)
        {
            ratios.push(g.p50_ms / h.p50_ms);
        }
    }
    let u = if uncertainty.is_finite() {
        uncertainty.clamp(0.0, 0.9)
    } else {
        0.2
    };
    let (ratio, confidence) = match ratios.first() {
        Some(&r) if r.is_finite() => ((r, r, r), Confidence::Measured),
        _ => ((1.0 - u, 1.0, 1.0 + u), Confidence::Estimated),
    };
    let cost = |f: f64| monthly_cost(region, alternative, rate, at.billed_ms * f, at.memory_mb).0;
    let (p_cur, _) = cost::price_list(region, arch);
    let (p_alt, _) = cost::price_list(region, alternative);
    ArchAdvice {
        current: arch,
        alternative,
        memory_mb: at.memory_mb,
        current_monthly_cost_usd: at.monthly_cost_usd,
        alternative_monthly_cost_usd: cost(ratio.1),
        alternative_cost_range_usd: (cost(ratio.0), cost(ratio.2)),
        speed_ratio: ratio,
        confidence,
        price_ratio: if p_cur.base_gb_s() > 0.0 {
            p_alt.base_gb_s() / p_cur.base_gb_s()
        } else {
            1.0
        },
    }
}

/// Evidence about the natural experiment from the function's change points: the memory-size
/// changes inside the analysed version (with when, from and to, and whether it was a rollback)
/// and the other changes inside it that confound a fit by size (runtime version,
/// architecture). Without change points (none known), the memory switches in invocation order.
pub(super) fn experiment_evidence(
    input: &FunctionInput,
    in_version: &[&Observation],
    version: Option<&str>,
    evidence: &mut Vec<Evidence>,
) {
    use crate::impact::Attribute;
    let shown = version.unwrap_or("(unknown)");
    let latest_note = if version == Some("$LATEST") {
        "; $LATEST hides code deploys, so a deploy between sizes would confound the fit"
    } else {
        ""
    };
    let Some(since) = in_version.iter().map(|o| o.at_ms).min() else {
        return;
    };
    if input.changes.is_empty() {
        let switches = in_version
            .windows(2)
            .filter(|w| w[0].memory_mb != w[1].memory_mb)
            .count();
        if switches > 0 {
            evidence.push(ev(
                "configuration_changes",
                format!(
                    "memory size changed {switches} time(s) within version {shown}{latest_note}"
                ),
            ));
        }
        return;
    }
    let inside = |c: &&crate::impact::Change| c.at_ms >= since;
    let memory: Vec<String> = input
        .changes
        .iter()
        .filter(inside)
        .filter(|c| c.attribute == Attribute::MemorySize)
        .map(|c| {
            format!(
                "{} → {} MB at {}{}",
                c.from.as_deref().unwrap_or("?"),
                c.to.as_deref().unwrap_or("?"),
                crate::time::format_utc_ms(c.at_ms),
                if c.rollback { " (rollback)" } else { "" }
            )
        })
        .collect();
    if memory.is_empty() {
        return;
    }
    evidence.push(ev(
        "configuration_changes",
        format!(
            "memory size changed {} time(s) within version {shown}: {}{latest_note}",
            memory.len(),
            memory.join(", ")
        ),
    ));
    for c in input.changes.iter().filter(inside).filter(|c| {
        matches!(
            c.attribute,
            Attribute::RuntimeVersion | Attribute::Architecture
        )
    }) {
        evidence.push(ev(
            "confounder",
            format!(
                "{} changed to {} at {}, inside the experiment: sizes measured before and after differ in more than memory",
                c.attribute.as_str().replace('_', " "),
                c.to.as_deref().unwrap_or("?"),
                crate::time::format_utc_ms(c.at_ms)
            ),
        ));
    }
}
