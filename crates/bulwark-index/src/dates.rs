//! Elasticsearch's date reading and writing, for other crates that answer with dates outside an
//! index (the security `_query` APIs): date math and Java-style output patterns, UTC.

/// Evaluates date math (`now-1d/d`, `2024-01-01||+1M`, an ISO-8601 date or epoch milliseconds)
/// in UTC. `round_up` rounds a trailing `/unit` to the unit's last millisecond (the upper bound
/// of a `lte`/`gt` comparison), otherwise to its first.
pub fn eval_math(expr: &str, round_up: bool) -> Option<i64> {
    crate::date::eval_math(expr, crate::date::now_millis(), round_up, 0)
}

/// Reads a date with a field's format (`format`), as a `date` field does: with `epoch_millis`
/// alone (the security index's dates) only epoch milliseconds and date math on `now` or on
/// epoch milliseconds (`now-1d/d`, `1704067200000||+1d`); with any other format also
/// ISO-8601 dates. `round_up` as in [`eval_math`].
pub fn parse_with_format(expr: &str, format: &str, round_up: bool) -> Option<i64> {
    if format == "epoch_millis" {
        let anchor = expr.split_once("||").map_or(expr, |(a, _)| a);
        let digits = anchor.strip_prefix('-').unwrap_or(anchor);
        let epoch = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        if !(expr.starts_with("now") || epoch) {
            return None;
        }
    }
    eval_math(expr, round_up)
}

/// Formats epoch milliseconds with a named format (`strict_date_optional_time`, `epoch_millis`,
/// `date`, ...) or a Java-style pattern (`yyyy-MM-dd`, `MM-yyyy`), in UTC; the empty format is
/// `strict_date_optional_time`.
pub fn format(ms: i64, format: &str) -> String {
    crate::date::format_pattern(ms, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facade_reads_and_writes_dates() {
        assert_eq!(eval_math("2024-01-02", false), Some(1_704_153_600_000));
        assert_eq!(eval_math("2024-01-02||/M", false), Some(1_704_067_200_000));
        assert_eq!(eval_math("1704153600000", false), Some(1_704_153_600_000));
        assert_eq!(eval_math("nonsense", false), None);
        assert_eq!(parse_with_format("2024-01-02", "epoch_millis", false), None);
        assert_eq!(parse_with_format("1704153600000", "epoch_millis", false), Some(1_704_153_600_000));
        assert_eq!(parse_with_format("1704153600000||+1d", "epoch_millis", false), Some(1_704_240_000_000));
        assert!(parse_with_format("now-1d", "epoch_millis", false).is_some());
        assert_eq!(parse_with_format("2024-01-02", "yyyy-MM-dd", false), Some(1_704_153_600_000));
        assert_eq!(format(1_704_153_600_000, ""), "2024-01-02T00:00:00.000Z");
        assert_eq!(format(1_704_153_600_000, "yyyy-MM"), "2024-01");
        assert_eq!(format(1_704_153_600_000, "epoch_millis"), "1704153600000");
    }
}
