//! `--query`: JMESPath (https://jmespath.org/specification.html) applied to
//! the answer before it is printed, as `az --query` does. Pure: no I/O.

use serde_json::Value;

/// Checks the syntax when the command line is parsed, so a typo is a usage
/// error before any request is sent.
pub fn check(expression: &str) -> Result<String, String> {
    jmespath::compile(expression).map(|_| expression.to_owned()).map_err(|error| error.to_string())
}

/// The value `expression` selects from `value` (`null` when nothing matches).
pub fn apply(expression: &str, value: &Value) -> Result<Value, String> {
    let compiled = jmespath::compile(expression).map_err(|error| error.to_string())?;
    let found = compiled.search(value).map_err(|error| error.to_string())?;
    serde_json::to_value(&*found).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn credentials() -> Value {
        json!({
            "username": "MyToken",
            "passwords": [
                {"name": "password1", "value": "pct_one", "creationTime": "2026-11-23T16:30:00Z", "expiry": null},
                {"name": "password2", "value": "pct_two", "creationTime": "2026-11-23T16:30:00Z", "expiry": "2026-12-23T16:30:00Z"}
            ]
        })
    }

    #[test]
    fn field_index_and_chain() {
        assert_eq!(apply("passwords[0].value", &credentials()).unwrap(), json!("pct_one"));
        assert_eq!(apply("passwords[1].expiry", &credentials()).unwrap(), json!("2026-12-23T16:30:00Z"));
        assert_eq!(apply("username", &credentials()).unwrap(), json!("MyToken"));
        assert_eq!(apply("passwords[-1].name", &credentials()).unwrap(), json!("password2"));
    }

    #[test]
    fn projections_filters_and_multiselect() {
        assert_eq!(apply("passwords[*].name", &credentials()).unwrap(), json!(["password1", "password2"]));
        assert_eq!(apply("passwords[?expiry==null].value", &credentials()).unwrap(), json!(["pct_one"]));
        assert_eq!(
            apply("passwords[].{n: name, e: expiry}", &credentials()).unwrap(),
            json!([{"n": "password1", "e": null}, {"n": "password2", "e": "2026-12-23T16:30:00Z"}])
        );
        assert_eq!(apply("length(passwords)", &credentials()).unwrap(), json!(2));
        let tags = json!([{"name": "v1"}, {"name": "v2"}]);
        assert_eq!(apply("[*].name", &tags).unwrap(), json!(["v1", "v2"]));
    }

    #[test]
    fn nothing_matching_is_null() {
        assert_eq!(apply("missing.field", &credentials()).unwrap(), Value::Null);
        assert_eq!(apply("passwords[5].value", &credentials()).unwrap(), Value::Null);
    }

    #[test]
    fn syntax_errors_are_caught_early() {
        assert!(check("passwords[0].value").is_ok());
        assert!(check("passwords[0").is_err());
        assert!(check("a..b").is_err());
    }
}
