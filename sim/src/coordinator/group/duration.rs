//! ISO-8601 durations as Java's `Duration.parse` reads them (`PnDTnHnMn.nS`, case-insensitive, optional
//! signs), for `share.auto.offset.reset=by_duration:<duration>` (spec 5.2).

/// Parses `[+-]P[nD][T[nH][nM][n[.f]S]]` into signed milliseconds (fractions below a millisecond are
/// dropped). At least one component is required, and a `T` must be followed by one.
pub fn parse_iso8601_duration_ms(text: &str) -> Result<i64, String> {
    let upper = text.to_ascii_uppercase();
    let mut rest = upper.as_str();
    let negative = take_sign(&mut rest);
    rest = rest
        .strip_prefix('P')
        .ok_or_else(|| format!("`{text}` does not start with P"))?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => {
            if time.is_empty() {
                return Err(format!("`{text}` has T but no hours, minutes or seconds"));
            }
            (date, Some(time))
        }
        None => (rest, None),
    };
    let mut total_ms: i64 = 0;
    let mut components = 0;
    let mut date = date;
    if !date.is_empty() {
        let days = take_component(&mut date, 'D', text)?;
        if !date.is_empty() {
            return Err(format!("`{text}` has unexpected text `{date}`"));
        }
        total_ms = add_scaled(total_ms, days, 86_400_000, text)?;
        components += 1;
    }
    if let Some(mut time) = time {
        for (unit, scale_ms) in [('H', 3_600_000), ('M', 60_000)] {
            if has_component(time, unit) {
                let amount = take_component(&mut time, unit, text)?;
                total_ms = add_scaled(total_ms, amount, scale_ms, text)?;
                components += 1;
            }
        }
        if !time.is_empty() {
            let seconds_ms = take_seconds_ms(time, text)?;
            total_ms = total_ms
                .checked_add(seconds_ms)
                .ok_or_else(|| format!("`{text}` overflows"))?;
            components += 1;
        }
    }
    if components == 0 {
        return Err(format!("`{text}` has no days, hours, minutes or seconds"));
    }
    Ok(if negative { -total_ms } else { total_ms })
}

fn take_sign(rest: &mut &str) -> bool {
    if let Some(stripped) = rest.strip_prefix('-') {
        *rest = stripped;
        true
    } else {
        if let Some(stripped) = rest.strip_prefix('+') {
            *rest = stripped;
        }
        false
    }
}

/// Whether the next component (an optionally signed integer) ends with `unit`.
fn has_component(rest: &str, unit: char) -> bool {
    let digits = rest.trim_start_matches(['+', '-']);
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    end > 0 && digits[end..].starts_with(unit)
}

/// Takes `[+-]digits<unit>` from the front of `rest`.
fn take_component(rest: &mut &str, unit: char, text: &str) -> Result<i64, String> {
    let (number, after) = rest
        .split_once(unit)
        .ok_or_else(|| format!("`{text}` is missing `{unit}`"))?;
    let value = parse_signed_integer(number, text)?;
    *rest = after;
    Ok(value)
}

fn parse_signed_integer(number: &str, text: &str) -> Result<i64, String> {
    let mut digits = number;
    let negative = take_sign(&mut digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` has a bad number `{number}`"));
    }
    let value: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` has a number too large: `{number}`"))?;
    Ok(if negative { -value } else { value })
}

/// `n[.f]S` with up to 9 fraction digits; returns milliseconds.
fn take_seconds_ms(time: &str, text: &str) -> Result<i64, String> {
    let body = time
        .strip_suffix('S')
        .ok_or_else(|| format!("`{text}` has unexpected text `{time}`"))?;
    let (whole, fraction) = match body.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (body, ""),
    };
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{text}` has a bad fraction of a second `{fraction}`"
        ));
    }
    let seconds = parse_signed_integer(whole, text)?;
    let mut fraction_ms: i64 = 0;
    for (index, digit) in fraction.bytes().take(3).enumerate() {
        fraction_ms += i64::from(digit - b'0') * [100, 10, 1][index];
    }
    let seconds_ms = add_scaled(0, seconds, 1_000, text)?;
    let fraction_ms = if whole.starts_with('-') {
        -fraction_ms
    } else {
        fraction_ms
    };
    seconds_ms
        .checked_add(fraction_ms)
        .ok_or_else(|| format!("`{text}` overflows"))
}

fn add_scaled(total: i64, amount: i64, scale: i64, text: &str) -> Result<i64, String> {
    amount
        .checked_mul(scale)
        .and_then(|scaled| total.checked_add(scaled))
        .ok_or_else(|| format!("`{text}` overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 5.2: Java's Duration.parse forms.
    #[test]
    fn parses_java_duration_forms() {
        assert_eq!(parse_iso8601_duration_ms("PT1H"), Ok(3_600_000));
        assert_eq!(parse_iso8601_duration_ms("pt15m"), Ok(900_000));
        assert_eq!(parse_iso8601_duration_ms("P2D"), Ok(172_800_000));
        assert_eq!(parse_iso8601_duration_ms("P1DT1H1M1.5S"), Ok(90_061_500));
        assert_eq!(parse_iso8601_duration_ms("PT0.001S"), Ok(1));
        assert_eq!(parse_iso8601_duration_ms("-PT1S"), Ok(-1_000));
        assert_eq!(parse_iso8601_duration_ms("PT-1S"), Ok(-1_000));
        assert_eq!(parse_iso8601_duration_ms("+PT2S"), Ok(2_000));
    }

    /// Spec 5.2: badly formed durations are refused.
    #[test]
    fn refuses_bad_durations() {
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1X",
            "P1H",
            "PT1.1234567890S",
            "PTS",
            "P1DT",
            "PT1H1H",
        ] {
            assert!(parse_iso8601_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
