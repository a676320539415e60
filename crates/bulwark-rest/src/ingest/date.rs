//! Dates for the `date` processor: the formats `ISO8601`, `UNIX`, `UNIX_MS` and Java-style
//! patterns made of `y u M d H h m s S a E Z X` and quoted text, read in a time zone that is a
//! fixed offset (`UTC`, `Z`, `+01:00`), and written with `output_format` in that zone. Anything
//! else (`TAI64N`, named zones, other pattern letters, other locales) is refused when the
//! pipeline is stored.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The output format Elasticsearch's `date` processor uses by default.
pub const DEFAULT_OUTPUT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Text(String),
    /// A pattern letter and how many times it is repeated.
    Field(char, usize),
}

/// A checked Java-style pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(Vec<Token>);

impl Pattern {
    /// Parses a Java `DateTimeFormatter` pattern, refusing letters this node does not read.
    pub fn parse(p: &str) -> Result<Pattern, String> {
        let mut tokens = Vec::new();
        let chars: Vec<char> = p.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("pattern [{p}] has an unclosed quote")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            text.push(*ch);
                            i += 1;
                        }
                    }
                }
                if text.is_empty() {
                    text.push('\'');
                }
                tokens.push(Token::Text(text));
            } else if c.is_ascii_alphabetic() {
                if !"yuMdHhmsSaEZX".contains(c) {
                    return Err(format!(
                        "pattern [{p}] uses the letter [{c}], which this node does not support (supported: y u M d H h m s S a E Z X)"
                    ));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                tokens.push(Token::Field(c, n));
                i += n;
            } else {
                tokens.push(Token::Text(c.to_string()));
                i += 1;
            }
        }
        Ok(Pattern(tokens))
    }

    /// Reads `s` with this pattern; a value without a zone is in `zone`.
    fn read(&self, s: &str, zone: UtcOffset) -> Option<OffsetDateTime> {
        let b = s.as_bytes();
        let mut pos = 0;
        let (mut year, mut month, mut day) = (None, 1u8, 1u8);
        let (mut hour, mut minute, mut second, mut nanos) = (0u8, 0u8, 0u8, 0u32);
        let (mut pm, mut offset) = (None, None);
        for (k, t) in self.0.iter().enumerate() {
            let next_is_number =
                matches!(self.0.get(k + 1), Some(Token::Field(c, _)) if !"aEMZX".contains(*c));
            match t {
                Token::Text(text) => {
                    if !s.get(pos..)?.starts_with(text.as_str()) {
                        return None;
                    }
                    pos += text.len();
                }
                Token::Field('M', n) if *n >= 3 => {
                    let (m, len) = name_at(&s[pos..], &MONTHS, *n == 3)?;
                    month = u8::try_from(m + 1).ok()?;
                    pos += len;
                }
                Token::Field('E', n) => pos += name_at(&s[pos..], &DAYS, *n <= 3)?.1,
                Token::Field('a', _) => {
                    let rest = s.get(pos..pos + 2)?.to_ascii_uppercase();
                    pm = Some(match rest.as_str() {
                        "AM" => false,
                        "PM" => true,
                        _ => return None,
                    });
                    pos += 2;
                }
                Token::Field('Z' | 'X', _) => {
                    let (o, len) = zone_at(&s[pos..])?;
                    offset = Some(o);
                    pos += len;
                }
                Token::Field(c, n) => {
                    let max = if *n >= 2 || next_is_number {
                        *n
                    } else if "yu".contains(*c) {
                        9
                    } else {
                        2
                    };
                    let min = if *n >= 2 || next_is_number { *n } else { 1 };
                    let start = pos;
                    while pos < b.len() && pos - start < max && b[pos].is_ascii_digit() {
                        pos += 1;
                    }
                    if pos - start < min {
                        return None;
                    }
                    let digits = &s[start..pos];
                    let v: u32 = digits.parse().ok()?;
                    match c {
                        'y' | 'u' => {
                            year = Some(if *n == 2 { 2000 + v as i32 } else { i32::try_from(v).ok()? })
                        }
                        'M' => month = u8::try_from(v).ok()?,
                        'd' => day = u8::try_from(v).ok()?,
                        'H' | 'h' => hour = u8::try_from(v).ok()?,
                        'm' => minute = u8::try_from(v).ok()?,
                        's' => second = u8::try_from(v).ok()?,
                        'S' => {
                            let scale =
                                10u32.checked_pow(9u32.checked_sub(u32::try_from(digits.len()).ok()?)?)?;
                            nanos = v.checked_mul(scale)?;
                        }
                        _ => return None,
                    }
                }
            }
        }
        if pos != b.len() {
            return None;
        }
        if let Some(pm) = pm {
            hour = match (hour, pm) {
                (12, false) => 0,
                (h, false) => h,
                (12, true) => 12,
                (h, true) => h + 12,
            };
        }
        let year = year.unwrap_or_else(|| OffsetDateTime::now_utc().year());
        let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
        let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
        Some(PrimitiveDateTime::new(date, time).assume_offset(offset.unwrap_or(zone)))
    }

    /// Writes `t` (already in its output zone) with this pattern.
    pub fn write(&self, t: OffsetDateTime) -> String {
        let mut out = String::new();
        for tok in &self.0 {
            match tok {
                Token::Text(s) => out.push_str(s),
                Token::Field(c, n) => out.push_str(&field(t, *c, *n)),
            }
        }
        out
    }
}

fn pad(v: i64, n: usize) -> String {
    format!("{v:0n$}")
}

fn field(t: OffsetDateTime, c: char, n: usize) -> String {
    match c {
        'y' | 'u' if n == 2 => pad(i64::from(t.year()).rem_euclid(100), 2),
        'y' | 'u' => pad(i64::from(t.year()), n),
        'M' if n >= 4 => MONTHS[usize::from(u8::from(t.month())) - 1].to_owned(),
        'M' if n == 3 => MONTHS[usize::from(u8::from(t.month())) - 1][..3].to_owned(),
        'M' => pad(i64::from(u8::from(t.month())), n),
        'd' => pad(i64::from(t.day()), n),
        'H' => pad(i64::from(t.hour()), n),
        'h' => pad(i64::from((t.hour() + 11) % 12 + 1), n),
        'm' => pad(i64::from(t.minute()), n),
        's' => pad(i64::from(t.second()), n),
        'S' => {
            let all = format!("{:09}", t.nanosecond());
            all.chars().take(n.min(9)).collect()
        }
        'a' => (if t.hour() < 12 { "AM" } else { "PM" }).to_owned(),
        'E' => {
            let name = DAYS[usize::from(t.weekday().number_days_from_monday())];
            if n <= 3 { name[..3].to_owned() } else { name.to_owned() }
        }
        'Z' | 'X' => {
            let (h, m, _) = t.offset().as_hms();
            if c == 'X' && h == 0 && m == 0 {
                return "Z".into();
            }
            let sign = if t.offset().is_negative() { '-' } else { '+' };
            let (h, m) = (h.unsigned_abs(), m.unsigned_abs());
            match (c, n) {
                ('X', 1) => format!("{sign}{h:02}"),
                ('X', 3) | ('Z', 5) => format!("{sign}{h:02}:{m:02}"),
                _ => format!("{sign}{h:02}{m:02}"),
            }
        }
        _ => String::new(),
    }
}

/// A month or day name at the start of `s` (full or three letters, any case).
fn name_at(s: &str, names: &[&str], short: bool) -> Option<(usize, usize)> {
    names.iter().enumerate().find_map(|(i, full)| {
        let want = if short { &full[..3] } else { full };
        let got = s.get(..want.len())?;
        got.eq_ignore_ascii_case(want).then_some((i, want.len()))
    })
}

/// A zone at the start of `s`: `Z`, `±HH`, `±HHmm`, `±HH:mm`.
fn zone_at(s: &str) -> Option<(UtcOffset, usize)> {
    if s.starts_with('Z') {
        return Some((UtcOffset::UTC, 1));
    }
    let sign: i8 = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let d = |r: std::ops::Range<usize>| {
        s.get(r).filter(|x| x.bytes().all(|c| c.is_ascii_digit()))?.parse::<i8>().ok()
    };
    let h = d(1..3)?;
    let (m, len) = if s.get(3..4) == Some(":") {
        (d(4..6)?, 6)
    } else if let Some(m) = d(3..5) {
        (m, 5)
    } else {
        (0, 3)
    };
    Some((UtcOffset::from_hms(sign * h, sign * m, 0).ok()?, len))
}

/// A `timezone` option: `UTC`, `Z`, `GMT` or a fixed offset.
pub fn parse_zone(s: &str) -> Result<UtcOffset, String> {
    match s {
        "UTC" | "Z" | "GMT" | "Etc/UTC" => return Ok(UtcOffset::UTC),
        _ => {}
    }
    let z = s.strip_prefix("UTC").or_else(|| s.strip_prefix("GMT")).unwrap_or(s);
    match zone_at(z) {
        Some((o, len)) if len == z.len() => Ok(o),
        _ => Err(format!(
            "time zone [{s}] is not supported on this node: use UTC or a fixed offset such as +01:00 (there is no zone database)"
        )),
    }
}

/// One of the `formats` of a `date` processor.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// `ISO8601`: `yyyy-MM-dd['T'HH:mm[:ss[.S…]]][zone]`.
    Iso,
    /// `UNIX`: seconds since the epoch, with an optional fraction.
    Unix,
    /// `UNIX_MS`: milliseconds since the epoch.
    UnixMs,
    /// A Java-style pattern.
    Java(Pattern),
}

impl Format {
    /// A format as the processor's `formats` list names it.
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "ISO8601" | "iso8601" | "strict_date_optional_time" | "date_optional_time" => Ok(Format::Iso),
            "UNIX" | "epoch_second" => Ok(Format::Unix),
            "UNIX_MS" | "epoch_millis" => Ok(Format::UnixMs),
            "TAI64N" => Err("date format [TAI64N] is not supported on this node".into()),
            named if named.contains('_') && named.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                Err(format!("date format [{named}] is not supported on this node"))
            }
            pattern => Pattern::parse(pattern).map(Format::Java),
        }
    }

    /// Reads `s`; a value without a zone is in `zone`.
    pub fn read(&self, s: &str, zone: UtcOffset) -> Option<OffsetDateTime> {
        match self {
            Format::Iso => read_iso(s, zone),
            Format::Unix => {
                let secs: f64 = s.trim().parse().ok().filter(|f: &f64| f.is_finite())?;
                from_millis((secs * 1000.0) as i64)
            }
            Format::UnixMs => from_millis(s.trim().parse().ok()?),
            Format::Java(p) => p.read(s, zone),
        }
    }
}

fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

fn read_iso(s: &str, zone: UtcOffset) -> Option<OffsetDateTime> {
    let forms = [
        "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS",
        "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm",
        "yyyy-MM-dd'T'HH",
        "yyyy-MM-dd",
        "yyyy-MM",
        "yyyy",
    ];
    let s = s.trim();
    // The zone, if any, is split off first; the fraction may have 1 to 9 digits.
    let (body, zone_part) =
        match s.find(['Z', '+']).or_else(|| s.get(10..).and_then(|r| r.find('-').map(|i| i + 10))) {
            Some(i) if i >= 4 => (&s[..i], Some(&s[i..])),
            _ => (s, None),
        };
    let offset = match zone_part {
        Some(z) => match zone_at(z) {
            Some((o, len)) if len == z.len() => o,
            _ => return None,
        },
        None => zone,
    };
    let body = body.replacen(' ', "T", 1);
    let (body, frac) = match body.split_once('.') {
        Some((b, f)) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|c| c.is_ascii_digit()) => {
            (format!("{b}.{f:0<9}"), true)
        }
        Some(_) => return None,
        None => (body.clone(), false),
    };
    forms
        .iter()
        .filter(|f| f.ends_with('S') == frac)
        .find_map(|f| Pattern::parse(f).ok()?.read(&body, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(f: &str, s: &str, zone: &str) -> Option<String> {
        let z = parse_zone(zone).unwrap();
        let t = Format::parse(f).unwrap().read(s, z)?;
        Some(Pattern::parse(DEFAULT_OUTPUT).unwrap().write(t.to_offset(z)))
    }

    #[test]
    fn formats() {
        assert_eq!(
            out("ISO8601", "2016-06-12T10:11:12.5Z", "UTC").as_deref(),
            Some("2016-06-12T10:11:12.500Z")
        );
        assert_eq!(out("ISO8601", "2016-06-12", "+01:00").as_deref(), Some("2016-06-12T00:00:00.000+01:00"));
        assert_eq!(
            out("ISO8601", "2016-06-12T10:11:12-02:00", "UTC").as_deref(),
            Some("2016-06-12T12:11:12.000Z")
        );
        assert_eq!(out("UNIX", "1465726272.5", "UTC").as_deref(), Some("2016-06-12T10:11:12.500Z"));
        assert_eq!(out("UNIX_MS", "1465726272000", "UTC").as_deref(), Some("2016-06-12T10:11:12.000Z"));
        assert_eq!(out("dd/MM/yyyy", "12/06/2016", "UTC").as_deref(), Some("2016-06-12T00:00:00.000Z"));
        assert_eq!(
            out("dd/MMM/yyyy:HH:mm:ss Z", "12/Jun/2016:10:11:12 +0200", "UTC").as_deref(),
            Some("2016-06-12T08:11:12.000Z")
        );
        assert_eq!(out("yyyyMMdd", "20160612", "UTC").as_deref(), Some("2016-06-12T00:00:00.000Z"));
        assert_eq!(out("dd/MM/yyyy", "nope", "UTC"), None);
        assert!(Format::parse("yyyy-MM-dd G").is_err());
        assert!(Format::parse("TAI64N").is_err());
        assert!(parse_zone("Europe/Amsterdam").is_err());
        assert_eq!(parse_zone("-05:30").unwrap().as_hms(), (-5, -30, 0));
    }
}
