//! Turning a parsed document into a tantivy document.

use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;

use crate::document::{Exact, ParsedDoc};
use crate::schema::Fields;

/// Builds the tantivy document for `id` with `source`, `seq_no` and the values of `parsed`.
pub(crate) fn to_tantivy(
    fields: &Fields,
    id: &str,
    source: &serde_json::Value,
    seq_no: Option<u64>,
    parsed: &ParsedDoc,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(fields.id, id);
    // Serializing a `Value` cannot fail: its keys are strings.
    let bytes = serde_json::to_vec(source).unwrap_or_default();
    doc.add_bytes(fields.source, &bytes);
    if let Some(seq_no) = seq_no {
        doc.add_u64(fields.seq_no, seq_no);
    }
    if !parsed.exact.is_empty() {
        let entries = parsed.exact.iter().map(|(path, v)| nest(path, exact_value(v))).collect::<Vec<_>>();
        doc.add_field_value(fields.keyword, &OwnedValue::Object(entries));
    }
    if !parsed.text.is_empty() {
        let entries =
            parsed.text.iter().map(|(path, s)| nest(path, OwnedValue::Str(s.clone()))).collect::<Vec<_>>();
        doc.add_field_value(fields.text, &OwnedValue::Object(entries));
    }
    for name in &parsed.field_names {
        doc.add_text(fields.field_names, name);
    }
    doc
}

fn exact_value(v: &Exact) -> OwnedValue {
    match v {
        Exact::Str(s) => OwnedValue::Str(s.clone()),
        Exact::I64(i) => OwnedValue::I64(*i),
        Exact::F64(f) => OwnedValue::F64(*f),
        Exact::Bool(b) => OwnedValue::Bool(*b),
    }
}

/// `a.b.c` = v as the entry `("a", {"b": {"c": v}})`. The same key may appear in several
/// entries of one object: tantivy indexes each entry, which is all a JSON field needs.
fn nest(path: &str, value: OwnedValue) -> (String, OwnedValue) {
    let mut segments = path.split('.').rev();
    let mut value = value;
    let mut key = segments.next().unwrap_or_default().to_string();
    for seg in segments {
        value = OwnedValue::Object(vec![(key, value)]);
        key = seg.to_string();
    }
    (key, value)
}
