//! `challenge`: the `WWW-Authenticate: Bearer` value sending a client to
//! the token endpoint, built from a realm, a service, scopes and an error.
//! No panic; the value is always a valid header value; read back with an
//! RFC 9110 §11.2 auth-param reader (below), each parameter is the text
//! given minus what a header cannot hold, and the `scope` parameter parses
//! (`parse_scopes`) to the scopes given.
#![no_main]

use axum::http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use server::auth::scope::{challenge, parse_scope_params, parse_scopes};

/// What `challenge` keeps of a value: printable ASCII.
fn printable(text: &str) -> String {
    text.chars().filter(|c| matches!(c, ' '..='~')).collect()
}

/// `Bearer name="value",name="value"`: the auth-params of a Bearer
/// challenge, quoted-strings unescaped. `None` if it is not that shape.
fn read_challenge(value: &str) -> Option<Vec<(String, String)>> {
    let mut rest = value.strip_prefix("Bearer ")?;
    let mut parameters = Vec::new();
    loop {
        let (name, after) = rest.split_once("=\"")?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let mut text = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => text.push(chars.next()?.1),
                (at, '"') => break at,
                (_, c) => text.push(c),
            }
        };
        parameters.push((name.to_owned(), text));
        rest = &after[end + 1..];
        if rest.is_empty() {
            return Some(parameters);
        }
        rest = rest.strip_prefix(',')?;
    }
}

// Input lines: the realm, the service, the error (`-` for none), then
// scope parameters (`repository:samples/hello:pull,push`).
fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let mut lines = input.split('\n');
    let (Some(realm), Some(service), Some(error)) = (lines.next(), lines.next(), lines.next()) else {
        return;
    };
    let error = (error != "-").then_some(error);
    let scopes = parse_scope_params(lines);

    let value = challenge(realm, service, &scopes, error);
    assert!(HeaderValue::from_str(&value).is_ok(), "not a header value: {value:?}");
    let parameters = read_challenge(&value).unwrap_or_else(|| panic!("unreadable challenge {value:?}"));

    let mut expected =
        vec![("realm".to_owned(), printable(realm)), ("service".to_owned(), printable(service))];
    if !scopes.is_empty() {
        let named: Vec<String> = scopes.iter().map(ToString::to_string).collect();
        expected.push(("scope".to_owned(), named.join(" ")));
    }
    if let Some(error) = error {
        expected.push(("error".to_owned(), printable(error)));
    }
    assert_eq!(parameters, expected, "{value:?}");
    if let Some((_, scope)) = parameters.iter().find(|(name, _)| name == "scope") {
        assert_eq!(parse_scopes(scope), scopes, "{value:?}");
    }
});
