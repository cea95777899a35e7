//! ClickHouse's HTTP interface: queries in the POST body, rows in and out as JSONEachRow (the
//! one format every version from 18.16 on reads and writes alike).
//!
//! Every request carries `output_format_json_quote_64bit_integers=0`: 18.16 quotes 64-bit
//! integers in JSON by default and current versions do not, so the setting makes both answer
//! the same; and `max_query_size` of 16 MiB, for the long `IN` lists of ingest's lookups. Responses are read with a size cap; a row that is not a JSON object, a truncated
//! body and an exception (HTTP 500 with `Code: N. DB::Exception: …`) are errors naming the
//! query, never panics.

use std::io::Read;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::StoreError;

/// Largest statement text the server parses (its default, 256 KiB, is less than a batch's
/// key lookups can take; `ingest` keeps each lookup to a few MiB).
const MAX_QUERY: usize = 16 << 20;

/// Largest response body read (a query answering more is an error, not an allocation).
const MAX_RESPONSE: u64 = 1 << 30;

/// How to reach the server, resolved once.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `scheme://host:port/`, always ending in `/`.
    base: String,
    user: String,
    password: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn backend(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(what.to_string())
}

/// The first line of a statement, shortened, to name it in errors.
pub(crate) fn short(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None => one,
    }
}

impl Client {
    /// A client for `url` (`http://…` or `https://…`), with extra CA certificates from
    /// `ca_pem` for a private CA.
    pub(crate) fn new(
        url: &str,
        user: &str,
        password: Option<&str>,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Client, String> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| format!("URL {url:?} must start with http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("URL {url:?} has no host"));
        }
        if rest.contains('?') || rest.contains('#') {
            return Err(format!(
                "URL {url:?} must not carry a query or fragment (set the database in `database`)"
            ));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(pem) = ca_pem {
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                match item.map_err(|e| format!("CA file: {e}"))? {
                    ureq::tls::PemItem::Certificate(c) => certs.push(c),
                    _ => continue,
                }
            }
            if certs.is_empty() {
                return Err("CA file holds no PEM certificate".into());
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .tls_config(tls.build())
            .build()
            .into();
        let mut base = url.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Client {
            agent,
            base,
            user: user.to_string(),
            password: password.map(str::to_string),
        })
    }

    fn url(&self, database: Option<&str>, extra: &[(&str, &str)]) -> String {
        let mut u = format!(
            "{}?output_format_json_quote_64bit_integers=0&max_query_size={MAX_QUERY}",
            self.base
        );
        if let Some(db) = database {
            u.push_str("&database=");
            u.push_str(&encode(db));
        }
        for (k, v) in extra {
            u.push('&');
            u.push_str(k);
            u.push('=');
            u.push_str(&encode(v));
        }
        u
    }

    /// POST `body` to the server; the response body on success.
    fn post(&self, url: &str, body: &[u8], what: &str) -> Result<String, StoreError> {
        let mut req = self.agent.post(url).header("X-ClickHouse-User", &self.user);
        if let Some(p) = &self.password {
            req = req.header("X-ClickHouse-Key", p);
        }
        let mut resp = req.send(body).map_err(|e| {
            backend(format!(
                "ClickHouse at {} unreachable ({what}): {e}",
                self.base
            ))
        })?;
        let status = resp.status().as_u16();
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_RESPONSE + 1)
            .read_to_string(&mut text)
            .map_err(|e| backend(format!("reading ClickHouse's answer to {what}: {e}")))?;
        if text.len() as u64 > MAX_RESPONSE {
            return Err(backend(format!(
                "ClickHouse's answer to {what} is over {MAX_RESPONSE} bytes"
            )));
        }
        if status != 200 {
            let msg = text.trim();
            let msg = if msg.is_empty() { "(no message)" } else { msg };
            return Err(backend(format!(
                "ClickHouse answered HTTP {status} to {what}: {}",
                short_message(msg)
            )));
        }
        // A server that fails after it started streaming appends the exception to the body.
        if let Some(i) = text.find("DB::Exception") {
            let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
            return Err(backend(format!(
                "ClickHouse failed while answering {what}: {}",
                short_message(&text[start..])
            )));
        }
        Ok(text)
    }

    /// Run a statement that returns nothing (DDL, ALTER).
    pub(crate) fn exec(&self, database: Option<&str>, sql: &str) -> Result<(), StoreError> {
        self.post(&self.url(database, &[]), sql.as_bytes(), &short(sql))
            .map(|_| ())
    }

    /// Insert rows (JSON objects, one per line) into `table`.
    pub(crate) fn insert(
        &self,
        database: &str,
        table: &str,
        rows: &[Map<String, Value>],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut body = Vec::with_capacity(rows.len() * 256);
        for r in rows {
            serde_json::to_writer(&mut body, r).map_err(backend)?;
            body.push(b'\n');
        }
        let q = format!("INSERT INTO {table} FORMAT JSONEachRow");
        let url = self.url(Some(database), &[("query", &q)]);
        self.post(&url, &body, &q).map(|_| ())
    }

    /// Run a SELECT (without FORMAT) and read its rows.
    pub(crate) fn select(&self, database: &str, sql: &str) -> Result<Vec<Row>, StoreError> {
        let full = format!("{sql} FORMAT JSONEachRow");
        let what = short(sql);
        let text = self.post(&self.url(Some(database), &[]), full.as_bytes(), &what)?;
        parse_rows(&text, &what)
    }
}

fn short_message(m: &str) -> String {
    let first = m.lines().next().unwrap_or("");
    match first.char_indices().nth(400) {
        Some((i, _)) => format!("{}…", &first[..i]),
        None => first.to_string(),
    }
}

/// Percent-encode a URL query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// JSONEachRow text into rows; a line that is not a JSON object is an error naming it.
pub(crate) fn parse_rows(text: &str, what: &str) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => rows.push(Row { m }),
            Ok(_) => {
                return Err(StoreError::Corrupt(format!(
                    "row {} of {what} is not a JSON object",
                    n + 1
                )))
            }
            Err(e) => {
                return Err(StoreError::Corrupt(format!(
                    "row {} of {what} is not valid JSON ({e}); truncated answer?",
                    n + 1
                )))
            }
        }
    }
    Ok(rows)
}

/// One row of a result, read by column name. A missing column or a value of the wrong type
/// is a `Corrupt` error naming the column.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    m: Map<String, Value>,
}

fn corrupt(col: &str, want: &str, v: &Value) -> StoreError {
    let shown = v.to_string();
    let shown = match shown.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &shown[..i]),
        None => shown,
    };
    StoreError::Corrupt(format!("column {col}: expected {want}, got {shown}"))
}

impl Row {
    pub(crate) fn map(&self) -> &Map<String, Value> {
        &self.m
    }

    fn get(&self, col: &str) -> Result<&Value, StoreError> {
        self.m
            .get(col)
            .ok_or_else(|| StoreError::Corrupt(format!("answer has no column {col}")))
    }

    pub(crate) fn str(&self, col: &str) -> Result<String, StoreError> {
        match self.get(col)? {
            Value::String(s) => Ok(s.clone()),
            v => Err(corrupt(col, "a string", v)),
        }
    }

    pub(crate) fn opt_str(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            v => Err(corrupt(col, "a string or null", v)),
        }
    }

    pub(crate) fn opt_i64(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
                .map(Some)
                .ok_or_else(|| corrupt(col, "an integer", &Value::Number(n.clone()))),
            // Quoted 64-bit integers (a server that ignored the setting).
            Value::String(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| corrupt(col, "an integer", &Value::String(s.clone()))),
            v => Err(corrupt(col, "an integer or null", v)),
        }
    }

    pub(crate) fn i64(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_i64(col)?
            .ok_or_else(|| corrupt(col, "an integer", &Value::Null))
    }

    pub(crate) fn u64(&self, col: &str) -> Result<u64, StoreError> {
        let v = self.i64(col)?;
        u64::try_from(v).map_err(|_| corrupt(col, "a count", &Value::from(v)))
    }

    pub(crate) fn opt_u32(&self, col: &str) -> Result<Option<u32>, StoreError> {
        match self.opt_i64(col)? {
            None => Ok(None),
            Some(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| corrupt(col, "a 32-bit count", &Value::from(v))),
        }
    }

    pub(crate) fn bool(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.i64(col)? != 0)
    }

    pub(crate) fn opt_f64(&self, col: &str) -> Result<Option<f64>, StoreError> {
        match self.get(col)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| corrupt(col, "a number", &Value::Number(n.clone()))),
            Value::String(s) => s
                .parse::<f64>()
                .map(Some)
                .map_err(|_| corrupt(col, "a number", &Value::String(s.clone()))),
            v => Err(corrupt(col, "a number or null", v)),
        }
    }

    pub(crate) fn f64(&self, col: &str) -> Result<f64, StoreError> {
        self.opt_f64(col)?
            .ok_or_else(|| corrupt(col, "a number", &Value::Null))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_and_name_what_is_wrong() {
        let rows = parse_rows("{\"a\":1,\"b\":\"x\",\"c\":null}\n{\"a\":\"7\"}\n", "q").unwrap();
        assert_eq!(rows[0].i64("a").unwrap(), 1);
        assert_eq!(rows[0].str("b").unwrap(), "x");
        assert_eq!(rows[0].opt_i64("c").unwrap(), None);
        assert_eq!(
            rows[1].i64("a").unwrap(),
            7,
            "quoted 64-bit integers read too"
        );
        let e = rows[1].str("b").unwrap_err().to_string();
        assert!(e.contains("no column b"), "{e}");
        let e = rows[0].i64("b").unwrap_err().to_string();
        assert!(e.contains("column b: expected an integer"), "{e}");
        let e = parse_rows("{\"a\":1}\n{\"a\":", "SELECT a").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        assert!(e.to_string().contains("row 2 of SELECT a"), "{e}");
        let e = parse_rows("[1,2]", "q").unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
        let e = rows[0].u64("c").unwrap_err().to_string();
        assert!(e.contains("column c"), "{e}");
    }

    #[test]
    fn urls_are_checked() {
        let t = Duration::from_secs(1);
        assert!(Client::new("ftp://x", "default", None, None, t).is_err());
        assert!(Client::new("http://", "default", None, None, t).is_err());
        assert!(Client::new("http://h:1/?database=x", "default", None, None, t).is_err());
        let e = Client::new("https://h:1", "u", None, Some(b"nothing"), t).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
        let c = Client::new("http://h:1", "u", Some("secret"), None, t).unwrap();
        assert!(!format!("{c:?}").contains("secret"));
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
