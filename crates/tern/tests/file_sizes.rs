//! No source file grows past [`LIMIT`] lines: a file that long holds several responsibilities,
//! and is split into modules along them. This guard walks every crate's `src/` and fails
//! listing each file over the limit. Test code is left out: files named `tests.rs` and files
//! under a `tests/` directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// Most lines a non-test source file may have.
const LIMIT: usize = 1000;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every non-test `.rs` file under `dir`.
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "tests") {
                source_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs")
            && p.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(p);
        }
    }
}

/// `(path relative to the workspace root, lines)` of every non-test source file.
fn sizes() -> Vec<(String, usize)> {
    let root = workspace_root();
    let mut files = Vec::new();
    for e in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = e.unwrap().path().join("src");
        if src.is_dir() {
            source_files(&src, &mut files);
        }
    }
    let mut out: Vec<(String, usize)> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            (rel, std::fs::read_to_string(f).unwrap().lines().count())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn no_source_file_is_over_the_limit() {
    let sizes = sizes();
    assert!(!sizes.is_empty(), "no source files found");
    let over: Vec<String> = sizes
        .iter()
        .filter(|(_, n)| *n > LIMIT)
        .map(|(f, n)| format!("  {f}: {n} lines"))
        .collect();
    assert!(
        over.is_empty(),
        "source files over {LIMIT} lines (split them into modules by responsibility):\n{}",
        over.join("\n")
    );
}
