//! The crates' modules form layers: no source file imports one that, directly or through
//! others, imports it back. Such a circle means neither file can be understood, tested or
//! moved without the other. This guard reads every `crate::…` and `super::…` path in each
//! crate's `src/` (test modules left out), resolves it to the file that defines the module,
//! and fails listing each circle with the names that tie it.
//!
//! A module's own parent (`mod.rs` or `lib.rs` of an enclosing module) is not counted: the
//! parent declares its children, so a child reading a type its parent defines is structure,
//! not a circle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &["tern-core", "tern-store", "tern"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src/`: `lib.rs` → [], `a/mod.rs` → [a], `a/b.rs` → [a, b].
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "lib.rs" | "main.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// The source without its `#[cfg(test)]` modules (from the attribute to the end of the file:
/// test modules come last) and without comments.
fn code_of(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod ").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names, each as module segments from the crate root: `crate::a::b::C`,
/// `super::x` (relative to the file's module), and the braces of `use crate::a::{b, c::d}`.
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let starts = i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let (base, skip) = if starts && rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if starts && rest.starts_with("super::") {
            // `super` of `a/b.rs` is `a`; of `a/b/mod.rs` also `a`.
            let mut m = module.to_vec();
            let mut j = i;
            let mut n = 0;
            while bytes[j..].iter().collect::<String>().starts_with("super::") {
                n += 1;
                j += 7;
            }
            for _ in 0..n {
                m.pop();
            }
            (m, j - i)
        } else {
            i += 1;
            continue;
        };
        i += skip;
        let mut segs = base.clone();
        let mut word = String::new();
        while i < bytes.len() {
            let c = bytes[i];
            if ident(c) {
                word.push(c);
                i += 1;
            } else if c == ':' && bytes.get(i + 1) == Some(&':') {
                segs.push(std::mem::take(&mut word));
                i += 2;
                if bytes.get(i) == Some(&'{') {
                    // A use list: every name in the braces, one level deep per segment.
                    let close = (i..bytes.len()).find(|&k| bytes[k] == '}').unwrap_or(i);
                    let inner: String = bytes[i + 1..close].iter().collect();
                    for item in inner.split(',') {
                        let mut p = segs.clone();
                        p.extend(
                            item.trim()
                                .split("::")
                                .map(|s| s.trim().trim_start_matches('{').to_string())
                                .filter(|s| !s.is_empty() && s != "self"),
                        );
                        out.push(p);
                    }
                    i = close;
                    break;
                }
            } else {
                break;
            }
        }
        if !word.is_empty() {
            segs.push(word);
        }
        out.push(segs);
    }
    out
}

#[test]
fn no_source_file_imports_one_that_imports_it_back() {
    let root = workspace_root();
    let mut circles = Vec::new();
    for krate in CRATES {
        let src = root.join("crates").join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<Vec<String>, PathBuf> = files
            .iter()
            .map(|f| (module_of(f.strip_prefix(&src).unwrap()), f.clone()))
            .collect();
        // file → (file it names → the names it takes)
        let mut edges: BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>> =
            BTreeMap::new();
        for (module, file) in &modules {
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            for path in paths_in(&code, module) {
                // The longest prefix that is a module with a file.
                let Some(k) = (1..=path.len())
                    .rev()
                    .find(|&k| modules.contains_key(&path[..k]))
                else {
                    continue;
                };
                let target = path[..k].to_vec();
                // Itself, and its enclosing modules, are not imports.
                if target == *module || module.starts_with(&target) {
                    continue;
                }
                let name = path.get(k).cloned().unwrap_or_else(|| "*".into());
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(target)
                    .or_default()
                    .insert(name);
            }
        }
        for scc in strongly_connected(&modules.keys().cloned().collect::<Vec<_>>(), &edges) {
            let mut text = format!("{krate}: {} files:\n", scc.len());
            for a in &scc {
                for (b, names) in edges.get(a).into_iter().flatten() {
                    if scc.contains(b) {
                        text.push_str(&format!(
                            "  {} -> {}: {}\n",
                            shown(a),
                            shown(b),
                            names.iter().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                }
            }
            circles.push(text);
        }
    }
    assert!(
        circles.is_empty(),
        "modules that import each other (move what both need into a module below them):\n{}",
        circles.join("\n")
    );
}

fn shown(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Tarjan's algorithm: the components of more than one node.
fn strongly_connected(
    nodes: &[Vec<String>],
    edges: &BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>>,
) -> Vec<BTreeSet<Vec<String>>> {
    struct State<'a> {
        index: BTreeMap<&'a [String], usize>,
        low: BTreeMap<&'a [String], usize>,
        stack: Vec<&'a [String]>,
        on_stack: BTreeSet<&'a [String]>,
        next: usize,
        out: Vec<BTreeSet<Vec<String>>>,
    }
    fn visit<'a>(
        v: &'a [String],
        edges: &'a BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>>,
        s: &mut State<'a>,
    ) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in edges.get(v).into_iter().flat_map(|m| m.keys()) {
            let w = w.as_slice();
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.insert(w.to_vec());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v.as_slice()) {
            visit(v, edges, &mut s);
        }
    }
    s.out
}

#[test]
fn paths_resolve_from_crate_and_super() {
    let m = vec!["a".to_string(), "b".to_string()];
    let got = paths_in(
        "use crate::x::{y, z::W};\nuse super::c::D;\nlet v = crate::q::f();",
        &m,
    );
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(got.contains(&s(&["x", "y"])), "{got:?}");
    assert!(got.contains(&s(&["x", "z", "W"])), "{got:?}");
    assert!(got.contains(&s(&["a", "c", "D"])), "{got:?}");
    assert!(got.contains(&s(&["q", "f"])), "{got:?}");
}
