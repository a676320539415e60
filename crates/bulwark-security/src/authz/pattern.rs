//! Index name patterns in roles: wildcards (`*`, `?`) or a `/regex/` (Lucene syntax, with the
//! whole-pattern complement `~(...)` that Elasticsearch's reserved roles use). Compiled once.

use std::str::FromStr;

use bulwark_pattern::{Glob, Syntax};

/// Indices holding the security store's data in Elasticsearch; only roles with
/// `allow_restricted_indices` reach them, whatever their patterns.
pub fn is_restricted(index: &str) -> bool {
    index == ".security"
        || index.starts_with(".security-")
        || index.starts_with(".security-tokens")
        || index.starts_with(".security-profile")
}

#[derive(Debug, Clone)]
enum Matcher {
    Wildcard(Glob),
    Regex { re: regex::Regex, negate: bool },
}

/// A compiled index name pattern.
#[derive(Debug, Clone)]
pub struct IndexPattern {
    raw: String,
    matcher: Matcher,
}

impl PartialEq for IndexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl FromStr for IndexPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let matcher = match s.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
            Some(body) => {
                let (negate, body) = match body.strip_prefix("~(").and_then(|b| b.strip_suffix(')')) {
                    Some(inner) => (true, inner),
                    None => (false, body),
                };
                let re = regex::Regex::new(&format!("^(?:{body})$"))
                    .map_err(|e| format!("invalid index name regular expression [{s}]: {e}"))?;
                Matcher::Regex { re, negate }
            }
            None => Matcher::Wildcard(Glob::new(s, Syntax::GLOB)),
        };
        Ok(IndexPattern { raw: s.to_owned(), matcher })
    }
}

impl IndexPattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `index` matches (restricted indices are the caller's concern).
    pub fn matches(&self, index: &str) -> bool {
        match &self.matcher {
            Matcher::Wildcard(w) => w.matches(index),
            Matcher::Regex { re, negate } => re.is_match(index) != *negate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "logs", true),
            ("metricbeat-*", "metricbeat-2026.11.22", true),
            ("metricbeat-*", "metricbeat", false),
            ("metricbeat-*", "other-index", false),
            ("log?", "logs", true),
            ("log?", "log", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("/metrics-(beats|kibana).*/", "metrics-beats.x", true),
            ("/metrics-(beats|kibana).*/", "metrics-other", false),
            ("/~(([.]|ilm-history-).*)/", "logs", true),
            ("/~(([.]|ilm-history-).*)/", ".kibana", false),
            ("/~(([.]|ilm-history-).*)/", "ilm-history-1", false),
        ];
        for (p, i, want) in table {
            assert_eq!(p.parse::<IndexPattern>().unwrap().matches(i), *want, "{p} {i}");
        }
        assert!("/(/".parse::<IndexPattern>().is_err());
        assert!(is_restricted(".security-7") && is_restricted(".security") && !is_restricted(".kibana"));
    }
}
