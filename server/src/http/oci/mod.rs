//! The registry data plane: every `/v2/` request is parsed into a typed
//! endpoint and its operation, authenticated and authorised by the
//! `access::Authorized` extractor, and only then handed to
//! `service::registry`. Errors become OCI error bodies in one place
//! (`error`).

pub mod access;
pub mod error;
pub mod route;

use axum::{
    body::Body,
    extract::{Request, State},
    http::HeaderName,
    http::{header, request, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use futures::TryStreamExt;
use serde::Deserialize;

use crate::{
    domain::{Digest, Reference, RepositoryName},
    policy::{Decision, Operation, RepositoryOperation},
    service::{
        access::Caller,
        registry::{BlobServing, UploadStart},
    },
    storage::{ByteRange, ByteStream, UploadId},
    AppState,
};

use self::{access::Authorized, error::OciError, route::Endpoint};

/// The most tags or repositories one list answer holds.
pub const MAX_PAGE: u32 = 1000;

// As `HeaderName`s: a `&str` name is parsed again each time it is used.
const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2", any(handle))
        .route("/v2/", any(handle))
        .route("/v2/{*rest}", any(handle))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            API_VERSION,
            HeaderValue::from_static("registry/2.0"),
        ))
}

/// Every `/v2/` request, once [`Authorized`].
async fn handle(
    State(state): State<AppState>,
    Authorized { endpoint, caller }: Authorized,
    request: Request,
) -> Result<Response, OciError> {
    let state = &state;
    let (request::Parts { method, uri, headers, .. }, body) = request.into_parts();
    let query: Query = serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    match endpoint {
        Endpoint::Base => Ok((StatusCode::OK, axum::Json(serde_json::json!({}))).into_response()),
        Endpoint::Catalog => catalog(state, &caller, &query).await,
        Endpoint::Manifest(name, reference) => match method {
            Method::GET | Method::HEAD => get_manifest(state, &name, &reference).await,
            Method::PUT => put_manifest(state, &name, &reference, &headers, body).await,
            _ => delete_manifest(state, &name, &reference).await,
        },
        Endpoint::Blob(name, digest) => match method {
            Method::GET => get_blob(state, &name, &digest, &headers).await,
            Method::HEAD => head_blob(state, &name, &digest).await,
            _ => {
                state.registry.delete_blob(&name, &digest).await?;
                Ok(StatusCode::ACCEPTED.into_response())
            }
        },
        Endpoint::Uploads(name) => start_upload(state, &caller, &name, &query, body).await,
        Endpoint::Upload(name, upload) => match method {
            Method::GET => {
                let size = state.registry.upload_size(&name, upload).await?;
                Ok(upload_progress(StatusCode::NO_CONTENT, &name, upload, size))
            }
            Method::PATCH => patch_upload(state, &name, upload, &headers, body).await,
            Method::PUT => finish_upload(state, &name, upload, &query, &headers, body).await,
            _ => {
                state.registry.cancel_upload(&name, upload).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
        },
        Endpoint::Tags(name) => tags(state, &name, &query).await,
        Endpoint::Referrers(name, digest) => referrers(state, &name, &digest, &query).await,
    }
}

/// Query parameters used anywhere under `/v2/`.
#[derive(Debug, Default, Deserialize)]
struct Query {
    digest: Option<String>,
    mount: Option<String>,
    from: Option<String>,
    n: Option<String>,
    last: Option<String>,
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
}

impl Query {
    fn digest(&self) -> Result<Option<Digest>, OciError> {
        self.digest
            .as_deref()
            .map(|d| d.parse().map_err(|e| OciError::DigestInvalid(format!("{e}"))))
            .transpose()
    }

    /// `n`: how many entries a page holds, at most [`MAX_PAGE`] (absent:
    /// [`MAX_PAGE`]). A longer list continues through the `Link` header, as
    /// the distribution spec allows a registry to answer fewer than `n`.
    fn page_size(&self) -> Result<u32, OciError> {
        let asked = self
            .n
            .as_deref()
            .map(|n| n.parse::<u32>().map_err(|_| OciError::Unsupported(format!("n={n:?} is not a count"))))
            .transpose()?;
        Ok(asked.unwrap_or(MAX_PAGE).min(MAX_PAGE))
    }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("URL paths, digests and numbers are ASCII")
}

/// A digest as an entity tag: the digest in double quotes (assembled, not
/// `format!`ted: this is on every manifest GET and blob HEAD).
fn etag(digest: &str) -> HeaderValue {
    let quoted = [b"\"", digest.as_bytes(), b"\""].concat();
    HeaderValue::from_bytes(&quoted).expect("digests are ASCII")
}

/// How long a failed upload's handler keeps reading what the client still
/// sends before it answers ([`UploadBody::discard_rest`]).
const DISCARD_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// An upload's request body: the service reads it as a stream, and when
/// the request fails before the body's end (a full disk, a lock, a chunk
/// out of order) the handler reads and drops the rest before it answers.
/// hyper closes a connection whose request body was not read to its end,
/// and a client still writing then meets a broken pipe or a reset, often
/// before it reads the answer: a push to a full disk said "broken pipe"
/// instead of 507. (Go's server lingers instead; hyper has no such
/// option.)
#[derive(Clone)]
struct UploadBody(std::sync::Arc<tokio::sync::Mutex<axum::body::BodyDataStream>>);

impl UploadBody {
    fn new(body: Body) -> Self {
        Self(std::sync::Arc::new(tokio::sync::Mutex::new(body.into_data_stream())))
    }

    /// The body for the service, chunk by chunk as it arrives.
    fn stream(&self) -> ByteStream {
        Box::pin(futures::stream::unfold(self.0.clone(), |body| async move {
            let next = body.lock().await.try_next().await;
            match next {
                Ok(Some(chunk)) => Some((Ok(chunk), body)),
                Ok(None) => None,
                Err(error) => Some((Err(std::io::Error::other(error)), body)),
            }
        }))
    }

    /// Reads and drops whatever the client still sends, for at most
    /// [`DISCARD_FOR`] (a client that stalls or crawls is cut off sooner
    /// by `http::body_timeout`), so that it reads the answer.
    async fn discard_rest(&self) {
        let drain = async {
            let mut body = self.0.lock().await;
            while let Ok(Some(_)) = body.try_next().await {}
        };
        let _ = tokio::time::timeout(DISCARD_FOR, drain).await;
    }

    /// Runs `handle` with this body and, if it fails, discards the rest of
    /// the body before the error is answered.
    async fn answer<T, F>(self, handle: F) -> Result<T, OciError>
    where
        F: std::future::Future<Output = Result<T, OciError>>,
    {
        let answer = handle.await;
        if answer.is_err() {
            self.discard_rest().await;
        }
        answer
    }
}

async fn get_manifest(
    state: &AppState,
    name: &RepositoryName,
    reference: &Reference,
) -> Result<Response, OciError> {
    let manifest = state.registry.manifest(name, reference).await?;
    let mut response = Response::new(Body::from(manifest.content));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&manifest.media_type));
    headers.insert(CONTENT_DIGEST, header_value(&manifest.digest));
    headers.insert(header::ETAG, etag(&manifest.digest));
    Ok(response)
}

async fn put_manifest(
    state: &AppState,
    name: &RepositoryName,
    reference: &Reference,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let limit = state.registry.max_manifest_bytes();
    let content = axum::body::to_bytes(body, limit + 1)
        .await
        .map_err(|_| OciError::ManifestTooLarge { limit: limit as u64 })?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let outcome = state.registry.put_manifest(name, reference, content_type, &content).await?;
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, header_value(&format!("/v2/{name}/manifests/{}", outcome.digest)));
    headers.insert(CONTENT_DIGEST, header_value(outcome.digest.as_str()));
    if let Some(subject) = outcome.subject {
        headers.insert("oci-subject", header_value(subject.as_str()));
    }
    Ok(response)
}

async fn delete_manifest(
    state: &AppState,
    name: &RepositoryName,
    reference: &Reference,
) -> Result<Response, OciError> {
    state.registry.delete_manifest(name, reference).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

fn blob_headers(response: &mut Response, digest: &Digest, length: u64) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_DIGEST, header_value(digest.as_str()));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::ETAG, etag(digest.as_str()));
}

async fn head_blob(state: &AppState, name: &RepositoryName, digest: &Digest) -> Result<Response, OciError> {
    let size = state.registry.blob_size(name, digest).await?;
    let mut response = Response::new(Body::empty());
    blob_headers(&mut response, digest, size);
    Ok(response)
}

/// The part of a blob a GET asks for (RFC 9110 §14.2), parsed by
/// `http-range-header`. Only one range is served: a request for several
/// ranges, or a `Range` that is not valid `bytes=` syntax, is ignored and
/// the whole blob is answered 200, as §14.2 allows ("a server MAY ignore the
/// Range header field"); every client then gets either the part it asked for
/// or bytes it can read without parsing `multipart/byteranges`. Whether the
/// one range is satisfiable is decided against the stored size
/// (`ByteRange::resolve`): 416 with `Content-Range: bytes */<size>` if not.
/// Public for the fuzz targets (`fuzz/`), not for other modules.
pub fn requested_range(headers: &HeaderMap) -> Option<ByteRange> {
    use http_range_header::{EndPosition, RangeUnsatisfiableError, StartPosition};
    let value = headers.get(header::RANGE)?.to_str().ok()?;
    let ranges = match http_range_header::parse_range_header(value) {
        Ok(parsed) => parsed.ranges,
        // `bytes=-0` is well-formed but selects nothing (§14.1.1), which the
        // crate reports as a syntax error.
        Err(RangeUnsatisfiableError::ZeroSuffix) if !value.contains(',') => {
            return Some(ByteRange::suffix(0))
        }
        Err(_) => return None,
    };
    let [range] = ranges.as_slice() else { return None };
    match (range.start, range.end) {
        (StartPosition::FromLast(length), _) => Some(ByteRange::suffix(length)),
        (StartPosition::Index(first), EndPosition::LastByte) => Some(ByteRange::starting_at(first)),
        (StartPosition::Index(first), EndPosition::Index(last)) => ByteRange::inclusive(first, last),
    }
}

async fn get_blob(
    state: &AppState,
    name: &RepositoryName,
    digest: &Digest,
    headers: &HeaderMap,
) -> Result<Response, OciError> {
    let range = requested_range(headers);
    let read = match state.registry.serve_blob(name, digest, range).await? {
        BlobServing::Stream(read) => read,
        // 307, as Distribution answers: the client repeats the GET (with
        // its `Range`) at the presigned URL.
        BlobServing::Redirect(url) => {
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            response.headers_mut().insert(header::LOCATION, header_value(&url));
            response.headers_mut().insert(CONTENT_DIGEST, header_value(digest.as_str()));
            return Ok(response);
        }
    };
    let (offset, length, blob_size) = (read.offset, read.length, read.blob_size);
    let mut response = Response::new(Body::from_stream(read.body));
    blob_headers(&mut response, digest, length);
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let content_range = format!("bytes {offset}-{}/{blob_size}", offset + length - 1);
        response.headers_mut().insert(header::CONTENT_RANGE, header_value(&content_range));
    }
    Ok(response)
}

fn blob_created(name: &RepositoryName, digest: &Digest) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, header_value(&format!("/v2/{name}/blobs/{digest}")));
    headers.insert(CONTENT_DIGEST, header_value(digest.as_str()));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    response
}

/// 202/204 with where the upload continues and what it holds.
fn upload_progress(status: StatusCode, name: &RepositoryName, upload: UploadId, size: u64) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, header_value(&format!("/v2/{name}/blobs/uploads/{upload}")));
    // `Range: 0-<last byte>`; an empty upload reports `0-0` as registries do.
    headers.insert(header::RANGE, header_value(&format!("0-{}", size.saturating_sub(1))));
    headers.insert(UPLOAD_UUID, header_value(&upload.to_string()));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    response
}

async fn start_upload(
    state: &AppState,
    caller: &Caller,
    name: &RepositoryName,
    query: &Query,
    body: Body,
) -> Result<Response, OciError> {
    if query.digest.is_some() {
        let body = UploadBody::new(body);
        return body
            .clone()
            .answer(async {
                let digest = query.digest()?.expect("the parameter is there");
                state.registry.put_blob(name, &digest, body.stream()).await?;
                Ok(blob_created(name, &digest))
            })
            .await;
    }
    // A mount needs read on the source; without it (or with a bad source)
    // the client gets an ordinary upload session, as the spec asks.
    let mount = match (query.mount.as_deref(), query.from.as_deref()) {
        (Some(digest), Some(from)) => match (digest.parse::<Digest>(), from.parse::<RepositoryName>()) {
            (Ok(digest), Ok(from))
                if caller.decide(Operation::Repository(&from, RepositoryOperation::Pull))
                    == Decision::Allow =>
            {
                Some((digest, from))
            }
            _ => None,
        },
        _ => None,
    };
    match state.registry.start_upload(name, mount.as_ref().map(|(d, f)| (d, f))).await? {
        UploadStart::Mounted => Ok(blob_created(name, &mount.expect("mounted only when asked").0)),
        UploadStart::Session(upload) => Ok(upload_progress(StatusCode::ACCEPTED, name, upload, 0)),
    }
}

/// `Content-Range: <first>-<last>` of a chunk (with or without `bytes `),
/// as the chunk's start and length. `0-18446744073709551615` is refused:
/// its length does not fit in a `u64` (found by `fuzz/`'s `range` target).
/// Public for the fuzz targets (`fuzz/`), not for other modules.
pub fn chunk_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, OciError> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else { return Ok(None) };
    let invalid = || OciError::RangeNotSatisfiable { upload_size: 0 };
    let text = value.to_str().map_err(|_| invalid())?;
    let text = text.strip_prefix("bytes ").unwrap_or(text);
    let text = text.split('/').next().unwrap_or(text);
    let (first, last) = text.split_once('-').ok_or_else(invalid)?;
    let first: u64 = first.trim().parse().map_err(|_| invalid())?;
    let last: u64 = last.trim().parse().map_err(|_| invalid())?;
    let length = last.checked_sub(first).and_then(|span| span.checked_add(1)).ok_or_else(invalid)?;
    Ok(Some((first, length)))
}

async fn patch_upload(
    state: &AppState,
    name: &RepositoryName,
    upload: UploadId,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let body = UploadBody::new(body);
    body.clone()
        .answer(async {
            let range = match chunk_range(headers) {
                Ok(range) => range,
                Err(_) => {
                    let size = state.registry.upload_size(name, upload).await?;
                    return Err(OciError::RangeNotSatisfiable { upload_size: size });
                }
            };
            let (start, expected_len) = match range {
                Some((start, length)) => (Some(start), Some(length)),
                None => (None, None),
            };
            let size = state.registry.append_upload(name, upload, start, expected_len, body.stream()).await?;
            Ok(upload_progress(StatusCode::ACCEPTED, name, upload, size))
        })
        .await
}

async fn finish_upload(
    state: &AppState,
    name: &RepositoryName,
    upload: UploadId,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let has_body = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map_or(headers.contains_key(header::TRANSFER_ENCODING), |len| len != "0");
    let body = UploadBody::new(body);
    body.clone()
        .answer(async {
            let digest = query
                .digest()?
                .ok_or_else(|| OciError::DigestInvalid("the digest query parameter is required".into()))?;
            let last_chunk = has_body.then(|| body.stream());
            state.registry.finish_upload(name, upload, &digest, last_chunk).await?;
            Ok(blob_created(name, &digest))
        })
        .await
}

/// A `Link` header to the next page, as the distribution spec describes.
fn next_link(path: &str, n: u32, last: &str) -> HeaderValue {
    let last: String = form_urlencoded::byte_serialize(last.as_bytes()).collect();
    header_value(&format!("<{path}?n={n}&last={last}>; rel=\"next\""))
}

/// One page of a list, and the `Link` to the next one when there is more.
fn page_of<Entry: AsRef<str>>(
    mut entries: Vec<Entry>,
    n: u32,
    path: &str,
) -> (Vec<Entry>, Option<HeaderValue>) {
    let more = entries.len() > n as usize;
    entries.truncate(n as usize);
    let link = match (more, entries.last()) {
        (true, Some(last)) => Some(next_link(path, n, last.as_ref())),
        _ => None,
    };
    (entries, link)
}

fn with_link(mut response: Response, link: Option<HeaderValue>) -> Response {
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn tags(state: &AppState, name: &RepositoryName, query: &Query) -> Result<Response, OciError> {
    let n = query.page_size()?;
    let tags = state.registry.tags(name, query.last.as_deref(), n + 1).await?;
    let (tags, link) = page_of(tags, n, &format!("/v2/{name}/tags/list"));
    let response = axum::Json(serde_json::json!({ "name": name.as_str(), "tags": tags })).into_response();
    Ok(with_link(response, link))
}

async fn catalog(state: &AppState, caller: &Caller, query: &Query) -> Result<Response, OciError> {
    let n = query.page_size()?;
    let names = state.registry.catalog(query.last.as_deref(), n + 1, |name| caller.may_list(name)).await?;
    let (names, link) = page_of(names, n, "/v2/_catalog");
    Ok(with_link(axum::Json(serde_json::json!({ "repositories": names })).into_response(), link))
}

async fn referrers(
    state: &AppState,
    name: &RepositoryName,
    subject: &Digest,
    query: &Query,
) -> Result<Response, OciError> {
    let artifact_type = query.artifact_type.as_deref().filter(|t| !t.is_empty());
    let index = state.registry.referrers(name, subject, artifact_type).await?;
    let mut response = Response::new(Body::from(index));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.oci.image.index.v1+json"));
    if artifact_type.is_some() {
        headers.insert("oci-filters-applied", HeaderValue::from_static("artifactType"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_range(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn an_etag_is_the_digest_in_double_quotes() {
        let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(etag(digest), format!("\"{digest}\"").as_str());
    }

    #[test]
    fn chunk_ranges_read_as_start_and_length() {
        let read = |value: &str| chunk_range(&content_range(value)).ok().flatten();
        assert_eq!(read("0-1023"), Some((0, 1024)));
        assert_eq!(read("bytes 1024-2047/*"), Some((1024, 1024)));
        assert_eq!(read("5-5"), Some((5, 1)));
        assert_eq!(read("18446744073709551615-18446744073709551615"), Some((u64::MAX, 1)));
        assert_eq!(read("10-5"), None);
        assert_eq!(read("-5"), None);
        assert!(chunk_range(&HeaderMap::new()).unwrap().is_none());
    }

    /// Found by `fuzz/`'s `range` target: the length of this range is
    /// 2^64, and computing it overflowed (a panic in debug builds, a
    /// length of 0 in release builds).
    #[test]
    fn a_chunk_range_longer_than_u64_is_refused() {
        let headers = content_range("bytes 0-18446744073709551615/*");
        assert!(matches!(chunk_range(&headers), Err(OciError::RangeNotSatisfiable { .. })));
    }
}
