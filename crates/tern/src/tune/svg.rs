//! `tern tune --svg`: duration (p50 and p95, left axis) and cost per million invocations
//! (right axis) against memory, the current size marked. Hand-written SVG 1.1: no
//! dependencies, valid XML, every piece of text escaped.

use std::fmt::Write as _;

use tern_store::{Arch, TuningPoint};

const W: f64 = 760.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 80.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// Escape text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `v`.
fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|x| *x >= v)
        .unwrap_or(10.0 * p)
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The chart of one run's points. `current_mb` is marked when it is among the sizes.
pub fn chart(title: &str, points: &[TuningPoint], current_mb: u32) -> String {
    let mut sizes: Vec<u32> = points.iter().map(|p| p.memory_mb).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut archs: Vec<Arch> = points.iter().map(|p| p.arch).collect();
    archs.sort();
    archs.dedup();
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x_of = |m: u32| -> f64 {
        let i = sizes.iter().position(|s| *s == m).unwrap_or(0) as f64;
        let n = sizes.len().max(2) as f64 - 1.0;
        LEFT + plot_w * if sizes.len() < 2 { 0.5 } else { i / n }
    };
    let dmax = nice_max(
        points
            .iter()
            .filter_map(|p| p.p95_ms.or(p.p50_ms))
            .fold(0.0, f64::max),
    );
    let cmax = nice_max(
        points
            .iter()
            .filter_map(|p| p.cost_usd)
            .map(|c| c * 1e6)
            .fold(0.0, f64::max),
    );
    let yd = |v: f64| TOP + plot_h * (1.0 - v / dmax);
    let yc = |v: f64| TOP + plot_h * (1.0 - v / cmax);

    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    // Grid and axes.
    for i in 0..=4 {
        let f = f64::from(i) / 4.0;
        let y = TOP + plot_h * (1.0 - f);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            num(dmax * f)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + plot_w + 6.0,
            y + 4.0,
            num(cmax * f)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">duration (ms)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" transform="rotate(90 {:.1} {:.1})" text-anchor="middle">USD per 1M invocations</text>"#,
        W - 16.0,
        TOP + plot_h / 2.0,
        W - 16.0,
        TOP + plot_h / 2.0
    );
    for &m in &sizes {
        let x = x_of(m);
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{m}</text>"#,
            TOP + plot_h + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">memory (MB)</text>"#,
        LEFT + plot_w / 2.0,
        H - 24.0
    );
    // The current size.
    if sizes.contains(&current_mb) {
        let x = x_of(current_mb);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="2,3"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">current</text>"##,
            TOP - 6.0
        );
    }
    // One set of lines per architecture.
    for (k, arch) in archs.iter().enumerate() {
        let mut pts: Vec<&TuningPoint> = points.iter().filter(|p| p.arch == *arch).collect();
        pts.sort_by_key(|p| p.memory_mb);
        let (dur, costc) = if k == 0 {
            ("#1f77b4", "#ff7f0e")
        } else {
            ("#2ca02c", "#d62728")
        };
        let line = |f: &dyn Fn(&TuningPoint) -> Option<f64>, y: &dyn Fn(f64) -> f64| -> String {
            pts.iter()
                .filter_map(|p| f(p).map(|v| format!("{:.1},{:.1}", x_of(p.memory_mb), y(v))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let a = arch.as_str();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{dur}" stroke-width="2" points="{}"><title>p50 duration {a}</title></polyline>"#,
            line(&|p| p.p50_ms, &yd)
        );
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{dur}" stroke-width="1.5" stroke-dasharray="6,4" points="{}"><title>p95 duration {a}</title></polyline>"#,
            line(&|p| p.p95_ms, &yd)
        );
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{costc}" stroke-width="2" points="{}"><title>cost per 1M invocations {a}</title></polyline>"#,
            line(&|p| p.cost_usd.map(|c| c * 1e6), &yc)
        );
        for p in &pts {
            let x = x_of(p.memory_mb);
            if let Some(v) = p.p50_ms {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{:.1}" r="3" fill="{dur}"/>"#,
                    yd(v)
                );
            }
            if let Some(c) = p.cost_usd {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{:.1}" r="3" fill="{costc}"/>"#,
                    yc(c * 1e6)
                );
            }
            if p.errors > 0 {
                let _ = writeln!(
                    s,
                    r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#d00">{} failed</text>"##,
                    TOP + plot_h - 6.0 - 14.0 * k as f64,
                    p.errors
                );
            }
        }
        // Legend.
        let lx = LEFT + 250.0 * k as f64;
        let _ = writeln!(
            s,
            r#"<text x="{lx:.1}" y="{:.1}" font-size="11"><tspan fill="{dur}">— p50 / - - p95 duration</tspan> <tspan fill="{costc}">— cost</tspan> ({a})</text>"#,
            H - 6.0
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1}y"), "xy");
        let svg = chart("f <&> \"q\"", &[], 128);
        assert!(svg.contains("<title>f &lt;&amp;&gt; &quot;q&quot;</title>"));
        assert!(!svg.contains("<&>"));
    }

    #[test]
    fn nice_axis_maxima() {
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
    }
}
