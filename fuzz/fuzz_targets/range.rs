//! The `Range` header of a blob GET (`requested_range`, then
//! `ByteRange::resolve` against the blob's size) and the `Content-Range`
//! header of an upload PATCH (`chunk_range`). No panic, and no arithmetic
//! overflow in what the handlers compute from them; a served range lies
//! inside the blob and is never empty; the `Content-Range` the server
//! prints for it reads back as the same range; a range a client prints
//! (`bytes=a-b`, `bytes=a-`, `bytes=-n`) reads as itself.
#![no_main]

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use server::{
    http::oci::{chunk_range, requested_range},
    storage::ByteRange,
};

fn headers(name: HeaderName, value: &[u8]) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_bytes(value).ok()?);
    Some(headers)
}

fn header_text(name: HeaderName, text: &str) -> HeaderMap {
    headers(name, text.as_bytes()).expect("ASCII")
}

/// What `get_blob` serves for `range` of a blob of `size` bytes, with the
/// `Content-Range` it prints, checked.
fn serve(range: ByteRange, size: u64) {
    let Some((offset, length)) = range.resolve(size) else { return };
    assert!(length >= 1, "{range:?} of {size}: empty");
    let end = offset.checked_add(length).expect("offset + length overflows");
    assert!(end <= size, "{range:?} of {size}: {offset}+{length}");
    let content_range = format!("bytes {offset}-{}/{size}", end - 1);
    let read = chunk_range(&header_text(header::CONTENT_RANGE, &content_range));
    assert_eq!(read.ok().flatten(), Some((offset, length)), "{content_range}");
}

/// A chunk's `Content-Range` as the start and length `patch_upload` uses;
/// the chunk ends inside `u64`.
fn chunk(headers: &HeaderMap) -> Option<(u64, u64)> {
    let (start, length) = chunk_range(headers).ok()??;
    assert!(length >= 1);
    assert!(start.checked_add(length - 1).is_some(), "{start} + {length}");
    Some((start, length))
}

/// A number of the input: decimal digits, saturating at `u64::MAX`.
fn number(text: Option<&str>) -> u64 {
    let digits: String = text.unwrap_or("").chars().take_while(char::is_ascii_digit).take(40).collect();
    digits.parse::<u128>().map_or(0, |n| u64::try_from(n).unwrap_or(u64::MAX))
}

// Input lines: a `Range` value, a `Content-Range` value, then
// `<blob size> <first> <last>`.
fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&byte| byte == b'\n');
    let (range, content_range) = (lines.next().unwrap_or(b""), lines.next().unwrap_or(b""));
    let numbers = lines.next().and_then(|line| std::str::from_utf8(line).ok()).unwrap_or("");
    let mut numbers = numbers.split(' ');
    let (blob_size, a, b) = (number(numbers.next()), number(numbers.next()), number(numbers.next()));

    if let Some(headers) = headers(header::RANGE, range) {
        if let Some(range) = requested_range(&headers) {
            serve(range, blob_size);
        }
    }
    if let Some(headers) = headers(header::CONTENT_RANGE, content_range) {
        chunk(&headers);
    }

    let (first, last) = (a.min(b), a.max(b));
    let read = |text: String| requested_range(&header_text(header::RANGE, &text));
    assert_eq!(read(format!("bytes={first}-{last}")), ByteRange::inclusive(first, last));
    assert_eq!(read(format!("bytes={first}-")), Some(ByteRange::starting_at(first)));
    assert_eq!(read(format!("bytes=-{last}")), Some(ByteRange::suffix(last)));
    for range in
        [ByteRange::inclusive(first, last).unwrap(), ByteRange::starting_at(first), ByteRange::suffix(last)]
    {
        serve(range, blob_size);
    }
    let content_range = format!("bytes {first}-{last}/*");
    let length = (last - first).checked_add(1);
    assert_eq!(
        chunk(&header_text(header::CONTENT_RANGE, &content_range)),
        length.map(|length| (first, length))
    );
});
