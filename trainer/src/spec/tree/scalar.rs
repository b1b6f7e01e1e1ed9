//! The scalar rules of the spec: the YAML 1.2 core schema (nulls, booleans, integers, floats), plus the Python
//! spellings `True`/`False` that TAO specs use and YAML 1.1's `yes`/`no` where a boolean is expected.

/// A scalar resolved without a target type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

/// `~`, `null`, `Null`, `NULL` or nothing.
pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// The YAML 1.2 core booleans (which include Python's `True`/`False`).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Booleans where a boolean is expected: the core ones and YAML 1.1's `yes`/`no`/`on`/`off` (PyYAML reads those too).
pub(crate) fn parse_bool_lenient(text: &str) -> Option<bool> {
    parse_bool(text).or(match text {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    })
}

/// Decimal (`_` separators allowed), `0x` and `0o` integers.
pub(crate) fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, digits)
    };
    if digits.is_empty() || digits.starts_with('_') || !digits.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    let value = i128::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if negative { -value } else { value })
}

/// Core-schema floats (`1.5`, `.5`, `1e-5`, `-2.0E3`, `.inf`, `.nan`); integers are floats too.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    match unsigned {
        ".inf" | ".Inf" | ".INF" => return Some(if negative { f64::NEG_INFINITY } else { f64::INFINITY }),
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => return Some(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Some(i as f64);
    }
    let ok = unsigned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'))
        && unsigned.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
        && unsigned.chars().any(|c| c.is_ascii_digit());
    if !ok {
        return None;
    }
    text.replace('_', "").parse::<f64>().ok()
}

/// Resolves an unquoted scalar as the YAML 1.2 core schema does.
pub(crate) fn resolve(text: &str) -> Scalar<'_> {
    if is_null(text) {
        return Scalar::Null;
    }
    if let Some(b) = parse_bool(text) {
        return Scalar::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        if let Ok(u) = u64::try_from(i) {
            return Scalar::UInt(u);
        }
        if let Ok(i) = i64::try_from(i) {
            return Scalar::Int(i);
        }
    }
    match parse_float(text) {
        Some(f) => Scalar::Float(f),
        None => Scalar::Str(text),
    }
}
