//! Glob patterns (`*` for any run of characters, `?` for one), as Elasticsearch uses them for
//! field names, `_source` filters and `wildcard` queries.

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    One,
    Any,
}

impl Glob {
    /// Compiles `pattern`; with `escapes`, a backslash makes the next character literal (Lucene's
    /// wildcard query syntax), otherwise backslashes are ordinary characters.
    pub(crate) fn new(pattern: &str, escapes: bool) -> Glob {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let t = match c {
                '*' => Token::Any,
                '?' if escapes => Token::One,
                '\\' if escapes => Token::Char(chars.next().unwrap_or('\\')),
                c => Token::Char(c),
            };
            if !(t == Token::Any && tokens.last() == Some(&Token::Any)) {
                tokens.push(t);
            }
        }
        Glob { tokens }
    }

    /// The literal text before the first wildcard (to narrow a term dictionary scan).
    pub(crate) fn literal_prefix(&self) -> String {
        self.tokens
            .iter()
            .map_while(|t| match t {
                Token::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Whether `text` matches the whole pattern. Linear-time backtracking on the last `*`, so
    /// no pattern can make it exponential.
    pub(crate) fn matches(&self, text: &str) -> bool {
        self.matches_with(text, |a, b| a == b)
    }

    /// Like [`Glob::matches`], ignoring case.
    pub(crate) fn matches_ignore_case(&self, text: &str) -> bool {
        self.matches_with(text, |a, b| a == b || a.to_lowercase().eq(b.to_lowercase()))
    }

    fn matches_with(&self, text: &str, eq: impl Fn(char, char) -> bool) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    p += 1;
                    t += 1;
                }
                Some(Token::Char(c)) if eq(*c, text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p.min(self.tokens.len())..].iter().all(|t| *t == Token::Any)
    }
}

/// Whether `name` matches the simple pattern `pattern` (only `*` is special), as index and
/// field name patterns are matched.
pub(crate) fn simple_match(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    Glob::new(pattern, false).matches(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "abc", true),
            ("a*", "abc", true),
            ("a*", "bac", false),
            ("*c", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a\\*c", "a*c", true),
            ("a\\*c", "abc", false),
            ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("k*y", "kéy", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "abc", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(Glob::new(p, true).matches(t), *want, "{p} ~ {t}");
        }
        assert!(Glob::new("AB*", true).matches_ignore_case("abc"));
        assert_eq!(Glob::new("ab*c", true).literal_prefix(), "ab");
        assert!(simple_match("obj.*", "obj.a"));
        assert!(!simple_match("obj", "obj.a"));
    }
}
