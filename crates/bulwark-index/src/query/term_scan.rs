//! A constant-score query that scans a range of a field's term dictionary and matches the
//! documents of every term a [`Matcher`] accepts: `prefix`, `wildcard`, case-insensitive
//! `term`, text ranges and `exists` on objects.

use std::ops::Bound;

use tantivy::query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError};

use bulwark_pattern::Glob;

/// Which term values match.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Prefix(String),
    PrefixIgnoreCase(String),
    Glob(Glob),
    EqualsIgnoreCase(String),
    Range { lower: Bound<String>, upper: Bound<String> },
}

impl Matcher {
    fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Prefix(p) => value.starts_with(p.as_str()),
            Matcher::PrefixIgnoreCase(p) => value.to_lowercase().starts_with(p.as_str()),
            Matcher::Glob(g) => g.matches(value),
            Matcher::EqualsIgnoreCase(s) => value.to_lowercase() == *s,
            Matcher::Range { lower, upper } => {
                let lower_ok = match lower {
                    Bound::Included(l) => value >= l.as_str(),
                    Bound::Excluded(l) => value > l.as_str(),
                    Bound::Unbounded => true,
                };
                let upper_ok = match upper {
                    Bound::Included(u) => value <= u.as_str(),
                    Bound::Excluded(u) => value < u.as_str(),
                    Bound::Unbounded => true,
                };
                lower_ok && upper_ok
            }
        }
    }

    /// Literal text every match starts with (to narrow the scan).
    fn literal_prefix(&self) -> String {
        match self {
            Matcher::Prefix(p) => p.clone(),
            Matcher::Glob(g) => g.literal_prefix(),
            Matcher::Range { lower: Bound::Included(l) | Bound::Excluded(l), .. } => l.clone(),
            _ => String::new(),
        }
    }
}

/// Builds a scan query; the ignore-case prefix and equality matchers expect lowercase text.
#[derive(Debug, Clone)]
pub(crate) struct TermScanQuery {
    field: Field,
    /// The bytes every term of interest starts with (a JSON path and type), before the value.
    key_prefix: Vec<u8>,
    matcher: Matcher,
}

impl TermScanQuery {
    pub(crate) fn new(field: Field, key_prefix: Vec<u8>, matcher: Matcher) -> TermScanQuery {
        TermScanQuery { field, key_prefix, matcher }
    }
}

impl Query for TermScanQuery {
    fn weight(&self, _enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

/// The smallest byte string greater than every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Weight for TermScanQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let max_doc = reader.max_doc();
        let mut docs = BitSet::with_max_value(max_doc.max(1));
        let inverted = reader.inverted_index(self.field)?;
        let dict = inverted.terms();
        let mut lo = self.key_prefix.clone();
        lo.extend_from_slice(self.matcher.literal_prefix().as_bytes());
        let mut builder = dict.range().ge(&lo);
        if let Some(end) = prefix_end(&self.key_prefix) {
            builder = builder.lt(end);
        }
        let literal = self.matcher.literal_prefix();
        let mut stream = builder.into_stream()?;
        while stream.advance() {
            let key = stream.key();
            let Some(value) = key.get(self.key_prefix.len()..) else { continue };
            let Ok(value) = std::str::from_utf8(value) else { continue };
            if !value.starts_with(literal.as_str()) {
                // Past every term that can match (the dictionary is sorted), except for ranges.
                if !matches!(self.matcher, Matcher::Range { .. }) {
                    break;
                }
            }
            if !self.matcher.matches(value) {
                if let Matcher::Range { upper: Bound::Included(u) | Bound::Excluded(u), .. } = &self.matcher
                    && value > u.as_str()
                {
                    break;
                }
                continue;
            }
            let mut postings =
                inverted.read_block_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
            loop {
                let block = postings.docs();
                if block.is_empty() {
                    break;
                }
                for &doc in block {
                    if doc < max_doc {
                        docs.insert(doc);
                    }
                }
                postings.advance();
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.doc() != TERMINATED && scorer.seek(doc) == doc {
            Ok(Explanation::new("TermScanQuery", 1.0))
        } else {
            Err(TantivyError::InvalidArgument("Document does not match".to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[b'a', 0xFF]), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[0xFF]), None);
    }

    #[test]
    fn matchers() {
        assert!(Matcher::PrefixIgnoreCase("ab".into()).matches("ABc"));
        assert!(!Matcher::PrefixIgnoreCase("abc".into()).matches("AB"));
        assert!(Matcher::EqualsIgnoreCase("abc".into()).matches("AbC"));
        let r = Matcher::Range { lower: Bound::Included("b".into()), upper: Bound::Excluded("d".into()) };
        assert!(r.matches("b") && r.matches("cz") && !r.matches("d") && !r.matches("a"));
    }
}
