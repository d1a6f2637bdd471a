//! RFC 3339 times in UTC: written to the second (a template's `{{now}}`)
//! or to the millisecond (the journal, the admin API), and read back.

use std::time::{Duration, SystemTime};

/// A time since the epoch, to the second (`2026-11-28T19:40:00Z`).
pub fn format_seconds(since_epoch: Duration) -> String {
    let seconds = since_epoch.as_secs();
    let (days, time) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

/// `2026-11-28T19:40:00.123Z`.
pub fn format_millis(at: SystemTime) -> String {
    let since_epoch = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let seconds = format_seconds(since_epoch);
    format!("{}.{:03}Z", seconds.trim_end_matches('Z'), since_epoch.subsec_millis())
}

/// Reads `2026-11-28T19:40:00Z` or `2026-11-28T19:40:00.123Z` (UTC only).
pub fn parse(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let nanos = match fraction {
        "" => 0,
        digits if digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = u64::try_from(days * 86_400).ok()? + hour * 3600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_as_civil_dates() {
        assert_eq!(format_seconds(Duration::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_seconds(Duration::from_secs(1_709_210_096)),
            "2024-02-29T12:34:56Z"
        );
    }

    #[test]
    fn millis_round_trip() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        let text = format_millis(at);
        assert_eq!(text, "2024-02-29T12:34:56.789Z");
        assert_eq!(parse(&text), Some(at));
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(SystemTime::UNIX_EPOCH));
        assert_eq!(parse("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse("yesterday"), None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    include!("../tests/properties/strategies/config.rs");

    proptest! {
        #![proptest_config(config(256))]

        /// Any instant since the epoch is written without a panic, in the
        /// fixed-width form for years 1970..=9999.
        #[test]
        fn any_instant_is_written_in_rfc3339(seconds in any::<u64>()) {
            let text = format_seconds(Duration::from_secs(seconds));
            if seconds < 253_402_300_800 {
                prop_assert_eq!(text.len(), 20, "{}", text);
                prop_assert!(text.ends_with('Z') && text.as_bytes()[10] == b'T', "{}", text);
            }
        }
    }
}
