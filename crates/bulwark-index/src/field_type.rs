//! Field types and the `dynamic` setting, in Elasticsearch's spelling.

use std::fmt;

use serde_json::Value;

use crate::error::{IndexError, Result};

/// A field type, in Elasticsearch's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// Analyzed full text.
    Text,
    /// `match_only_text`: full text (treated as `text`).
    MatchOnlyText,
    /// An exact string.
    Keyword,
    /// `constant_keyword` (treated as `keyword`).
    ConstantKeyword,
    /// `wildcard` (treated as `keyword`).
    Wildcard,
    /// A signed 64-bit integer.
    Long,
    /// A signed 32-bit integer.
    Integer,
    /// A signed 16-bit integer.
    Short,
    /// A signed 8-bit integer.
    Byte,
    /// A 64-bit float.
    Double,
    /// A 32-bit float (held as 64-bit).
    Float,
    /// A 16-bit float (held as 64-bit).
    HalfFloat,
    /// A scaled float (held as 64-bit).
    ScaledFloat,
    /// `true` or `false`.
    Boolean,
    /// A date, held as epoch milliseconds.
    Date,
    /// A nanosecond date (held as epoch milliseconds).
    DateNanos,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An object of sub-fields.
    Object,
    /// A nested object (treated as `object`: sub-documents are flattened).
    Nested,
}

/// How a leaf value is indexed and queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Text,
    Keyword,
    Integer { min: i64, max: i64 },
    Float,
    Boolean,
    Date,
    Ip,
}

impl FieldType {
    const ALL: [FieldType; 19] = [
        FieldType::Text,
        FieldType::MatchOnlyText,
        FieldType::Keyword,
        FieldType::ConstantKeyword,
        FieldType::Wildcard,
        FieldType::Long,
        FieldType::Integer,
        FieldType::Short,
        FieldType::Byte,
        FieldType::Double,
        FieldType::Float,
        FieldType::HalfFloat,
        FieldType::ScaledFloat,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::DateNanos,
        FieldType::Ip,
        FieldType::Object,
        FieldType::Nested,
    ];

    /// The type's name in mappings.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::MatchOnlyText => "match_only_text",
            FieldType::Keyword => "keyword",
            FieldType::ConstantKeyword => "constant_keyword",
            FieldType::Wildcard => "wildcard",
            FieldType::Long => "long",
            FieldType::Integer => "integer",
            FieldType::Short => "short",
            FieldType::Byte => "byte",
            FieldType::Double => "double",
            FieldType::Float => "float",
            FieldType::HalfFloat => "half_float",
            FieldType::ScaledFloat => "scaled_float",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateNanos => "date_nanos",
            FieldType::Ip => "ip",
            FieldType::Object => "object",
            FieldType::Nested => "nested",
        }
    }

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether fields of this type hold sub-fields rather than values.
    pub fn is_object(self) -> bool {
        matches!(self, FieldType::Object | FieldType::Nested)
    }

    pub(crate) fn kind(self) -> Option<ValueKind> {
        Some(match self {
            FieldType::Text | FieldType::MatchOnlyText => ValueKind::Text,
            FieldType::Keyword | FieldType::ConstantKeyword | FieldType::Wildcard => ValueKind::Keyword,
            FieldType::Long => ValueKind::Integer { min: i64::MIN, max: i64::MAX },
            FieldType::Integer => ValueKind::Integer { min: i32::MIN.into(), max: i32::MAX.into() },
            FieldType::Short => ValueKind::Integer { min: i16::MIN.into(), max: i16::MAX.into() },
            FieldType::Byte => ValueKind::Integer { min: i8::MIN.into(), max: i8::MAX.into() },
            FieldType::Double | FieldType::Float | FieldType::HalfFloat | FieldType::ScaledFloat => {
                ValueKind::Float
            }
            FieldType::Boolean => ValueKind::Boolean,
            FieldType::Date | FieldType::DateNanos => ValueKind::Date,
            FieldType::Ip => ValueKind::Ip,
            FieldType::Object | FieldType::Nested => return None,
        })
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a document may do to a mapping with fields it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dynamic {
    /// New fields are mapped (the default).
    #[default]
    True,
    /// New fields are kept in `_source` but neither mapped nor indexed.
    False,
    /// New fields are refused (`strict_dynamic_mapping_exception`).
    Strict,
    /// New fields become runtime fields in Elasticsearch; here, like [`Dynamic::True`].
    Runtime,
}

impl Dynamic {
    pub(crate) fn parse(v: &Value, field: &str) -> Result<Dynamic> {
        match v {
            Value::Bool(true) => Ok(Dynamic::True),
            Value::Bool(false) => Ok(Dynamic::False),
            Value::String(s) => match s.as_str() {
                "true" => Ok(Dynamic::True),
                "false" => Ok(Dynamic::False),
                "strict" => Ok(Dynamic::Strict),
                "runtime" => Ok(Dynamic::Runtime),
                _ => Err(IndexError::mapper(format!(
                    "Could not convert [{field}.dynamic] to boolean, runtime or strict: [{s}]"
                ))),
            },
            other => Err(IndexError::mapper(format!(
                "Could not convert [{field}.dynamic] to boolean, runtime or strict: [{other}]"
            ))),
        }
    }

    pub(crate) fn to_json(self) -> Value {
        match self {
            Dynamic::True => Value::String("true".into()),
            Dynamic::False => Value::String("false".into()),
            Dynamic::Strict => Value::String("strict".into()),
            Dynamic::Runtime => Value::String("runtime".into()),
        }
    }
}
