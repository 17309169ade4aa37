//! Workload identity federation (issue 11, "Federated credentials on a
//! service principal"): the administration of federated credentials and
//! the exchange of an external OpenID Connect ID token for the service
//! principal's registry refresh token (`POST /oauth2/exchange`).
//!
//! JWS verification is `jsonwebtoken`'s; this module chooses the key (from
//! the credential's inline JWKS or the issuer's published one, cached),
//! refuses what must never verify (`alg: none`, HMAC with a public key,
//! keys that are not public signature keys) and checks the claims against
//! the injected clock and the stored credentials. Calls `db::federation`,
//! `db::identities`, the audit log and, for published keys, the issuer over
//! HTTPS; it never issues tokens (the HTTP layer signs the refresh token
//! for the [`Exchanged`] it returns).
//!
//! **Subject patterns.** A credential's subject is compared with the
//! token's `sub` claim over the whole string, case-sensitively; `*` matches
//! any run of characters (none included, `/` and `:` included) and every
//! other character matches only itself. There is no escape: a credential
//! cannot require a literal `*`. A subject of nothing but `*` is refused
//! (it would trust every workload of a shared issuer).
//!
//! **Published keys.** Without an inline JWKS, the keys come from
//! `{issuer}/.well-known/openid-configuration` → `jwks_uri` (the document's
//! `issuer` must equal the credential's). They are cached per issuer (only
//! issuers some credential trusts) and fetched again when a token names a
//! `kid` the cache lacks or the cache is older than [`MAX_KEY_AGE`], but at
//! most once per [`MIN_FETCH_INTERVAL`] per issuer, one fetch at a time, so
//! tokens with invented `kid`s cannot make the server fetch on every
//! request. A failed fetch keeps the keys already held.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::Utc;
use jsonwebtoken::{
    errors::ErrorKind,
    jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse},
    Algorithm, DecodingKey, Validation,
};
use portcullis_proto::{FederatedCredential, NewFederatedCredential};
use serde::Deserialize;

use super::{
    access::Clock,
    audit::{AuditLog, Caller, Outcome},
    tokens::{ManageError, ManageResult},
};
use crate::{
    auth::{
        throttle::{AttemptKey, LoginThrottle},
        token::{CredentialRef, Subject},
    },
    db::{
        federation::{self as rows, FederatedCredentialRow},
        identities, Database, DbError,
    },
};

/// How long a refresh token from an exchange lasts (the cloud registry's
/// default is three hours too); deleting the credential ends it sooner.
pub const FEDERATED_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(3 * 60 * 60);

/// Clock skew tolerated on the ID token's `exp` and `nbf`.
pub const ID_TOKEN_LEEWAY_SECONDS: i64 = 60;

/// Cached published keys are fetched again on use after this long.
pub const MAX_KEY_AGE: Duration = Duration::from_secs(60 * 60);

/// At most one fetch of an issuer's keys per this interval, whatever the
/// tokens say.
pub const MIN_FETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Anything longer is refused before any decoding.
const MAX_ID_TOKEN_LENGTH: usize = 16 * 1024;

/// The longest issuer, audience or subject stored.
const MAX_FIELD_LENGTH: usize = 512;

/// The most keys an inline JWKS may hold.
const MAX_INLINE_KEYS: usize = 20;

/// The algorithms an ID token may be signed with: public-key signatures
/// only. HMAC (`HS*`) would let anyone holding the issuer's public key sign.
const ACCEPTED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

const ACCEPTED_NAMES: &str = "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384";

// ---------------------------------------------------------------- subjects

/// A credential's subject: exact, or a pattern with `*` (see the module
/// documentation for the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPattern(String);

impl SubjectPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the subject is empty".into());
        }
        if text.len() > MAX_FIELD_LENGTH {
            return Err(format!("the subject is longer than {MAX_FIELD_LENGTH} bytes"));
        }
        if text.chars().any(char::is_control) {
            return Err("the subject holds control characters".into());
        }
        if text.chars().all(|c| c == '*') {
            return Err("a subject of only `*` would trust every workload of the issuer; name the subject (e.g. repo:acme/api:ref:refs/heads/*)".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// Whether `subject` matches: the parts between `*`s appear in order,
    /// the first at the start and the last at the end.
    pub fn matches(&self, subject: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = subject.strip_prefix(first) else { return false };
        let middle: Vec<&str> = parts.collect();
        let Some((last, middle)) = middle.split_last() else {
            // No `*` at all: exact.
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------- refusals

/// Why an ID token was refused: the exchange's answer and its audit entry.
/// Values quoted from a token are cut short and escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the ID token is not a well-formed JWT ({0})")]
    Malformed(&'static str),
    #[error("the ID token is unsigned (alg none); it must be signed with one of {ACCEPTED_NAMES}")]
    Unsigned,
    #[error("the ID token is signed with {0}, an HMAC algorithm; it must be signed with a public-key algorithm, one of {ACCEPTED_NAMES}")]
    Hmac(String),
    #[error("the ID token's algorithm {0} is not accepted; use one of {ACCEPTED_NAMES}")]
    UnsupportedAlgorithm(String),
    #[error("no federated credential trusts the issuer {0}")]
    WrongIssuer(String),
    #[error("the issuer {issuer} has no signing key {kid}")]
    UnknownKey { issuer: String, kid: String },
    #[error("the signing keys of the issuer {0} cannot be fetched now")]
    KeysUnavailable(String),
    #[error("the ID token's signature does not verify with the issuer's key")]
    BadSignature,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("no federated credential of the issuer {issuer} accepts the audience {audience}")]
    WrongAudience { issuer: String, audience: String },
    #[error(
        "no federated credential of the issuer {issuer} with that audience accepts the subject {subject}"
    )]
    WrongSubject { issuer: String, subject: String },
    #[error("the service principal of the federated credential is disabled")]
    Disabled,
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("too many failed exchanges: retry in {} s", .0.as_secs())]
    Throttled(Duration),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A value from a token, safe to quote: at most 100 characters, escaped.
fn quoted(value: &str) -> String {
    let kept: String = value.chars().take(100).collect();
    let cut = if kept.len() < value.len() { "…" } else { "" };
    format!("\"{}{cut}\"", kept.escape_debug())
}

// -------------------------------------------------------------------- keys

/// Fetches an issuer's published keys.
#[async_trait]
pub trait KeyFetcher: Send + Sync {
    /// The JWKS of `issuer`, or why not (for the log).
    async fn fetch(&self, issuer: &str) -> Result<JwkSet, String>;
}

/// OpenID Connect discovery over HTTPS (HTTP only for loopback issuers):
/// five seconds per request, no redirects, 64 KiB per document.
pub struct DiscoveryFetcher {
    client: reqwest::Client,
}

const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

impl DiscoveryFetcher {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with default TLS roots");
        Self { client }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        check_url(url)?;
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("{url} answered more than {MAX_DOCUMENT_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
    }
}

impl Default for DiscoveryFetcher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl KeyFetcher for DiscoveryFetcher {
    async fn fetch(&self, issuer: &str) -> Result<JwkSet, String> {
        #[derive(Deserialize)]
        struct Configuration {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let configuration: Configuration = self.get_json(&url).await?;
        if configuration.issuer != issuer {
            return Err(format!("{url} names the issuer {}", quoted(&configuration.issuer)));
        }
        self.get_json(&configuration.jwks_uri).await
    }
}

/// An issuer or key URL: `https://`, or `http://` on a loopback host; no
/// credentials, query or fragment.
pub fn check_url(text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{} is not a URL: {e}", quoted(text)))?;
    let Some(host) = url.host_str() else { return Err(format!("{} has no host", quoted(text))) };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(format!(
                "{} must be an https:// URL (http:// only on a loopback address)",
                quoted(text)
            ))
        }
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!("{} must not hold credentials, a query or a fragment", quoted(text)));
    }
    Ok(())
}

#[derive(Default)]
struct IssuerEntry {
    keys: Option<Arc<JwkSet>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// Published keys per issuer (see the module documentation).
pub struct IssuerKeys {
    fetcher: Arc<dyn KeyFetcher>,
    issuers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<IssuerEntry>>>>,
}

impl IssuerKeys {
    pub fn new(fetcher: Arc<dyn KeyFetcher>) -> Self {
        Self { fetcher, issuers: Mutex::new(HashMap::new()) }
    }

    /// The key of `issuer` that `kid` names (or its only key, without a
    /// `kid`), fetching the keys when they are missing, old, or lack `kid`
    /// (at most once per [`MIN_FETCH_INTERVAL`]).
    pub async fn key(&self, issuer: &str, kid: Option<&str>, now: Instant) -> Result<Jwk, Refusal> {
        let slot = self.issuers.lock().expect("issuer keys").entry(issuer.to_owned()).or_default().clone();
        // One fetch per issuer at a time: the others wait for its result.
        let mut entry = slot.lock().await;
        let fresh = entry.fetched_at.is_some_and(|at| now.saturating_duration_since(at) < MAX_KEY_AGE);
        if fresh {
            if let Some(key) = entry.keys.as_deref().and_then(|keys| pick(keys, kid)) {
                return Ok(key.clone());
            }
        }
        let may_fetch =
            entry.last_attempt.is_none_or(|at| now.saturating_duration_since(at) >= MIN_FETCH_INTERVAL);
        if may_fetch {
            entry.last_attempt = Some(now);
            match self.fetcher.fetch(issuer).await {
                Ok(keys) => {
                    entry.keys = Some(Arc::new(keys));
                    entry.fetched_at = Some(now);
                }
                Err(error) => {
                    tracing::warn!(issuer = %issuer.escape_debug(), %error, "cannot fetch an issuer's keys")
                }
            }
        }
        let Some(keys) = entry.keys.as_deref() else {
            return Err(Refusal::KeysUnavailable(quoted(issuer)));
        };
        pick(keys, kid).cloned().ok_or_else(|| Refusal::UnknownKey {
            issuer: quoted(issuer),
            kid: quoted(kid.unwrap_or("(none)")),
        })
    }
}

/// The key `kid` names; without a `kid`, the set's only key.
fn pick<'a>(keys: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => keys.find(kid),
        None => match keys.keys.as_slice() {
            [only] => Some(only),
            _ => None,
        },
    }
}

/// Why a JWK cannot verify ID tokens, if it cannot: only RSA and EC public
/// keys meant for signatures.
fn unusable_key(jwk: &Jwk) -> Option<&'static str> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Some("a key for encryption (use: enc)");
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_) => {}
        AlgorithmParameters::OctetKey(_) => return Some("a symmetric key (kty: oct)"),
        AlgorithmParameters::OctetKeyPair(_) => return Some("an OKP key (EdDSA is not accepted)"),
    }
    if let Some(algorithm) = jwk.common.key_algorithm {
        if matches!(algorithm, KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512) {
            return Some("a key for HMAC");
        }
    }
    DecodingKey::from_jwk(jwk).err().map(|_| "an invalid key")
}

/// An inline JWKS as given to the API: its keys, checked.
pub fn parse_inline_jwks(value: &serde_json::Value) -> Result<JwkSet, String> {
    let holds_private = value.get("keys").and_then(serde_json::Value::as_array).is_some_and(|keys| {
        keys.iter().any(|key| ["d", "p", "q", "k"].iter().any(|field| key.get(field).is_some()))
    });
    if holds_private {
        return Err(
            "the JWKS holds private or symmetric key material; give only the issuer's public keys".into()
        );
    }
    let set: JwkSet =
        serde_json::from_value(value.clone()).map_err(|e| format!("the JWKS is not a JWK set: {e}"))?;
    if set.keys.is_empty() || set.keys.len() > MAX_INLINE_KEYS {
        return Err(format!("the JWKS must hold 1 to {MAX_INLINE_KEYS} keys"));
    }
    for (index, key) in set.keys.iter().enumerate() {
        if let Some(why) = unusable_key(key) {
            return Err(format!("key {index} of the JWKS is {why}; give RSA or EC public signing keys"));
        }
    }
    if set.keys.len() > 1 && set.keys.iter().any(|key| key.common.key_id.is_none()) {
        return Err("with more than one key, every key of the JWKS needs a kid".into());
    }
    Ok(set)
}

// ------------------------------------------------------------ verification

/// The claims an exchange reads.
#[derive(Debug, Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|one| one == audience),
        }
    }

    fn first(&self) -> &str {
        match self {
            Audience::One(one) => one,
            Audience::Many(many) => many.first().map_or("", String::as_str),
        }
    }
}

/// The header's `alg` as written, read before `jsonwebtoken` parses the
/// header (whose algorithm type has no `none`), for a precise refusal.
fn stated_algorithm(token: &str) -> Result<String, Refusal> {
    let header = token.split('.').next().unwrap_or_default();
    let bytes =
        URL_SAFE_NO_PAD.decode(header).map_err(|_| Refusal::Malformed("the header is not base64url"))?;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| Refusal::Malformed("the header is not JSON"))?;
    header
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or(Refusal::Malformed("the header names no alg"))
}

/// The header's algorithm when it is one this registry accepts.
fn accepted_algorithm(token: &str) -> Result<(Algorithm, Option<String>), Refusal> {
    if token.len() > MAX_ID_TOKEN_LENGTH {
        return Err(Refusal::Malformed("longer than 16 KiB"));
    }
    if token.split('.').count() != 3 {
        return Err(Refusal::Malformed("not three dot-separated parts"));
    }
    let stated = stated_algorithm(token)?;
    if stated.eq_ignore_ascii_case("none") {
        return Err(Refusal::Unsigned);
    }
    if stated.to_ascii_uppercase().starts_with("HS") {
        return Err(Refusal::Hmac(quoted(&stated)));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| Refusal::UnsupportedAlgorithm(quoted(&stated)))?;
    if !ACCEPTED.contains(&header.alg) {
        return Err(Refusal::UnsupportedAlgorithm(quoted(&stated)));
    }
    Ok((header.alg, header.kid))
}

/// Checks the signature with `key` and the validity period at `now` (Unix
/// seconds); the claims on success.
fn verify_with(token: &str, algorithm: Algorithm, key: &Jwk, now: i64) -> Result<IdClaims, Refusal> {
    if unusable_key(key).is_some() {
        return Err(Refusal::BadSignature);
    }
    if let Some(stated) = key.common.key_algorithm {
        if format!("{stated:?}") != format!("{algorithm:?}") {
            return Err(Refusal::BadSignature);
        }
    }
    let decoding = DecodingKey::from_jwk(key).map_err(|_| Refusal::BadSignature)?;
    let mut validation = Validation::new(algorithm);
    // The period is checked below against the registry's clock; the
    // audience per credential.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = ["exp", "iss", "sub", "aud"].map(str::to_owned).into_iter().collect();
    let claims: IdClaims = jsonwebtoken::decode(token, &decoding, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => Refusal::BadSignature,
            ErrorKind::MissingRequiredClaim(_) => {
                Refusal::Malformed("a required claim (iss, sub, aud, exp) is missing")
            }
            _ => Refusal::Malformed("the claims cannot be read"),
        })?
        .claims;
    if now >= claims.exp.saturating_add(ID_TOKEN_LEEWAY_SECONDS) {
        return Err(Refusal::Expired);
    }
    if claims.nbf.is_some_and(|nbf| now.saturating_add(ID_TOKEN_LEEWAY_SECONDS) < nbf) {
        return Err(Refusal::NotYetValid);
    }
    Ok(claims)
}

// ----------------------------------------------------------------- service

/// A successful exchange: whom the refresh token is for and which
/// credential it names.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub subject: Subject,
    pub credential: CredentialRef,
}

pub struct FederationService {
    db: Database,
    audit: AuditLog,
    clock: Clock,
    keys: IssuerKeys,
    /// Failed exchanges per client address and presented token.
    throttle: LoginThrottle,
}

fn no_service_principal(name: &str) -> ManageError {
    ManageError::NotFound(format!("no service principal is named {name}"))
}

impl FederationService {
    pub fn new(db: Database, audit: AuditLog, clock: Clock, fetcher: Arc<dyn KeyFetcher>) -> Self {
        Self { db, audit, clock, keys: IssuerKeys::new(fetcher), throttle: LoginThrottle::default() }
    }

    // ----- administration -----

    pub async fn list(&self, service_principal: &str) -> ManageResult<Vec<FederatedCredential>> {
        let owner = identities::service_principal(&self.db, service_principal)
            .await?
            .ok_or_else(|| no_service_principal(service_principal))?;
        Ok(rows::credentials(&self.db, owner.id).await?.into_iter().map(view).collect())
    }

    pub async fn create(
        &self,
        actor: &Subject,
        service_principal: &str,
        request: NewFederatedCredential,
    ) -> ManageResult<FederatedCredential> {
        let name = request.name.trim();
        let valid_name = (1..=120).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_name {
            return Err(ManageError::Invalid(format!(
                "{} is not a valid credential name: use 1 to 120 letters, digits and . _ -",
                quoted(name)
            )));
        }
        let issuer = request.issuer.trim();
        if issuer.len() > MAX_FIELD_LENGTH {
            return Err(ManageError::Invalid(format!("the issuer is longer than {MAX_FIELD_LENGTH} bytes")));
        }
        check_url(issuer).map_err(|e| ManageError::Invalid(format!("issuer: {e}")))?;
        let audience = request.audience.trim();
        if audience.is_empty() || audience.len() > MAX_FIELD_LENGTH || audience.chars().any(char::is_control)
        {
            return Err(ManageError::Invalid(format!(
                "the audience must be 1 to {MAX_FIELD_LENGTH} bytes without control characters"
            )));
        }
        let subject = SubjectPattern::parse(&request.subject).map_err(ManageError::Invalid)?;
        let jwks = match &request.jwks {
            None => None,
            Some(value) => {
                let set = parse_inline_jwks(value).map_err(ManageError::Invalid)?;
                Some(serde_json::to_string(&set).expect("a JWK set serialises"))
            }
        };
        let mut tx = self.db.begin().await?;
        let owner = identities::find_service_principal(&mut tx, service_principal)
            .await?
            .ok_or_else(|| no_service_principal(service_principal))?;
        if rows::credential_named(&mut tx, owner.id, name).await? {
            return Err(ManageError::Conflict(format!(
                "service principal {} already has a federated credential {name}",
                owner.name
            )));
        }
        let new = rows::NewFederatedCredential {
            name,
            issuer,
            audience,
            subject: subject.as_str(),
            jwks: jwks.as_deref(),
            description: request.description.trim(),
        };
        let id = rows::insert_credential(&mut tx, owner.id, &new, Utc::now()).await?;
        tx.commit().await?;
        let detail = format!(
            "service principal {}: federated credential {name} (issuer {issuer}, audience {audience}, subject {})",
            owner.name,
            subject.as_str()
        );
        self.audit
            .record(
                Caller::Subject(actor),
                None,
                None,
                "sp.federated-credential.create",
                Outcome::Success,
                Some(detail),
            )
            .await;
        let row = rows::credential_by_id(&self.db, owner.id, id).await?.ok_or_else(|| {
            ManageError::NotFound(format!("federated credential {name} was deleted meanwhile"))
        })?;
        Ok(view(row))
    }

    /// Deletes a credential: the refresh tokens exchanged through it stop
    /// working at the next request.
    pub async fn delete(
        &self,
        actor: &Subject,
        service_principal: &str,
        credential: &str,
    ) -> ManageResult<()> {
        let mut tx = self.db.begin().await?;
        let owner = identities::find_service_principal(&mut tx, service_principal)
            .await?
            .ok_or_else(|| no_service_principal(service_principal))?;
        if !rows::delete_credential(&mut tx, owner.id, credential).await? {
            return Err(ManageError::NotFound(format!(
                "service principal {} has no federated credential {credential}",
                owner.name
            )));
        }
        tx.commit().await?;
        let detail = format!("service principal {}: federated credential {credential}", owner.name);
        self.audit
            .record(
                Caller::Subject(actor),
                None,
                None,
                "sp.federated-credential.delete",
                Outcome::Success,
                Some(detail),
            )
            .await;
        Ok(())
    }

    // ----- the exchange -----

    /// Exchanges an ID token from `client`: the service principal and
    /// credential it proves, or why not. Every outcome is audited; failures
    /// are throttled per client address and presented token (never per
    /// name: every pipeline shares the federated user name).
    pub async fn exchange(&self, id_token: &str, client: IpAddr) -> Result<Exchanged, ExchangeError> {
        let key = AttemptKey::presented("id-token", id_token, client);
        if let Err(wait) = self.throttle.check(&key, Instant::now()) {
            tracing::warn!(%client, "token exchange throttled");
            return Err(ExchangeError::Throttled(wait));
        }
        match self.verify(id_token).await? {
            Ok((owner, credential, claims)) => {
                self.throttle.record_success(&key);
                let subject = Subject::ServicePrincipal(owner);
                let detail = format!(
                    "federated credential {} (issuer {}, subject {})",
                    credential.name,
                    credential.issuer,
                    quoted(&claims.sub)
                );
                self.audit
                    .record(Caller::Subject(&subject), None, None, "exchange", Outcome::Success, Some(detail))
                    .await;
                let member = identities::Member::ServicePrincipal(credential.service_principal_id);
                if let Err(error) = identities::record_sign_in(&self.db, member, (self.clock)()).await {
                    tracing::warn!(%error, "could not record a sign-in date");
                }
                Ok(Exchanged { subject, credential: CredentialRef::Federated(credential.id) })
            }
            Err(refusal) => {
                self.throttle.record_failure(key, Instant::now());
                let claimed = unverified_subject(id_token);
                tracing::warn!(%client, %refusal, "token exchange refused");
                self.audit
                    .record(
                        Caller::Unauthenticated(&claimed),
                        None,
                        None,
                        "exchange",
                        Outcome::Failure,
                        Some(refusal.to_string()),
                    )
                    .await;
                Err(ExchangeError::Refused(refusal))
            }
        }
    }

    /// The owner's name, the credential and the claims, when a credential
    /// accepts the token.
    async fn verify(
        &self,
        token: &str,
    ) -> Result<Result<(String, FederatedCredentialRow, IdClaims), Refusal>, DbError> {
        let (algorithm, kid) = match accepted_algorithm(token) {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        #[derive(Deserialize)]
        struct Unverified {
            iss: Option<String>,
        }
        // Only to find the credentials that could apply; every claim is
        // read again from the verified token.
        let issuer = match jsonwebtoken::dangerous::insecure_decode::<Unverified>(token) {
            Ok(data) => data.claims.iss,
            Err(_) => return Ok(Err(Refusal::Malformed("the claims are not JSON"))),
        };
        let Some(issuer) = issuer else {
            return Ok(Err(Refusal::Malformed("the token names no issuer (iss)")));
        };
        let candidates = rows::credentials_of_issuer(&self.db, &issuer).await?;
        if candidates.is_empty() {
            return Ok(Err(Refusal::WrongIssuer(quoted(&issuer))));
        }
        let now = (self.clock)().timestamp();
        // Verified once per key source: the published keys, or each
        // distinct inline JWKS.
        let mut verified: Vec<(Option<&str>, Result<IdClaims, Refusal>)> = Vec::new();
        let mut first_refusal = None;
        let mut audience_matched = false;
        let mut disabled = false;
        for credential in &candidates {
            let source = credential.jwks.as_deref();
            if !verified.iter().any(|(seen, _)| *seen == source) {
                let key = match source {
                    None => self.keys.key(&issuer, kid.as_deref(), Instant::now()).await,
                    Some(text) => serde_json::from_str::<JwkSet>(text)
                        .ok()
                        .and_then(|set| pick(&set, kid.as_deref()).cloned())
                        .ok_or_else(|| Refusal::UnknownKey {
                            issuer: quoted(&issuer),
                            kid: quoted(kid.as_deref().unwrap_or("(none)")),
                        }),
                };
                let outcome = key.and_then(|key| verify_with(token, algorithm, &key, now));
                verified.push((source, outcome));
            }
            let (_, outcome) = verified.iter().find(|(seen, _)| *seen == source).expect("verified above");
            let claims = match outcome {
                Ok(claims) => claims,
                Err(refusal) => {
                    first_refusal.get_or_insert_with(|| refusal.clone());
                    continue;
                }
            };
            if claims.iss != credential.issuer || !claims.aud.contains(&credential.audience) {
                continue;
            }
            audience_matched = true;
            let pattern = SubjectPattern(credential.subject.clone());
            if !pattern.matches(&claims.sub) {
                continue;
            }
            let Some((owner, enabled)) = rows::owner(&self.db, credential.service_principal_id).await? else {
                continue;
            };
            if !enabled {
                // Another service principal may trust the same workload.
                disabled = true;
                continue;
            }
            let index = verified.iter().position(|(seen, _)| *seen == source).expect("verified above");
            let (_, outcome) = verified.swap_remove(index);
            let claims = outcome.expect("checked above");
            return Ok(Ok((owner, credential.clone(), claims)));
        }
        if disabled {
            return Ok(Err(Refusal::Disabled));
        }
        let claims = verified.iter().find_map(|(_, outcome)| outcome.as_ref().ok());
        Ok(Err(match (claims, first_refusal) {
            (None, Some(refusal)) => refusal,
            (None, None) => Refusal::BadSignature,
            (Some(claims), _) if !audience_matched => {
                Refusal::WrongAudience { issuer: quoted(&issuer), audience: quoted(claims.aud.first()) }
            }
            (Some(claims), _) => {
                Refusal::WrongSubject { issuer: quoted(&issuer), subject: quoted(&claims.sub) }
            }
        }))
    }
}

/// The `sub` a refused token claims, for the audit entry's caller (not
/// verified: it says what the token pretended to be).
fn unverified_subject(token: &str) -> String {
    #[derive(Deserialize)]
    struct Unverified {
        sub: Option<String>,
    }
    jsonwebtoken::dangerous::insecure_decode::<Unverified>(token)
        .ok()
        .and_then(|data| data.claims.sub)
        .unwrap_or_else(|| "(ID token)".to_owned())
}

fn view(row: FederatedCredentialRow) -> FederatedCredential {
    FederatedCredential {
        name: row.name,
        issuer: row.issuer,
        audience: row.audience,
        subject: row.subject,
        description: row.description,
        jwks: row.jwks.as_deref().and_then(|text| serde_json::from_str(text).ok()),
        created_at: row.created_at,
    }
}

#[cfg(test)]
mod tests {
    use std::{
        process::Command,
        sync::atomic::{AtomicUsize, Ordering},
    };

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{json, Value};

    use super::*;
    use crate::service::access::system_clock;

    #[test]
    fn subject_patterns_match_whole_subjects_with_star_as_any_run() {
        let cases: &[(&str, &str, bool)] = &[
            ("repo:acme/api:ref:refs/heads/main", "repo:acme/api:ref:refs/heads/main", true),
            ("repo:acme/api:ref:refs/heads/main", "repo:acme/api:ref:refs/heads/mainx", false),
            ("repo:acme/api:ref:refs/heads/main", "Repo:acme/api:ref:refs/heads/main", false),
            ("repo:acme/api:ref:refs/heads/*", "repo:acme/api:ref:refs/heads/main", true),
            ("repo:acme/api:ref:refs/heads/*", "repo:acme/api:ref:refs/heads/", true),
            ("repo:acme/api:ref:refs/heads/*", "repo:acme/api:ref:refs/heads/feature/x", true),
            ("repo:acme/api:ref:refs/heads/*", "repo:acme/api:ref:refs/tags/v1", false),
            ("repo:acme/api:ref:refs/heads/*", "repo:acme/api-x:ref:refs/heads/main", false),
            ("repo:acme/*:environment:prod", "repo:acme/api:environment:prod", true),
            ("repo:acme/*:environment:prod", "repo:acme/api:environment:prod2", false),
            ("repo:acme/*:environment:prod", "repo:evil/x:repo:acme/a:environment:prod", false),
            ("*:environment:prod", "repo:acme/api:environment:prod", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("a**b", "ab", true),
            ("a?c", "abc", false),
            ("a?c", "a?c", true),
        ];
        for (pattern, subject, expected) in cases {
            let parsed = SubjectPattern::parse(pattern).unwrap();
            assert_eq!(parsed.matches(subject), *expected, "{pattern} against {subject}");
        }
        for refused in ["", "*", "***", "a\nb"] {
            assert!(SubjectPattern::parse(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn issuer_urls_are_https_or_loopback_http() {
        assert!(check_url("https://token.actions.githubusercontent.com").is_ok());
        assert!(check_url("http://127.0.0.1:8080/issuer").is_ok());
        assert!(check_url("http://localhost:8080").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("http://issuer.example").is_err());
        assert!(check_url("https://user:pw@issuer.example").is_err());
        assert!(check_url("https://issuer.example/?q=1").is_err());
        assert!(check_url("ftp://issuer.example").is_err());
        assert!(check_url("not a url").is_err());
    }

    /// A key pair made with the `openssl` command, as an issuer holds it.
    pub(crate) struct IssuerKey {
        pub encoding: EncodingKey,
        pub algorithm: Algorithm,
        pub jwk: Value,
    }

    fn openssl(args: &[&str]) -> Vec<u8> {
        let out = Command::new("openssl").args(args).output().expect("the openssl command");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    pub(crate) fn rsa_key(kid: &str) -> IssuerKey {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("key.pem");
        let pem = pem.to_str().unwrap();
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem]);
        let der = openssl(&["rsa", "-in", pem, "-outform", "DER", "-traditional"]);
        let modulus = String::from_utf8(openssl(&["rsa", "-in", pem, "-noout", "-modulus"])).unwrap();
        let modulus = hex::decode(modulus.trim().trim_start_matches("Modulus=")).unwrap();
        IssuerKey {
            encoding: EncodingKey::from_rsa_der(&der),
            algorithm: Algorithm::RS256,
            jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": URL_SAFE_NO_PAD.encode(modulus), "e": "AQAB"}),
        }
    }

    pub(crate) fn ec_key(kid: &str) -> IssuerKey {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("key.pem");
        let pem = pem.to_str().unwrap();
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pem]);
        let der = openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", pem, "-outform", "DER"]);
        let public = openssl(&["pkey", "-in", pem, "-pubout", "-outform", "DER"]);
        let point = &public[public.len() - 65..];
        assert_eq!(point[0], 4, "an uncompressed point");
        IssuerKey {
            encoding: EncodingKey::from_ec_der(&der),
            algorithm: Algorithm::ES256,
            jwk: json!({"kty": "EC", "kid": kid, "crv": "P-256", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}),
        }
    }

    impl IssuerKey {
        fn sign(&self, claims: &Value) -> String {
            let mut header = Header::new(self.algorithm);
            header.kid = self.jwk["kid"].as_str().map(str::to_owned);
            jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
        }
    }

    const ISSUER: &str = "https://issuer.example";
    const AUDIENCE: &str = "api://portcullis";
    const SUBJECT: &str = "repo:acme/api:ref:refs/heads/main";

    fn claims() -> Value {
        let now = Utc::now().timestamp();
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": now, "nbf": now - 5, "exp": now + 300})
    }

    /// Counts fetches; serves what `keys` holds now.
    struct FakeIssuer {
        keys: Mutex<Value>,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl KeyFetcher for FakeIssuer {
        async fn fetch(&self, _issuer: &str) -> Result<JwkSet, String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            serde_json::from_value(self.keys.lock().unwrap().clone()).map_err(|e| e.to_string())
        }
    }

    struct Fixture {
        federation: FederationService,
        issuer: Arc<FakeIssuer>,
        db: Database,
        sp: i64,
        _dir: tempfile::TempDir,
    }

    /// A service principal `ci` with the credential `main` on ISSUER (keys
    /// published by the fake issuer, or `inline`).
    async fn fixture(published: &[&IssuerKey], inline: Option<&IssuerKey>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).await.unwrap();
        let audit = AuditLog::start(db.clone());
        let keys: Vec<Value> = published.iter().map(|key| key.jwk.clone()).collect();
        let issuer =
            Arc::new(FakeIssuer { keys: Mutex::new(json!({ "keys": keys })), fetches: AtomicUsize::new(0) });
        let federation = FederationService::new(db.clone(), audit, system_clock(), issuer.clone());
        let mut tx = db.begin().await.unwrap();
        let sp =
            identities::insert_service_principal(&mut tx, "ci", "app-id-ci", "", Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let request = NewFederatedCredential {
            name: "main".into(),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            subject: SUBJECT.into(),
            description: String::new(),
            jwks: inline.map(|key| json!({ "keys": [key.jwk.clone()] })),
        };
        federation.create(&Subject::User("admin".into()), "ci", request).await.unwrap();
        Fixture { federation, issuer, db, sp, _dir: dir }
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    async fn refusal(f: &Fixture, token: &str) -> Refusal {
        match f.federation.exchange(token, CLIENT).await {
            Err(ExchangeError::Refused(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_good_rs256_or_es256_token_names_the_service_principal_and_credential() {
        let rsa = rsa_key("rsa-1");
        let ec = ec_key("ec-1");
        let f = fixture(&[&rsa, &ec], None).await;
        for key in [&rsa, &ec] {
            let exchanged = f.federation.exchange(&key.sign(&claims()), CLIENT).await.unwrap();
            assert_eq!(exchanged.subject, Subject::ServicePrincipal("ci".into()));
            let CredentialRef::Federated(id) = exchanged.credential else { panic!("a federated credential") };
            assert!(rows::credential_by_id(&f.db, f.sp, id).await.unwrap().is_some());
        }
        assert_eq!(f.issuer.fetches.load(Ordering::SeqCst), 1, "the keys are cached");
        // An inline JWKS needs no fetch at all.
        let g = fixture(&[], Some(&ec)).await;
        g.federation.exchange(&ec.sign(&claims()), CLIENT).await.unwrap();
        assert_eq!(g.issuer.fetches.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn each_bad_token_is_refused_with_its_reason() {
        let key = ec_key("ec-1");
        let other = ec_key("ec-1");
        let f = fixture(&[&key], None).await;
        let now = Utc::now().timestamp();
        let with = |change: Value| {
            let mut claims = claims();
            for (name, value) in change.as_object().unwrap() {
                claims[name] = value.clone();
            }
            key.sign(&claims)
        };
        assert_eq!(refusal(&f, &with(json!({"exp": now - 3600}))).await, Refusal::Expired);
        assert_eq!(refusal(&f, &with(json!({"nbf": now + 3600}))).await, Refusal::NotYetValid);
        assert!(matches!(
            refusal(&f, &with(json!({"aud": "someone-else"}))).await,
            Refusal::WrongAudience { .. }
        ));
        assert!(matches!(
            refusal(&f, &with(json!({"aud": ["a", "b"]}))).await,
            Refusal::WrongAudience { .. }
        ));
        assert!(f.federation.exchange(&with(json!({"aud": ["a", AUDIENCE]})), CLIENT).await.is_ok());
        assert!(matches!(
            refusal(&f, &with(json!({"sub": "repo:acme/api:ref:refs/heads/evil"}))).await,
            Refusal::WrongSubject { .. }
        ));
        assert!(matches!(
            refusal(&f, &with(json!({"iss": "https://evil.example"}))).await,
            Refusal::WrongIssuer(_)
        ));
        assert!(matches!(refusal(&f, &with(json!({"sub": null}))).await, Refusal::Malformed(_)));
        // Signed by another key under the same kid.
        assert_eq!(refusal(&f, &other.sign(&claims())).await, Refusal::BadSignature);
        // A payload changed after signing.
        let good = key.sign(&claims());
        let parts: Vec<&str> = good.split('.').collect();
        let mut forged = claims();
        forged["sub"] = json!("repo:acme/other:ref:refs/heads/main");
        let forged_payload = URL_SAFE_NO_PAD.encode(forged.to_string());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(refusal(&f, &tampered).await, Refusal::BadSignature);
        // alg none.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", URL_SAFE_NO_PAD.encode(claims().to_string()));
        assert_eq!(refusal(&f, &unsigned).await, Refusal::Unsigned);
        // HS256 with the issuer's public key as the HMAC secret.
        let public = key.jwk["x"].as_str().unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ec-1".into());
        let hmac =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(public.as_bytes())).unwrap();
        assert!(matches!(refusal(&f, &hmac).await, Refusal::Hmac(_)));
        // Malformed.
        for malformed in ["", "abc", "a.b.c", "a.b", &format!("{good}.extra")] {
            assert!(matches!(refusal(&f, malformed).await, Refusal::Malformed(_)), "{malformed:?}");
        }
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_again_at_most_once_a_minute() {
        let old = ec_key("old");
        let rotated = ec_key("new");
        let f = fixture(&[&old], None).await;
        let fetches = || f.issuer.fetches.load(Ordering::SeqCst);
        f.federation.exchange(&old.sign(&claims()), CLIENT).await.unwrap();
        assert_eq!(fetches(), 1);
        // A kid nobody published, within the minute of the last fetch: no
        // fetch at all, however often it is presented.
        let invented = ec_key("invented");
        for _ in 0..3 {
            assert!(matches!(refusal(&f, &invented.sign(&claims())).await, Refusal::UnknownKey { .. }));
        }
        assert_eq!(fetches(), 1, "rate-limited");
        // The issuer rotates: the new kid is found at the next allowed fetch.
        *f.issuer.keys.lock().unwrap() = json!({"keys": [old.jwk.clone(), rotated.jwk.clone()]});
        let keys = &f.federation.keys;
        let later = Instant::now() + MIN_FETCH_INTERVAL + Duration::from_secs(1);
        assert!(keys.key(ISSUER, Some("new"), later).await.is_ok());
        assert_eq!(fetches(), 2);
        // Known kids never fetch; an unknown one waits for the next minute.
        assert!(keys.key(ISSUER, Some("old"), later).await.is_ok());
        assert!(keys.key(ISSUER, Some("invented"), later).await.is_err());
        assert_eq!(fetches(), 2);
        let after_that = later + MIN_FETCH_INTERVAL;
        assert!(matches!(
            keys.key(ISSUER, Some("invented"), after_that).await,
            Err(Refusal::UnknownKey { .. })
        ));
        assert!(keys.key(ISSUER, Some("invented"), after_that).await.is_err());
        assert_eq!(fetches(), 3);
        // Keys older than MAX_KEY_AGE are fetched again on use.
        let old_cache = after_that + MAX_KEY_AGE;
        assert!(keys.key(ISSUER, Some("old"), old_cache).await.is_ok());
        assert_eq!(fetches(), 4);
    }

    #[tokio::test]
    async fn a_disabled_service_principal_cannot_exchange() {
        let key = ec_key("k");
        let f = fixture(&[&key], None).await;
        let mut tx = f.db.begin().await.unwrap();
        identities::update_service_principal(&mut tx, f.sp, "", false).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(refusal(&f, &key.sign(&claims())).await, Refusal::Disabled);
    }

    #[tokio::test]
    async fn failed_exchanges_are_throttled_per_token_and_client() {
        let key = ec_key("k");
        let f = fixture(&[&key], None).await;
        let mut expired = claims();
        expired["exp"] = json!(Utc::now().timestamp() - 3600);
        let bad = key.sign(&expired);
        for _ in 0..crate::auth::throttle::FREE_FAILURES {
            refusal(&f, &bad).await;
        }
        assert!(matches!(f.federation.exchange(&bad, CLIENT).await, Err(ExchangeError::Throttled(_))));
        // Another pipeline's good token from the same address still works.
        assert!(f.federation.exchange(&key.sign(&claims()), CLIENT).await.is_ok());
    }

    #[test]
    fn inline_jwks_must_hold_public_signature_keys() {
        let key = ec_key("k");
        assert!(parse_inline_jwks(&json!({"keys": [key.jwk.clone()]})).is_ok());
        assert!(parse_inline_jwks(&json!({"keys": []})).is_err());
        assert!(parse_inline_jwks(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})).is_err());
        let mut private = key.jwk.clone();
        private["d"] = json!("AAAA");
        assert!(parse_inline_jwks(&json!({"keys": [private]})).is_err());
        let mut encryption = key.jwk.clone();
        encryption["use"] = json!("enc");
        assert!(parse_inline_jwks(&json!({"keys": [encryption]})).is_err());
        assert!(parse_inline_jwks(&json!({"not": "a jwks"})).is_err());
    }
}
