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
/// a [`StoredDoc`] and start with `{`; all three formats are read.
const RECORD: u8 = 0x02;
/// The first byte of a record whose source is compressed (format 3): as [`RECORD`], but the
/// source's JSON is one zstd frame made with its index's source dictionary ([`SourceCodec`]).
const COMPRESSED: u8 = 0x03;

/// How many bytes of source JSON an index's documents hold when it gets its source dictionary:
/// the sources of its first documents (by id) up to this much are the samples it is made from.
pub(crate) const SAMPLE_BYTES: usize = 64 * 1024;
/// The size of a source dictionary.
pub(crate) const DICT_BYTES: usize = 16 * 1024;
/// zstd's compression level for sources (its default).
const LEVEL: i32 = 3;
/// What is wrong with a compressed record read without its index's dictionary.
const NO_DICTIONARY: &str = "its source is compressed and its index has no source dictionary";
/// The most a compressed source may claim to hold (a damaged frame could claim any size).
const MAX_SOURCE_BYTES: u64 = 1 << 30;

/// Compresses and decompresses the sources of one index with its dictionary (zstd). Small
/// documents share their field names and common values with the dictionary, which makes them
/// about 3-4x smaller where each compressed alone barely shrinks; a dictionary trained by zstd
/// also carries entropy tables, so each document's frame does not build its own (otherwise most
/// of the cost of compressing a small input).
pub(crate) struct SourceCodec {
    dict: Vec<u8>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
}

impl SourceCodec {
    /// A codec with `dict` as its dictionary.
    pub(crate) fn new(dict: Vec<u8>) -> SourceCodec {
        SourceCodec { dict, compressor: None, decompressor: None }
    }

    /// The dictionary's bytes.
    pub(crate) fn dictionary(&self) -> &[u8] {
        &self.dict
    }

    fn compress(&mut self, json: &[u8]) -> Result<Vec<u8>, String> {
        let c = match &mut self.compressor {
            Some(c) => c,
            None => self.compressor.insert(
                zstd::bulk::Compressor::with_dictionary(LEVEL, &self.dict).map_err(|e| e.to_string())?,
            ),
        };
        c.compress(json).map_err(|e| format!("cannot compress its source: {e}"))
    }

    fn decompress(&mut self, frame: &[u8]) -> Result<Vec<u8>, String> {
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(n)) if n <= MAX_SOURCE_BYTES => n as usize,
            Ok(Some(n)) => return Err(format!("its compressed source claims {n} bytes")),
            Ok(None) | Err(_) => return Err("its compressed source has no valid frame header".to_owned()),
        };
        let d = match &mut self.decompressor {
            Some(d) => d,
            None => self
                .decompressor
                .insert(zstd::bulk::Decompressor::with_dictionary(&self.dict).map_err(|e| e.to_string())?),
        };
        let json = d
            .decompress(frame, size)
            .map_err(|e| format!("its compressed source does not decompress: {e}"))?;
        if json.len() != size {
            return Err(format!(
                "its compressed source holds {} bytes, not the {size} it claims",
                json.len()
            ));
        }
        Ok(json)
    }
}

/// The dictionary made from `sources` (JSON, in id order) once they hold [`SAMPLE_BYTES`]:
/// trained on them by zstd, or their first [`DICT_BYTES`] as they are where training fails (too
/// few or too uniform samples). While they hold fewer, how many bytes they hold. Takes no more
/// sources than it needs.
pub(crate) fn dictionary_from<E>(
    sources: impl IntoIterator<Item = Result<Vec<u8>, E>>,
) -> Result<Result<Vec<u8>, usize>, E> {
    let (mut samples, mut held) = (Vec::new(), 0);
    for source in sources {
        let mut source = source?;
        source.truncate(DICT_BYTES); // a large document's start is sample enough
        held += source.len();
        samples.push(source);
        if held >= SAMPLE_BYTES {
            return Ok(Ok(zstd::dict::from_samples(&samples, DICT_BYTES).unwrap_or_else(|_| {
                let mut raw: Vec<u8> = samples.concat();
                raw.truncate(DICT_BYTES);
                raw
            })));
        }
    }
    Ok(Err(held))
}

/// Encodes a document's record for the state file: [`RECORD`], `_version`, `_seq_no` and
/// `_primary_term` as LEB128 varints, then the source as JSON (no field names around it: about
/// 50 bytes a document less than the JSON record); with a codec, [`COMPRESSED`] and the source
/// compressed.
pub(crate) fn encode_record(
    source: &serde_json::Value,
    version: DocVersion,
    codec: Option<&mut SourceCodec>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(64);
    out.push(if codec.is_some() { COMPRESSED } else { RECORD });
    for n in [version.version, version.seq_no, version.primary_term] {
        put_varint(&mut out, n);
    }
    match codec {
        None => serde_json::to_writer(&mut out, source).map_err(|e| e.to_string())?,
        Some(codec) => {
            let json = serde_json::to_vec(source).map_err(|e| e.to_string())?;
            out.extend_from_slice(&codec.compress(&json)?);
        }
    }
    Ok(out)
}

/// Whether decoding the record `bytes` needs its index's [`SourceCodec`].
pub(crate) fn is_compressed(bytes: &[u8]) -> bool {
    bytes.first() == Some(&COMPRESSED)
}

/// Decodes a record written by [`encode_record`], or a format 1 JSON record; `Err` says what is
/// wrong with it. A compressed record needs its index's codec.
pub(crate) fn decode_record(bytes: &[u8], codec: Option<&mut SourceCodec>) -> Result<StoredDoc, String> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    let (DocVersion { version, seq_no, primary_term }, rest) = split_record(bytes)?;
    let source = match (is_compressed(bytes), codec) {
        (false, _) => serde_json::from_slice(rest),
        (true, Some(codec)) => serde_json::from_slice(&codec.decompress(rest)?),
        (true, None) => {
            return Err(NO_DICTIONARY.to_owned());
        }
    }
    .map_err(|e| format!("its source is not JSON: {e}"))?;
    Ok(StoredDoc { source, version, seq_no, primary_term })
}

/// The source JSON of an uncompressed record: the bytes after its header (format 2), or its
/// source encoded again (format 1).
pub(crate) fn plain_source(bytes: &[u8]) -> Result<Vec<u8>, String> {
    match bytes.first() {
        Some(b'{') => serde_json::to_vec(&decode_record(bytes, None)?.source).map_err(|e| e.to_string()),
        Some(&COMPRESSED) => Err(NO_DICTIONARY.to_owned()),
        _ => split_record(bytes).map(|(_, json)| json.to_vec()),
    }
}

/// The version triple of a record, without decoding its source (but a format 1 record's).
pub(crate) fn decode_version(bytes: &[u8]) -> Result<DocVersion, String> {
    if bytes.first() == Some(&b'{') {
        return decode_record(bytes, None).map(|d| d.doc_version());
    }
    split_record(bytes).map(|(v, _)| v)
}

/// The version triple of a record of format 2 or 3, and the bytes of its source after it.
fn split_record(bytes: &[u8]) -> Result<(DocVersion, &[u8]), String> {
    match bytes.split_first() {
        Some((&(RECORD | COMPRESSED), mut rest)) => {
            let mut next =
                |what: &str| take_varint(&mut rest).ok_or_else(|| format!("its {what} is cut short"));
            let (version, seq_no, primary_term) =
                (next("_version")?, next("_seq_no")?, next("_primary_term")?);
            Ok((DocVersion { version, seq_no, primary_term }, rest))
        }
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

    fn log_line(i: u64) -> serde_json::Value {
        serde_json::json!({"@timestamp": format!("2026-01-{:02}T10:00:{:02}Z", 1 + i % 28, i % 60),
            "user": format!("user{}", i * 7919 % 1000), "status": if i.is_multiple_of(2) { 200 } else { 404 },
            "message": format!("GET /index/{i} took {} ms", i % 97)})
    }

    fn codec() -> SourceCodec {
        let sources = (0..).map(|i| serde_json::to_vec(&log_line(i)));
        SourceCodec::new(dictionary_from(sources).unwrap().unwrap())
    }

    #[test]
    fn records_round_trip_and_format_1_records_are_still_read() {
        let source = serde_json::json!({"a": [1, "b", {"c": null}], "é": "\u{7}"});
        for (version, seq_no, primary_term) in
            [(1, 0, 1), (3, 127, 1), (128, 16_384, 2), (u64::MAX, u64::MAX - 1, 1)]
        {
            let v = DocVersion { version, seq_no, primary_term };
            for mut codec in [None, Some(codec())] {
                let bytes = encode_record(&source, v, codec.as_mut()).unwrap();
                assert_eq!(is_compressed(&bytes), codec.is_some());
                assert_eq!(decode_version(&bytes), Ok(v));
                let doc = decode_record(&bytes, codec.as_mut()).unwrap();
                assert_eq!((doc.doc_version(), &doc.source), (v, &source));
                let plain = plain_source(&bytes).map_err(|e| e.contains("compressed"));
                assert_eq!(
                    plain,
                    if codec.is_some() { Err(true) } else { Ok(serde_json::to_vec(&source).unwrap()) }
                );
            }
        }
        let old = StoredDoc { source: source.clone(), version: 3, seq_no: 7, primary_term: 1 };
        let json = serde_json::to_vec(&old).unwrap();
        assert_eq!(decode_record(&json, None), Ok(old.clone()));
        assert_eq!(decode_version(&json), Ok(old.doc_version()));
        assert_eq!(plain_source(&json), Ok(serde_json::to_vec(&source).unwrap()));
        let record_len = encode_record(&source, old.doc_version(), None).unwrap().len();
        assert!(record_len + 45 < json.len(), "{record_len} vs {}", json.len());
    }

    #[test]
    fn sources_like_the_first_ones_compress_several_times() {
        let mut codec = codec();
        let (mut plain, mut compressed) = (0, 0);
        for i in 10_000..11_000 {
            let v = DocVersion { version: 1, seq_no: i, primary_term: 1 };
            plain += encode_record(&log_line(i), v, None).unwrap().len();
            let bytes = encode_record(&log_line(i), v, Some(&mut codec)).unwrap();
            assert_eq!(decode_record(&bytes, Some(&mut codec)).unwrap().source, log_line(i));
            compressed += bytes.len();
        }
        assert!(compressed * 2 < plain, "{compressed} bytes compressed against {plain}");
    }

    #[test]
    fn a_dictionary_is_trained_once_there_are_enough_sources_or_is_the_first_ones() {
        let small = [Ok::<_, ()>(vec![b'a'; 100]), Ok(vec![b'b'; 200])];
        assert_eq!(dictionary_from(small), Ok(Err(300)));
        // Varied documents: zstd trains a dictionary (its magic number first).
        let mut taken = 0;
        let lines = (0..).map(|i| {
            taken += 1;
            serde_json::to_vec(&log_line(i)).map_err(|_| ())
        });
        let trained = dictionary_from(lines).unwrap().unwrap();
        assert!(trained.starts_with(&[0x37, 0xa4, 0x30, 0xec]), "{:?}", &trained[..8]);
        assert!(trained.len() <= DICT_BYTES);
        let line_len = serde_json::to_vec(&log_line(0)).unwrap().len();
        assert!(taken * line_len < SAMPLE_BYTES + 3 * line_len, "no more sources taken than needed");
        // Samples zstd cannot train on: their first bytes as they are. A large document counts
        // for its first DICT_BYTES only.
        let same = std::iter::repeat_with(|| Ok::<_, ()>(vec![b'x'; 100_000]));
        assert_eq!(dictionary_from(same), Ok(Ok(vec![b'x'; DICT_BYTES])));
        assert_eq!(dictionary_from([Ok(vec![1]), Err("bad")]), Err("bad"));
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let v = DocVersion { version: 300, seq_no: 9, primary_term: 1 };
        let mut codec = codec();
        for mut with in [None, Some(&mut codec)] {
            let good = encode_record(&serde_json::json!({"k": "v", "n": [1, 2, 3]}), v, with.as_deref_mut())
                .unwrap();
            for cut in 0..good.len() {
                assert!(decode_record(&good[..cut], with.as_deref_mut()).is_err(), "cut at {cut}");
            }
            for at in 4..good.len() {
                let mut bad = good.clone();
                bad[at] ^= 0x55;
                let _ = decode_record(&bad, with.as_deref_mut());
            }
        }
        let compressed = encode_record(&log_line(5_000), v, Some(&mut codec)).unwrap();
        assert!(decode_record(&compressed, None).unwrap_err().contains("no source dictionary"));
        let mut other = SourceCodec::new(vec![b'z'; DICT_BYTES]);
        let wrong = decode_record(&compressed, Some(&mut other)).map(|d| d.source);
        assert_ne!(wrong, Ok(log_line(5_000)), "another index's dictionary");
        let mut too_long = vec![RECORD];
        too_long.extend([0xff; 10]);
        too_long.extend([1, 1, b'{', b'}']);
        assert!(decode_record(&too_long, None).unwrap_err().contains("_version"));
        assert!(decode_record(&[0x7f, b'{'], None).unwrap_err().contains("0x7f"));
        assert!(decode_record(b"{not json", None).is_err());
        let mut huge = vec![COMPRESSED, 1, 1, 1];
        huge.extend([0x28, 0xb5, 0x2f, 0xfd, 0xe0]);
        huge.extend(u64::MAX.to_le_bytes());
        assert!(decode_record(&huge, Some(&mut codec)).is_err());
    }
}
