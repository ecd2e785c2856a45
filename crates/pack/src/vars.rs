//! Variable values: defaults, type checks and validation rules.
//!
//! Error messages describe the rule that failed, never the value itself
//! (values may be user data).

use serde_json::Value;

use crate::model::Variable;

/// The string form of a default value (`null` means no default).
pub(crate) fn default_as_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Checks `value` against the variable's declared type and validation rules.
pub(crate) fn check_value(var: &Variable, value: &str) -> Result<(), String> {
    let number = check_type(&var.var_type, value)?;
    let Some(rules) = &var.validation else {
        return Ok(());
    };
    if let Some(pattern) = &rules.pattern {
        let re = regex::Regex::new(pattern)
            .map_err(|e| format!("the pack's validation pattern `{pattern}` is invalid: {e}"))?;
        if !re.is_match(value) {
            return Err(format!("value does not match pattern `{pattern}`"));
        }
    }
    let len = value.chars().count() as u64;
    if let Some(min) = rules.min_length.filter(|&m| len < m) {
        return Err(format!(
            "value is {len} characters long, at least {min} required"
        ));
    }
    if let Some(max) = rules.max_length.filter(|&m| len > m) {
        return Err(format!(
            "value is {len} characters long, at most {max} allowed"
        ));
    }
    if rules.minimum.is_some() || rules.maximum.is_some() {
        let n = match number {
            Some(n) => n,
            None => parse_number(value).ok_or_else(|| {
                "value must be a number (the variable has minimum/maximum)".to_owned()
            })?,
        };
        if let Some(min) = rules.minimum.filter(|&m| n < m) {
            return Err(format!("value must be at least {min}"));
        }
        if let Some(max) = rules.maximum.filter(|&m| n > m) {
            return Err(format!("value must be at most {max}"));
        }
    }
    if let Some(allowed) = rules
        .allowed
        .as_ref()
        .filter(|allowed| !allowed.iter().any(|a| enum_matches(a, value)))
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return Err(format!("value must be one of [{}]", list.join(", ")));
    }
    Ok(())
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Checks the declared type; returns the numeric value for numeric types.
fn check_type(var_type: &str, value: &str) -> Result<Option<f64>, String> {
    match var_type {
        "number" | "float" => parse_number(value)
            .map(Some)
            .ok_or_else(|| "value must be a number".to_owned()),
        "integer" | "int" => value
            .trim()
            .parse::<i64>()
            .map(|n| Some(n as f64))
            .map_err(|_| "value must be an integer".to_owned()),
        "boolean" | "bool" => match value.trim() {
            "true" | "false" => Ok(None),
            _ => Err("value must be `true` or `false`".to_owned()),
        },
        "object" => match serde_json::from_str::<Value>(value) {
            Ok(Value::Object(_)) => Ok(None),
            _ => Err("value must be a JSON object".to_owned()),
        },
        "array" => match serde_json::from_str::<Value>(value) {
            Ok(Value::Array(_)) => Ok(None),
            _ => Err("value must be a JSON array".to_owned()),
        },
        // `string` and runtime-defined types carry no type constraint.
        _ => Ok(None),
    }
}

fn enum_matches(allowed: &Value, value: &str) -> bool {
    match allowed {
        Value::String(s) => s == value,
        Value::Number(n) => match (n.as_f64(), parse_number(value)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        Value::Bool(b) => value.trim() == if *b { "true" } else { "false" },
        Value::Null => value == "null",
        other => serde_json::from_str::<Value>(value).is_ok_and(|v| &v == other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VariableValidation;

    fn var(ty: &str, validation: VariableValidation) -> Variable {
        Variable {
            name: "v".into(),
            var_type: ty.into(),
            required: false,
            default: None,
            description: None,
            example: None,
            validation: Some(validation),
            binding: None,
        }
    }

    #[test]
    fn rules() {
        let v = var(
            "string",
            VariableValidation {
                pattern: Some("^[a-z]+$".into()),
                min_length: Some(2),
                max_length: Some(4),
                ..Default::default()
            },
        );
        assert!(check_value(&v, "abc").is_ok());
        assert!(check_value(&v, "a").unwrap_err().contains("at least 2"));
        assert!(check_value(&v, "abcde").unwrap_err().contains("at most 4"));
        assert!(check_value(&v, "ab1").unwrap_err().contains("pattern"));

        let n = var(
            "number",
            VariableValidation {
                minimum: Some(1.0),
                maximum: Some(10.0),
                allowed: Some(vec![serde_json::json!(2), serde_json::json!(3.5)]),
                ..Default::default()
            },
        );
        assert!(check_value(&n, "2").is_ok());
        assert!(check_value(&n, "3.5").is_ok());
        assert!(check_value(&n, "x").unwrap_err().contains("number"));
        assert!(check_value(&n, "0").unwrap_err().contains("at least 1"));
        assert!(check_value(&n, "11").unwrap_err().contains("at most 10"));
        assert!(
            check_value(&n, "4")
                .unwrap_err()
                .contains("one of [2, 3.5]")
        );
    }

    #[test]
    fn types() {
        let none = VariableValidation::default();
        assert!(check_value(&var("integer", none.clone()), "1.5").is_err());
        assert!(check_value(&var("integer", none.clone()), "-3").is_ok());
        assert!(check_value(&var("boolean", none.clone()), "yes").is_err());
        assert!(check_value(&var("boolean", none.clone()), "false").is_ok());
        assert!(check_value(&var("object", none.clone()), "[1]").is_err());
        assert!(check_value(&var("array", none.clone()), "[1]").is_ok());
        assert!(check_value(&var("custom", none), "anything").is_ok());
    }
}
