//! Integer fields as JSON Schema's `integer` type reads them: a number with
//! a zero fraction (`5.0`) is an integer too, so the typed model accepts
//! every value the schema accepts.

use serde::de::{Deserialize, Deserializer, Error, Unexpected};
use serde_json::Value;

/// A non-negative integer, from an integer or a whole float.
fn to_u64<E: Error>(v: &Value) -> Result<u64, E> {
    let expected = "a non-negative integer";
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return Ok(u);
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 => Ok(f as u64),
                Some(f) if n.is_f64() => Err(E::invalid_value(Unexpected::Float(f), &expected)),
                _ => Err(E::invalid_value(
                    Unexpected::Signed(n.as_i64().unwrap_or_default()),
                    &expected,
                )),
            }
        }
        Value::String(s) => Err(E::invalid_type(Unexpected::Str(s), &expected)),
        Value::Bool(b) => Err(E::invalid_type(Unexpected::Bool(*b), &expected)),
        Value::Array(_) => Err(E::invalid_type(Unexpected::Seq, &expected)),
        Value::Object(_) => Err(E::invalid_type(Unexpected::Map, &expected)),
        Value::Null => Err(E::invalid_type(Unexpected::Unit, &expected)),
    }
}

/// An optional non-negative integer (`null` is none).
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => to_u64(&v).map(Some),
    }
}

/// An optional count held in 32 bits; larger values (which the schema
/// allows, having no maximum) saturate, meaning "practically unlimited".
pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(opt_u64(d)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

/// A non-negative integer.
pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    to_u64(&Value::deserialize(d)?)
}

/// A present field that may be `null`: `Some(None)` for an explicit `null`.
pub(crate) fn explicit_null_u64<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<u64>>, D::Error> {
    opt_u64(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_u64")]
        a: Option<u64>,
        #[serde(default, deserialize_with = "super::opt_u32")]
        b: Option<u32>,
    }

    #[test]
    fn whole_floats_are_integers() {
        let t: T = serde_json::from_value(json!({"a": 5.0, "b": 1e12})).unwrap();
        assert_eq!((t.a, t.b), (Some(5), Some(u32::MAX)));
        let t: T = serde_json::from_value(json!({})).unwrap();
        assert_eq!((t.a, t.b), (None, None));
        for bad in [json!(5.5), json!(-1), json!("5"), json!(true)] {
            let e = serde_json::from_value::<T>(json!({ "a": bad })).unwrap_err();
            assert!(
                e.to_string().contains("expected a non-negative integer"),
                "{e}"
            );
        }
    }
}
