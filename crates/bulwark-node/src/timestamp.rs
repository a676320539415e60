//! Timestamps as Elasticsearch writes them: `YYYY-MM-DDTHH:MM:SS.mmmZ`.

use time::OffsetDateTime;

/// Formats a moment in UTC with milliseconds.
pub fn iso8601(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_elasticsearch() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_000_000).unwrap();
        assert_eq!(super::iso8601(t), "2023-11-14T22:13:20.123Z");
    }
}
