//! The one wildcard matcher of Bulwark. Index, alias and field names, `filter_path`, role
//! patterns, API key names and the query DSL's `wildcard` query all match through [`Glob`];
//! they differ only in [`Syntax`] (which characters are special, and case folding).
//!
//! Matching is the two-pointer greedy algorithm: on a mismatch it backtracks only to the last
//! `*`, so a pattern of `m` tokens over a text of `n` characters costs at most O(n·m) steps and
//! allocates nothing, whatever the pattern (`a*a*a*…b` included).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

/// Which characters a pattern treats as special.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    /// `?` matches exactly one character (otherwise it is literal).
    pub question_mark: bool,
    /// A backslash makes the next character literal (otherwise it is literal itself).
    pub escapes: bool,
    /// Characters compare case-insensitively (Unicode lowercase, character by character).
    pub ignore_case: bool,
}

impl Syntax {
    /// Only `*` is special: index, alias and field names, `filter_path`, `_source` filters.
    pub const STAR: Syntax = Syntax { question_mark: false, escapes: false, ignore_case: false };
    /// `*` and `?`: role patterns (application privileges, `run_as`, index names, DNs).
    pub const GLOB: Syntax = Syntax { question_mark: true, escapes: false, ignore_case: false };
    /// `*`, `?` and backslash escapes: Lucene's `wildcard` query syntax.
    pub const LUCENE: Syntax = Syntax { question_mark: true, escapes: true, ignore_case: false };

    /// The same syntax, ignoring case when `yes`.
    #[must_use]
    pub const fn ignoring_case(self, yes: bool) -> Syntax {
        Syntax { ignore_case: yes, ..self }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    One,
    Any,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
    ignore_case: bool,
}

impl Glob {
    /// Compiles `pattern` in `syntax`. A trailing lone backslash is literal; runs of `*` collapse.
    pub fn new(pattern: &str, syntax: Syntax) -> Glob {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let t = match c {
                '*' => Token::Any,
                '?' if syntax.question_mark => Token::One,
                '\\' if syntax.escapes => Token::Char(chars.next().unwrap_or('\\')),
                c => Token::Char(c),
            };
            if !(t == Token::Any && tokens.last() == Some(&Token::Any)) {
                tokens.push(t);
            }
        }
        Glob { tokens, ignore_case: syntax.ignore_case }
    }

    /// Every text starting with `literal` (no character of it is special).
    pub fn prefix(literal: &str) -> Glob {
        let mut g = Glob::literal(literal);
        g.tokens.push(Token::Any);
        g
    }

    /// Exactly `literal` (no character of it is special).
    pub fn literal(literal: &str) -> Glob {
        Glob { tokens: literal.chars().map(Token::Char).collect(), ignore_case: false }
    }

    /// The literal text every match starts with, to narrow a sorted scan: the characters before
    /// the first wildcard (none when case is ignored).
    pub fn literal_prefix(&self) -> String {
        if self.ignore_case {
            return String::new();
        }
        self.tokens
            .iter()
            .map_while(|t| match t {
                Token::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    fn same(&self, p: char, c: char) -> bool {
        p == c
            || (self.ignore_case
                && if p.is_ascii() && c.is_ascii() {
                    p.eq_ignore_ascii_case(&c)
                } else {
                    p.to_lowercase().eq(c.to_lowercase())
                })
    }

    /// Whether all of `text` matches the pattern. O(n·m) time, no allocation.
    pub fn matches(&self, text: &str) -> bool {
        let tokens = &self.tokens;
        let (mut p, mut t) = (0usize, 0usize);
        // The last `*` seen, and where in the text its match currently ends.
        let mut star: Option<(usize, usize)> = None;
        while let Some(c) = text[t..].chars().next() {
            match tokens.get(p) {
                Some(Token::Any) => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Some(Token::One) => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                Some(Token::Char(x)) if self.same(*x, c) => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            let Some((sp, st)) = star else { return false };
            // Let that `*` swallow one more character and retry what follows it.
            let swallowed = text[st..].chars().next().map_or(0, char::len_utf8);
            p = sp + 1;
            t = st + swallowed;
            star = Some((sp, t));
        }
        tokens[p..].iter().all(|t| *t == Token::Any)
    }
}

/// Whether `text` matches `pattern` in `syntax` (compiles the pattern; keep a [`Glob`] when
/// matching one pattern against many texts).
pub fn matches(pattern: &str, text: &str, syntax: Syntax) -> bool {
    if !pattern.contains(['*', '?', '\\']) && !syntax.ignore_case {
        return pattern == text;
    }
    Glob::new(pattern, syntax).matches(text)
}

#[cfg(test)]
mod tests;
