//! Stored documents and their version triple.

use serde::{Deserialize, Serialize};

/// The primary term of every write today: there is one copy of the data per node, replicated by
/// Raft, so there is no primary/replica promotion to count.
pub const PRIMARY_TERM: u64 = 1;

/// A document's `_version`, `_seq_no` and `_primary_term`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocVersion {
    /// `_version`: 1 for the first write of an id, +1 for each later write (deletes included).
    pub version: u64,
    /// `_seq_no`: the position of the last write of this document in its index's write sequence.
    pub seq_no: u64,
    /// `_primary_term`.
    pub primary_term: u64,
}

/// A document as the state machine holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDoc {
    /// The document source.
    pub source: serde_json::Value,
    /// `_version`.
    pub version: u64,
    /// `_seq_no`.
    pub seq_no: u64,
    /// `_primary_term`.
    pub primary_term: u64,
}

impl StoredDoc {
    /// The document's version triple.
    pub fn doc_version(&self) -> DocVersion {
        DocVersion { version: self.version, seq_no: self.seq_no, primary_term: self.primary_term }
    }
}

/// The first byte of a document record in the state file. Records of format 1 were the JSON of
/// a [`StoredDoc`] and start with `{`; both are read.
const RECORD: u8 = 0x02;

/// Encodes a document's record for the state file: [`RECORD`], `_version`, `_seq_no` and
/// `_primary_term` as LEB128 varints, then the source as JSON (no field names around it: about
/// 50 bytes a document less than the JSON record).
pub(crate) fn encode_record(
    source: &serde_json::Value,
    version: DocVersion,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(64);
    out.push(RECORD);
    for n in [version.version, version.seq_no, version.primary_term] {
        put_varint(&mut out, n);
    }
    serde_json::to_writer(&mut out, source)?;
    Ok(out)
}

/// Decodes a record written by [`encode_record`], or a format 1 JSON record; `Err` says what is
/// wrong with it.
pub(crate) fn decode_record(bytes: &[u8]) -> Result<StoredDoc, String> {
    match bytes.split_first() {
        Some((&RECORD, mut rest)) => {
            let mut next =
                |what: &str| take_varint(&mut rest).ok_or_else(|| format!("its {what} is cut short"));
            let (version, seq_no, primary_term) =
                (next("_version")?, next("_seq_no")?, next("_primary_term")?);
            let source = serde_json::from_slice(rest).map_err(|e| format!("its source is not JSON: {e}"))?;
            Ok(StoredDoc { source, version, seq_no, primary_term })
        }
        Some((b'{', _)) => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        Some((first, _)) => Err(format!("it starts with byte {first:#04x}, which no record format does")),
        None => Err("it is empty".to_owned()),
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads one varint off the front of `bytes`; `None` when it is cut short or longer than a u64.
fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && part > 1 {
            return None;
        }
        n |= part << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_format_1_records_are_still_read() {
        let source = serde_json::json!({"a": [1, "b", {"c": null}], "é": "\u{7}"});
        for (version, seq_no, primary_term) in
            [(1, 0, 1), (3, 127, 1), (128, 16_384, 2), (u64::MAX, u64::MAX - 1, 1)]
        {
            let v = DocVersion { version, seq_no, primary_term };
            let bytes = encode_record(&source, v).unwrap();
            let doc = decode_record(&bytes).unwrap();
            assert_eq!((doc.doc_version(), &doc.source), (v, &source));
        }
        let old = StoredDoc { source: source.clone(), version: 3, seq_no: 7, primary_term: 1 };
        assert_eq!(decode_record(&serde_json::to_vec(&old).unwrap()), Ok(old.clone()));
        let json_len = serde_json::to_vec(&old).unwrap().len();
        let record_len = encode_record(&source, old.doc_version()).unwrap().len();
        assert!(record_len + 45 < json_len, "{record_len} vs {json_len}");
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let good = encode_record(
            &serde_json::json!({"k": "v"}),
            DocVersion { version: 300, seq_no: 9, primary_term: 1 },
        )
        .unwrap();
        for cut in 0..good.len() {
            assert!(decode_record(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut too_long = vec![RECORD];
        too_long.extend([0xff; 10]);
        too_long.extend([1, 1, b'{', b'}']);
        assert!(decode_record(&too_long).unwrap_err().contains("_version"));
        assert!(decode_record(&[0x7f, b'{']).unwrap_err().contains("0x7f"));
        assert!(decode_record(b"{not json").is_err());
    }
}
