//! Strict JSON: request bodies are parsed as Elasticsearch parses them, refusing an object that
//! names a field twice (`Duplicate field 'x'`) instead of keeping the last value, so that what
//! the caller sent and what the node acts on cannot differ.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses one JSON document; duplicate keys in any object are an error.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A seed that builds a [`Value`] and refuses duplicate object keys.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Strict)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Strict)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format_args!("Duplicate field '{key}'")));
            }
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        assert_eq!(
            parse(br#"{"a": 1, "b": [true, null, 1.5, "x"]}"#).unwrap(),
            json!({"a": 1, "b": [true, null, 1.5, "x"]})
        );
        let e = parse(br#"{"enabled": true, "enabled": false}"#).unwrap_err();
        assert!(e.to_string().starts_with("Duplicate field 'enabled'"), "{e}");
        assert_eq!((e.line(), e.column()), (1, 27));
        assert!(parse(br#"{"a": {"b": 1, "b": 2}}"#).is_err());
        assert!(parse(br#"[{"a": 1}, {"a": 1, "a": 1}]"#).is_err());
        assert!(parse(br#"{"a": 1} x"#).is_err(), "trailing characters");
        assert_eq!(parse(br#"{"a": 1, "A": 2}"#).unwrap(), json!({"a": 1, "A": 2}));
    }

    #[test]
    fn big_numbers_keep_their_type() {
        assert_eq!(parse(b"18446744073709551615").unwrap(), json!(u64::MAX));
        assert_eq!(parse(b"-9223372036854775808").unwrap(), json!(i64::MIN));
    }
}
