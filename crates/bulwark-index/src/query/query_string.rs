//! `query_string` (Lucene syntax: `field:value`, `AND`/`OR`/`NOT`, `+`/`-`, quoted phrases,
//! wildcards, ranges, boosts, groups) and `simple_query_string` (`+`, `|`, `-`, quotes, trailing
//! `*`, groups; never a syntax error), read into [`QueryAst`].

use serde_json::Value;

use crate::error::{IndexError, Result};
use crate::query::dsl::{MinShouldMatch, MultiMatchType, Operator, QueryAst, RangeBounds};
use crate::query::params::{Params, field_list};

/// How deeply groups may nest.
const MAX_DEPTH: usize = 64;

/// Reads a `query_string` body.
pub(crate) fn parse_query_string(body: &Value) -> Result<QueryAst> {
    let mut p = Params::new("query_string", body)?;
    p.ignore(&[
        "analyzer",
        "quote_analyzer",
        "allow_leading_wildcard",
        "analyze_wildcard",
        "auto_generate_synonyms_phrase_query",
        "enable_position_increments",
        "escape",
        "fuzziness",
        "fuzzy_max_expansions",
        "fuzzy_prefix_length",
        "fuzzy_transpositions",
        "fuzzy_rewrite",
        "max_determinized_states",
        "quote_field_suffix",
        "rewrite",
        "type",
        "tie_breaker",
        "time_zone",
    ]);
    p.only(&[
        "query",
        "default_field",
        "fields",
        "default_operator",
        "lenient",
        "boost",
        "minimum_should_match",
        "phrase_slop",
    ])?;
    let query = p.required_str("query")?;
    // Without `fields` or `default_field`, the index's `index.query.default_field` (an empty
    // list here, filled in when the query is compiled for an index).
    let mut fields = field_list("query_string", p.get("fields"))?;
    if fields.is_empty()
        && let Some(f) = p.opt_str("default_field")?
    {
        fields.push((f, 1.0));
    }
    let settings = Settings {
        simple: false,
        operator: p.operator()?,
        fields,
        lenient: p.bool_or("lenient", false)?,
        phrase_slop: p.f32_or("phrase_slop", 0.0)?.max(0.0) as u32,
    };
    let ast = Parser::new(&query, &settings)
        .parse_all()
        .map_err(|detail| IndexError::QueryShard(format!("Failed to parse query [{query}]: {detail}")))?;
    Ok(finish(ast, p.msm()?, p.boost()?))
}

/// Reads a `simple_query_string` body.
pub(crate) fn parse_simple_query_string(body: &Value) -> Result<QueryAst> {
    let mut p = Params::new("simple_query_string", body)?;
    p.ignore(&[
        "analyzer",
        "analyze_wildcard",
        "auto_generate_synonyms_phrase_query",
        "flags",
        "fuzzy_max_expansions",
        "fuzzy_prefix_length",
        "fuzzy_transpositions",
        "quote_field_suffix",
    ]);
    p.only(&["query", "fields", "default_operator", "lenient", "boost", "minimum_should_match"])?;
    let query = p.required_str("query")?;
    // Without `fields`, the index's `index.query.default_field` (filled in when compiled).
    let fields = field_list("simple_query_string", p.get("fields"))?;
    let settings = Settings {
        simple: true,
        operator: p.operator()?,
        fields,
        lenient: p.bool_or("lenient", false)?,
        phrase_slop: 0,
    };
    // The simple syntax has no errors: whatever cannot be read is read as plain words.
    let ast = Parser::new(&query, &settings).parse_all().unwrap_or(QueryAst::MatchNone);
    Ok(finish(ast, p.msm()?, p.boost()?))
}

fn finish(ast: QueryAst, msm: Option<MinShouldMatch>, boost: f32) -> QueryAst {
    let ast = match (ast, msm) {
        (QueryAst::Bool { must, filter, should, must_not, msm: None, boost }, Some(m)) => {
            QueryAst::Bool { must, filter, should, must_not, msm: Some(m), boost }
        }
        (ast, _) => ast,
    };
    if boost == 1.0 { ast } else { QueryAst::Boost { query: Box::new(ast), boost } }
}

struct Settings {
    simple: bool,
    operator: Operator,
    fields: Vec<(String, f32)>,
    lenient: bool,
    phrase_slop: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Occur {
    Must,
    Should,
    MustNot,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Conj {
    None,
    And,
    Or,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Modifier {
    None,
    Required,
    Not,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    s: &'a Settings,
    depth: usize,
}

type PResult<T> = std::result::Result<T, String>;

impl<'a> Parser<'a> {
    fn new(q: &str, s: &'a Settings) -> Parser<'a> {
        Parser { chars: q.chars().collect(), pos: 0, s, depth: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Whether the word `w` stands at the cursor, followed by a break.
    fn at_word(&self, w: &str) -> bool {
        let n = w.chars().count();
        let matches = self.chars.get(self.pos..self.pos + n).is_some_and(|s| s.iter().copied().eq(w.chars()));
        matches && self.chars.get(self.pos + n).is_none_or(|c| c.is_whitespace() || *c == '(' || *c == '"')
    }

    fn parse_all(&mut self) -> PResult<QueryAst> {
        let q = self.parse_seq(None)?;
        if self.pos < self.chars.len() {
            return Err(format!("unexpected [{}] at position {}", self.chars[self.pos], self.pos));
        }
        Ok(q)
    }

    /// A sequence of clauses until the end or a `)`.
    fn parse_seq(&mut self, field: Option<&str>) -> PResult<QueryAst> {
        let mut clauses: Vec<(Occur, QueryAst)> = Vec::new();
        let mut conj = Conj::None;
        let mut modifier = Modifier::None;
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            if c == ')' {
                if self.depth > 0 {
                    break;
                }
                if self.s.simple {
                    self.pos += 1;
                    continue;
                }
                return Err(format!("unbalanced ) at position {}", self.pos));
            }
            if !self.s.simple && (self.at_word("AND") || self.at_word("&&")) {
                self.pos += if c == '&' { 2 } else { 3 };
                conj = Conj::And;
                continue;
            }
            if !self.s.simple && (self.at_word("OR") || self.at_word("||")) {
                self.pos += 2;
                conj = Conj::Or;
                continue;
            }
            if self.s.simple && c == '|' {
                self.pos += 1;
                conj = Conj::Or;
                continue;
            }
            if !self.s.simple && self.at_word("NOT") {
                self.pos += 3;
                modifier = Modifier::Not;
                continue;
            }
            if c == '+' {
                self.pos += 1;
                if self.s.simple {
                    conj = Conj::And;
                } else {
                    modifier = Modifier::Required;
                }
                continue;
            }
            if c == '-' || (!self.s.simple && c == '!') {
                self.pos += 1;
                modifier = Modifier::Not;
                continue;
            }
            let clause = self.parse_clause(field)?;
            if let Some(clause) = clause {
                add_clause(&mut clauses, conj, modifier, clause, self.s.operator);
            }
            conj = Conj::None;
            modifier = Modifier::None;
        }
        Ok(match clauses.len() {
            0 => QueryAst::MatchNone,
            1 if clauses[0].0 != Occur::MustNot => clauses.pop().map(|c| c.1).unwrap_or(QueryAst::MatchNone),
            _ => {
                let (mut must, mut should, mut must_not) = (Vec::new(), Vec::new(), Vec::new());
                for (occur, q) in clauses {
                    match occur {
                        Occur::Must => must.push(q),
                        Occur::Should => should.push(q),
                        Occur::MustNot => must_not.push(q),
                    }
                }
                QueryAst::Bool { must, filter: Vec::new(), should, must_not, msm: None, boost: 1.0 }
            }
        })
    }

    fn parse_clause(&mut self, field: Option<&str>) -> PResult<Option<QueryAst>> {
        let Some(c) = self.peek() else { return Ok(None) };
        let q = match c {
            '(' => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err("groups nest too deeply".into());
                }
                let inner = self.parse_seq(field)?;
                self.depth -= 1;
                if self.peek() == Some(')') {
                    self.pos += 1;
                } else if !self.s.simple {
                    return Err("missing )".into());
                }
                inner
            }
            '"' => {
                self.pos += 1;
                let mut text = String::new();
                loop {
                    match self.peek() {
                        None if self.s.simple => break,
                        None => return Err("unterminated quote".into()),
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') => {
                            self.pos += 1;
                            if let Some(n) = self.peek() {
                                text.push(n);
                                self.pos += 1;
                            }
                        }
                        Some(ch) => {
                            text.push(ch);
                            self.pos += 1;
                        }
                    }
                }
                let slop = self.tilde().map_or(self.s.phrase_slop, |v| v.unwrap_or(0.0) as u32);
                self.for_fields(
                    field,
                    QueryAst::MatchPhrase { field: String::new(), query: text, slop, boost: 1.0 },
                )
            }
            '[' | '{' if !self.s.simple => {
                let Some(f) = field else { return Err("a range needs a field".into()) };
                self.parse_range(f)?
            }
            '>' | '<' if !self.s.simple && field.is_some() => {
                let f = field.unwrap_or_default();
                self.parse_comparison(f)?
            }
            _ => {
                let (raw, text, wildcard) = self.read_term();
                if raw.is_empty() {
                    // A lone special character.
                    self.pos += 1;
                    if self.s.simple {
                        return Ok(None);
                    }
                    return Err(format!("unexpected [{c}]"));
                }
                if !self.s.simple && field.is_none() && self.peek() == Some(':') {
                    self.pos += 1;
                    self.skip_ws();
                    if raw == "_exists_" {
                        let (_, name, _) = self.read_term();
                        return Ok(Some(QueryAst::Exists { field: name, boost: 1.0 }));
                    }
                    return self.parse_clause(Some(&text));
                }
                // Fuzziness (`term~2`) is read and ignored: terms match exactly.
                let _ = self.tilde();
                if text == "*" && wildcard {
                    match field {
                        Some(f) => QueryAst::Exists { field: f.to_string(), boost: 1.0 },
                        None => QueryAst::MatchAll { boost: 1.0 },
                    }
                } else if wildcard {
                    let pattern =
                        if self.s.simple { format!("{}*", text.trim_end_matches('*')) } else { raw.clone() };
                    self.for_fields(
                        field,
                        QueryAst::Wildcard {
                            field: String::new(),
                            value: pattern,
                            case_insensitive: false,
                            boost: 1.0,
                        },
                    )
                } else {
                    self.for_fields(
                        field,
                        QueryAst::Match {
                            field: String::new(),
                            query: Value::String(text),
                            operator: self.s.operator,
                            msm: None,
                            zero_terms_all: false,
                            boost: 1.0,
                        },
                    )
                }
            }
        };
        let q = match self.caret() {
            Some(b) => QueryAst::Boost { query: Box::new(q), boost: b },
            None => q,
        };
        Ok(Some(q))
    }

    /// Reads a bare term: returns (raw text with escapes, text without escapes, has an
    /// unescaped wildcard).
    fn read_term(&mut self) -> (String, String, bool) {
        let (mut raw, mut text, mut wildcard) = (String::new(), String::new(), false);
        while let Some(c) = self.peek() {
            let stop = c.is_whitespace()
                || matches!(c, '(' | ')' | '"')
                || (!self.s.simple && matches!(c, ':' | '^' | '~' | '[' | ']' | '{' | '}'))
                || (self.s.simple && matches!(c, '|' | '~'));
            if stop {
                break;
            }
            self.pos += 1;
            if c == '\\' && !self.s.simple {
                raw.push(c);
                if let Some(n) = self.peek() {
                    raw.push(n);
                    text.push(n);
                    self.pos += 1;
                }
                continue;
            }
            if c == '*' || (c == '?' && !self.s.simple) {
                wildcard = true;
            }
            raw.push(c);
            text.push(c);
        }
        (raw, text, wildcard)
    }

    /// `~` and an optional number after it.
    fn tilde(&mut self) -> Option<Option<f32>> {
        if self.peek() != Some('~') {
            return None;
        }
        self.pos += 1;
        Some(self.number())
    }

    /// `^` and a boost after it.
    fn caret(&mut self) -> Option<f32> {
        if self.s.simple || self.peek() != Some('^') {
            return None;
        }
        self.pos += 1;
        self.number().filter(|b| b.is_finite() && *b >= 0.0)
    }

    fn number(&mut self) -> Option<f32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect::<String>().parse().ok()
    }

    fn parse_range(&mut self, field: &str) -> PResult<QueryAst> {
        let inclusive_low = self.peek() == Some('[');
        self.pos += 1;
        let mut parts = Vec::new();
        let mut cur = String::new();
        let inclusive_high = loop {
            match self.peek() {
                None => return Err("unterminated range".into()),
                Some(']') => break true,
                Some('}') => break false,
                Some(c) if c.is_whitespace() => {
                    if !cur.is_empty() {
                        parts.push(std::mem::take(&mut cur));
                    }
                }
                Some('"') => {}
                Some(c) => cur.push(c),
            }
            self.pos += 1;
        };
        self.pos += 1;
        if !cur.is_empty() {
            parts.push(cur);
        }
        let [low, to, high] = parts.as_slice() else { return Err("a range is [low TO high]".into()) };
        if to != "TO" {
            return Err("a range is [low TO high]".into());
        }
        let bound = |s: &String| (s != "*").then(|| Value::String(s.clone()));
        let mut r = RangeBounds::default();
        if inclusive_low {
            r.gte = bound(low)
        } else {
            r.gt = bound(low)
        }
        if inclusive_high {
            r.lte = bound(high)
        } else {
            r.lt = bound(high)
        }
        Ok(self.for_fields(
            Some(field),
            QueryAst::Range { field: String::new(), range: Box::new(r), boost: 1.0 },
        ))
    }

    fn parse_comparison(&mut self, field: &str) -> PResult<QueryAst> {
        let lt = self.peek() == Some('<');
        self.pos += 1;
        let eq = self.peek() == Some('=');
        if eq {
            self.pos += 1;
        }
        let (_, value, _) = self.read_term();
        if value.is_empty() {
            return Err("a comparison needs a value".into());
        }
        let v = Some(Value::String(value));
        let mut r = RangeBounds::default();
        match (lt, eq) {
            (true, true) => r.lte = v,
            (true, false) => r.lt = v,
            (false, true) => r.gte = v,
            (false, false) => r.gt = v,
        }
        Ok(self.for_fields(
            Some(field),
            QueryAst::Range { field: String::new(), range: Box::new(r), boost: 1.0 },
        ))
    }

    /// The template query on `field`, or on the default fields.
    fn for_fields(&self, field: Option<&str>, template: QueryAst) -> QueryAst {
        let fields: Vec<(String, f32)> = match field {
            Some(f) => vec![(f.to_string(), 1.0)],
            None => self.s.fields.clone(),
        };
        per_field(fields, template, self.s.lenient)
    }
}

/// `template` (a single-field query whose field is blank) on each of `fields`.
pub(crate) fn per_field(fields: Vec<(String, f32)>, template: QueryAst, lenient: bool) -> QueryAst {
    if let [(f, b)] = fields.as_slice()
        && !f.contains('*')
    {
        let q = template.with_field(f);
        return if *b == 1.0 { q } else { QueryAst::Boost { query: Box::new(q), boost: *b } };
    }
    QueryAst::PerField {
        fields,
        template: Box::new(template),
        kind: MultiMatchType::BestFields,
        tie_breaker: 0.0,
        lenient,
    }
}

/// Adds a clause by Lucene's classic rules: `AND` makes the previous clause required, `OR`
/// (under a default `AND`) makes it optional, and the modifier or default operator decides the
/// new clause.
fn add_clause(
    clauses: &mut Vec<(Occur, QueryAst)>,
    conj: Conj,
    modifier: Modifier,
    q: QueryAst,
    operator: Operator,
) {
    if let Some(prev) = clauses.last_mut() {
        if conj == Conj::And && prev.0 != Occur::MustNot {
            prev.0 = Occur::Must;
        }
        if operator == Operator::And && conj == Conj::Or && prev.0 != Occur::MustNot {
            prev.0 = Occur::Should;
        }
    }
    let occur = match operator {
        Operator::Or => match modifier {
            Modifier::Not => Occur::MustNot,
            Modifier::Required => Occur::Must,
            Modifier::None if conj == Conj::And => Occur::Must,
            Modifier::None => Occur::Should,
        },
        Operator::And => match modifier {
            Modifier::Not => Occur::MustNot,
            _ if conj == Conj::Or => Occur::Should,
            _ => Occur::Must,
        },
    };
    clauses.push((occur, q));
}
