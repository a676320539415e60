//! Validity periods as the certutil flags and prompts accept them.
//!
//! A plain number is a number of days (`1095`, as Elasticsearch's `--days` takes it). Otherwise
//! the value is one or more `<number><unit>` parts, unit `Y` (365 days), `M` (30 days) or `D`
//! (days), in any case: `90D`, `6M`, `3Y`, `1Y6M`. Years and months are fixed lengths, so a value
//! always means the same number of days.

use crate::exit::{self, fail};

/// Default validity of CAs and certificates: three years.
pub const DEFAULT_DAYS: u32 = 3 * 365;

/// Longest validity accepted: 100 years. Anything longer is almost certainly a typo, and X.509
/// dates end in the year 9999 anyway.
const MAX_DAYS: u64 = 100 * 365;

/// Parses a validity period into days; the error says what is wrong with it.
pub fn parse(input: &str) -> Result<u32, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("the value is empty".to_owned());
    }
    let total = if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<u64>().map_err(|_| "the number is too large".to_owned())?
    } else {
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c.to_ascii_uppercase() {
                'Y' => 365,
                'M' => 30,
                'D' => 1,
                _ => return Err(format!("{c:?} is not a unit (use D for days, M for months, Y for years)")),
            };
            if digits.is_empty() {
                return Err(format!("the unit {c:?} needs a number before it"));
            }
            let n: u64 = digits.parse().map_err(|_| "a number is too large".to_owned())?;
            total = n.checked_mul(unit).and_then(|d| total.checked_add(d)).ok_or("the period is too long")?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(format!("{digits} has no unit (use D for days, M for months, Y for years)"));
        }
        total
    };
    if total == 0 {
        return Err("the period must be at least one day".to_owned());
    }
    if total > MAX_DAYS {
        return Err(format!("{total} days is longer than the 100 years allowed"));
    }
    u32::try_from(total).map_err(|_| "the period is too long".to_owned())
}

/// The value of a validity flag such as `--days`, or `default` when the flag is absent.
/// A bad value is a usage error that names the flag.
pub fn from_flag(flag: &str, value: Option<&str>, default: u32) -> anyhow::Result<u32> {
    match value {
        None => Ok(default),
        Some(v) => parse(v).map_err(|reason| {
            fail(
                exit::USAGE,
                format!(
                    "invalid value {v:?} for {flag}: {reason}; give a number of days (1095) or a period \
                     such as 90D, 6M or 3Y"
                ),
            )
        }),
    }
}

/// A period for people: `90 days`, `3 years`, `400 days`.
pub fn describe(days: u32) -> String {
    match days {
        1 => "1 day".to_owned(),
        d if d % 365 == 0 && d / 365 == 1 => "1 year".to_owned(),
        d if d % 365 == 0 => format!("{} years", d / 365),
        d => format!("{d} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for (input, days) in [
            ("1095", 1095),
            ("90D", 90),
            ("90d", 90),
            ("6M", 180),
            ("3Y", 1095),
            ("2y", 730),
            ("1Y6M", 545),
            (" 5y ", 1825),
            ("100Y", 36500),
        ] {
            assert_eq!(parse(input), Ok(days), "{input}");
        }
    }

    #[test]
    fn refused_forms() {
        for input in
            ["", "0", "0D", "Y", "3X", "3Y2", "-5", "1.5Y", "101Y", "99999999999999999999", "9999999999999D"]
        {
            assert!(parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn flag_errors_name_the_flag() {
        let err = from_flag("--days", Some("soon"), DEFAULT_DAYS).unwrap_err();
        assert!(err.to_string().contains("--days"), "{err}");
        assert_eq!(from_flag("--days", None, 7).unwrap(), 7);
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(1095), "3 years");
        assert_eq!(describe(365), "1 year");
        assert_eq!(describe(90), "90 days");
    }
}
