//! `Credentials::of`: the `Authorization` header (Basic and Bearer) every
//! surface reads. No panic on any header value; credentials read from a
//! header, written back the way a client writes them, read the same; and
//! any user name without `:` and any password survive Basic encoding.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use server::http::caller::Credentials;

#[derive(Debug, PartialEq)]
enum Read {
    None,
    Basic(String, String),
    Bearer(String),
}

fn read(value: &HeaderValue) -> Read {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    match Credentials::of(&headers) {
        Credentials::None => Read::None,
        Credentials::Basic { username, password } => Read::Basic(username, password),
        Credentials::Bearer(token) => Read::Bearer(token),
    }
}

fn basic(username: &str, password: &str) -> HeaderValue {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
}

fn written_back(credentials: &Read) -> Option<HeaderValue> {
    match credentials {
        Read::None => None,
        Read::Basic(username, password) => Some(basic(username, password)),
        Read::Bearer(token) => Some(HeaderValue::from_str(&format!("Bearer {token}")).unwrap()),
    }
}

// Input: `U` then `<user name>\n<password>`; any other first byte, then
// a header value.
fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode != b'U' {
        // Any header value a client can send.
        let Ok(value) = HeaderValue::from_bytes(rest) else { return };
        let credentials = read(&value);
        if let Some(again) = written_back(&credentials) {
            assert_eq!(read(&again), credentials, "{value:?}");
        }
        if let Read::Basic(username, _) = &credentials {
            assert!(!username.contains(':'));
        }
    } else {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        let (username, password) = text.split_once('\n').unwrap_or((text, ""));
        if username.contains(':') {
            return;
        }
        let expected = Read::Basic(username.to_owned(), password.to_owned());
        assert_eq!(read(&basic(username, password)), expected);
    }
});
