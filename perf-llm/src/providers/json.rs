//! Reading a provider's usage object from a `serde_json::Value`: where the object is, and
//! counts that are non-negative integers, with errors that name the field that is wrong.

use serde_json::Value;

use crate::error::UsageError;

/// Reads the usage object: `v.usage`, `v.message.usage`, `v.response.usage`, or `v` itself
/// when it carries one of `marker`'s keys.
pub(crate) fn usage_object<'a>(
    v: &'a Value,
    provider: &'static str,
    markers: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, UsageError> {
    let Some(obj) = v.as_object() else {
        return Err(UsageError::NotAnObject {
            provider,
            field: "response",
            found: kind(v),
        });
    };
    if markers.iter().any(|m| obj.contains_key(*m)) {
        return Ok(obj);
    }
    for outer in ["message", "response"] {
        if let Some(u) = obj.get(outer).and_then(|m| m.get("usage")) {
            return as_usage_obj(u, provider);
        }
    }
    match obj.get("usage") {
        Some(u) => as_usage_obj(u, provider),
        None => Err(UsageError::Missing { provider }),
    }
}

fn as_usage_obj<'a>(
    u: &'a Value,
    provider: &'static str,
) -> Result<&'a serde_json::Map<String, Value>, UsageError> {
    match u {
        Value::Object(o) => Ok(o),
        Value::Null => Err(UsageError::Missing { provider }),
        other => Err(UsageError::NotAnObject {
            provider,
            field: "usage",
            found: kind(other),
        }),
    }
}

/// A count at `obj[key]`: absent or `null` is `None`; anything but a non-negative integer
/// that fits `u64` is an error naming `path`.
pub(crate) fn count(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    path: &'static str,
    provider: &'static str,
) -> Result<Option<u64>, UsageError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| UsageError::InvalidCount {
                provider,
                field: path,
                value: n.to_string(),
            }),
        Some(other) => Err(UsageError::InvalidCount {
            provider,
            field: path,
            value: truncate(other.to_string()),
        }),
    }
}

/// The object at `obj[key]`: absent or `null` is `None`.
pub(crate) fn sub_object<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &'static str,
    provider: &'static str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, UsageError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(UsageError::NotAnObject {
            provider,
            field: path,
            found: kind(other),
        }),
    }
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > 40 {
        let mut end = 40;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// A count inside a sub-object, `obj[outer][key]`: absent or `null` at either level is `None`.
pub(crate) fn nested_count(
    obj: &serde_json::Map<String, Value>,
    (outer, outer_path): (&str, &'static str),
    (key, path): (&str, &'static str),
    provider: &'static str,
) -> Result<Option<u64>, UsageError> {
    match sub_object(obj, outer, outer_path, provider)? {
        Some(d) => count(d, key, path, provider),
        None => Ok(None),
    }
}
