//! Index expressions: comma lists of names, aliases, `*` wildcards, `_all` and `-exclusions`,
//! resolved to the concrete indices a request works on, as Elasticsearch resolves them.
//!
//! Authorization is part of resolving: an explicitly named index or alias the caller may not use
//! is a 403 (checked before existence, so a denial does not reveal whether it exists), while
//! wildcards silently skip what the caller may not see.

use crate::ErrorType;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use bulwark_pattern::{Syntax, matches};
use bulwark_security::authz::Action;

use crate::caller::Caller;
use crate::indices::{DataPlane, IndexMeta};
use crate::{ApiError, RestState};

/// Every index and alias, read once per request.
pub struct Catalog {
    indices: BTreeMap<String, IndexMeta>,
    aliases: BTreeMap<String, Vec<String>>,
    /// Data streams and their backing indices, oldest first (the last one takes writes).
    streams: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// Reads the current metadata.
    pub fn load(svc: &DataPlane) -> Result<Catalog, ApiError> {
        let indices: BTreeMap<String, IndexMeta> = svc.catalog()?.into_iter().collect();
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut streams: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, meta) in &indices {
            for alias in meta.aliases.keys() {
                aliases.entry(alias.clone()).or_default().push(name.clone());
            }
            if let Some(ds) = &meta.data_stream {
                streams.entry(ds.clone()).or_default().push(name.clone());
            }
        }
        for backing in streams.values_mut() {
            // `.ds-<name>-<date>-<generation>`: by generation, then name.
            backing.sort_by(|a, b| (generation(a), a).cmp(&(generation(b), b)));
        }
        Ok(Catalog { indices, aliases, streams })
    }

    /// The backing indices of data stream `name`, oldest first.
    pub fn data_stream(&self, name: &str) -> Option<&[String]> {
        self.streams.get(name).map(Vec::as_slice)
    }

    /// Every data stream with its backing indices.
    pub fn data_streams(&self) -> &BTreeMap<String, Vec<String>> {
        &self.streams
    }

    /// The data stream index `name` backs.
    pub fn parent_stream(&self, name: &str) -> Option<&str> {
        self.indices.get(name).and_then(|m| m.data_stream.as_deref())
    }

    /// The metadata of index `name`.
    pub fn index(&self, name: &str) -> Option<&IndexMeta> {
        self.indices.get(name)
    }

    /// Every index, by name.
    pub fn indices(&self) -> &BTreeMap<String, IndexMeta> {
        &self.indices
    }

    /// The indices alias `name` points at, if it is an alias.
    pub fn alias(&self, name: &str) -> Option<&[String]> {
        self.aliases.get(name).map(Vec::as_slice)
    }

    /// Where a write to `name` goes: the index itself, an alias's write index, or `None` when
    /// nothing has that name (the caller may auto-create it).
    pub fn write_target(&self, name: &str) -> Result<Option<String>, ApiError> {
        if let Some(backing) = self.streams.get(name) {
            return Ok(backing.last().cloned());
        }
        if self.indices.contains_key(name) {
            return Ok(Some(name.to_owned()));
        }
        let Some(targets) = self.aliases.get(name) else { return Ok(None) };
        let write: Vec<&String> = targets
            .iter()
            .filter(|i| self.indices[*i].aliases.get(name).and_then(|a| a.is_write_index) == Some(true))
            .collect();
        match (write.as_slice(), targets.as_slice()) {
            ([one], _) => Ok(Some((*one).clone())),
            ([], [only]) if self.indices[only].aliases.get(name).and_then(|a| a.is_write_index).is_none() => {
                Ok(Some(only.clone()))
            }
            _ => Err(ApiError::illegal_argument(format!(
                "no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"
            ))),
        }
    }
}

/// The generation a backing index name ends with (`-000001`), 0 for other names.
pub fn generation(name: &str) -> u64 {
    name.rsplit_once('-').and_then(|(_, g)| g.parse().ok()).unwrap_or(0)
}

/// How an expression is expanded (`ignore_unavailable`, `allow_no_indices`,
/// `expand_wildcards`).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub ignore_unavailable: bool,
    pub allow_no_indices: bool,
    pub open: bool,
    pub closed: bool,
    pub hidden: bool,
    /// Whether an explicitly named closed index is an `index_closed_exception` (reads), or
    /// resolves like an open one (index administration).
    pub forbid_closed: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ignore_unavailable: false,
            allow_no_indices: true,
            open: true,
            closed: false,
            hidden: false,
            forbid_closed: true,
        }
    }
}

impl Options {
    /// Reads the URL parameters.
    pub fn from_params(params: &HashMap<String, String>) -> Result<Options, ApiError> {
        let mut o = Options::default();
        let flag = |k: &str, default: bool| -> Result<bool, ApiError> {
            match params.get(k).map(String::as_str) {
                None => Ok(default),
                Some("" | "true") => Ok(true),
                Some("false") => Ok(false),
                Some(v) => Err(ApiError::illegal_argument(format!(
                    "Failed to parse value [{v}] as only [true] or [false] are allowed."
                ))),
            }
        };
        o.ignore_unavailable = flag("ignore_unavailable", false)?;
        o.allow_no_indices = flag("allow_no_indices", true)?;
        if let Some(w) = params.get("expand_wildcards") {
            (o.open, o.closed, o.hidden) = (false, false, false);
            for part in w.split(',').map(str::trim) {
                match part {
                    "open" => o.open = true,
                    "closed" => o.closed = true,
                    "hidden" => o.hidden = true,
                    "all" => (o.open, o.closed, o.hidden) = (true, true, true),
                    "none" => {}
                    other => {
                        return Err(ApiError::illegal_argument(format!(
                            "No enum constant org.elasticsearch.action.support.IndicesOptions.WildcardStates.{}",
                            other.to_uppercase()
                        )));
                    }
                }
            }
        }
        Ok(o)
    }

    /// Options under which explicitly named closed indices resolve (index administration).
    pub fn allowing_closed(mut self) -> Options {
        self.forbid_closed = false;
        self
    }
}

/// 404 `index_not_found_exception`.
pub fn index_not_found(name: &str) -> ApiError {
    ApiError::new(ErrorType::IndexNotFound, format!("no such index [{name}]"))
}

/// 400 `index_closed_exception` (Elasticsearch's reason is just `closed`).
pub fn index_closed() -> ApiError {
    ApiError::new(ErrorType::IndexClosed, "closed")
}

fn is_wildcard(part: &str) -> bool {
    part.contains('*')
}

/// Resolves `expr` (empty, `_all`, names, aliases, wildcards) for `action`: the concrete
/// indices, sorted and distinct.
pub fn resolve(
    state: &RestState,
    caller: &Caller,
    catalog: &Catalog,
    expr: &str,
    action: Action,
    opts: Options,
) -> Result<Vec<String>, ApiError> {
    let mut parts: Vec<&str> = expr.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts == ["_all"] {
        parts = vec!["*"];
    }
    let explicit: Vec<String> = parts
        .iter()
        .filter(|p| !is_wildcard(p) && !p.starts_with('-') && **p != "_all")
        .map(|p| (*p).to_owned())
        .collect();
    if !explicit.is_empty() {
        caller.check(state, action, &explicit)?;
    }

    let usable = |meta: &IndexMeta| if meta.closed { opts.closed } else { opts.open };
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut saw_wildcard = false;
    for part in parts {
        if let Some(excluded) = part.strip_prefix('-').filter(|_| saw_wildcard) {
            out.retain(|n| !matches(excluded, n, Syntax::STAR));
            if let Some(targets) = catalog.alias(excluded) {
                out.retain(|n| !targets.contains(n));
            }
            out.retain(|n| catalog.parent_stream(n).is_none_or(|ds| !matches(excluded, ds, Syntax::STAR)));
            continue;
        }
        let pattern = if part == "_all" { "*" } else { part };
        if is_wildcard(pattern) {
            saw_wildcard = true;
            let dot = pattern.starts_with('.');
            for (name, meta) in catalog.indices() {
                let hidden_ok = opts.hidden || dot || !meta.hidden();
                // A backing index is reached through its data stream's name too.
                let allowed = || {
                    caller.allows(state, action, name)
                        || catalog.parent_stream(name).is_some_and(|ds| caller.allows(state, action, ds))
                };
                if matches(pattern, name, Syntax::STAR) && usable(meta) && hidden_ok && allowed() {
                    out.insert(name.clone());
                }
            }
            for (stream, backing) in &catalog.streams {
                if matches(pattern, stream, Syntax::STAR) && caller.allows(state, action, stream) {
                    out.extend(backing.iter().filter(|b| catalog.index(b).is_some_and(usable)).cloned());
                }
            }
            for (alias, targets) in &catalog.aliases {
                if matches(pattern, alias, Syntax::STAR) && caller.allows(state, action, alias) {
                    for t in targets {
                        if catalog.index(t).is_some_and(usable) {
                            out.insert(t.clone());
                        }
                    }
                }
            }
            continue;
        }
        if let Some(backing) = catalog.data_stream(pattern) {
            out.extend(backing.iter().cloned());
        } else if let Some(meta) = catalog.index(pattern) {
            if meta.closed && opts.forbid_closed {
                if opts.ignore_unavailable {
                    continue;
                }
                return Err(index_closed());
            }
            out.insert(pattern.to_owned());
        } else if let Some(targets) = catalog.alias(pattern) {
            for t in targets {
                if catalog.index(t).is_some_and(usable) {
                    out.insert(t.clone());
                }
            }
        } else if !opts.ignore_unavailable {
            return Err(index_not_found(pattern));
        }
    }
    if out.is_empty() && !opts.allow_no_indices {
        return Err(index_not_found(expr));
    }
    let out: Vec<String> = out.into_iter().collect();
    // The decision on what the request works on: explicit names were authorized above,
    // wildcards and aliases kept only what the caller may see.
    caller.granted(state, action, &out);
    Ok(out)
}

/// Checks a name for a new index or alias as Elasticsearch does
/// (`invalid_index_name_exception`).
pub fn validate_index_name(name: &str) -> Result<(), ApiError> {
    let invalid =
        |why: &str| ApiError::new(ErrorType::InvalidIndexName, format!("Invalid index name [{name}], {why}"));
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name != name.to_lowercase() {
        return Err(invalid("must be lowercase"));
    }
    if name.chars().any(|c| matches!(c, '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#')) {
        return Err(invalid("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]"));
    }
    if name.contains(':') {
        return Err(invalid("must not contain ':'"));
    }
    if name.starts_with(['_', '-', '+']) {
        return Err(invalid("must not start with '_', '-', or '+'"));
    }
    if name == "." || name == ".." {
        return Err(invalid("must not be '.' or '..'"));
    }
    if name.len() > 255 {
        return Err(invalid(&format!("index name is too long, ({} > 255)", name.len())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names() {
        assert!(validate_index_name("logs-2026.01").is_ok());
        for bad in ["Logs", "a b", "_x", "-x", "a:b", ".", "a*", "a,b", ""] {
            let e = validate_index_name(bad).unwrap_err();
            assert_eq!(e.kind, "invalid_index_name_exception", "{bad}");
        }
    }
}
