//! Dashboard passwords: Argon2id hashes in PHC form (`$argon2id$v=19$m=…`), made by
//! `tern passwd` and checked at login. The password itself is never stored, logged or
//! printed; a hash's `Debug` prints nothing of it.

use anyhow::{anyhow, bail, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use rand::RngCore;

/// Longest password accepted, in bytes: hashing cost must not grow with what a client sends.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password `tern passwd` hashes.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A validated Argon2 PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString(<redacted>)")
    }
}

impl PasswordHashString {
    /// `s` if it is an Argon2 (`argon2id`, `argon2i`, `argon2d`) hash in PHC form with a
    /// salt and an output.
    pub fn parse(s: &str) -> Option<PasswordHashString> {
        let h = PasswordHash::new(s).ok()?;
        let argon = matches!(h.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d");
        // The parameters must be ones Argon2 accepts (a hash it could never match is a typo).
        (argon && h.salt.is_some() && h.hash.is_some() && argon2::Params::try_from(&h).is_ok())
            .then(|| PasswordHashString(s.to_string()))
    }

    /// Whether `password` hashes to this (the comparison of outputs is constant time).
    pub fn verify(&self, password: &str) -> bool {
        if password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        match PasswordHash::new(&self.0) {
            Ok(h) => Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// A fresh Argon2id hash of `password` (default parameters, random 16-byte salt).
pub fn hash(password: &str) -> Result<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        bail!("the password is longer than {MAX_PASSWORD_BYTES} bytes");
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password is shorter than {MIN_PASSWORD_CHARS} characters");
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    Ok(Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("hashing failed: {e}"))?
        .to_string())
}

/// A hash that matches no password: checked when the user name is unknown, so that an
/// unknown name costs as much time as a wrong password.
pub fn decoy() -> &'static PasswordHashString {
    static DECOY: std::sync::OnceLock<PasswordHashString> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let h = hash("decoy password that nobody can log in with")
            .ok()
            .and_then(|h| PasswordHashString::parse(&h));
        h.unwrap_or(PasswordHashString(String::new()))
    })
}

/// `tern passwd`: read a password from standard input (one line, never an argument, which
/// other users could read in the process list) and print the line for `tern.toml`.
pub fn passwd_command(name: &str) -> Result<String> {
    use std::io::{BufRead as _, Read as _};
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        bail!("the user name must be 1 to 64 characters, without control characters");
    }
    let read = || -> Result<String> {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take((MAX_PASSWORD_BYTES + 2) as u64)
            .read_line(&mut line)?;
        let password = line.strip_suffix('\n').unwrap_or(&line);
        Ok(password.strip_suffix('\r').unwrap_or(password).to_string())
    };
    let password = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let first = hidden("Password: ", read)?;
        let again = hidden("The same password again: ", read)?;
        if first != again {
            bail!("the two passwords differ; nothing was written");
        }
        first
    } else {
        read()?
    };
    let h = hash(&password)?;
    Ok(format!(
        "# Paste into tern.toml (the password itself never goes in the file):\n\
         [[dashboard.users]]\nname = {}\npassword_hash = \"{h}\"\n",
        toml_string(name)
    ))
}

/// Prompt on stderr and read a line from the terminal with echo off (restored after).
#[cfg(unix)]
fn hidden(prompt: &str, read: impl Fn() -> Result<String>) -> Result<String> {
    use anyhow::Context as _;
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    use std::io::Write as _;
    let stdin = std::io::stdin();
    let before = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut quiet = before.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    // Echo goes off before the prompt shows: whatever is typed after it is never echoed.
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("turning echo off")?;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let line = read();
    let _ = tcsetattr(&stdin, OptionalActions::Now, &before);
    eprintln!();
    line
}

#[cfg(not(unix))]
fn hidden(prompt: &str, read: impl Fn() -> Result<String>) -> Result<String> {
    eprint!("{prompt}");
    read()
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_verify_and_hide() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        let p = PasswordHashString::parse(&h).unwrap();
        assert!(p.verify("correct horse battery"));
        assert!(!p.verify("correct horse batterY"));
        assert!(!p.verify(""));
        assert!(!p.verify(&"x".repeat(10 * MAX_PASSWORD_BYTES)));
        assert_eq!(format!("{p:?}"), "PasswordHashString(<redacted>)");
        assert!(!decoy().verify("correct horse battery"));
        // Two hashes of one password differ (salt).
        assert_ne!(hash("correct horse battery").unwrap(), h);
    }

    #[test]
    fn bad_hash_strings_and_passwords_are_refused() {
        for bad in [
            "",
            "hunter2",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=1,t=0,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        ] {
            assert!(PasswordHashString::parse(bad).is_none(), "{bad}");
        }
        assert!(hash("short").is_err());
        assert!(hash(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(passwd_command("").is_err());
        assert!(passwd_command("a\nb").is_err());
        assert_eq!(toml_string("a\"b\\"), "\"a\\\"b\\\\\"");
    }
}
