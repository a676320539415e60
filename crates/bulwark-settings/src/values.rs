//! Value types used by settings: durations, byte sizes, enumerations in Elasticsearch's spelling.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Parses an Elasticsearch time value: `500ms`, `30s`, `15m`, `1h`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("[{s}] is not a time value such as 30s, 15m, 1h or 2d"))?;
    let secs = |m: u64| Ok(Duration::from_secs(n.saturating_mul(m)));
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86400),
        _ => Err(format!("[{s}] has an unknown time unit; use ms, s, m, h or d")),
    }
}

/// Parses an Elasticsearch byte size: `100mb`, `1gb`, `512kb`, `42b` or a plain number of bytes.
pub fn parse_byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().map_err(|_| format!("[{s}] is not a byte size such as 100mb"))?;
    let m: u64 = match unit {
        "" | "b" => 1,
        "kb" | "k" => 1 << 10,
        "mb" | "m" => 1 << 20,
        "gb" | "g" => 1 << 30,
        _ => return Err(format!("[{s}] has an unknown unit; use b, kb, mb or gb")),
    };
    n.checked_mul(m).ok_or_else(|| format!("[{s}] is too large"))
}

/// An amount of memory: bytes, or a share of the machine's physical memory (`10%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryLimit {
    /// A byte size (`512mb`).
    Bytes(u64),
    /// A percentage of physical memory, above 0 and at most 100.
    Percent(f64),
}

impl MemoryLimit {
    /// The limit in bytes on a machine with `physical` bytes of memory.
    pub fn bytes(self, physical: u64) -> u64 {
        match self {
            MemoryLimit::Bytes(n) => n,
            // Float to integer saturates: at most `physical`.
            MemoryLimit::Percent(p) => (physical as f64 * p / 100.0) as u64,
        }
    }
}

/// Parses a byte size (`512mb`) or a percentage of physical memory (`10%`).
pub fn parse_memory_limit(s: &str) -> Result<MemoryLimit, String> {
    match s.trim().strip_suffix('%') {
        Some(p) => match p.trim().parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Ok(MemoryLimit::Percent(p)),
            _ => Err(format!("[{s}] is not a percentage above 0% and at most 100%")),
        },
        None => parse_byte_size(s).map(MemoryLimit::Bytes),
    }
}

macro_rules! es_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $(#[doc = concat!("`", $text, "`")] $variant),+ }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("[{s}] is not one of [{}]", [$($text),+].join(", "))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($name::$variant => $text),+ })
            }
        }
    };
}

es_enum!(
    /// `verification_mode`: how a peer's certificate is checked.
    VerificationMode { Full = "full", Certificate = "certificate", None = "none" }
);
es_enum!(
    /// `client_authentication`: whether clients must present a certificate.
    ClientAuthentication { Required = "required", Optional = "optional", None = "none" }
);
es_enum!(
    /// An entry of `supported_protocols`.
    TlsProtocol { Tls13 = "tlsv1.3", Tls12 = "tlsv1.2", Tls11 = "tlsv1.1", Tls10 = "tlsv1" }
);
es_enum!(
    /// An entry of `node.roles`.
    NodeRole {
        Master = "master", Data = "data", DataContent = "data_content", DataHot = "data_hot",
        DataWarm = "data_warm", DataCold = "data_cold", DataFrozen = "data_frozen", Ingest = "ingest",
        Ml = "ml", RemoteClusterClient = "remote_cluster_client", Transform = "transform",
        VotingOnly = "voting_only",
    }
);

impl NodeRole {
    /// Whether a node with this role can hold documents.
    pub fn holds_data(self) -> bool {
        matches!(
            self,
            NodeRole::Data
                | NodeRole::DataContent
                | NodeRole::DataHot
                | NodeRole::DataWarm
                | NodeRole::DataCold
        )
    }
}

/// `xpack.security.authc.password_hashing.algorithm`: `bcrypt` (cost 10), `bcryptN` (4..=14),
/// `pbkdf2` / `pbkdf2_stretch` (10000 iterations) or `_N` iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordHashing {
    /// bcrypt with `cost` (log2 of its rounds).
    Bcrypt {
        /// 4..=14.
        cost: u32,
    },
    /// PBKDF2-HMAC-SHA512 over the password.
    Pbkdf2 {
        /// Its iterations.
        iterations: u32,
    },
    /// PBKDF2-HMAC-SHA512 over a SHA-512 of the password (long passwords cost the same).
    Pbkdf2Stretch {
        /// Its iterations.
        iterations: u32,
    },
}

impl FromStr for PasswordHashing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.to_ascii_lowercase();
        let bad = || {
            format!(
                "[{s}] is not a password hashing algorithm; use bcrypt, bcrypt4..bcrypt14, pbkdf2, pbkdf2_<iterations>, pbkdf2_stretch or pbkdf2_stretch_<iterations>"
            )
        };
        let iters = |rest: &str| -> Result<u32, String> {
            match rest {
                "" => Ok(10_000),
                r => match r.strip_prefix('_').and_then(|n| n.parse().ok()) {
                    Some(n @ (1000 | 10_000 | 50_000 | 100_000 | 500_000 | 1_000_000)) => Ok(n),
                    _ => Err(bad()),
                },
            }
        };
        if let Some(rest) = l.strip_prefix("pbkdf2_stretch") {
            Ok(PasswordHashing::Pbkdf2Stretch { iterations: iters(rest)? })
        } else if let Some(rest) = l.strip_prefix("pbkdf2") {
            Ok(PasswordHashing::Pbkdf2 { iterations: iters(rest)? })
        } else if let Some(rest) = l.strip_prefix("bcrypt") {
            let cost = if rest.is_empty() { 10 } else { rest.parse().map_err(|_| bad())? };
            if (4..=14).contains(&cost) { Ok(PasswordHashing::Bcrypt { cost }) } else { Err(bad()) }
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("x").is_err());
        assert_eq!(parse_byte_size("100mb"), Ok(100 << 20));
        assert_eq!(parse_byte_size("1024"), Ok(1024));
        assert!(parse_byte_size("1tb").is_err());
        assert!(parse_byte_size("99999999999999999gb").is_err());
    }

    #[test]
    fn enums_parse_es_spelling() {
        assert_eq!("FULL".parse(), Ok(VerificationMode::Full));
        assert_eq!("TLSv1.3".parse(), Ok(TlsProtocol::Tls13));
        assert!("sometimes".parse::<ClientAuthentication>().is_err());
        assert_eq!(VerificationMode::Certificate.to_string(), "certificate");
    }

    #[test]
    fn hashing_algorithms() {
        assert_eq!("bcrypt".parse(), Ok(PasswordHashing::Bcrypt { cost: 10 }));
        assert_eq!("BCRYPT12".parse(), Ok(PasswordHashing::Bcrypt { cost: 12 }));
        assert_eq!("pbkdf2".parse(), Ok(PasswordHashing::Pbkdf2 { iterations: 10_000 }));
        assert_eq!("pbkdf2_stretch_1000".parse(), Ok(PasswordHashing::Pbkdf2Stretch { iterations: 1000 }));
        assert!("bcrypt3".parse::<PasswordHashing>().is_err());
        assert!("md5".parse::<PasswordHashing>().is_err());
        assert!("pbkdf2_7".parse::<PasswordHashing>().is_err());
    }
}
