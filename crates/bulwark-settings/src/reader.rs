//! Takes settings out of [`RawSettings`] one typed key at a time; whatever is left at the end is
//! unknown. This is the only place setting names are looked up as strings.

use std::str::FromStr;

use crate::SettingsError;
use crate::raw::{Origin, RawSetting, RawSettings, RawValue};

pub(crate) struct Reader {
    raw: RawSettings,
    asked: Vec<String>,
}

impl Reader {
    pub(crate) fn new(raw: RawSettings) -> Reader {
        Reader { raw, asked: Vec::new() }
    }

    fn take(&mut self, key: &str) -> Option<RawSetting> {
        self.asked.push(key.to_owned());
        self.raw.remove(key)
    }

    fn invalid(key: &str, s: &RawSetting, message: String) -> SettingsError {
        SettingsError::Invalid { key: key.to_owned(), origin: s.origin.clone(), message }
    }

    /// A scalar parsed with `FromStr`; `None` when unset.
    pub(crate) fn parse<T: FromStr>(&mut self, key: &str) -> Result<Option<T>, SettingsError>
    where
        T::Err: std::fmt::Display,
    {
        self.parse_with(key, |s| s.parse::<T>().map_err(|e| e.to_string()))
    }

    /// A scalar parsed by `f`; `None` when unset.
    pub(crate) fn parse_with<T>(
        &mut self,
        key: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        let Some(s) = self.take(key) else { return Ok(None) };
        match &s.value {
            RawValue::Scalar(v) => f(v).map(Some).map_err(|m| Self::invalid(key, &s, m)),
            RawValue::List(_) => Err(Self::invalid(key, &s, "expected a single value, not a list".into())),
        }
    }

    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>, SettingsError> {
        self.parse_with(key, |s| Ok(s.to_owned()))
    }

    pub(crate) fn bool(&mut self, key: &str) -> Result<Option<bool>, SettingsError> {
        self.parse_with(key, |s| match s {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("[{s}] is not a boolean; use true or false")),
        })
    }

    /// A list; a single scalar counts as a one-element list (and a comma-separated scalar is split,
    /// as Elasticsearch does).
    pub(crate) fn list(&mut self, key: &str) -> Result<Option<Vec<String>>, SettingsError> {
        let Some(s) = self.take(key) else { return Ok(None) };
        Ok(Some(match s.value {
            RawValue::List(l) => l,
            RawValue::Scalar(v) => {
                v.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect()
            }
        }))
    }

    pub(crate) fn list_of<T: FromStr>(&mut self, key: &str) -> Result<Option<Vec<T>>, SettingsError>
    where
        T::Err: std::fmt::Display,
    {
        let origin = self.raw.get(key).map(|s| s.origin.clone());
        let Some(items) = self.list(key)? else { return Ok(None) };
        items.iter().map(|i| i.parse::<T>()).collect::<Result<Vec<T>, _>>().map(Some).map_err(|e| {
            SettingsError::Invalid {
                key: key.to_owned(),
                origin: origin.unwrap_or(Origin::Default),
                message: e.to_string(),
            }
        })
    }

    /// Where `key` was set (before it is taken), for errors about combinations of settings.
    pub(crate) fn origin_of(&self, key: &str) -> Origin {
        self.raw.get(key).map_or(Origin::Default, |s| s.origin.clone())
    }

    /// Every key asked for so far, in order, without repeats.
    pub(crate) fn asked_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in &self.asked {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }

    /// Fails on the first setting nobody took.
    pub(crate) fn finish(self) -> Result<(), SettingsError> {
        let known: Vec<&str> = self.asked.iter().map(String::as_str).collect();
        if let Some((key, s)) = self.raw.iter().next() {
            return Err(SettingsError::Unknown {
                key: key.to_owned(),
                origin: s.origin.clone(),
                suggestion: suggest(key, &known),
            });
        }
        Ok(())
    }
}

/// The known key closest to `key` by edit distance, if close enough to be a typo.
fn suggest(key: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| (*k).to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
