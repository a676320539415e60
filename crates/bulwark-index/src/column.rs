//! Reading one field's fast-field values (tantivy columns under `_k.<path>`) in one segment,
//! for sorting and aggregations.

use std::sync::Arc;

use tantivy::columnar::{DynamicColumn, StrColumn};
use tantivy::{DocId, SegmentReader};

use crate::error::{IndexError, Result};
use crate::schema;

/// One value of a document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    I64(i64),
    F64(f64),
    /// A string, as its ordinal in column `col`'s dictionary (ordinals sort like the strings).
    Ord {
        col: u8,
        ord: u64,
    },
}

impl Val {
    /// The value as a number (strings have none).
    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            Val::I64(i) => Some(i as f64),
            Val::F64(f) => Some(f),
            Val::Ord { .. } => None,
        }
    }
}

/// The columns of one field in one segment (normally one; a field whose type differed between
/// documents may have several).
#[derive(Clone, Default)]
pub(crate) struct SegmentColumn {
    cols: Vec<DynamicColumn>,
    strs: Vec<Option<StrColumn>>,
}

impl SegmentColumn {
    /// Opens the columns of `path` in `_k`; none when the segment has no value for it.
    pub(crate) fn open(reader: &SegmentReader, path: &str) -> Result<SegmentColumn> {
        let handles = reader
            .fast_fields()
            .dynamic_column_handles(&schema::column_name(path))
            .map_err(IndexError::engine("reading a fast field"))?;
        let mut out = SegmentColumn::default();
        for h in handles {
            let col = h
                .open()
                .map_err(|e| IndexError::Engine { context: "opening a fast field", detail: e.to_string() })?;
            match col {
                DynamicColumn::Str(s) => {
                    out.strs.push(Some(s.clone()));
                    out.cols.push(DynamicColumn::Str(s));
                }
                DynamicColumn::Bool(_)
                | DynamicColumn::I64(_)
                | DynamicColumn::U64(_)
                | DynamicColumn::F64(_)
                | DynamicColumn::DateTime(_) => {
                    out.strs.push(None);
                    out.cols.push(col);
                }
                DynamicColumn::IpAddr(_) | DynamicColumn::Bytes(_) => {}
            }
        }
        Ok(out)
    }

    /// Whether there is no column at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// Replaces `out` with the values of `doc`.
    pub(crate) fn values(&self, doc: DocId, out: &mut Vec<Val>) {
        out.clear();
        for (i, col) in self.cols.iter().enumerate() {
            match col {
                DynamicColumn::I64(c) => out.extend(c.values_for_doc(doc).map(Val::I64)),
                DynamicColumn::U64(c) => out.extend(c.values_for_doc(doc).map(|u| match i64::try_from(u) {
                    Ok(i) => Val::I64(i),
                    Err(_) => Val::F64(u as f64),
                })),
                DynamicColumn::F64(c) => out.extend(c.values_for_doc(doc).map(Val::F64)),
                DynamicColumn::Bool(c) => out.extend(c.values_for_doc(doc).map(|b| Val::I64(i64::from(b)))),
                DynamicColumn::DateTime(c) => {
                    out.extend(c.values_for_doc(doc).map(|d| Val::I64(d.into_timestamp_millis())))
                }
                DynamicColumn::Str(c) => {
                    let col = u8::try_from(i).unwrap_or(u8::MAX);
                    out.extend(c.term_ords(doc).map(|ord| Val::Ord { col, ord }));
                }
                DynamicColumn::IpAddr(_) | DynamicColumn::Bytes(_) => {}
            }
        }
    }

    /// The string of a [`Val::Ord`].
    pub(crate) fn string(&self, col: u8, ord: u64) -> Arc<str> {
        let mut s = String::new();
        if let Some(Some(c)) = self.strs.get(usize::from(col)) {
            // A missing ordinal cannot come from this column; an empty string is harmless.
            let _ = c.ord_to_str(ord, &mut s);
        }
        Arc::from(s)
    }
}
