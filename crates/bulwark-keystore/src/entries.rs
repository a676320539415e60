//! The plaintext inside the encryption: setting names and values, and how names may look.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::KeystoreError;

/// Setting name → secret value, sorted by name.
pub(crate) type Entries = BTreeMap<String, Zeroizing<Vec<u8>>>;

/// Whether `name` is a valid setting name: 1..=65535 bytes of `[A-Za-z0-9_\-.]`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= usize::from(u16::MAX)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Serializes the entries. The buffer is zeroized on drop and has `spare` extra bytes of
/// capacity so that sealing in place (which appends the tag) does not reallocate and leave an
/// unzeroized copy of the plaintext behind.
pub(crate) fn encode(entries: &Entries, spare: usize) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let count = u32::try_from(entries.len()).map_err(|_| "too many entries")?;
    let mut len: usize = 4;
    for (name, value) in entries {
        len = len
            .checked_add(2 + name.len() + 4)
            .and_then(|l| l.checked_add(value.len()))
            .ok_or("entries too large")?;
    }
    let capacity = len.checked_add(spare).ok_or("entries too large")?;
    let mut out = Zeroizing::new(Vec::with_capacity(capacity));
    out.extend_from_slice(&count.to_be_bytes());
    for (name, value) in entries {
        let name_len = u16::try_from(name.len()).map_err(|_| "setting name too long")?;
        let value_len = u32::try_from(value.len()).map_err(|_| "setting value larger than 4 GiB")?;
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(value);
    }
    Ok(out)
}

/// Parses decrypted plaintext strictly. Errors name [`crate::error::IN_MEMORY`]; the caller
/// replaces the path.
pub(crate) fn decode(plain: &[u8]) -> Result<Entries, KeystoreError> {
    let mut r = Reader::new(plain);
    let count = r.u32().ok_or_else(|| KeystoreError::corrupted("entry count is missing"))?;
    let mut entries = Entries::new();
    for i in 0..count {
        let bad = |what: &str| KeystoreError::corrupted(format!("entry {i} of {count}: {what}"));
        let name_len = r.u16().ok_or_else(|| bad("name length is missing"))?;
        let name = r.take(usize::from(name_len)).ok_or_else(|| bad("name is cut short"))?;
        let name = std::str::from_utf8(name).map_err(|_| bad("name is not UTF-8"))?;
        if !is_valid_name(name) {
            return Err(bad("name has characters outside [A-Za-z0-9_-.] or is empty"));
        }
        let value_len = r.u32().ok_or_else(|| bad("value length is missing"))?;
        let value_len = usize::try_from(value_len).map_err(|_| bad("value length does not fit"))?;
        let value = r.take(value_len).ok_or_else(|| bad("value is cut short"))?;
        if entries.insert(name.to_owned(), Zeroizing::new(value.to_vec())).is_some() {
            return Err(KeystoreError::corrupted(format!("setting [{name}] appears twice")));
        }
    }
    if !r.is_empty() {
        return Err(KeystoreError::corrupted(format!("{} unexpected bytes after the last entry", r.len())));
    }
    Ok(entries)
}

/// A cursor over untrusted bytes whose every read is checked.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    /// The next `n` bytes, or `None` when fewer remain.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn len(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &[u8])]) -> Entries {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), Zeroizing::new(v.to_vec()))).collect()
    }

    #[test]
    fn names_are_checked() {
        for ok in ["a", "keystore.seed", "xpack.security.http.ssl.keystore.secure_password", "A-b_c.9"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        let long = "a".repeat(65_536);
        for bad in ["", "a b", "a/b", "a=b", "é", "a\n", "a\0", long.as_str()] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn plaintext_round_trips() {
        let e = entries(&[("a", b""), ("b.c", b"\x00\xff binary"), ("z", b"text")]);
        let bytes = encode(&e, 16).unwrap();
        assert!(bytes.capacity() >= bytes.len() + 16);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        for (k, v) in &e {
            assert_eq!(back.get(k).map(|v| v.as_slice()), Some(v.as_slice()));
        }
    }

    #[test]
    fn bad_plaintext_is_corrupted() {
        let good = encode(&entries(&[("a", b"1"), ("b", b"2")]), 0).unwrap();
        let mut trailing = good.to_vec();
        trailing.push(0);
        let mut duplicate = Vec::new();
        duplicate.extend_from_slice(&2u32.to_be_bytes());
        for _ in 0..2 {
            duplicate.extend_from_slice(&[0, 1, b'a', 0, 0, 0, 1, b'x']);
        }
        let mut bad_name = good.to_vec();
        bad_name[6] = b' ';
        let mut huge_count = good.to_vec();
        huge_count[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("trailing", trailing),
            ("duplicate", duplicate),
            ("bad name", bad_name),
            ("huge count", huge_count),
            ("cut", good[..good.len() - 1].to_vec()),
        ];
        for (what, bytes) in cases {
            match decode(&bytes) {
                Err(KeystoreError::Corrupted { .. }) => {}
                other => panic!("{what}: expected Corrupted, got {:?}", other.map(|e| e.len())),
            }
        }
        for len in 0..good.len() {
            assert!(decode(&good[..len]).is_err(), "truncated at {len}");
        }
    }
}
