//! FHIR `instant`s ⇄ unix seconds, by hand: the core has no date crate and needs only this.
//!
//! Parsing is strict because a wrong time on a clinician's day is worse than a skipped entry:
//! `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)` exactly (FHIR R4 `instant`'s regular expression:
//! years 0001–9999, offsets up to ±14:00), no local times, no dates without a time. Fractions
//! are dropped (OpenEMR has 1-s precision, Cerner sends `.000`). A leap second (`:60`, legal in
//! FHIR) is read as `:59` of the same minute: folding it onto the next second would move a
//! visit written at 23:59:60 on 31 December into another day, month and year.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (y, m, d) of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |n, c| {
        n.checked_mul(10)?.checked_add(u32::from(c - b'0'))
    })
}

/// Unix seconds of a FHIR `instant`; `None` when it is anything else.
pub fn parse_instant(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return None;
    }
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let y = i64::from(digits(&b[0..4])?);
    if y == 0 {
        return None;
    }
    let (mo, d) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, se) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    // A leap second stays in its own minute (module comment).
    let se = match se {
        0..=59 => se,
        60 => 59,
        _ => return None,
    };
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), oh @ .., b':', om1, om2] if oh.len() == 2 => {
            let (oh, om) = (digits(oh)?, digits(&[*om1, *om2])?);
            if oh > 14 || om > 59 || (oh == 14 && om != 0) {
                return None;
            }
            let o = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + se) - offset)
}

/// `YYYY-MM-DDThh:mm:ssZ`, the only form `_lastUpdated` is sent in (clinic-api §3.1).
pub fn format_instant(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// `YYYY-MM-DD` of the UTC day containing `t` (the `date` search parameter).
pub fn format_date(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Start of the UTC day containing `t`.
pub fn day_start(t: i64) -> i64 {
    t.div_euclid(86_400) * 86_400
}

/// Now, in unix seconds, by the computer's clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions() {
        let z = parse_instant("2026-11-24T14:00:00Z");
        assert_eq!(z, Some(1_795_528_800));
        assert_eq!(parse_instant("2026-11-24T14:00:00+00:00"), z);
        assert_eq!(parse_instant("2026-11-24T15:30:00+01:30"), z);
        assert_eq!(parse_instant("2026-11-24T09:00:00-05:00"), z);
        assert_eq!(parse_instant("2026-11-24T14:00:00.000Z"), z);
        assert_eq!(parse_instant("2026-11-24T14:00:00.123456789Z"), z);
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(parse_instant("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(
            parse_instant("0001-01-01T00:00:00Z"),
            Some(-62_135_596_800),
            "year 1 is the first FHIR year"
        );
        assert_eq!(parse_instant("9999-12-31T23:59:59Z"), Some(253_402_300_799));
    }

    #[test]
    fn a_leap_second_stays_in_its_day_and_year() {
        let eve = parse_instant("2016-12-31T23:59:60Z").expect("leap second");
        assert_eq!(format_instant(eve), "2016-12-31T23:59:59Z");
        assert_eq!(format_date(eve), "2016-12-31");
        // With an offset, the local 23:59:60 is still that local minute.
        assert_eq!(
            parse_instant("2016-12-31T18:59:60-05:00"),
            Some(eve),
            "same instant"
        );
        assert_eq!(
            format_instant(parse_instant("9999-12-31T23:59:60Z").expect("last")),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T14:00:00",
            "2026-11-24T14:00Z",
            "2026-11-24 14:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T14:00:00+15:00",
            "2026-11-24T14:00:00+0100",
            "2026-11-24T14:00:00.Z",
            "2026-11-24T14:00:00.1234567890Z",
            "+2026-11-24T14:00:00Z",
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "2026-11-24T14:00:61Z",
            "2026-11-24T14:60:00Z",
            "2026-11-24T14:00:00Zjunk",
            "２０２６-11-24T14:00:00Z",
            "tomorrow at noon please",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for t in [0, 1_795_528_800, 1_709_164_800, 4_102_444_799, -86_401] {
            assert_eq!(parse_instant(&format_instant(t)), Some(t));
        }
        assert_eq!(format_date(1_795_528_800), "2026-11-24");
        assert_eq!(day_start(1_795_528_800 + 5), 1_795_478_400);
    }
}
