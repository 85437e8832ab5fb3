//! Sizes and durations as people write them, parsed and printed by one
//! grammar each, so that whatever sbx prints (`profile show`, messages,
//! `pool stats`) reads back unchanged wherever sbx accepts one.
//!
//! **Sizes**: a number, optionally with a fraction, then an optional unit:
//! `65536`, `64k`, `64KiB`, `512m`, `1.5g`, `1GiB`, `2T`. Units are
//! case-insensitive and all powers of 1024 (`k`, `kb` and `kib` mean the
//! same); a fraction is rounded to the nearest byte.
//!
//! **Durations**: one or more `NUMBER UNIT` parts, with units `ms`, `s`,
//! `m`, `h`, `d`: `250ms`, `30s`, `1.5s`, `1m30s`, `2h`; a bare number is
//! seconds. Precision is one millisecond; at most [`MAX_DURATION`].
//!
//! `parse_size(&format_size(n)) == Ok(n)` and `parse_duration(
//! &format_duration(d)) == Ok(d)` for every value they can hold (tested
//! below over many values).

use std::time::Duration;

/// The longest duration accepted anywhere (a year): longer values are a
/// typo, and `Instant` arithmetic on them could overflow. Settings that can
/// be switched off take `"none"` instead.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

const SIZE_UNITS: &[(&str, u32)] = &[("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];

/// A size in bytes, e.g. `1GiB`, `64k`, `1.5g`, `65536`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a size (try 65536, 64KiB, 512m, 1.5g)");
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(bad());
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown unit `{other}` in size `{s}` (use KiB, MiB, GiB or TiB, or plain bytes)"
            ));
        }
    };
    let value = decimal_times(num, 1u128 << shift).ok_or_else(bad)?;
    u64::try_from(value).map_err(|_| format!("size `{s}` is too large"))
}

/// `1GiB`, `512MiB`, `64KiB`, or plain bytes (`1000B`): the largest unit
/// that holds the value exactly.
pub fn format_size(n: u64) -> String {
    for (unit, shift) in SIZE_UNITS {
        let size = 1u64 << shift;
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n}B")
}

/// A positive duration, e.g. `250ms`, `30s`, `1m30s`, `1.5h`; a bare number
/// is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (try 500ms, 30s, 1m30s, 2h)");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut rest = t;
    let mut total_ms: u128 = 0;
    let mut first = true;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if num.is_empty() {
            return Err(bad());
        }
        let unit_ms: u128 = match unit {
            "" if first && num_len == rest.len() => 1000,
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(bad()),
            other => {
                return Err(format!(
                    "unknown unit `{other}` in duration `{s}` (use ms, s, m, h or d)"
                ));
            }
        };
        let part = decimal_times(num, unit_ms).ok_or_else(bad)?;
        total_ms = total_ms.checked_add(part).ok_or_else(bad)?;
        if total_ms > MAX_DURATION.as_millis() {
            return Err(format!(
                "duration `{s}` is too long (at most {})",
                format_duration(MAX_DURATION)
            ));
        }
        rest = next.trim_start();
        first = false;
    }
    if total_ms == 0 {
        return Err(format!("duration `{s}` must be at least 1ms"));
    }
    Ok(Duration::from_millis(total_ms as u64))
}

/// `1h30m`, `1m30s`, `250ms`, `1s500ms`: largest units first, to the
/// millisecond; `0s` for zero.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut left = ms;
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if left >= size {
            out += &format!("{}{unit}", left / size);
            left %= size;
        }
    }
    out
}

/// `num × unit` for a decimal `num` (`12`, `1.5`, `.5`), rounded to the
/// nearest whole unit of the result; `None` when `num` is not a number or
/// the product does not fit.
fn decimal_times(num: &str, unit: u128) -> Option<u128> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) {
        return None;
    }
    // Leading zeros are harmless; too many digits overflow below.
    let int_value: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int_value.checked_mul(unit)?;
    if !frac.is_empty() {
        let frac = &frac[..frac.len().min(30)];
        let scale = 10u128.checked_pow(frac.len() as u32)?;
        let f: u128 = frac.parse().ok()?;
        let part = f.checked_mul(unit)?;
        value = value.checked_add((part + scale / 2) / scale)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        for (text, bytes) in [
            ("65536", 65536),
            ("64k", 64 << 10),
            ("64K", 64 << 10),
            ("64KiB", 64 << 10),
            ("64 kb", 64 << 10),
            ("512m", 512 << 20),
            ("10MiB", 10 << 20),
            ("1GiB", 1 << 30),
            ("1 gb", 1 << 30),
            ("1.5g", 3 << 29),
            (".5k", 512),
            ("2T", 2 << 40),
            ("100B", 100),
            ("0", 0),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn bad_sizes_say_what_to_write() {
        assert_eq!(
            parse_size("lots"),
            Err("`lots` is not a size (try 65536, 64KiB, 512m, 1.5g)".into())
        );
        assert_eq!(
            parse_size("5 parsecs"),
            Err("unknown unit `parsecs` in size `5 parsecs` (use KiB, MiB, GiB or TiB, or plain bytes)".into())
        );
        assert_eq!(
            parse_size("1.2.3m"),
            Err("`1.2.3m` is not a size (try 65536, 64KiB, 512m, 1.5g)".into())
        );
        assert_eq!(
            parse_size("99999999999999G"),
            Err("size `99999999999999G` is too large".into())
        );
        assert_eq!(
            parse_size("-1"),
            Err("`-1` is not a size (try 65536, 64KiB, 512m, 1.5g)".into())
        );
        assert!(parse_size("").is_err());
        assert!(parse_size(&"9".repeat(200)).is_err());
    }

    #[test]
    fn durations_read_like_people_write_them() {
        for (text, ms) in [
            ("250ms", 250),
            ("30s", 30_000),
            ("2", 2000),
            ("1.5s", 1500),
            ("5m", 300_000),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("1h30m", 5_400_000),
            ("2h", 7_200_000),
            ("1d", 86_400_000),
            ("1s500ms", 1500),
            ("0.5ms", 1),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_durations_are_one_line_errors_never_a_panic() {
        assert_eq!(
            parse_duration("0s"),
            Err("duration `0s` must be at least 1ms".into())
        );
        assert_eq!(
            parse_duration("soon"),
            Err("`soon` is not a duration (try 500ms, 30s, 1m30s, 2h)".into())
        );
        assert_eq!(
            parse_duration("3 weeks"),
            Err("unknown unit `weeks` in duration `3 weeks` (use ms, s, m, h or d)".into())
        );
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err("duration `99999999999999999999s` is too long (at most 8760h)".into())
        );
        assert_eq!(
            parse_duration(&"9".repeat(400)),
            Err(format!(
                "`{}` is not a duration (try 500ms, 30s, 1m30s, 2h)",
                "9".repeat(400)
            ))
        );
        for junk in ["", "s", "1 2", "1s2", "-1s", "1e9s", "NaN", "inf", "1..5s"] {
            assert!(parse_duration(junk).is_err(), "{junk:?} accepted");
        }
    }

    #[test]
    fn formats_pick_the_largest_exact_unit() {
        assert_eq!(format_size(1 << 30), "1GiB");
        assert_eq!(format_size(512 << 20), "512MiB");
        assert_eq!(format_size(1536 << 20), "1536MiB");
        assert_eq!(format_size(1000), "1000B");
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    /// A small deterministic generator (xorshift), so the property tests
    /// cover many values, spread over every magnitude, reproducibly.
    fn values(seed: u64, n: usize) -> impl Iterator<Item = u64> {
        let mut x = seed;
        (0..n).map(move |i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every magnitude, and round numbers (the common case) as often
            // as odd ones.
            let v = x >> (x % 64);
            if i % 2 == 0 {
                v
            } else {
                (v >> 40) << (10 * (i as u64 % 5))
            }
        })
    }

    #[test]
    fn every_size_reads_back_as_it_was_printed() {
        for n in values(0x9e37_79b9_7f4a_7c15, 20_000).chain([0, 1, u64::MAX, 1 << 63]) {
            assert_eq!(
                parse_size(&format_size(n)),
                Ok(n),
                "{n} → {}",
                format_size(n)
            );
        }
    }

    #[test]
    fn every_duration_reads_back_as_it_was_printed() {
        let max = MAX_DURATION.as_millis() as u64;
        for ms in values(0x2545_f491_4f6c_dd1d, 20_000)
            .map(|v| v % max + 1)
            .chain([1, 999, 1000, 60_000, 90_000, max])
        {
            let d = Duration::from_millis(ms);
            assert_eq!(
                parse_duration(&format_duration(d)),
                Ok(d),
                "{ms}ms → {}",
                format_duration(d)
            );
        }
    }
}
