//! Dates as Elasticsearch reads and writes them: ISO-8601 (`strict_date_optional_time`), epoch
//! milliseconds, date math (`now-1d/d`), calendar rounding and Java-style output patterns.
//!
//! Every date is held as milliseconds since the Unix epoch, UTC (`i64`). Calendar arithmetic uses
//! the proleptic Gregorian calendar; time zones are fixed offsets only (no zone database).

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// A calendar unit, as date math (`now-1M/d`) and `calendar_interval` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CalendarUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl CalendarUnit {
    /// The unit of a date-math letter (`y M w d h H m s`).
    fn from_math_letter(c: char) -> Option<CalendarUnit> {
        Some(match c {
            'y' => CalendarUnit::Year,
            'M' => CalendarUnit::Month,
            'w' => CalendarUnit::Week,
            'd' => CalendarUnit::Day,
            'h' | 'H' => CalendarUnit::Hour,
            'm' => CalendarUnit::Minute,
            's' => CalendarUnit::Second,
            _ => return None,
        })
    }

    /// The unit of a `calendar_interval` (`month`, `1M`, `day`, `1d`, ...).
    pub(crate) fn from_calendar_interval(s: &str) -> Option<CalendarUnit> {
        Some(match s {
            "second" | "1s" => CalendarUnit::Second,
            "minute" | "1m" => CalendarUnit::Minute,
            "hour" | "1h" => CalendarUnit::Hour,
            "day" | "1d" => CalendarUnit::Day,
            "week" | "1w" => CalendarUnit::Week,
            "month" | "1M" => CalendarUnit::Month,
            "quarter" | "1q" => CalendarUnit::Quarter,
            "year" | "1y" => CalendarUnit::Year,
            _ => return None,
        })
    }

    /// The unit's fixed length, for units that have one.
    fn fixed_millis(self) -> Option<i64> {
        match self {
            CalendarUnit::Second => Some(MS_PER_SECOND),
            CalendarUnit::Minute => Some(MS_PER_MINUTE),
            CalendarUnit::Hour => Some(MS_PER_HOUR),
            CalendarUnit::Day => Some(MS_PER_DAY),
            CalendarUnit::Week => Some(7 * MS_PER_DAY),
            CalendarUnit::Month | CalendarUnit::Quarter | CalendarUnit::Year => None,
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A cursor over ASCII digits and separators.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0u32;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        self.i += n;
        Some(v)
    }

    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// Parses `strict_date_optional_time`: `yyyy[-MM[-dd[THH[:mm[:ss[.f]]]][zone]]]`, zone being
/// `Z`, `±HH`, `±HH:mm` or `±HHmm`; a missing zone means UTC. With `lenient`, a space may stand
/// for the `T`. Returns epoch milliseconds.
pub(crate) fn parse_iso(s: &str, lenient: bool) -> Option<i64> {
    let mut c = Cursor { b: s.as_bytes(), i: 0 };
    let year = i64::from(c.digits(4)?);
    let (mut month, mut day) = (1, 1);
    let mut ms_of_day = 0i64;
    if c.eat(b'-') {
        month = c.digits(2)?;
        if c.eat(b'-') {
            day = c.digits(2)?;
            if c.eat(b'T') || (lenient && c.eat(b' ')) {
                let hour = c.digits(2)?;
                let (mut minute, mut second, mut nanos) = (0, 0, 0u64);
                if c.eat(b':') {
                    minute = c.digits(2)?;
                    if c.eat(b':') {
                        second = c.digits(2)?;
                        if c.eat(b'.') || c.eat(b',') {
                            let mut n = 0;
                            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                                if n < 9 {
                                    nanos = nanos * 10 + u64::from(d - b'0');
                                }
                                n += 1;
                                c.i += 1;
                            }
                            if n == 0 {
                                return None;
                            }
                            for _ in n..9 {
                                nanos *= 10;
                            }
                        }
                    }
                }
                if hour > 23 || minute > 59 || second > 59 {
                    return None;
                }
                ms_of_day = i64::from(hour) * MS_PER_HOUR
                    + i64::from(minute) * MS_PER_MINUTE
                    + i64::from(second) * MS_PER_SECOND
                    + (nanos / 1_000_000) as i64;
                ms_of_day -= parse_zone(&mut c)?;
            }
        }
    }
    if !c.done() || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * MS_PER_DAY + ms_of_day)
}

/// A zone suffix as an offset in milliseconds (east of UTC positive); none means UTC.
fn parse_zone(c: &mut Cursor<'_>) -> Option<i64> {
    if c.done() {
        return Some(0);
    }
    if c.eat(b'Z') {
        return Some(0);
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return None;
    };
    let h = c.digits(2)?;
    let m = if c.done() {
        0
    } else {
        c.eat(b':');
        c.digits(2)?
    };
    if h > 18 || m > 59 {
        return None;
    }
    Some(sign * (i64::from(h) * MS_PER_HOUR + i64::from(m) * MS_PER_MINUTE))
}

/// Whether `s` looks like a date to dynamic mapping's date detection: `yyyy-MM-dd` optionally
/// followed by `THH:mm[:ss[.SSS]]` and a zone (Elasticsearch's `strict_date_optional_time`,
/// at least to the day).
pub(crate) fn detect(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    parse_iso(s, false)
}

/// How a date field reads numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum EpochUnit {
    #[default]
    Millis,
    Seconds,
}

/// Reads a date field value: an ISO date string, or epoch time as a number or a string of
/// digits (`epoch_millis`, or `epoch_second` when the mapping's format says so).
pub(crate) fn parse_value(v: &serde_json::Value, unit: EpochUnit) -> Option<i64> {
    let scale = match unit {
        EpochUnit::Millis => 1.0,
        EpochUnit::Seconds => 1000.0,
    };
    match v {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                match unit {
                    EpochUnit::Millis => Some(i),
                    EpochUnit::Seconds => i.checked_mul(1000),
                }
            } else {
                let f = n.as_f64()? * scale;
                (f.is_finite() && f.abs() < 9.2e18).then_some(f.trunc() as i64)
            }
        }
        serde_json::Value::String(s) => parse_str(s, unit),
        _ => None,
    }
}

/// Reads a date from a string (see [`parse_value`]).
pub(crate) fn parse_str(s: &str, unit: EpochUnit) -> Option<i64> {
    if let Some(ms) = parse_iso(s, true) {
        return Some(ms);
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let f: f64 = s.parse().ok()?;
        if let (Ok(i), EpochUnit::Millis) = (s.parse::<i64>(), unit) {
            return Some(i);
        }
        let f = match unit {
            EpochUnit::Millis => f,
            EpochUnit::Seconds => f * 1000.0,
        };
        return (f.is_finite() && f.abs() < 9.2e18).then_some(f.trunc() as i64);
    }
    None
}

/// Formats epoch milliseconds with a Java-style pattern: `yyyy`/`uuuu`, `MM`, `dd`, `HH`, `mm`,
/// `ss`, `SSS`, a trailing `Z`/`XXX` (always `Z`: the output is UTC), `'literal'` text, and the
/// names `epoch_millis`, `epoch_second`, `strict_date_optional_time`, `date_optional_time`,
/// `date`, `strict_date`. Other letters are copied.
pub(crate) fn format_pattern(ms: i64, pattern: &str) -> String {
    let pattern = match pattern.split("||").next().unwrap_or("") {
        "epoch_millis" => return ms.to_string(),
        "epoch_second" => return ms.div_euclid(1000).to_string(),
        "" | "strict_date_optional_time" | "date_optional_time" | "strict_date_time" | "date_time" => {
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        }
        "date" | "strict_date" | "year_month_day" | "strict_year_month_day" => "yyyy-MM-dd",
        p => p,
    };
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / MS_PER_HOUR,
        rem % MS_PER_HOUR / MS_PER_MINUTE,
        rem % MS_PER_MINUTE / MS_PER_SECOND,
        rem % MS_PER_SECOND,
    );
    let mut out = String::with_capacity(24);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let mut run = 1;
        while i + run < chars.len() && chars[i + run] == ch {
            run += 1;
        }
        match ch {
            '\'' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '\'' {
                    out.push(chars[j]);
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            'y' | 'u' => {
                if run == 2 {
                    out.push_str(&format!("{:02}", y.rem_euclid(100)));
                } else if y < 0 {
                    out.push_str(&format!("-{:04}", -y));
                } else {
                    out.push_str(&format!("{y:04}"));
                }
            }
            'M' => out.push_str(&format!("{mo:0run$}")),
            'd' => out.push_str(&format!("{d:0run$}")),
            'H' => out.push_str(&format!("{h:0run$}")),
            'm' => out.push_str(&format!("{mi:0run$}")),
            's' => out.push_str(&format!("{s:0run$}")),
            'S' => {
                let digits = format!("{milli:03}000000");
                out.push_str(&digits[..run.min(9)]);
            }
            'Z' | 'X' | 'x' => out.push('Z'),
            c => {
                for _ in 0..run {
                    out.push(c);
                }
            }
        }
        i += run;
    }
    out
}

/// Rounds `ms` down to the start of its `unit` (weeks start on Monday), in a zone `offset`
/// milliseconds east of UTC.
pub(crate) fn round_down(ms: i64, unit: CalendarUnit, offset: i64) -> Option<i64> {
    let local = ms.checked_add(offset)?;
    let rounded = match unit.fixed_millis() {
        Some(len) if unit != CalendarUnit::Week => local - local.rem_euclid(len),
        _ => {
            let days = local.div_euclid(MS_PER_DAY);
            let day_start = days * MS_PER_DAY;
            match unit {
                // 1970-01-01 was a Thursday: Monday is 3 days earlier.
                CalendarUnit::Week => day_start - (days + 3).rem_euclid(7) * MS_PER_DAY,
                _ => {
                    let (y, m, _) = civil_from_days(days);
                    let m = match unit {
                        CalendarUnit::Year => 1,
                        CalendarUnit::Quarter => (m - 1) / 3 * 3 + 1,
                        _ => m,
                    };
                    days_from_civil(y, m, 1).checked_mul(MS_PER_DAY)?
                }
            }
        }
    };
    rounded.checked_sub(offset)
}

/// Adds `n` units to `ms` (calendar-aware for months, quarters and years: the day of month is
/// clamped, as Java does).
pub(crate) fn add_units(ms: i64, n: i64, unit: CalendarUnit) -> Option<i64> {
    if let Some(len) = unit.fixed_millis() {
        return ms.checked_add(n.checked_mul(len)?);
    }
    let months = match unit {
        CalendarUnit::Year => n.checked_mul(12)?,
        CalendarUnit::Quarter => n.checked_mul(3)?,
        _ => n,
    };
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let total = y.checked_mul(12)?.checked_add(i64::from(m) - 1)?.checked_add(months)?;
    if total.abs() > 12 * 300_000_000 {
        return None;
    }
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd).checked_mul(MS_PER_DAY)?.checked_add(rem)
}

/// Evaluates Elasticsearch date math: `now`, `now-1d/d`, `2024-01-01||+1M/d`, or a plain date.
/// `round_up` rounds a trailing `/unit` to the last millisecond of the unit (for `gt` and
/// `lte`), otherwise to its first. `offset` is the zone for rounding and zone-less dates.
pub(crate) fn eval_math(expr: &str, now: i64, round_up: bool, offset: i64) -> Option<i64> {
    let (mut ms, math) = if let Some(rest) = expr.strip_prefix("now") {
        (now, rest)
    } else if let Some((anchor, rest)) = expr.split_once("||") {
        (parse_anchor(anchor, offset)?, rest)
    } else {
        return parse_anchor(expr, offset);
    };
    let b = math.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let op = b[i];
        i += 1;
        match op {
            b'+' | b'-' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: i64 = if start == i { 1 } else { math.get(start..i)?.parse().ok()? };
                let unit = CalendarUnit::from_math_letter(char::from(*b.get(i)?))?;
                i += 1;
                ms = add_units(ms, if op == b'-' { -n } else { n }, unit)?;
            }
            b'/' => {
                let unit = CalendarUnit::from_math_letter(char::from(*b.get(i)?))?;
                i += 1;
                ms = round_down(ms, unit, offset)?;
                if round_up {
                    ms = add_units(ms, 1, unit)?.checked_sub(1)?;
                }
            }
            _ => return None,
        }
    }
    Some(ms)
}

fn parse_anchor(s: &str, offset: i64) -> Option<i64> {
    match parse_iso(s, true) {
        Some(ms) => {
            let has_zone = s.get(10..).is_some_and(|t| t.ends_with('Z') || t.contains(['+', '-']));
            if has_zone { Some(ms) } else { ms.checked_sub(offset) }
        }
        None => parse_str(s, EpochUnit::Millis),
    }
}

/// Parses a `time_zone` parameter: `Z`, `UTC`, `GMT`, `+01:00`, `-0530`. Named zones are not
/// supported (no zone database).
pub(crate) fn parse_offset(tz: &str) -> Option<i64> {
    match tz {
        "Z" | "UTC" | "GMT" | "Etc/UTC" | "Etc/GMT" => return Some(0),
        _ => {}
    }
    let rest = tz.strip_prefix("UTC").or_else(|| tz.strip_prefix("GMT")).unwrap_or(tz);
    let mut c = Cursor { b: rest.as_bytes(), i: 0 };
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return None;
    };
    let h = c.digits(2).or_else(|| c.digits(1))?;
    let m = if c.done() {
        0
    } else {
        c.eat(b':');
        c.digits(2)?
    };
    (c.done() && h <= 18 && m < 60)
        .then_some(sign * (i64::from(h) * MS_PER_HOUR + i64::from(m) * MS_PER_MINUTE))
}

/// Parses a fixed interval: `500ms`, `30s`, `5m`, `1h`, `2d` (no calendar units).
pub(crate) fn parse_fixed_interval(s: &str) -> Option<i64> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let len = match unit {
        "ms" => 1,
        "s" => MS_PER_SECOND,
        "m" => MS_PER_MINUTE,
        "h" => MS_PER_HOUR,
        "d" => MS_PER_DAY,
        _ => return None,
    };
    n.checked_mul(len).filter(|v| *v > 0)
}

/// The current time in epoch milliseconds.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn parses_iso_forms() {
        let day = 1_704_067_200_000; // 2024-01-01
        let cases: &[(&str, Option<i64>)] = &[
            ("2024-01-01", Some(day)),
            ("2024-01-01T00:00:00Z", Some(day)),
            ("2024-01-01T01:02:03.456Z", Some(day + 3_723_456)),
            ("2024-01-01T01:02:03.456789Z", Some(day + 3_723_456)),
            ("2024-01-01T01:00:00+01:00", Some(day)),
            ("2024-01-01T01:00+0100", Some(day)),
            ("2024-01-01T12", Some(day + 12 * MS_PER_HOUR)),
            ("2024", Some(day)),
            ("2024-01", Some(day)),
            ("2024-02-30", None),
            ("2024-13-01", None),
            ("2024-01-01T25:00:00Z", None),
            ("2024-01-01T", None),
            ("2024-01-01T00:00:00.Z", None),
            ("2024-01-01X", None),
            ("abc", None),
            ("", None),
            ("20240101", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_iso(s, false), *want, "{s}");
        }
        assert_eq!(parse_iso("2024-01-01 00:00:00", true), Some(day));
        assert_eq!(detect("2024-01-01"), Some(day));
        assert_eq!(detect("2024"), None);
        assert_eq!(detect("2024-01-01 00:00"), None);
    }

    #[test]
    fn parses_epoch_values() {
        assert_eq!(parse_value(&serde_json::json!(1_000), EpochUnit::Millis), Some(1_000));
        assert_eq!(parse_value(&serde_json::json!("10000"), EpochUnit::Millis), Some(10_000));
        // Four digits read as a year, as strict_date_optional_time does.
        assert_eq!(parse_value(&serde_json::json!("1970"), EpochUnit::Millis), Some(0));
        assert_eq!(parse_value(&serde_json::json!(2), EpochUnit::Seconds), Some(2_000));
        assert_eq!(parse_value(&serde_json::json!(1.5), EpochUnit::Millis), Some(1));
        assert_eq!(parse_value(&serde_json::json!(true), EpochUnit::Millis), None);
        assert_eq!(parse_value(&serde_json::json!("12ab"), EpochUnit::Millis), None);
    }

    #[test]
    fn formats() {
        assert_eq!(format_pattern(0, ""), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_pattern(1_704_067_200_123, ""), "2024-01-01T00:00:00.123Z");
        assert_eq!(format_pattern(-1, ""), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_pattern(1_704_067_200_000, "yyyy-MM-dd"), "2024-01-01");
        assert_eq!(format_pattern(1_704_067_200_000, "yyyy/MM"), "2024/01");
        assert_eq!(format_pattern(1_704_067_200_000, "epoch_millis"), "1704067200000");
    }

    #[test]
    fn rounds_and_adds() {
        let t = parse_iso("2024-03-15T13:45:10.500Z", false).unwrap();
        let at = |s| parse_iso(s, false).unwrap();
        assert_eq!(round_down(t, CalendarUnit::Day, 0), Some(at("2024-03-15")));
        assert_eq!(round_down(t, CalendarUnit::Hour, 0), Some(at("2024-03-15T13:00:00Z")));
        assert_eq!(round_down(t, CalendarUnit::Week, 0), Some(at("2024-03-11")));
        assert_eq!(round_down(t, CalendarUnit::Month, 0), Some(at("2024-03-01")));
        assert_eq!(round_down(t, CalendarUnit::Quarter, 0), Some(at("2024-01-01")));
        assert_eq!(round_down(t, CalendarUnit::Year, 0), Some(at("2024-01-01")));
        assert_eq!(add_units(at("2024-01-31"), 1, CalendarUnit::Month), Some(at("2024-02-29")));
        assert_eq!(add_units(at("2024-02-29"), 1, CalendarUnit::Year), Some(at("2025-02-28")));
        assert_eq!(
            round_down(at("2024-03-15T00:30:00Z"), CalendarUnit::Day, MS_PER_HOUR),
            Some(at("2024-03-14T23:00:00Z"))
        );
    }

    #[test]
    fn date_math() {
        let now = parse_iso("2024-03-15T13:45:10Z", false).unwrap();
        let at = |s| parse_iso(s, false).unwrap();
        assert_eq!(eval_math("now", now, false, 0), Some(now));
        assert_eq!(eval_math("now-1d", now, false, 0), Some(now - MS_PER_DAY));
        assert_eq!(eval_math("now-1d/d", now, false, 0), Some(at("2024-03-14")));
        assert_eq!(eval_math("now-1d/d", now, true, 0), Some(at("2024-03-15") - 1));
        assert_eq!(eval_math("now+2h", now, false, 0), Some(now + 2 * MS_PER_HOUR));
        assert_eq!(eval_math("now-30m", now, false, 0), Some(now - 30 * MS_PER_MINUTE));
        assert_eq!(eval_math("2024-01-31||+1M", now, false, 0), Some(at("2024-02-29")));
        assert_eq!(eval_math("2024-01-01", now, false, 0), Some(at("2024-01-01")));
        assert_eq!(eval_math("now-", now, false, 0), None);
        assert_eq!(eval_math("now-1x", now, false, 0), None);
        assert_eq!(eval_math("now-99999999999999999999y", now, false, 0), None);
        assert_eq!(eval_math("now-9999999999999y", now, false, 0), None);
    }

    #[test]
    fn offsets_and_intervals() {
        assert_eq!(parse_offset("+01:00"), Some(MS_PER_HOUR));
        assert_eq!(parse_offset("-0530"), Some(-(5 * MS_PER_HOUR + 30 * MS_PER_MINUTE)));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("Europe/Paris"), None);
        assert_eq!(parse_fixed_interval("90m"), Some(90 * MS_PER_MINUTE));
        assert_eq!(parse_fixed_interval("1M"), None);
        assert_eq!(parse_fixed_interval("0d"), None);
        assert_eq!(parse_fixed_interval("d"), None);
    }
}
