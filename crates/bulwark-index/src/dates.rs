//! Elasticsearch's date reading and writing, for other crates that answer with dates outside an
//! index (the security `_query` APIs): date math and Java-style output patterns, UTC.

/// Evaluates date math (`now-1d/d`, `2024-01-01||+1M`, an ISO-8601 date or epoch milliseconds)
/// in UTC. `round_up` rounds a trailing `/unit` to the unit's last millisecond (the upper bound
/// of a `lte`/`gt` comparison), otherwise to its first.
pub fn eval_math(expr: &str, round_up: bool) -> Option<i64> {
    crate::date::eval_math(expr, crate::date::now_millis(), round_up, 0)
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
        assert_eq!(format(1_704_153_600_000, ""), "2024-01-02T00:00:00.000Z");
        assert_eq!(format(1_704_153_600_000, "yyyy-MM"), "2024-01");
        assert_eq!(format(1_704_153_600_000, "epoch_millis"), "1704153600000");
    }
}
