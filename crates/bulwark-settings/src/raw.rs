//! Raw settings: `bulwark.yml` and `-E` flattened to dotted keys, each remembering where it came from.
//!
//! Elasticsearch accepts nested YAML (`xpack: {security: {enabled: true}}`) and dotted keys
//! (`xpack.security.enabled: true`) interchangeably; both flatten to the same key here. The YAML
//! parser (serde-saphyr) rejects duplicate keys in one mapping; a key that appears twice after
//! flattening (once nested, once dotted) is rejected here, so a later line can never silently win.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::SettingsError;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a settings file.
    File {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
    },
    /// A `-E key=value` on the command line.
    CommandLine,
    /// Filled in by the node itself (tests and defaults).
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::CommandLine => f.write_str("the command line (-E)"),
            Origin::Default => f.write_str("the defaults"),
        }
    }
}

/// A scalar or list value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// One value.
    Scalar(String),
    /// A YAML list (or a comma-separated `-E` value where the setting takes a list).
    List(Vec<String>),
}

impl fmt::Display for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawValue::Scalar(s) => f.write_str(s),
            RawValue::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}

/// One setting as written, with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSetting {
    /// The value.
    pub value: RawValue,
    /// Where it was written.
    pub origin: Origin,
}

/// All settings as written, by dotted key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawSettings {
    map: BTreeMap<String, RawSetting>,
}

/// YAML node with locations, deserialized by serde-saphyr.
enum Node {
    Null,
    Scalar(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Scalar(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Node::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    v.push(kv);
                }
                Ok(Node::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl RawSettings {
    /// Parses settings YAML. An empty file (or one of comments only) has no settings.
    pub fn from_yaml(text: &str, path: &Path) -> Result<RawSettings, SettingsError> {
        let mut out = RawSettings::default();
        if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            return Ok(out);
        }
        let root: Spanned<Node> = serde_saphyr::from_str(text).map_err(|e| SettingsError::Yaml {
            path: path.to_path_buf(),
            line: e.location().map(|l| l.line()),
            message: e.to_string(),
        })?;
        let line = root.referenced.line();
        match root.value {
            Node::Map(entries) => {
                for (k, v) in entries {
                    out.flatten(path, &k.value, k.referenced.line(), v)?;
                }
                Ok(out)
            }
            Node::Null => Ok(out),
            _ => Err(SettingsError::Yaml {
                path: path.to_path_buf(),
                line: Some(line),
                message: "the settings file must be a mapping of setting names to values".into(),
            }),
        }
    }

    fn flatten(
        &mut self,
        path: &Path,
        key: &str,
        key_line: u64,
        node: Spanned<Node>,
    ) -> Result<(), SettingsError> {
        let origin = Origin::File { path: path.to_path_buf(), line: key_line };
        let value = match node.value {
            Node::Map(entries) => {
                for (k, v) in entries {
                    self.flatten(path, &format!("{key}.{}", k.value), k.referenced.line(), v)?;
                }
                return Ok(());
            }
            Node::Null => return Ok(()),
            Node::Scalar(s) => RawValue::Scalar(s),
            Node::Seq(items) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match item.value {
                        Node::Scalar(s) => list.push(s),
                        _ => {
                            return Err(SettingsError::Invalid {
                                key: key.to_owned(),
                                origin: Origin::File {
                                    path: path.to_path_buf(),
                                    line: item.referenced.line(),
                                },
                                message: "list items must be plain values".into(),
                            });
                        }
                    }
                }
                RawValue::List(list)
            }
        };
        self.insert(key, value, origin)
    }

    /// Adds a setting; the same key twice is an error naming both places.
    pub fn insert(&mut self, key: &str, value: RawValue, origin: Origin) -> Result<(), SettingsError> {
        if let Some(first) = self.map.get(key) {
            return Err(SettingsError::Duplicate {
                key: key.to_owned(),
                first: first.origin.clone(),
                second: origin,
            });
        }
        self.map.insert(key.to_owned(), RawSetting { value, origin });
        Ok(())
    }

    /// Applies `-E key=value` overrides; they replace values from the file.
    pub fn apply_overrides(&mut self, overrides: &[String]) -> Result<(), SettingsError> {
        for o in overrides {
            let Some((k, v)) = o.split_once('=') else {
                return Err(SettingsError::BadOverride { arg: o.clone() });
            };
            let k = k.trim();
            if k.is_empty() {
                return Err(SettingsError::BadOverride { arg: o.clone() });
            }
            let value = match v.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
                Some(inner) => RawValue::List(
                    inner.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
                ),
                None => RawValue::Scalar(v.to_owned()),
            };
            self.map.insert(k.to_owned(), RawSetting { value, origin: Origin::CommandLine });
        }
        Ok(())
    }

    /// The setting at `key`, if written.
    pub fn get(&self, key: &str) -> Option<&RawSetting> {
        self.map.get(key)
    }

    /// Whether any setting starts with `prefix`.
    pub fn any_with_prefix(&self, prefix: &str) -> Option<(&str, &RawSetting)> {
        self.map
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
            .next()
    }

    /// All settings, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawSetting)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<RawSetting> {
        self.map.remove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RawSettings, SettingsError> {
        RawSettings::from_yaml(s, Path::new("bulwark.yml"))
    }

    #[test]
    fn nested_and_dotted_flatten_with_lines() {
        let r = parse("cluster.name: c1\nxpack:\n  security:\n    enabled: true\n    http.ssl:\n      enabled: false\nlist: [a, b]\n").unwrap();
        let s = r.get("xpack.security.enabled").unwrap();
        assert_eq!(s.value, RawValue::Scalar("true".into()));
        assert_eq!(s.origin, Origin::File { path: "bulwark.yml".into(), line: 4 });
        assert_eq!(r.get("xpack.security.http.ssl.enabled").unwrap().value, RawValue::Scalar("false".into()));
        assert_eq!(r.get("list").unwrap().value, RawValue::List(vec!["a".into(), "b".into()]));
        assert_eq!(
            r.get("cluster.name").unwrap().origin,
            Origin::File { path: "bulwark.yml".into(), line: 1 }
        );
    }

    #[test]
    fn duplicates_are_rejected_even_across_spellings() {
        assert!(parse("a: 1\na: 2\n").is_err());
        let e = parse("xpack.security.enabled: true\nxpack:\n  security:\n    enabled: false\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("xpack.security.enabled") && msg.contains(":1") && msg.contains(":4"), "{msg}");
    }

    #[test]
    fn comments_only_and_bad_yaml() {
        assert_eq!(parse("# nothing\n\n").unwrap(), RawSettings::default());
        let e = parse("a: [1, 2\n").unwrap_err().to_string();
        assert!(e.contains("bulwark.yml"), "{e}");
        assert!(parse("- a\n- b\n").is_err());
    }

    #[test]
    fn overrides_replace_and_parse_lists() {
        let mut r = parse("http.port: 9200\n").unwrap();
        r.apply_overrides(&["http.port=0".into(), "discovery.seed_hosts=[a:1, b:2]".into()]).unwrap();
        assert_eq!(r.get("http.port").unwrap().value, RawValue::Scalar("0".into()));
        assert_eq!(r.get("http.port").unwrap().origin, Origin::CommandLine);
        assert_eq!(
            r.get("discovery.seed_hosts").unwrap().value,
            RawValue::List(vec!["a:1".into(), "b:2".into()])
        );
        assert!(r.apply_overrides(&["nonsense".into()]).is_err());
    }
}
