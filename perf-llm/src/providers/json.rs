//! Reading a provider's usage object from a `serde_json::Value`: where the object is, and
//! counts that are non-negative integers, with errors that name the field that is wrong.

use serde::de::{Deserializer, Visitor};
use serde_json::Value;

use crate::error::UsageError;

/// Declares a response struct (with its derives) whose `Deserialize` reads JSON objects
/// only. serde's derived structs also accept an array, read positionally, so
/// `{"usage": [1, 2]}` would bill 1 input and 2 output tokens; `deny_unknown_fields` does not
/// stop that. The fields are read by a private twin derived from the same field list (named
/// `$sname` in errors), through [`MapOnly`].
macro_rules! objects_only {
    ($sname:literal $(#[$sattr:meta])* pub struct $name:ident {
        $($(#[$fattr:meta])* pub $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$sattr])*
        pub struct $name {
            $($(#[$fattr])* pub $field: $ty),*
        }

        const _: () = {
            #[derive(serde::Deserialize)]
            #[serde(rename = $sname)]
            struct Wire {
                $($(#[$fattr])* $field: $ty),*
            }
            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let w = Wire::deserialize($crate::providers::json::MapOnly(d))?;
                    Ok($name { $($field: w.$field),* })
                }
            }
        };
    };
}
pub(crate) use objects_only;

/// A deserializer that reads a struct only from a map (a JSON object), never from a sequence.
pub(crate) struct MapOnly<D>(pub(crate) D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

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
