//! `simple_query_string` in the security `_query` APIs, as Elasticsearch runs it there: the
//! fields (or field-name patterns, `*` being every field the API offers, which is also the
//! default) expand to the API's allowed fields only — unknown or disallowed names expand to
//! nothing, and a query left with no field matches no document; the query text is read with
//! Lucene's simple syntax (`+`, `|`, `-`, quotes, trailing `*`, `~N`, parentheses, `\` escapes,
//! each switched by `flags`), operators applying left to right; every term is matched whole
//! against the keyword values of each field (dates and booleans parsed as such), and a term
//! that cannot apply to a field's type is an error unless `lenient` (forced for `*`).

use bulwark_pattern::{Syntax, matches as star_match};
use serde_json::{Map, Value};

use super::{Queryable, text};
use crate::{ApiError, ErrorType};

/// Every option of the query, as Elasticsearch parses them.
const OPTIONS: &[&str] = &[
    "query",
    "fields",
    "default_operator",
    "analyzer",
    "flags",
    "lenient",
    "minimum_should_match",
    "quote_field_suffix",
    "analyze_wildcard",
    "auto_generate_synonyms_phrase_query",
    "fuzzy_max_expansions",
    "fuzzy_prefix_length",
    "fuzzy_transpositions",
    "boost",
    "_name",
];

const AND: u32 = 1;
const NOT: u32 = 1 << 1;
const OR: u32 = 1 << 2;
const PREFIX: u32 = 1 << 3;
const PHRASE: u32 = 1 << 4;
const PRECEDENCE: u32 = 1 << 5;
const ESCAPE: u32 = 1 << 6;
const WHITESPACE: u32 = 1 << 7;
const FUZZY: u32 = 1 << 8;
const NEAR: u32 = 1 << 9;
const ALL: u32 = (1 << 10) - 1;

/// `flags`: names joined by `|` (any case), or their integer value.
fn flags(v: Option<&Value>) -> Result<u32, ApiError> {
    let s = match v {
        None | Some(Value::Null) => return Ok(ALL),
        Some(Value::Number(n)) => {
            let n = n
                .as_i64()
                .ok_or_else(|| ApiError::parse("[simple_query_string] [flags] must be an integer"))?;
            return Ok(if n < 0 { ALL } else { u32::try_from(n).unwrap_or(ALL) & ALL });
        }
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(ApiError::parse(format!(
                "[simple_query_string] [flags] must be a string, not {other}"
            )));
        }
    };
    let mut out = 0;
    for name in s.split('|').map(str::trim) {
        out |= match name.to_ascii_uppercase().as_str() {
            "ALL" => ALL,
            "NONE" => 0,
            "AND" => AND,
            "NOT" => NOT,
            "OR" => OR,
            "PREFIX" => PREFIX,
            "PHRASE" => PHRASE,
            "PRECEDENCE" => PRECEDENCE,
            "ESCAPE" => ESCAPE,
            "WHITESPACE" => WHITESPACE,
            "FUZZY" => FUZZY,
            "NEAR" | "SLOP" => NEAR,
            _ => {
                return Err(ApiError::illegal_argument(format!("Unknown simple_query_string flag [{name}]")));
            }
        };
    }
    Ok(out)
}

/// One word of the query, as the parser read it.
#[derive(Debug, Clone, PartialEq)]
enum Leaf {
    Term(String),
    Prefix(String),
    Fuzzy(String, usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Occur {
    Must,
    Should,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf(Leaf),
    /// Every document but those matching the node (Lucene: `-x` is `*:* AND NOT x`).
    Not(Box<Node>),
    Bool(Occur, Vec<Node>),
}

impl Node {
    /// Levels of the tree.
    fn depth(&self) -> usize {
        match self {
            Node::Leaf(_) => 1,
            Node::Not(n) => 1 + n.depth(),
            Node::Bool(_, clauses) => 1 + clauses.iter().map(Node::depth).max().unwrap_or(0),
        }
    }
}

/// The parser's position in one (sub)query (Lucene's `SimpleQueryParser` state).
struct State {
    top: Option<Node>,
    current: Option<Occur>,
    previous: Option<Occur>,
    not: usize,
}

struct Parser {
    chars: Vec<char>,
    flags: u32,
    default: Occur,
}

impl Parser {
    fn on(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    fn is_space(c: char) -> bool {
        matches!(c, ' ' | '\t' | '\n' | '\r')
    }

    fn token_finished(&self, c: char) -> bool {
        (c == '"' && self.on(PHRASE))
            || (c == '|' && self.on(OR))
            || (c == '+' && self.on(AND))
            || ((c == '(' || c == ')') && self.on(PRECEDENCE))
            || (Self::is_space(c) && self.on(WHITESPACE))
    }

    /// Parses `chars[start..end]` into a query (none when it holds no term).
    fn parse(&self, start: usize, end: usize) -> Option<Node> {
        let mut st = State { top: None, current: None, previous: None, not: 0 };
        let mut i = start;
        while i < end {
            let c = self.chars[i];
            if c == '(' && self.on(PRECEDENCE) {
                i = self.sub_query(&mut st, i, end);
            } else if c == '"' && self.on(PHRASE) {
                i = self.phrase(&mut st, i, end);
            } else if c == '+' && self.on(AND) {
                if st.current.is_none() && st.top.is_some() {
                    st.current = Some(Occur::Must);
                }
                i += 1;
            } else if c == '|' && self.on(OR) {
                if st.current.is_none() && st.top.is_some() {
                    st.current = Some(Occur::Should);
                }
                i += 1;
            } else if c == '-' && self.on(NOT) {
                st.not += 1;
                i += 1;
                continue;
            } else if Self::is_space(c) && self.on(WHITESPACE) {
                i += 1;
            } else {
                i = self.token(&mut st, i, end);
            }
            st.not = 0;
        }
        st.top
    }

    fn sub_query(&self, st: &mut State, open: usize, end: usize) -> usize {
        let start = open + 1;
        let (mut i, mut depth, mut escaped) = (start, 1, false);
        while i < end {
            let c = self.chars[i];
            if !escaped {
                if c == '\\' && self.on(ESCAPE) {
                    escaped = true;
                    i += 1;
                    continue;
                } else if c == '(' {
                    depth += 1;
                } else if c == ')' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            escaped = false;
            i += 1;
        }
        if i == end {
            // Never closed: the parenthesis is skipped.
            return start;
        }
        if i == start {
            st.current = None;
            return i + 1;
        }
        let sub = self.parse(start, i);
        self.build(st, sub);
        i + 1
    }

    fn phrase(&self, st: &mut State, open: usize, end: usize) -> usize {
        let start = open + 1;
        let (mut i, mut escaped, mut slop) = (start, false, false);
        let mut text = String::new();
        while i < end {
            let c = self.chars[i];
            if !escaped {
                if c == '\\' && self.on(ESCAPE) {
                    escaped = true;
                    i += 1;
                    continue;
                } else if c == '"' {
                    if i + 1 < end && self.chars[i + 1] == '~' && self.on(NEAR) {
                        i += 1;
                        slop = i + 1 < end;
                    }
                    break;
                }
            }
            escaped = false;
            text.push(c);
            i += 1;
        }
        if i == end {
            // Never closed: the quote is skipped.
            return start;
        }
        if i == start {
            st.current = None;
            return i + 1;
        }
        if slop {
            // A keyword value is one token: the slop of a phrase changes nothing.
            i = self.fuzziness(i, end).1;
        }
        self.build(st, Some(Node::Leaf(Leaf::Term(text))));
        i + 1
    }

    /// Reads `~N` at `at` (a `~`): the edit distance (2 when no number follows) and where the
    /// token ends.
    fn fuzziness(&self, at: usize, end: usize) -> (usize, usize) {
        let mut i = at;
        let mut digits = String::new();
        while i + 1 < end && !self.token_finished(self.chars[i + 1]) {
            i += 1;
            digits.push(self.chars[i]);
        }
        let n = if digits.is_empty() { 2 } else { digits.parse::<i64>().unwrap_or(0).max(0) };
        (usize::try_from(n).unwrap_or(0), i)
    }

    fn token(&self, st: &mut State, start: usize, end: usize) -> usize {
        let (mut i, mut escaped, mut prefix, mut fuzzy) = (start, false, false, false);
        let mut text = String::new();
        while i < end {
            let c = self.chars[i];
            if !escaped {
                if c == '\\' && self.on(ESCAPE) {
                    escaped = true;
                    prefix = false;
                    i += 1;
                    continue;
                } else if self.token_finished(c) {
                    break;
                } else if !text.is_empty() && c == '~' && self.on(FUZZY) {
                    fuzzy = true;
                    break;
                }
                prefix = !text.is_empty() && c == '*' && self.on(PREFIX);
            }
            escaped = false;
            text.push(c);
            i += 1;
        }
        if text.is_empty() {
            return i;
        }
        let leaf = if fuzzy {
            let (n, last) = self.fuzziness(i, end);
            i = last + 1;
            // Lucene's automata go up to two edits.
            match n.min(2) {
                0 => Leaf::Term(text),
                n => Leaf::Fuzzy(text, n),
            }
        } else if prefix {
            text.pop();
            Leaf::Prefix(text)
        } else {
            Leaf::Term(text)
        };
        self.build(st, Some(Node::Leaf(leaf)));
        i
    }

    /// Adds a branch to the tree: operators apply left to right, a change of operator wrapping
    /// what came before.
    fn build(&self, st: &mut State, branch: Option<Node>) {
        let Some(mut branch) = branch else { return };
        if st.not % 2 == 1 {
            branch = Node::Not(Box::new(branch));
        }
        st.top = Some(match st.top.take() {
            None => branch,
            Some(top) => {
                let op = st.current.unwrap_or(self.default);
                let mut clauses = match (st.previous == Some(op), top) {
                    (true, Node::Bool(_, clauses)) => clauses,
                    (_, top) => vec![top],
                };
                clauses.push(branch);
                st.previous = Some(op);
                Node::Bool(op, clauses)
            }
        });
        st.current = None;
    }
}

/// Whether `a` and `b` are at most `n` edits apart (optimal string alignment: an adjacent
/// transposition is one edit when `swaps`). Only the band `|i - j| <= n` of the edit-distance
/// table is computed, three rows at a time, so long values cost time and memory linear in their
/// length (the full table of two 100,000-character strings would take 80 GB).
fn within(a: &[char], b: &[char], n: usize, swaps: bool) -> bool {
    if a.len().abs_diff(b.len()) > n {
        return false;
    }
    let inf = n + 1;
    let width = b.len() + 1;
    // Rows i-2, i-1 and i; the cells just outside each row's band read as `inf`.
    let (mut before, mut prev, mut cur) = (vec![inf; width], vec![inf; width], vec![inf; width]);
    for (j, cell) in prev.iter_mut().enumerate().take(n + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let lo = i.saturating_sub(n);
        let hi = (i + n).min(b.len());
        if lo > 0 {
            cur[lo - 1] = inf;
        }
        for j in lo..=hi {
            let d = if j == 0 {
                i
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
                if swaps && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = d.min(before[j - 2] + 1);
                }
                d
            };
            cur[j] = d.min(inf);
        }
        if hi + 1 < width {
            cur[hi + 1] = inf;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] <= n
}

/// The longest query text, in characters.
const MAX_QUERY_CHARS: usize = 4_096;
/// The deepest nesting of parentheses.
const MAX_NESTING: usize = 32;

/// The query's characters, refused when longer or more deeply nested than a query needs to be:
/// it is read again for every key, and each level of parentheses re-reads what it holds.
fn bounded(query: &str) -> Result<Vec<char>, ApiError> {
    let chars: Vec<char> = query.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(ApiError::illegal_argument(format!(
            "[simple_query_string] [query] is {} characters long; at most {MAX_QUERY_CHARS} are allowed",
            chars.len()
        )));
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in &chars {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(ApiError::illegal_argument(format!(
            "[simple_query_string] [query] nests parentheses {deepest} deep; at most {MAX_NESTING} levels are allowed"
        )));
    }
    Ok(chars)
}

/// How terms meet field values.
struct Matcher<'a, D: Queryable> {
    doc: &'a D,
    fields: &'a [(String, D::Field)],
    lenient: bool,
    prefix_length: usize,
    transpositions: bool,
}

impl<D: Queryable> Matcher<'_, D> {
    fn node(&self, n: &Node) -> Result<bool, ApiError> {
        Ok(match n {
            Node::Leaf(l) => {
                let mut any = false;
                for (name, f) in self.fields {
                    any |= self.leaf(l, name, f)?;
                }
                any
            }
            Node::Not(n) => !self.node(n)?,
            Node::Bool(Occur::Must, clauses) => {
                let mut all = true;
                for c in clauses {
                    all &= self.node(c)?;
                }
                all
            }
            Node::Bool(Occur::Should, clauses) => self.should_count(clauses)? > 0,
        })
    }

    fn should_count(&self, clauses: &[Node]) -> Result<usize, ApiError> {
        let mut n = 0;
        for c in clauses {
            n += usize::from(self.node(c)?);
        }
        Ok(n)
    }

    /// Whether one word matches one field; a word the field's type cannot take is an error,
    /// or no match when lenient.
    fn leaf(&self, l: &Leaf, name: &str, f: &D::Field) -> Result<bool, ApiError> {
        let values = self.doc.values(f);
        let kind = if D::is_date(f) {
            Some("date")
        } else if D::is_boolean(f) {
            Some("boolean")
        } else {
            None
        };
        let refuse = |e: ApiError| if self.lenient { Ok(false) } else { Err(e) };
        match (l, kind) {
            (Leaf::Term(t), None) => Ok(values.iter().filter_map(text).any(|v| v == *t)),
            (Leaf::Term(t), Some("date")) => {
                // The security index maps its dates with `epoch_millis` alone.
                let read = |up| bulwark_index::dates::parse_with_format(t, "epoch_millis", up);
                let bounds = read(false).zip(read(true));
                let Some((lo, hi)) = bounds else {
                    return refuse(ApiError::parse(format!(
                        "failed to parse date field [{t}] with format [epoch_millis]"
                    )));
                };
                Ok(values.iter().filter_map(Value::as_i64).any(|v| lo <= v && v <= hi))
            }
            (Leaf::Term(t), Some(_)) => {
                let want = match t.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return refuse(ApiError::illegal_argument(format!(
                            "Can't parse boolean value [{t}], expected [true] or [false]"
                        )));
                    }
                };
                Ok(values.iter().any(|v| v.as_bool() == Some(want)))
            }
            (Leaf::Prefix(p), None) => Ok(values.iter().filter_map(text).any(|v| v.starts_with(p.as_str()))),
            (Leaf::Fuzzy(t, n), None) => {
                let want: Vec<char> = t.chars().collect();
                Ok(values.iter().filter_map(text).any(|v| {
                    let have: Vec<char> = v.chars().collect();
                    let keep = self.prefix_length.min(want.len());
                    have.len() >= keep
                        && have[..keep] == want[..keep]
                        && within(&have[keep..], &want[keep..], *n, self.transpositions)
                }))
            }
            (Leaf::Prefix(_), Some(ty)) => refuse(ApiError::new(
                ErrorType::QueryShard,
                format!(
                    "Can only use prefix queries on keyword, text and wildcard fields - not on [{name}] which is of type [{ty}]"
                ),
            )),
            (Leaf::Fuzzy(..), Some(ty)) => refuse(ApiError::new(
                ErrorType::QueryShard,
                format!(
                    "Can only use fuzzy queries on keyword and text fields - not on [{name}] which is of type [{ty}]"
                ),
            )),
        }
    }
}

/// `minimum_should_match` as a count of `optional` clauses: `N`, `-N`, `P%` or `-P%`.
fn min_should(spec: &Value, optional: usize) -> Result<usize, ApiError> {
    let s = match spec {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        other => {
            return Err(ApiError::parse(format!(
                "[minimum_should_match] must be a number or a string, not {other}"
            )));
        }
    };
    let bad = || {
        ApiError::parse(format!(
            "[simple_query_string] unsupported minimum_should_match [{s}]: use an integer or a percentage (`2`, `-1`, `75%`)"
        ))
    };
    let count = i64::try_from(optional).unwrap_or(i64::MAX);
    let n = match s.strip_suffix('%') {
        Some(p) => count.saturating_mul(p.trim().parse::<i64>().map_err(|_| bad())?) / 100,
        None => s.parse::<i64>().map_err(|_| bad())?,
    };
    let n = if n < 0 { count + n } else { n };
    Ok(usize::try_from(n.max(0)).unwrap_or(0))
}

/// The fields a `fields` entry names: a `*` pattern matches the API's field names (not
/// `metadata.` sub-fields), a plain name the field itself; anything not allowed is none.
fn expand<D: Queryable>(entry: &str, out: &mut Vec<(String, D::Field)>) {
    let name = entry.rsplit_once('^').map_or(entry, |(n, _)| n);
    if name.contains('*') {
        for f in D::pattern_fields() {
            if star_match(name, f, Syntax::STAR)
                && let Some(field) = D::field(f)
            {
                out.push(((*f).to_owned(), field));
            }
        }
    } else if let Some(field) = D::field(name) {
        out.push((name.to_owned(), field));
    }
}

fn opt_bool(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(v) => Err(ApiError::parse(format!("[simple_query_string] [{key}] must be a boolean, not {v}"))),
    }
}

fn opt_count(o: &Map<String, Value>, key: &str, default: usize) -> Result<usize, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::parse(format!(
                    "[simple_query_string] [{key}] must be a non-negative integer, not {v}"
                ))
            }),
    }
}

/// Whether `doc` matches a `simple_query_string` body.
pub(super) fn matches<D: Queryable>(body: &Value, doc: &D) -> Result<bool, ApiError> {
    let o = body
        .as_object()
        .ok_or_else(|| ApiError::parse("[simple_query_string] query malformed, expected an object"))?;
    if let Some(k) = o.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorType::Parsing,
            format!("[simple_query_string] unsupported field [{k}]"),
        ));
    }
    let query = o
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::parse("[simple_query_string] query text missing"))?;
    let default = match o.get("default_operator").and_then(Value::as_str) {
        None => Occur::Should,
        Some(s) if s.eq_ignore_ascii_case("or") => Occur::Should,
        Some(s) if s.eq_ignore_ascii_case("and") => Occur::Must,
        Some(s) => {
            return Err(ApiError::illegal_argument(format!(
                "operator needs to be either [and] or [or], but was [{s}]"
            )));
        }
    };
    // The fields are keywords, dates and booleans: their own analysis is the only one there is.
    if let Some(a) = o.get("analyzer").filter(|a| !matches!(a.as_str(), Some("keyword" | "default"))) {
        return Err(ApiError::illegal_argument(format!(
            "[simple_query_string] analyzer [{}] is not supported here: the queried fields are keywords, dates and booleans, matched whole (use [keyword] or leave [analyzer] out)",
            a.as_str().unwrap_or_default()
        )));
    }
    for key in ["quote_field_suffix"] {
        if o.get(key).is_some_and(|v| !v.is_string()) {
            return Err(ApiError::parse(format!("[simple_query_string] [{key}] must be a string")));
        }
    }
    for key in ["analyze_wildcard", "auto_generate_synonyms_phrase_query"] {
        opt_bool(o, key, false)?;
    }
    if o.get("boost").is_some_and(|b| !b.is_number()) {
        return Err(ApiError::parse("[simple_query_string] [boost] must be a number"));
    }
    opt_count(o, "fuzzy_max_expansions", 50)?;
    let names: Vec<String> = match o.get("fields") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::parse("[simple_query_string] [fields] must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => vec![s.clone()],
        Some(v) => {
            return Err(ApiError::parse(format!(
                "[simple_query_string] [fields] must be an array of strings, not {v}"
            )));
        }
    };
    let names = if names.is_empty() { vec!["*".to_owned()] } else { names };
    let mut fields = Vec::new();
    for n in &names {
        expand::<D>(n, &mut fields);
    }
    // Querying every field forces leniency (their types differ).
    let lenient = names.iter().any(|n| n.rsplit_once('^').map_or(n.as_str(), |(n, _)| n) == "*")
        || opt_bool(o, "lenient", false)?;
    let parser = Parser { chars: bounded(query)?, flags: flags(o.get("flags"))?, default };
    let msm = o.get("minimum_should_match").filter(|v| !v.is_null());
    let m = Matcher {
        doc,
        fields: &fields,
        lenient,
        prefix_length: opt_count(o, "fuzzy_prefix_length", 0)?,
        transpositions: opt_bool(o, "fuzzy_transpositions", true)?,
    };
    let Some(tree) = parser.parse(0, parser.chars.len()) else { return Ok(false) };
    if tree.depth() > MAX_NESTING * 2 {
        // Alternating operators wrap what came before, one level each.
        return Err(ApiError::illegal_argument(format!(
            "[simple_query_string] [query] alternates its operators more than {} times; group it with parentheses",
            MAX_NESTING * 2
        )));
    }
    if fields.is_empty() {
        return Ok(false);
    }
    match (&tree, msm) {
        (Node::Bool(Occur::Should, clauses), Some(spec)) => {
            let need = min_should(spec, clauses.len())?.max(1);
            Ok(m.should_count(clauses)? >= need)
        }
        (Node::Not(_), Some(spec)) if min_should(spec, 1)? > 1 => Ok(false),
        _ => m.node(&tree),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(q: &str, flags: u32) -> Option<Node> {
        let p = Parser { chars: q.chars().collect(), flags, default: Occur::Should };
        p.parse(0, p.chars.len())
    }

    fn term(s: &str) -> Node {
        Node::Leaf(Leaf::Term(s.into()))
    }

    #[test]
    fn reads_the_simple_syntax() {
        assert_eq!(tree("a", ALL), Some(term("a")));
        assert_eq!(tree("a b", ALL), Some(Node::Bool(Occur::Should, vec![term("a"), term("b")])));
        assert_eq!(
            tree("a | b + c", ALL),
            Some(Node::Bool(
                Occur::Must,
                vec![Node::Bool(Occur::Should, vec![term("a"), term("b")]), term("c")]
            ))
        );
        assert_eq!(tree("-a", ALL), Some(Node::Not(Box::new(term("a")))));
        assert_eq!(tree("- a", ALL), Some(term("a")));
        assert_eq!(tree("my-key", ALL), Some(term("my-key")));
        assert_eq!(tree("ke*", ALL), Some(Node::Leaf(Leaf::Prefix("ke".into()))));
        assert_eq!(tree("ke*", ALL & !PREFIX), Some(term("ke*")));
        assert_eq!(tree("\"a b\"", ALL), Some(term("a b")));
        assert_eq!(tree("\"a b", ALL), Some(Node::Bool(Occur::Should, vec![term("a"), term("b")])));
        assert_eq!(tree("a b", ALL & !WHITESPACE), Some(term("a b")));
        assert_eq!(tree("kye~", ALL), Some(Node::Leaf(Leaf::Fuzzy("kye".into(), 2))));
        assert_eq!(
            tree("kye~1 x", ALL),
            Some(Node::Bool(Occur::Should, vec![Node::Leaf(Leaf::Fuzzy("kye".into(), 1)), term("x")]))
        );
        assert_eq!(tree("a\\ b", ALL), Some(term("a b")));
        assert_eq!(
            tree("(a | b) +c", ALL),
            Some(Node::Bool(
                Occur::Must,
                vec![Node::Bool(Occur::Should, vec![term("a"), term("b")]), term("c")]
            ))
        );
        assert_eq!(tree("", ALL), None);
        assert_eq!(tree("()", ALL), None);
    }

    #[test]
    fn overlong_and_deeply_nested_queries_are_refused() {
        assert!(bounded(&"a ".repeat(2_048)).is_ok());
        let e = bounded(&"a ".repeat(2_049)).unwrap_err();
        assert!(e.reason.contains("4098 characters long; at most 4096"), "{}", e.reason);
        assert!(bounded(&format!("{}a{}", "(".repeat(32), ")".repeat(32))).is_ok());
        let e = bounded(&format!("{}a{}", "(".repeat(33), ")".repeat(33))).unwrap_err();
        assert!(e.reason.contains("33 deep; at most 32"), "{}", e.reason);
        let alternating = tree(&"a|b+".repeat(1_000), ALL).unwrap();
        assert!(alternating.depth() > 1_000, "each change of operator wraps what came before");
        assert_eq!(tree("a|b|c|d", ALL).unwrap().depth(), 2);
    }

    #[test]
    fn flags_and_distances() {
        assert_eq!(flags(Some(&Value::from("prefix|Phrase"))).ok(), Some(PREFIX | PHRASE));
        assert_eq!(flags(Some(&Value::from("NONE"))).ok(), Some(0));
        assert_eq!(flags(None).ok(), Some(ALL));
        let e = flags(Some(&Value::from("OR|FOO"))).unwrap_err();
        assert_eq!(e.reason, "Unknown simple_query_string flag [FOO]");
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(within(&c("key"), &c("kye"), 1, true));
        assert!(!within(&c("key"), &c("kye"), 1, false) && within(&c("key"), &c("kye"), 2, false));
        assert!(within(&c(""), &c("ab"), 2, true) && !within(&c(""), &c("abc"), 2, true));
        assert!(!within(&c("kitten"), &c("sitting"), 2, true));
        assert!(within(&c("kitten"), &c("sittin"), 2, true) && !within(&c("kitten"), &c("sittin"), 1, true));
        // Long values: linear, not a table of their product.
        let long: Vec<char> = "ab".repeat(200_000).chars().collect();
        let mut edited = long.clone();
        edited[1000] = 'x';
        edited.swap(5000, 5001);
        assert!(within(&long, &edited, 2, true) && !within(&long, &edited, 1, true));
        assert!(!within(&long, &edited, 2, false));
        assert_eq!(min_should(&Value::from("75%"), 4).ok(), Some(3));
        assert_eq!(min_should(&Value::from(-1), 3).ok(), Some(2));
        assert!(min_should(&Value::from("3<90%"), 4).is_err());
    }
}
