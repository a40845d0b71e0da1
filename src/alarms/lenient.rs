//! Forgiving serde field helpers: AWS payloads mix numbers, strings and nulls for the same field.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Turns a scalar JSON value into text; `null`, empty strings and containers give `None`.
pub(crate) fn value_to_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.is_empty() => None,
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Reads a number written as a JSON number or as a numeric string.
pub(crate) fn value_to_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|number| number.is_finite())
}

/// Reads a whole non-negative number; `60`, `60.0` and `"60"` all give 60.
pub(crate) fn value_to_u64(value: &Value) -> Option<u64> {
    if let Some(whole) = value.as_u64() {
        return Some(whole);
    }
    let number = value_to_f64(value)?;
    let is_whole = number >= 0.0 && number.fract() == 0.0 && number <= u64::MAX as f64;
    // The cast is exact: the value is whole, non-negative and within range.
    is_whole.then_some(number as u64)
}

/// `Option<String>` that also accepts numbers and booleans, and maps `null`/`""` to `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(value_to_text))
}

/// `Option<f64>` that also accepts numeric strings; anything else becomes `None`.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(value_to_f64))
}

/// `Option<u64>` that also accepts `60.0` and `"60"`; anything else becomes `None`.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(value_to_u64))
}

/// `Option<bool>` that also accepts `"true"` / `"false"`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Bool(flag)) => Some(flag),
        Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// A list of strings; a lone string becomes a one-item list, `null` an empty one.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Array(items)) => items.iter().filter_map(value_to_text).collect(),
        Some(other) => value_to_text(&other).into_iter().collect(),
        None => Vec::new(),
    })
}

/// A string-to-string map; non-text values are kept as compact JSON, `null` gives an empty map.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    let Some(Value::Object(entries)) = value else {
        return Ok(BTreeMap::new());
    };
    Ok(entries
        .into_iter()
        .map(|(key, value)| {
            let text = match &value {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => value_to_text(other).unwrap_or_else(|| other.to_string()),
            };
            (key, text)
        })
        .collect())
}

/// Keeps any JSON value, treating `null` as absent (serde's `Option<Value>` would give `Some(Null)`).
pub(crate) fn opt_value<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.filter(|value| !value.is_null()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_accept_floats_and_strings() {
        assert_eq!(value_to_u64(&json!(60)), Some(60));
        assert_eq!(value_to_u64(&json!(60.0)), Some(60));
        assert_eq!(value_to_u64(&json!("300")), Some(300));
        assert_eq!(value_to_u64(&json!(1.5)), None);
        assert_eq!(value_to_u64(&json!(-3)), None);
        assert_eq!(value_to_u64(&json!(null)), None);
    }

    #[test]
    fn text_skips_null_and_empty() {
        assert_eq!(value_to_text(&json!("")), None);
        assert_eq!(value_to_text(&json!(null)), None);
        assert_eq!(value_to_text(&json!(8.5)), Some("8.5".to_string()));
        assert_eq!(value_to_f64(&json!(" 2.5 ")), Some(2.5));
        assert_eq!(value_to_f64(&json!("NaN")), None);
    }
}
