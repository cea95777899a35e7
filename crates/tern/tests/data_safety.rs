//! What a new user meets in the first hour, through the real binary: serving a database never
//! deletes data unasked, input whose function cannot be known is refused with the fix, garbage
//! input fails instead of "ingested 0 events", and a mistake can be deleted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bin.rs"]
mod bin;
#[path = "support/firehose.rs"]
mod firehose;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use bin::{ok, tern};
use serde_json::Value;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn failed(o: Output, what: &str) -> String {
    assert!(
        !o.status.success(),
        "{what} should fail; stderr:\n{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(1), "{what}: exit code");
    stderr(&o)
}

fn ingest(db: &Path, args: &[&str], paths: &[&Path]) -> Output {
    let mut c = tern();
    c.arg("ingest").arg("--db").arg(db).args(args);
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

/// Function name → invocations, from `tern report --format json` over all time.
fn counts(db: &Path) -> Vec<(String, u64)> {
    let out = ok(
        tern()
            .args(["report", "--format", "json", "--from", "2000-01-01", "--db"])
            .arg(db)
            .output()
            .unwrap(),
        "report",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap().to_string(),
                f["invocations"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn total(db: &Path) -> u64 {
    counts(db).iter().map(|(_, n)| n).sum()
}

fn simulate(dir: &Path, format: &str, functions: usize) -> (PathBuf, Value) {
    let logs = dir.join(format);
    ok(
        tern()
            .args(["simulate", "--format", format, "--out"])
            .arg(&logs)
            .args([
                "--functions",
                &functions.to_string(),
                "--days",
                "1",
                "--seed",
                "5",
            ])
            .output()
            .unwrap(),
        "simulate",
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join(".truth.json")).unwrap()).unwrap();
    (logs, truth)
}

/// Serve `db` with `config` (if any) until it prints `wait_for` (at most 20 s), or for two
/// seconds when there is nothing to wait for: retention's first pass runs right at start.
/// Returns what the server said on stderr.
fn serve_briefly(db: &Path, config: Option<&Path>, wait_for: Option<&str>) -> String {
    let s = firehose::Serve::start(Path::new(env!("CARGO_BIN_EXE_tern")), db, config);
    match wait_for {
        None => std::thread::sleep(Duration::from_secs(2)),
        Some(line) => {
            let until = Instant::now() + Duration::from_secs(20);
            while !s.stderr.lock().unwrap().contains(line) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    s.terminate()
}

#[test]
fn serve_deletes_nothing_unless_retention_is_configured_and_then_says_what() {
    let dir = tempfile::tempdir().unwrap();
    // The simulated day is in November 2026: weeks older than any clock this test runs on.
    let (logs, truth) = simulate(dir.path(), "jsonl", 2);
    let want = truth["totals"]["invocations"].as_u64().unwrap();
    let db = dir.path().join("tern.db");
    ok(ingest(&db, &[], &[&logs]), "ingest");
    assert_eq!(total(&db), want);

    // No configuration: nothing is deleted, and nothing claims to be.
    let said = serve_briefly(&db, None, None);
    assert!(!said.contains("retention"), "{said}");
    let listed = |db: &Path| -> usize {
        let out = ok(
            tern()
                .args([
                    "invocations",
                    "--format",
                    "json",
                    "--limit",
                    "100000",
                    "--db",
                ])
                .arg(db)
                .output()
                .unwrap(),
            "invocations",
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(listed(&db) as u64, want, "raw invocations kept");

    // Configured: the first pass says what it will delete, then what it deleted.
    let config = dir.path().join("tern.toml");
    std::fs::write(&config, "[retention]\nraw = \"7d\"\n").unwrap();
    let said = serve_briefly(&db, Some(&config), Some("retention: deleted"));
    assert!(
        said.contains("retention: invocations and raw log lines older than 7days"),
        "{said}"
    );
    let announce = format!(
        "retention: first pass deletes {} invocations",
        bin::grouped(want)
    );
    let done = format!("retention: deleted {} invocations", bin::grouped(want));
    let (a, d) = (said.find(&announce), said.find(&done));
    assert!(
        a.is_some() && d.is_some() && a < d,
        "announced, then done:\n{said}"
    );
    assert_eq!(listed(&db), 0);
    assert_eq!(total(&db), want, "statistics outlive raw data");
}

#[test]
fn the_demo_database_is_never_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    ok(
        tern()
            .args(["demo", "--functions", "3", "--days", "1", "--db"])
            .arg(&db)
            .output()
            .unwrap(),
        "demo",
    );
    let before = total(&db);
    assert!(before > 0);
    let config = dir.path().join("tern.toml");
    std::fs::write(&config, "[retention]\nraw = \"1h\"\nrollups = \"1h\"\n").unwrap();
    let said = serve_briefly(&db, Some(&config), Some("retention: off"));
    assert!(said.contains("retention: off for this database"), "{said}");
    assert!(!said.contains("retention: deleted"), "{said}");
    assert_eq!(total(&db), before);
}

/// `aws logs filter-log-events` output names no log group, and Lambda's stream names carry no
/// function name: such events are refused with the fix, never stored under a guess that a
/// correct ingest would then double.
#[test]
fn cli_output_without_log_group_is_refused_and_the_right_ingest_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, truth) = simulate(dir.path(), "filter-log-events", 1);
    let name = truth["functions"][0]["name"].as_str().unwrap().to_string();
    let want = truth["totals"]["invocations"].as_u64().unwrap();
    let db = dir.path().join("tern.db");

    let said = failed(ingest(&db, &[], &[&logs]), "ingest without --log-group");
    assert!(said.contains("were not stored"), "{said}");
    assert!(said.contains("--log-group /aws/lambda/NAME"), "{said}");
    assert!(
        counts(&db).is_empty(),
        "nothing stored under a made-up name"
    );

    let group = format!("/aws/lambda/{name}");
    ok(
        ingest(&db, &["--log-group", &group], &[&logs]),
        "ingest with --log-group",
    );
    assert_eq!(counts(&db), [(name.clone(), want)]);
    ok(ingest(&db, &["--log-group", &group], &[&logs]), "again");
    assert_eq!(counts(&db), [(name, want)], "re-ingest changes nothing");
}

#[test]
fn garbage_in_fails_per_file_and_good_data_around_it_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("empty.log"), b"").unwrap();
    std::fs::write(
        junk.join("image.png"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde",
    )
    .unwrap();
    std::fs::write(junk.join("notes.txt"), "lorem ipsum dolor\nsit amet\n").unwrap();
    let db = dir.path().join("tern.db");

    let said = failed(ingest(&db, &[], &[&junk]), "ingest of garbage");
    assert!(
        said.contains("nothing usable was read from 3 inputs"),
        "{said}"
    );
    assert!(said.contains("empty.log: the file is empty"), "{said}");
    assert!(
        said.contains("image.png: not a recognized Lambda log format"),
        "{said}"
    );
    assert!(
        said.contains("notes.txt: not a recognized Lambda log format"),
        "{said}"
    );

    let empty = junk.join("empty.log");
    let said = failed(ingest(&db, &[], &[&empty]), "ingest of an empty file");
    assert!(said.contains("empty.log: the file is empty"), "{said}");

    // Good data next to garbage: stored, with a warning naming the useless input.
    let (logs, truth) = simulate(dir.path(), "jsonl", 1);
    let out = ok(ingest(&db, &[], &[&logs, &empty]), "mixed ingest");
    let said = stderr(&out);
    assert!(
        said.contains("empty.log: nothing read: the file is empty"),
        "{said}"
    );
    assert_eq!(total(&db), truth["totals"]["invocations"].as_u64().unwrap());
}

#[test]
fn delete_asks_names_the_closest_function_and_removes_a_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, truth) = simulate(dir.path(), "jsonl", 2);
    let db = dir.path().join("tern.db");
    ok(ingest(&db, &[], &[&logs]), "ingest");
    let names: Vec<String> = counts(&db).into_iter().map(|(n, _)| n).collect();
    let (gone, kept) = (&names[0], &names[1]);
    let delete = |args: &[&str]| {
        tern()
            .args(["delete", "--db"])
            .arg(&db)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let typo = format!("{}x", &gone[..gone.len() - 1]);
    let said = failed(delete(&["--function", &typo, "--yes"]), "delete of a typo");
    assert!(said.contains(&format!("did you mean {gone}")), "{said}");

    let said = failed(delete(&["--function", gone]), "delete without --yes");
    assert!(said.contains("add --yes"), "{said}");
    assert_eq!(counts(&db).len(), 2, "nothing deleted without confirmation");

    let bad = failed(
        delete(&["--function", gone, "--before", "soon", "--yes"]),
        "bad --before",
    );
    assert!(bad.contains("--before \"soon\""), "{bad}");

    let out = ok(delete(&["--function", gone, "--yes"]), "delete");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("the name is gone"), "{said}");
    let left = counts(&db);
    assert_eq!(left.len(), 1);
    assert_eq!(&left[0].0, kept);
    let kept_truth = truth["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == kept.as_str())
        .unwrap()["invocations"]
        .as_u64()
        .unwrap();
    assert_eq!(left[0].1, kept_truth);
    // Ingesting the same files again brings it back, counted once.
    ok(ingest(&db, &[], &[&logs]), "re-ingest");
    assert_eq!(total(&db), truth["totals"]["invocations"].as_u64().unwrap());
}

#[test]
fn cut_lists_say_so_and_a_mistyped_function_names_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, _) = simulate(dir.path(), "jsonl", 4);
    let db = dir.path().join("tern.db");
    ok(ingest(&db, &[], &[&logs]), "ingest");
    let run = |args: &[&str]| {
        let out = ok(
            tern().args(args).arg("--db").arg(&db).output().unwrap(),
            &args.join(" "),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let all = run(&["errors", "--from", "2000-01-01", "--limit", "1000"]);
    let groups = all.lines().count() - 1;
    assert!(groups > 2, "{all}");
    let cut = run(&["errors", "--from", "2000-01-01", "--limit", "2"]);
    let more = groups - 2;
    let noun = if more == 1 { "group" } else { "groups" };
    let said = format!("… {more} {noun} more (--limit {groups} shows them all)");
    assert!(cut.contains(&said), "{cut}");
    let cut = run(&["invocations", "--from", "2000-01-01", "--limit", "3"]);
    assert!(
        cut.contains("… more invocations match than the 3 shown"),
        "{cut}"
    );
    let whole = run(&["invocations", "--from", "2000-01-01", "--limit", "100000"]);
    assert!(
        !whole.contains("more invocations match"),
        "a whole list says nothing"
    );

    // A range with no data says where the data is (the simulated day is weeks old).
    for cmd in ["errors", "invocations", "recommend", "report", "insights"] {
        let out = ok(
            tern()
                .args([cmd, "--since", "1h", "--db"])
                .arg(&db)
                .output()
                .unwrap(),
            cmd,
        );
        let said = stderr(&out);
        assert!(
            said.contains("no data in this range: stored data spans 2026-11-01"),
            "{cmd}: {said}"
        );
        assert!(said.contains("try --since"), "{cmd}: {said}");
    }

    let name = counts(&db)[0].0.clone();
    let typo = format!("{}*", &name[..name.len() - 2]).replacen(&name[..1], "x", 1);
    for cmd in ["errors", "invocations", "recommend", "report", "insights"] {
        let out = tern()
            .args([cmd, "--function", &typo, "--db"])
            .arg(&db)
            .output()
            .unwrap();
        let said = failed(out, cmd);
        assert!(
            said.contains("no stored function matches --function"),
            "{cmd}: {said}"
        );
        assert!(said.contains("did you mean"), "{cmd}: {said}");
    }
}

/// `--listen localhost:PORT` binds the loopback address; a port already taken fails with the
/// address named, and leaves no token files behind.
#[test]
fn serve_listens_on_localhost_and_a_failed_bind_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let mut c = tern();
    c.args(["serve", "--listen", "localhost:0", "--db"])
        .arg(&db)
        .env_remove("TERN_API_TOKEN")
        .env_remove("TERN_INGEST_KEY");
    let s = firehose::Serve::spawn(c);
    assert!(
        s.url("/").starts_with("http://127.0.0.1:"),
        "{}",
        s.url("/")
    );
    let taken = s.url("").trim_start_matches("http://").to_string();
    let said = s.terminate();
    assert!(said.contains("created a random one"), "{said}");

    // A second server on the same port, over a fresh database: refused, nothing written.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap().to_string();
    let fresh = dir.path().join("fresh.db");
    let o = tern()
        .args(["serve", "--listen", &busy, "--db"])
        .arg(&fresh)
        .env_remove("TERN_API_TOKEN")
        .env_remove("TERN_INGEST_KEY")
        .output()
        .unwrap();
    let err = failed(o, "serve on a taken port");
    assert!(err.contains(&format!("cannot listen on {busy}")), "{err}");
    for suffix in ["api-token", "ingest-key"] {
        let p = dir.path().join(format!("fresh.db.{suffix}"));
        assert!(!p.exists(), "{} written by a failed start", p.display());
    }
    drop(listener);
    assert!(!taken.is_empty());

    let o = tern()
        .args(["serve", "--listen", "nowhere:port", "--db"])
        .arg(&fresh)
        .output()
        .unwrap();
    let err = failed(o, "serve --listen nowhere:port");
    assert!(err.contains("localhost:8080"), "{err}");
}

/// A database in a directory that does not exist is refused, naming the directory, and the
/// path is said once.
#[test]
fn a_database_in_a_missing_directory_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-such-dir").join("tern.db");
    let logs = dir.path().join("empty.log");
    std::fs::write(&logs, "").unwrap();
    let o = tern()
        .arg("ingest")
        .arg("--db")
        .arg(&db)
        .arg(&logs)
        .output()
        .unwrap();
    let err = failed(o, "ingest into a missing directory");
    assert!(
        err.contains(&format!(
            "the directory {} does not exist",
            db.parent().unwrap().display()
        )),
        "{err}"
    );
    assert_eq!(err.matches(&db.display().to_string()).count(), 1, "{err}");
}

/// The demo keeps only its database, and says where it is and how to remove it.
#[test]
fn the_demo_says_where_its_files_are_and_keeps_only_the_database() {
    let o = ok(
        tern()
            .args(["demo", "--functions", "2", "--days", "1"])
            .output()
            .unwrap(),
        "demo",
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = out
        .lines()
        .find(|l| l.starts_with("The demo's database is kept in "))
        .unwrap_or_else(|| panic!("no line saying where the demo's files are:\n{out}"));
    let dir = PathBuf::from(
        line.trim_start_matches("The demo's database is kept in ")
            .split(" for the commands above")
            .next()
            .unwrap(),
    );
    assert!(dir.join("tern.db").is_file(), "{}", dir.display());
    assert!(
        !dir.join("logs").exists(),
        "simulated logs left in {}",
        dir.display()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Diagnostics into a pipe or a file carry no terminal colour codes.
#[test]
fn diagnostics_into_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let s = firehose::Serve::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_tern")),
        &db,
        None,
        &[("TERN_LOG", "info")],
    );
    let err = s.terminate();
    assert!(err.contains("INFO"), "no diagnostics to check:\n{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in piped stderr:\n{err:?}"
    );
}

/// `tern passwd` at a terminal asks twice without echo; two different answers write nothing.
/// The terminal is a pseudo-terminal made by Python's standard `pty` module.
#[test]
fn passwd_at_a_terminal_asks_twice_without_echo() {
    let script = r#"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "passwd", "alice"])
out = b""
def drain(seconds, until):
    global out
    end = time.time() + seconds
    while until not in out and time.time() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
        if not ready:
            return
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        out += chunk
drain(20, b"Password: ")
os.write(fd, (sys.argv[2] + "\n").encode())
drain(20, b"again: ")
os.write(fd, (sys.argv[3] + "\n").encode())
drain(60, b"\x00")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.write("\nEXIT %d\n" % os.waitstatus_to_exitcode(status))
"#;
    let run = |first: &str, second: &str| -> String {
        let o = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_tern"))
            .arg(first)
            .arg(second)
            .output()
            .expect("python3 runs the pseudo-terminal");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let secret = "a long dashboard passphrase";
    let same = run(secret, secret);
    assert!(same.contains("Password: "), "{same}");
    assert!(same.contains("password_hash = \"$argon2id$"), "{same}");
    assert!(!same.contains(secret), "the password was echoed:\n{same}");
    assert!(same.contains("EXIT 0"), "{same}");
    let differ = run(secret, "another long passphrase");
    assert!(differ.contains("the two passwords differ"), "{differ}");
    assert!(!differ.contains("password_hash"), "{differ}");
    assert!(differ.contains("EXIT 1"), "{differ}");
}

#[test]
fn an_unknown_region_is_refused_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tern.db");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // Ingest (the region sets prices), pull and the config's accounts: one check, one message.
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        "[[accounts]]\nname = \"main\"\nregions = [\"eu-sout-1\"]\n",
    )
    .unwrap();
    let runs: [(&str, Vec<String>); 3] = [
        (
            "ingest",
            vec!["ingest".into(), "--region".into(), "eu-sout-1".into()],
        ),
        (
            "pull",
            vec![
                "pull".into(),
                "--endpoint-url".into(),
                "http://127.0.0.1:9".into(),
                "--region".into(),
                "eu-sout-1".into(),
            ],
        ),
        (
            "config",
            vec![
                "pull".into(),
                "--endpoint-url".into(),
                "http://127.0.0.1:9".into(),
                "--config".into(),
                config.display().to_string(),
            ],
        ),
    ];
    for (what, args) in runs {
        let mut cmd = tern();
        cmd.args(&args).arg("--db").arg(&db);
        if what == "ingest" {
            cmd.arg(&logs);
        }
        let out = cmd
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(e.contains("unknown region \"eu-sout-1\""), "{what}: {e}");
        assert!(e.contains("did you mean eu-south-1"), "{what}: {e}");
        assert!(e.contains("us-east-1, us-east-2"), "{what}: {e}");
        assert!(!e.contains("panicked"), "{what}: {e}");
    }
    // Nothing was written on the way.
    assert!(!db.exists());
    // A known region is taken.
    ok(
        tern()
            .args(["simulate", "--functions", "1", "--days", "1", "--out"])
            .arg(&logs)
            .output()
            .unwrap(),
        "simulate",
    );
    ok(
        tern()
            .args(["ingest", "--quiet", "--region", "eu-south-1", "--db"])
            .arg(&db)
            .arg(&logs)
            .output()
            .unwrap(),
        "ingest in eu-south-1",
    );
}
