#![allow(clippy::unwrap_used)]
use super::*;

fn env(k: &str) -> Option<String> {
    match k {
        "CH_PASS" => Some("s3cret".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Config> {
    Config::parse_with_env(text, &env)
}

fn err(text: &str) -> String {
    format!("{:#}", parse(text).unwrap_err())
}

#[test]
fn clickhouse_defaults_and_full() {
    let c = parse("[store]\nbackend = \"clickhouse\"\nurl = \"http://127.0.0.1:8123/\"").unwrap();
    assert_eq!(
        c.store,
        StoreConfig::ClickHouse(ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "tern".into(),
            user: "default".into(),
            password: None,
            ca_file: None,
            cluster: None,
        })
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let c = parse(&format!(
        "[store]\nbackend = \"clickhouse\"\nurl = \"https://ch.internal:8443\"\n\
             database = \"lambda_2\"\nuser = \"tern\"\npassword_env = \"CH_PASS\"\n\
             ca_file = {:?}\ncluster = \"main\"",
        ca.display().to_string()
    ))
    .unwrap();
    let StoreConfig::ClickHouse(ch) = &c.store else {
        panic!("not ClickHouse: {:?}", c.store);
    };
    assert_eq!(ch.password.as_deref(), Some("s3cret"));
    assert_eq!(ch.database, "lambda_2");
    assert_eq!(ch.cluster.as_deref(), Some("main"));
    assert_eq!(ch.ca_file.as_deref(), Some(ca.as_path()));
    // The password never prints.
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let c = parse("[store]\nbackend = \"clickhouse\"\nurl = \"http://h:8123\"\npassword = \"p\"")
        .unwrap();
    assert!(!format!("{c:?}").contains("\"p\""));
}

#[test]
fn sqlite_is_the_default() {
    assert_eq!(parse("").unwrap().store, StoreConfig::Sqlite);
    assert_eq!(
        parse("[store]\nbackend = \"sqlite\"\npath = \"/x/t.db\"")
            .unwrap()
            .store,
        StoreConfig::SqlitePath(PathBuf::from("/x/t.db"))
    );
}

#[test]
fn every_bad_store_key_is_named() {
    let ch = "[store]\nbackend = \"clickhouse\"\n";
    for (text, needle) in [
        (
            "[store]\nbackend = \"postgres\"".to_string(),
            "store.backend = \"postgres\"",
        ),
        ("[store]\nbackend = 1".to_string(), "backend"),
        (
            "[store]\nurl = \"http://h:8123\"".to_string(),
            "store.url is a ClickHouse setting",
        ),
        (
            "[store]\npassword_env = \"X\"".to_string(),
            "store.password_env is a ClickHouse",
        ),
        ("[store]\npath = \"\"".to_string(), "store.path is empty"),
        ("[store]\nhost = \"h\"".to_string(), "unknown field `host`"),
        (ch.to_string(), "store.url is missing"),
        (format!("{ch}url = \"h:8123\""), "store.url"),
        (format!("{ch}url = \"ftp://h\""), "http:// or https://"),
        (format!("{ch}url = \"http://\""), "store.url"),
        (format!("{ch}url = \"http://u:p@h:8123\""), "credentials"),
        (
            format!("{ch}url = \"http://h:8123/db?x=1\""),
            "without a path",
        ),
        (
            format!("{ch}url = \"http://h\"\npath = \"t.db\""),
            "store.path is the SQLite file",
        ),
        (
            format!("{ch}url = \"http://h\"\ndatabase = \"te-rn\""),
            "store.database",
        ),
        (
            format!("{ch}url = \"http://h\"\ndatabase = \"\""),
            "store.database",
        ),
        (
            format!("{ch}url = \"http://h\"\ndatabase = \"1x\""),
            "store.database",
        ),
        (format!("{ch}url = \"http://h\"\nuser = \"\""), "store.user"),
        (
            format!("{ch}url = \"http://h\"\npassword = \"a\"\npassword_env = \"CH_PASS\""),
            "both set",
        ),
        (
            format!("{ch}url = \"http://h\"\npassword_env = \"NOPE\""),
            "NOPE is not set",
        ),
        (
            format!("{ch}url = \"http://h\"\npassword_env = \"EMPTY\""),
            "EMPTY is set but empty",
        ),
        (
            format!("{ch}url = \"http://h\"\npassword_env = \"\""),
            "store.password_env is empty",
        ),
        (
            format!("{ch}url = \"http://h\"\ncluster = \"a b\""),
            "store.cluster",
        ),
        (
            format!("{ch}url = \"http://h\"\nca_file = \"/x.pem\""),
            "store.ca_file applies",
        ),
        (
            format!("{ch}url = \"https://h\"\nca_file = \"/nonexistent/ca.pem\""),
            "store.ca_file",
        ),
        (
            format!("{ch}url = \"https://h\"\nca_file = \"/\""),
            "not a file",
        ),
    ] {
        let e = err(&text);
        assert!(
            e.contains(needle),
            "{text:?}: {e:?} does not contain {needle:?}"
        );
    }
}

#[test]
fn resolve_picks_one_store() {
    let ch = parse("[store]\nbackend = \"clickhouse\"\nurl = \"http://h:8123\"").unwrap();
    assert!(matches!(
        ch.store.resolve(None, None).unwrap(),
        StoreBackend::ClickHouse(_)
    ));
    let e = ch
        .store
        .resolve(Some(Path::new("x.db")), Some(Path::new("tern.toml")))
        .unwrap_err();
    assert!(format!("{e:#}").contains("drop one"), "{e:#}");
    let at = StoreConfig::SqlitePath(PathBuf::from("/a.db"));
    assert_eq!(
        at.resolve(None, None).unwrap(),
        StoreBackend::Sqlite(PathBuf::from("/a.db"))
    );
    assert_eq!(
        at.resolve(Some(Path::new("/b.db")), None).unwrap(),
        StoreBackend::Sqlite(PathBuf::from("/b.db"))
    );
    assert_eq!(
        StoreConfig::Sqlite.resolve(None, None).unwrap(),
        StoreBackend::Sqlite(PathBuf::from(DEFAULT_DB))
    );
}

#[test]
fn cluster_parses_and_every_bad_key_is_named() {
    let c =
        parse("[cluster]\ncollectors = [\"b\", \"a\"]\nself = \"a\"\nlease_ttl = \"15s\"").unwrap();
    assert_eq!(c.cluster.collectors, ["a", "b"]);
    assert_eq!(c.cluster.self_id.as_deref(), Some("a"));
    assert_eq!(c.cluster.lease_ttl, Duration::from_secs(15));
    assert!(parse("").unwrap().cluster.collectors.is_empty());
    for (text, needle) in [
        ("[cluster]", "cluster.collectors is empty"),
        ("[cluster]\ncollectors = []", "cluster.collectors is empty"),
        (
            "[cluster]\ncollectors = [\"a\", \"a\"]",
            "cluster.collectors[1]",
        ),
        ("[cluster]\ncollectors = [\"a/b\"]", "cluster.collectors[0]"),
        ("[cluster]\ncollectors = [\"\"]", "cluster.collectors[0]"),
        (
            "[cluster]\ncollectors = [\"a\"]\nself = \"c\"",
            "cluster.self = \"c\" is not in",
        ),
        (
            "[cluster]\ncollectors = [\"a\"]\nself = \"a b\"",
            "cluster.self",
        ),
        (
            "[cluster]\ncollectors = [\"a\"]\nlease_ttl = \"1s\"",
            "cluster.lease_ttl",
        ),
        (
            "[cluster]\ncollectors = [\"a\"]\nlease_ttl = \"1h\"",
            "cluster.lease_ttl",
        ),
        (
            "[cluster]\ncollectors = [\"a\"]\nlease_ttl = \"soon\"",
            "cluster.lease_ttl",
        ),
        (
            "[cluster]\ncollectors = [\"a\"]\nmembers = 2",
            "unknown field `members`",
        ),
    ] {
        let e = err(text);
        assert!(
            e.contains(needle),
            "{text:?}: {e:?} does not contain {needle:?}"
        );
    }
}
