//! Redacting named fields from arguments before they are stored in full.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// A copy of `args` in which the value of every object field named in
/// `fields`, at any depth (inside objects and arrays), is replaced by
/// [`REDACTED`]. Names match ASCII case-insensitively, so `token` also
/// redacts `Token` and `TOKEN`.
///
/// ```
/// use rustchain_tools::audit::redact;
/// use serde_json::json;
///
/// let args = json!({"url": "https://x", "headers": [{"Authorization": "Bearer t"}]});
/// assert_eq!(
///     redact(&args, &["authorization"]),
///     json!({"url": "https://x", "headers": [{"Authorization": "[redacted]"}]}),
/// );
/// ```
pub fn redact<S: AsRef<str>>(args: &Value, fields: &[S]) -> Value {
    match args {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, value)| {
                    let hidden = fields
                        .iter()
                        .any(|field| field.as_ref().eq_ignore_ascii_case(name));
                    let value = if hidden {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(value, fields)
                    };
                    (name.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| redact(item, fields)).collect())
        }
        other => other.clone(),
    }
}
