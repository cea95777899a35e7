//! Product text is for users: source comments, doc comments, CLI help and the documentation
//! say what a thing is and why, never which tracker ticket brought it. This guard fails,
//! listing `file:line`, for every line of the crates' sources, tests and benches, README.md,
//! ARCHITECTURE.md and BENCHMARKS.md that names a ticket as the word "issue", spaces and a
//! number (any case).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// This file, which spells out the pattern in its own test.
const SELF: &str = "crates/tern/tests/source_text.rs";

/// Top-level files checked besides the crates' trees.
const DOCUMENTS: &[&str] = &["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"];

/// Directories of each crate that are checked, recursively.
const CRATE_TREES: &[&str] = &["src", "tests", "benches"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `line` holds the word "issue" (any case, not the end of a longer word), one or
/// more spaces, then a digit.
fn names_a_ticket(line: &str) -> bool {
    let bytes = line.as_bytes();
    let word = b"issue";
    let mut i = 0;
    while i + word.len() <= bytes.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if starts_word && bytes[i..i + word.len()].eq_ignore_ascii_case(word) {
            let mut j = i + word.len();
            let mut spaces = 0;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
                spaces += 1;
            }
            if spaces > 0 && j < bytes.len() && bytes[j].is_ascii_digit() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Every file under `dir`, recursively, skipping `target` directories.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                walk(&path, files);
            }
        } else {
            files.push(path);
        }
    }
}

/// `path` relative to the workspace root, with `/` between its parts.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap();
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_pattern_matches_ticket_numbers_only() {
    assert!(names_a_ticket("change points (issue 8)"));
    assert!(names_a_ticket("/// Issue 12: a thing"));
    assert!(names_a_ticket("ISSUE  3"));
    assert!(!names_a_ticket("Power Tuning issue #60"));
    assert!(!names_a_ticket("an issue in the function code"));
    assert!(!names_a_ticket("tissue 5"));
    assert!(!names_a_ticket("issue"));
}

#[test]
fn product_text_names_no_tickets() {
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let krate = krate.unwrap().path();
        for tree in CRATE_TREES {
            walk(&krate.join(tree), &mut files);
        }
    }
    for document in DOCUMENTS {
        let path = root.join(document);
        assert!(path.is_file(), "{} is missing", path.display());
        files.push(path);
    }
    files.sort();

    let mut checked = 0;
    let mut offenders = Vec::new();
    for path in &files {
        let rel = relative(&root, path);
        if rel == SELF {
            continue;
        }
        // Binary fixtures (compressed corpora) are not text.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        checked += 1;
        for (n, line) in text.lines().enumerate() {
            if names_a_ticket(line) {
                offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    // The walk found the workspace: the sources of all three crates and the documents.
    assert!(
        checked > 100,
        "only {checked} files checked under {}",
        root.display()
    );
    assert!(
        offenders.is_empty(),
        "product text names tracker tickets; say what the thing is or why instead:\n{}",
        offenders.join("\n")
    );
}
