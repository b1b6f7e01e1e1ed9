//! Query options as selector parameters (`k=5;rerank=true;cameras=c1,c2`, `&` also separates): parsed into the
//! JSON values the body would carry, so that both go through the same deserializer and `validate()`.

use crate::error::{PayloadError, err, quote};
use serde_json::Value;

/// Parses selector parameters (`key=value` pairs separated by `;` or `&`) into typed JSON values: `k` (whole
/// number), `rerank` and `identified_only` (true/false, 1/0, or a bare key for true), `threshold` (number),
/// `cameras` (comma-separated), `from_ms`/`to_ms` (integers). Keys starting with `_` are reserved for the
/// transport and ignored; any other key is an error.
pub fn decode_query_params(params: &str) -> Result<Vec<(String, Value)>, PayloadError> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for pair in params.split([';', '&']).filter(|p| !p.trim().is_empty()) {
        let (key, value) = match pair.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (pair.trim(), None),
        };
        if key.starts_with('_') {
            continue;
        }
        if out.iter().any(|(k, _)| k == key) {
            return err(key, "given twice in the selector parameters");
        }
        let parsed = match key {
            "k" | "from_ms" | "to_ms" => {
                let v = value.unwrap_or("");
                match v.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => match v.parse::<u64>() {
                        Ok(n) => Value::from(n),
                        Err(_) => return err(key, format!("{} is not a whole number", quote(format!("{v:?}")))),
                    },
                }
            }
            "rerank" | "identified_only" => match value.map(str::to_ascii_lowercase).as_deref() {
                None | Some("") | Some("true") | Some("1") | Some("yes") => Value::Bool(true),
                Some("false") | Some("0") | Some("no") => Value::Bool(false),
                Some(v) => return err(key, format!("{} is not true or false", quote(format!("{v:?}")))),
            },
            "threshold" => {
                let v = value.unwrap_or("");
                match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null),
                    _ => return err(key, format!("{} is not a finite number", quote(format!("{v:?}")))),
                }
            }
            "cameras" => Value::Array(
                value
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string()))
                    .collect(),
            ),
            other => {
                let expected = "k, rerank, threshold, cameras, from_ms, to_ms, identified_only";
                return err(other, format!("unknown selector parameter (expected {expected})"));
            }
        };
        out.push((key.to_string(), parsed));
    }
    Ok(out)
}
