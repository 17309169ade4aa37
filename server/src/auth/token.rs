//! Signed tokens of the token endpoint (SPEC §3, authentication): short-lived
//! HS256 JWT access tokens carrying the token-spec `access` claim, longer-lived
//! refresh tokens, reading an old signing-key file, and the endpoint's
//! response body.
//! JWS signing and verification is `jsonwebtoken`'s; the claims, their
//! validity period (checked against the caller's clock) and the key file are
//! ours. Calls only `auth::scope`, `crate::policy` and the file system (to
//! read an old key file); it must not call the database, HTTP or logging: the
//! key and every token are secrets.

use std::{
    collections::HashMap,
    fmt, fs, io,
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, SecondsFormat, Utc};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::{rngs::OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::scope::{actions_from_scope_words, scope_words, Resource, ResourceScope};
use crate::policy::{self, ActionSet};

/// The `iss` claim of every token this registry signs.
pub const ISSUER: &str = "portcullis";

/// Clock skew tolerated on `exp` and `nbf`, for replicas whose clocks differ.
pub const CLOCK_LEEWAY: Duration = Duration::from_secs(30);

/// Length of the HMAC-SHA256 signing key, in bytes.
pub const SIGNING_KEY_LENGTH: usize = 32;

/// Anything longer is refused before any decoding work.
const MAX_TOKEN_LENGTH: usize = 64 * 1024;

/// The only algorithm issued or accepted.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// Access tokens whose signature was checked, kept so that a client's next
/// requests with the same bearer token skip decoding it again. A full map
/// drops its expired entries, and everything when that is not enough.
const VERIFIED_CAPACITY: usize = 4096;

/// Who a token was issued to: a user, a service principal, a repository
/// token or the anonymous caller (SPEC §1). All kinds share one name space
/// in the `sub` claim, so the kind travels in its own claim and a token
/// named like a user is never taken for one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    User(String),
    ServicePrincipal(String),
    Token(String),
    /// "Everyone (anonymous)": a caller without credentials.
    Anonymous,
}

impl Subject {
    /// The user, service principal or token name; `anonymous` for the
    /// anonymous caller.
    pub fn name(&self) -> &str {
        match self {
            Subject::User(name) | Subject::ServicePrincipal(name) | Subject::Token(name) => name,
            Subject::Anonymous => "anonymous",
        }
    }

    fn kind(&self) -> SubjectKind {
        match self {
            Subject::User(_) => SubjectKind::User,
            Subject::ServicePrincipal(_) => SubjectKind::ServicePrincipal,
            Subject::Token(_) => SubjectKind::Token,
            Subject::Anonymous => SubjectKind::Anonymous,
        }
    }

    fn from_claims(kind: SubjectKind, name: String) -> Subject {
        match kind {
            SubjectKind::User => Subject::User(name),
            SubjectKind::ServicePrincipal => Subject::ServicePrincipal(name),
            SubjectKind::Token => Subject::Token(name),
            SubjectKind::Anonymous => Subject::Anonymous,
        }
    }
}

/// `user:alice`, `token:ci-bot`, `sp:ci`, `anonymous`, for logs; control
/// characters are escaped so a name cannot forge a log line.
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Subject::User(_) => "user",
            Subject::ServicePrincipal(_) => "sp",
            Subject::Token(_) => "token",
            Subject::Anonymous => return f.write_str("anonymous"),
        };
        write!(f, "{kind}:{}", self.name().escape_debug())
    }
}

/// The credential a subject logged in with, carried by its access and
/// refresh tokens: the data plane checks on every request that it still
/// holds, so a regenerated or deleted password or secret ends the tokens
/// issued for it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialRef {
    /// Which generation of which password slot a repository token used.
    TokenPassword {
        /// 0 for password1, 1 for password2.
        slot: u8,
        serial: i64,
    },
    /// Which client secret a service principal used (its id, never reused).
    Secret(i64),
    /// Which federated credential of a service principal a workload
    /// identity exchange (`/oauth2/exchange`) matched (its id, never
    /// reused).
    Federated(i64),
}

impl CredentialRef {
    fn encode(self) -> String {
        match self {
            Self::TokenPassword { slot, serial } => format!("{slot}.{serial}"),
            Self::Secret(id) => format!("s.{id}"),
            Self::Federated(id) => format!("f.{id}"),
        }
    }

    fn decode(text: &str) -> Option<Self> {
        let (first, second) = text.split_once('.')?;
        match first {
            "s" => return Some(Self::Secret(second.parse().ok()?)),
            "f" => return Some(Self::Federated(second.parse().ok()?)),
            _ => {}
        }
        let slot = first.parse().ok().filter(|slot| *slot < 2)?;
        Some(Self::TokenPassword { slot, serial: second.parse().ok()? })
    }
}

/// Why a presented token was refused. Safe to log: it never holds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed Portcullis token")]
    Malformed,
    #[error("the token signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another service")]
    WrongAudience,
    #[error("the token is of the wrong kind (access token and refresh token are not interchangeable)")]
    WrongKind,
}

/// What a verified access token says: who holds it and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub subject: Subject,
    /// The `aud` claim: the service (login server) it was issued for.
    pub service: String,
    /// The `jti` claim.
    pub token_id: String,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// The password a repository token logged in with.
    pub credential: Option<CredentialRef>,
    grants: Vec<ResourceScope>,
}

impl AccessClaims {
    /// The actions this token grants on `resource`; empty when it names
    /// the resource nowhere.
    pub fn granted(&self, resource: policy::Resource<'_>) -> ActionSet {
        self.grants
            .iter()
            .filter(|grant| grant.resource.as_policy() == resource)
            .fold(ActionSet::EMPTY, |actions, grant| actions | grant.actions)
    }

    /// Every grant, as listed in the `access` claim (known resources only).
    pub fn grants(&self) -> &[ResourceScope] {
        &self.grants
    }
}

/// The token endpoint's JSON body (Docker token spec, "Token Response
/// Fields"). It carries secrets, so it is serialised only as the response
/// itself and is deliberately not `Debug`.
#[derive(Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: String,
    /// The same value as `token`, for OAuth2 clients.
    pub access_token: String,
    /// Lifetime of `token`, in seconds.
    pub expires_in: u64,
    /// RFC 3339, UTC, whole seconds.
    pub issued_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl TokenResponse {
    pub fn new(token: String, ttl: Duration, now: SystemTime, refresh_token: Option<String>) -> Self {
        let issued_at = DateTime::<Utc>::from(now).to_rfc3339_opts(SecondsFormat::Secs, true);
        Self { access_token: token.clone(), token, expires_in: ttl.as_secs(), issued_at, refresh_token }
    }
}

/// Signs and verifies access and refresh tokens with one HMAC-SHA256 key.
/// Every replica must hold the same key (the same key file).
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// HS256 only; no registered claim is checked by `jsonwebtoken` (the
    /// validity period is checked against the caller's clock in `verify`).
    validation: Validation,
    /// Access tokens this signer verified, by their text (secrets: never
    /// printed). An entry only saves the decoding and the signature: the
    /// audience and the validity period are checked on every use, and
    /// whether the holder may still act is the policy's question, asked on
    /// every request (`AccessService::principal`). Hashed with foldhash
    /// (randomly seeded): the key is a whole token, hashed on every request,
    /// and SipHash spent more than a thousand instructions on it; only
    /// tokens whose signature verified are ever stored.
    verified: Mutex<VerifiedTokens>,
}

/// The verified access tokens, by their text.
type VerifiedTokens = HashMap<Box<str>, Verified, foldhash::fast::RandomState>;

/// A verified access token's claims, with the validity period (Unix
/// seconds) they were checked against.
struct Verified {
    claims: Arc<AccessClaims>,
    not_before: u64,
    expires: u64,
}

/// Never prints the key.
impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner").finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer with the given key.
    pub fn from_key(key: [u8; SIGNING_KEY_LENGTH]) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            verified: Mutex::new(HashMap::default()),
        }
    }

    /// A signer with a fresh random key that is not stored anywhere.
    pub fn generate() -> Self {
        Self::from_key(random_key())
    }

    /// A signed access token for `subject` on `service` granting `grants`,
    /// valid from `now` for `ttl` (whole seconds).
    pub fn issue_access(
        &self,
        subject: &Subject,
        service: &str,
        grants: &[ResourceScope],
        now: SystemTime,
        ttl: Duration,
    ) -> String {
        self.issue_access_for(subject, None, service, grants, now, ttl)
    }

    /// [`Self::issue_access`] for a subject that logged in with `credential`.
    pub fn issue_access_for(
        &self,
        subject: &Subject,
        credential: Option<CredentialRef>,
        service: &str,
        grants: &[ResourceScope],
        now: SystemTime,
        ttl: Duration,
    ) -> String {
        let access = grants
            .iter()
            .map(|grant| AccessEntry {
                resource_type: grant.resource.resource_type().to_owned(),
                name: grant.resource.name().to_owned(),
                actions: scope_words(grant.actions).into_iter().map(str::to_owned).collect(),
            })
            .collect();
        let mut claims = Claims::new(TokenKind::Access, subject, service, now, ttl, Some(access));
        claims.cred = credential.map(CredentialRef::encode);
        self.sign(&claims)
    }

    /// Checks an access token: signature, algorithm, kind, audience and
    /// validity period (with [`CLOCK_LEEWAY`]). A token verified before is
    /// not decoded again; its audience and validity period are checked
    /// again.
    pub fn verify_access(
        &self,
        token: &str,
        service: &str,
        now: SystemTime,
    ) -> Result<Arc<AccessClaims>, TokenError> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(TokenError::Malformed);
        }
        let known = self
            .verified_list()
            .get(token)
            .map(|known| (known.claims.clone(), known.not_before, known.expires));
        if let Some((claims, not_before, expires)) = known {
            check_audience_and_period(&claims.service, not_before, expires, service, now)?;
            return Ok(claims);
        }
        let claims = self.verify(token, service, now, TokenKind::Access)?;
        let (not_before, expires) = (claims.nbf, claims.exp);
        let grants = claims
            .access
            .unwrap_or_default()
            .into_iter()
            .filter_map(|entry| {
                let resource = Resource::from_type_and_name(&entry.resource_type, &entry.name)?;
                let actions = actions_from_scope_words(entry.actions.iter().map(String::as_str));
                Some(ResourceScope { resource, actions })
            })
            .collect();
        let claims = Arc::new(AccessClaims {
            subject: Subject::from_claims(claims.subject_kind, claims.sub),
            service: claims.aud,
            token_id: claims.jti,
            issued_at: from_unix_seconds(claims.iat).ok_or(TokenError::Malformed)?,
            expires_at: from_unix_seconds(claims.exp).ok_or(TokenError::Malformed)?,
            credential: claims.cred.as_deref().and_then(CredentialRef::decode),
            grants,
        });
        let mut verified = self.verified_list();
        if verified.len() >= VERIFIED_CAPACITY {
            let now = unix_seconds(now);
            verified.retain(|_, known| now < known.expires.saturating_add(CLOCK_LEEWAY.as_secs()));
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token.into(), Verified { claims: claims.clone(), not_before, expires });
        Ok(claims)
    }

    fn verified_list(&self) -> std::sync::MutexGuard<'_, VerifiedTokens> {
        // A panic while the map was held leaves whole entries.
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A signed refresh token for `subject` on `service`, valid from `now`
    /// for `ttl`. It grants nothing itself: the token endpoint exchanges it
    /// for an access token after checking the subject again.
    pub fn issue_refresh(&self, subject: &Subject, service: &str, now: SystemTime, ttl: Duration) -> String {
        self.issue_refresh_for(subject, None, service, now, ttl)
    }

    /// [`Self::issue_refresh`] for a subject that logged in with `credential`.
    pub fn issue_refresh_for(
        &self,
        subject: &Subject,
        credential: Option<CredentialRef>,
        service: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> String {
        let mut claims = Claims::new(TokenKind::Refresh, subject, service, now, ttl, None);
        claims.cred = credential.map(CredentialRef::encode);
        self.sign(&claims)
    }

    /// Checks a refresh token like [`Self::verify_access`] and returns whom
    /// it was issued to.
    pub fn verify_refresh(&self, token: &str, service: &str, now: SystemTime) -> Result<Subject, TokenError> {
        self.verify_refresh_credential(token, service, now).map(|(subject, _)| subject)
    }

    /// [`Self::verify_refresh`], with the credential it was issued for.
    pub fn verify_refresh_credential(
        &self,
        token: &str,
        service: &str,
        now: SystemTime,
    ) -> Result<(Subject, Option<CredentialRef>), TokenError> {
        let claims = self.verify(token, service, now, TokenKind::Refresh)?;
        let credential = claims.cred.as_deref().and_then(CredentialRef::decode);
        Ok((Subject::from_claims(claims.subject_kind, claims.sub), credential))
    }

    fn sign(&self, claims: &Claims) -> String {
        // Plain structs of strings and integers always serialise, and the
        // key is an HMAC key.
        jsonwebtoken::encode(&Header::new(ALGORITHM), claims, &self.encoding).expect("token claims sign")
    }

    /// The signature (and that the header names HS256) is checked before
    /// the claims are decoded, so unsigned claims never reach our checks.
    fn verify(
        &self,
        token: &str,
        service: &str,
        now: SystemTime,
        kind: TokenKind,
    ) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(TokenError::Malformed);
        }
        let claims: Claims = jsonwebtoken::decode(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })?
            .claims;
        if claims.iss != ISSUER {
            return Err(TokenError::Malformed);
        }
        if claims.kind != kind {
            return Err(TokenError::WrongKind);
        }
        check_audience_and_period(&claims.aud, claims.nbf, claims.exp, service, now)?;
        Ok(claims)
    }
}

/// A token issued for `audience`, valid from `not_before` until `expires`
/// (Unix seconds), checked for `service` at `now`, with [`CLOCK_LEEWAY`].
fn check_audience_and_period(
    audience: &str,
    not_before: u64,
    expires: u64,
    service: &str,
    now: SystemTime,
) -> Result<(), TokenError> {
    if audience != service {
        return Err(TokenError::WrongAudience);
    }
    let now = unix_seconds(now);
    let leeway = CLOCK_LEEWAY.as_secs();
    if now.saturating_add(leeway) < not_before {
        return Err(TokenError::NotYetValid);
    }
    if now >= expires.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SubjectKind {
    /// Tokens issued before identities called users `admin`.
    #[serde(alias = "admin")]
    User,
    ServicePrincipal,
    Token,
    Anonymous,
}

/// The JWT claims set: the registered claims, the token-spec `access`
/// claim (access tokens only), and this registry's `kind` and
/// `subject_kind`.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    kind: TokenKind,
    subject_kind: SubjectKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access: Option<Vec<AccessEntry>>,
    /// [`CredentialRef`], for repository tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cred: Option<String>,
}

impl Claims {
    fn new(
        kind: TokenKind,
        subject: &Subject,
        service: &str,
        now: SystemTime,
        ttl: Duration,
        access: Option<Vec<AccessEntry>>,
    ) -> Self {
        let issued_at = unix_seconds(now);
        let mut token_id = [0u8; 16];
        OsRng.fill_bytes(&mut token_id);
        Claims {
            iss: ISSUER.to_owned(),
            sub: subject.name().to_owned(),
            aud: service.to_owned(),
            iat: issued_at,
            nbf: issued_at,
            exp: issued_at.saturating_add(ttl.as_secs()),
            jti: URL_SAFE_NO_PAD.encode(token_id),
            kind,
            subject_kind: subject.kind(),
            access,
            cred: None,
        }
    }
}

/// One entry of the token-spec `access` claim:
/// `{"type":"repository","name":"samples/hello","actions":["pull","push"]}`.
#[derive(Serialize, Deserialize)]
struct AccessEntry {
    #[serde(rename = "type")]
    resource_type: String,
    name: String,
    actions: Vec<String>,
}

/// Seconds since the Unix epoch; times before it count as 0.
fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// `None` past what a `SystemTime` holds (`i64` seconds on Unix): adding
/// would panic.
fn from_unix_seconds(seconds: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// A new random key.
pub(crate) fn random_key() -> [u8; SIGNING_KEY_LENGTH] {
    let mut key = [0u8; SIGNING_KEY_LENGTH];
    OsRng.fill_bytes(&mut key);
    key
}

/// Reads a key file, where a registry from before kept its keys (the
/// database holds them now: `service::bootstrap::shared_key`). It holds the
/// key as 64 hexadecimal characters; surrounding whitespace (a trailing
/// newline) is ignored. The error never quotes the file's content.
pub(crate) fn read_key_file(path: &Path) -> io::Result<[u8; SIGNING_KEY_LENGTH]> {
    let text = fs::read_to_string(path)?;
    let mut key = [0u8; SIGNING_KEY_LENGTH];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a key file must hold {} hexadecimal characters (a {SIGNING_KEY_LENGTH}-byte key)",
                SIGNING_KEY_LENGTH * 2
            ),
        )
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Action::{self, *};

    const SERVICE: &str = "registry.local:5000";
    const TTL: Duration = Duration::from_secs(300);

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    const T0: u64 = 1_700_000_000;

    fn repository(name: &str, actions: &[Action]) -> ResourceScope {
        ResourceScope {
            resource: Resource::Repository(name.parse().unwrap()),
            actions: ActionSet::of(actions),
        }
    }

    fn alice() -> Subject {
        Subject::Token("ci-bot".to_owned())
    }

    fn payload_json(token: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    /// The key of [`signer`].
    const KEY: [u8; SIGNING_KEY_LENGTH] = [0x5a; SIGNING_KEY_LENGTH];

    fn signer() -> TokenSigner {
        TokenSigner::from_key(KEY)
    }

    /// `signing_input.signature`, HMAC-SHA256 with [`KEY`], written out by
    /// hand so tests can sign what the signer never would.
    fn sign_with_key(signing_input: &str) -> String {
        use hmac::{Hmac, KeyInit as _, Mac as _};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&KEY).unwrap();
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// A token signed with [`KEY`] over arbitrary header and payload.
    fn forge(header: &serde_json::Value, payload: &serde_json::Value) -> String {
        sign_with_key(&format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        ))
    }

    fn header_json(token: &str) -> serde_json::Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    #[test]
    fn tokens_carry_the_hs256_jwt_header() {
        let token = signer().issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        assert_eq!(header_json(&token), serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    }

    /// A token issued before `jsonwebtoken` signed them (header written as
    /// the constant `{"alg":"HS256","typ":"JWT"}`) still verifies, so an
    /// upgrade does not log anyone out.
    #[test]
    fn tokens_signed_by_the_former_hand_written_code_still_verify() {
        let claims = serde_json::json!({
            "iss": "portcullis", "sub": "ci-bot", "aud": SERVICE, "iat": T0, "nbf": T0, "exp": T0 + 300,
            "jti": "x", "kind": "access", "subject_kind": "token",
            "access": [{"type": "repository", "name": "a", "actions": ["pull"]}],
        });
        let former_header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        let token = sign_with_key(&format!("{former_header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string())));
        let verified = signer().verify_access(&token, SERVICE, at(T0)).unwrap();
        assert_eq!(verified.subject, alice());
        assert_eq!(verified.grants(), &[repository("a", &[ContentRead])]);
    }

    #[test]
    fn access_tokens_round_trip_with_the_token_spec_claims() {
        let signer = TokenSigner::generate();
        let grants = vec![
            repository("samples/hello", &[ContentRead, ContentWrite]),
            ResourceScope { resource: Resource::Catalog, actions: ActionSet::ALL },
        ];
        for subject in [alice(), Subject::User("admin".to_owned())] {
            let token = signer.issue_access(&subject, SERVICE, &grants, at(T0), TTL);
            assert_eq!(token.split('.').count(), 3);
            assert!(!token.contains('='));
            let claims = signer.verify_access(&token, SERVICE, at(T0)).unwrap();
            assert_eq!(claims.subject, subject);
            assert_eq!(claims.service, SERVICE);
            assert_eq!(claims.issued_at, at(T0));
            assert_eq!(claims.expires_at, at(T0 + 300));
            assert_eq!(claims.grants(), grants.as_slice());

            let payload = payload_json(&token);
            assert_eq!(payload["jti"].as_str().unwrap(), claims.token_id);
            let expected = serde_json::json!({
                "iss": "portcullis",
                "sub": subject.name(),
                "aud": SERVICE,
                "iat": T0,
                "nbf": T0,
                "exp": T0 + 300,
                "jti": claims.token_id,
                "kind": "access",
                "subject_kind": if matches!(subject, Subject::User(_)) { "user" } else { "token" },
                "access": [
                    {"type": "repository", "name": "samples/hello", "actions": ["pull", "push"]},
                    {"type": "registry", "name": "catalog", "actions": ["*"]},
                ],
            });
            assert_eq!(payload, expected);
            let empty = signer.issue_access(&subject, SERVICE, &[], at(T0), TTL);
            assert_eq!(payload_json(&empty)["access"], serde_json::json!([]));
        }
    }

    #[test]
    fn every_token_has_its_own_id() {
        let signer = TokenSigner::generate();
        let first = signer.issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        let second = signer.issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        assert_ne!(first, second);
        let first_id = signer.verify_access(&first, SERVICE, at(T0)).unwrap().token_id.clone();
        assert_eq!(URL_SAFE_NO_PAD.decode(&first_id).unwrap().len(), 16);
        assert_ne!(first_id, signer.verify_access(&second, SERVICE, at(T0)).unwrap().token_id);
    }

    #[test]
    fn grants_are_looked_up_per_resource() {
        let signer = TokenSigner::generate();
        let grants = vec![
            repository("samples/hello", &[ContentRead]),
            repository("samples/other", &[ContentDelete, MetadataRead]),
            repository("samples/hello", &[MetadataRead]),
            repository("everything", &Action::ALL),
            ResourceScope { resource: Resource::Catalog, actions: ActionSet::of(&[MetadataRead]) },
        ];
        let token = signer.issue_access(&alice(), SERVICE, &grants, at(T0), TTL);
        let claims = signer.verify_access(&token, SERVICE, at(T0 + 10)).unwrap();
        let table = [
            (
                Resource::Repository("samples/hello".parse().unwrap()),
                ActionSet::of(&[ContentRead, MetadataRead]),
            ),
            (
                Resource::Repository("samples/other".parse().unwrap()),
                ActionSet::of(&[ContentDelete, MetadataRead]),
            ),
            (Resource::Repository("everything".parse().unwrap()), ActionSet::ALL),
            (Resource::Repository("samples".parse().unwrap()), ActionSet::EMPTY),
            (Resource::Repository("samples/hello/x".parse().unwrap()), ActionSet::EMPTY),
            (Resource::Repository("unknown".parse().unwrap()), ActionSet::EMPTY),
            (Resource::Catalog, ActionSet::of(&[MetadataRead])),
        ];
        for (resource, actions) in table {
            assert_eq!(claims.granted(resource.as_policy()), actions, "{resource:?}");
        }
        let none = signer.issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        let claims = signer.verify_access(&none, SERVICE, at(T0)).unwrap();
        assert_eq!(claims.granted(policy::Resource::Catalog), ActionSet::EMPTY);
        assert_eq!(
            claims.granted(Resource::Repository("samples/hello".parse().unwrap()).as_policy()),
            ActionSet::EMPTY
        );
    }

    #[test]
    fn unknown_entries_in_a_signed_access_claim_grant_nothing() {
        let signer = signer();
        let token = forge(
            &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
            &serde_json::json!({
                "iss": "portcullis", "sub": "ci-bot", "aud": SERVICE, "iat": T0, "nbf": T0, "exp": T0 + 300,
                "jti": "x", "kind": "access", "subject_kind": "token",
                "access": [
                    {"type": "repository", "name": "a", "actions": ["pull", "teleport"]},
                    {"type": "repository", "name": "Bad Name", "actions": ["*"]},
                    {"type": "registry", "name": "metrics", "actions": ["*"]},
                    {"type": "helm-chart", "name": "a", "actions": ["*"]},
                ],
            }),
        );
        let claims = signer.verify_access(&token, SERVICE, at(T0)).unwrap();
        assert_eq!(claims.grants(), &[repository("a", &[ContentRead])]);
        assert_eq!(claims.granted(policy::Resource::Catalog), ActionSet::EMPTY);
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let signer = TokenSigner::generate();
        let grants = [repository("samples/hello", &[ContentRead])];
        let token = signer.issue_access(&alice(), SERVICE, &grants, at(T0), TTL);
        let [header, payload, signature]: [&str; 3] =
            token.split('.').collect::<Vec<_>>().try_into().unwrap();

        // A widened grant, re-encoded, under the original signature.
        let mut claims = payload_json(&token);
        claims["access"][0]["actions"] = serde_json::json!(["*"]);
        let widened = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        // An admin subject claimed by a token.
        let mut claims = payload_json(&token);
        claims["subject_kind"] = serde_json::json!("admin");
        let promoted = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        // One flipped bit in the signature.
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[0] ^= 1;
        let flipped = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(bytes));
        // Signed by another key.
        let foreign = TokenSigner::generate().issue_access(&alice(), SERVICE, &grants, at(T0), TTL);
        // `alg: none` with no signature.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{payload}.");

        let table: Vec<(&str, String, TokenError)> = vec![
            ("widened grant", widened, TokenError::BadSignature),
            ("promoted subject", promoted, TokenError::BadSignature),
            ("flipped signature bit", flipped, TokenError::BadSignature),
            ("other key", foreign, TokenError::BadSignature),
            // An algorithm other than HS256 is refused before any signature
            // is computed.
            ("alg none", unsigned, TokenError::Malformed),
            ("signature cut off", format!("{header}.{payload}."), TokenError::BadSignature),
            (
                "truncated signature",
                format!("{header}.{payload}.{}", &signature[..20]),
                TokenError::BadSignature,
            ),
            ("two parts", format!("{header}.{payload}"), TokenError::Malformed),
            ("four parts", format!("{token}.x"), TokenError::Malformed),
            ("signature not base64url", format!("{header}.{payload}.{signature}="), TokenError::Malformed),
            ("signature with +", format!("{header}.{payload}.+{}", &signature[1..]), TokenError::Malformed),
            ("empty", String::new(), TokenError::Malformed),
            ("garbage", "not a token".to_owned(), TokenError::Malformed),
            ("oversized", "a".repeat(MAX_TOKEN_LENGTH + 1), TokenError::Malformed),
        ];
        for (what, tampered, error) in table {
            assert_eq!(signer.verify_access(&tampered, SERVICE, at(T0)), Err(error), "{what}");
        }
        assert!(signer.verify_access(&token, SERVICE, at(T0)).is_ok());
    }

    #[test]
    fn correctly_signed_but_foreign_shaped_tokens_are_malformed() {
        let signer = signer();
        let good_claims = serde_json::json!({
            "iss": "portcullis", "sub": "ci-bot", "aud": SERVICE, "iat": T0, "nbf": T0, "exp": T0 + 300,
            "jti": "x", "kind": "access", "subject_kind": "token", "access": [],
        });
        let hs256 = serde_json::json!({"alg": "HS256", "typ": "JWT"});
        assert!(signer.verify_access(&forge(&hs256, &good_claims), SERVICE, at(T0)).is_ok());
        // The header's `typ` is not required.
        assert!(signer
            .verify_access(&forge(&serde_json::json!({"alg": "HS256"}), &good_claims), SERVICE, at(T0))
            .is_ok());

        let with = |key: &str, value: serde_json::Value| {
            let mut claims = good_claims.clone();
            claims[key] = value;
            claims
        };
        let without = |key: &str| {
            let mut claims = good_claims.clone();
            claims.as_object_mut().unwrap().remove(key);
            claims
        };
        let table: Vec<(&str, serde_json::Value, serde_json::Value)> = vec![
            ("alg HS512", serde_json::json!({"alg": "HS512", "typ": "JWT"}), good_claims.clone()),
            ("alg none", serde_json::json!({"alg": "none"}), good_claims.clone()),
            ("no alg", serde_json::json!({"typ": "JWT"}), good_claims.clone()),
            ("other issuer", hs256.clone(), with("iss", "someone-else".into())),
            ("no kind", hs256.clone(), without("kind")),
            ("unknown kind", hs256.clone(), with("kind", "id".into())),
            ("no subject kind", hs256.clone(), without("subject_kind")),
            ("unknown subject kind", hs256.clone(), with("subject_kind", "root".into())),
            ("no exp", hs256.clone(), without("exp")),
            ("fractional exp", hs256.clone(), with("exp", serde_json::json!(1.5e9))),
            ("negative nbf", hs256.clone(), with("nbf", serde_json::json!(-1))),
            ("audience list", hs256.clone(), with("aud", serde_json::json!([SERVICE]))),
            ("claims not an object", hs256.clone(), serde_json::json!([1, 2])),
        ];
        for (what, header, claims) in table {
            let token = forge(&header, &claims);
            assert_eq!(signer.verify_access(&token, SERVICE, at(T0)), Err(TokenError::Malformed), "{what}");
        }
        // A payload that is not JSON at all, properly signed.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let token = sign_with_key(&format!("{header}.{}", URL_SAFE_NO_PAD.encode("{not json")));
        assert_eq!(signer.verify_access(&token, SERVICE, at(T0)), Err(TokenError::Malformed));
    }

    /// A signed token whose `iat` or `exp` is a valid `u64` past what a
    /// `SystemTime` holds is refused; converting it panicked (found while
    /// writing `fuzz/`'s `bearer_token` target).
    #[test]
    fn correctly_signed_times_past_system_time_are_malformed() {
        let signer = signer();
        let hs256 = serde_json::json!({"alg": "HS256", "typ": "JWT"});
        for (key, value) in [("iat", u64::MAX), ("iat", 17_000_000_000_000_000_000), ("exp", u64::MAX)] {
            let mut claims = serde_json::json!({
                "iss": "portcullis", "sub": "ci-bot", "aud": SERVICE, "iat": T0, "nbf": T0, "exp": T0 + 300,
                "jti": "x", "kind": "access", "subject_kind": "token",
            });
            claims[key] = value.into();
            let token = forge(&hs256, &claims);
            assert_eq!(
                signer.verify_access(&token, SERVICE, at(T0)),
                Err(TokenError::Malformed),
                "{key} {value}"
            );
        }
    }

    #[test]
    fn validity_period_allows_thirty_seconds_of_clock_skew() {
        let signer = TokenSigner::generate();
        let token = signer.issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        let refresh = signer.issue_refresh(&alice(), SERVICE, at(T0), Duration::from_secs(3600));
        let table: Vec<(u64, Result<(), TokenError>)> = vec![
            (0, Err(TokenError::NotYetValid)),
            (T0 - 31, Err(TokenError::NotYetValid)),
            (T0 - 30, Ok(())),
            (T0, Ok(())),
            (T0 + 299, Ok(())),
            (T0 + 300, Ok(())),
            (T0 + 329, Ok(())),
            (T0 + 330, Err(TokenError::Expired)),
            (T0 + 86_400, Err(TokenError::Expired)),
        ];
        for (now, expected) in table {
            assert_eq!(signer.verify_access(&token, SERVICE, at(now)).map(|_| ()), expected, "now = {now}");
        }
        // Sub-second parts of the clock do not stretch the period.
        assert!(signer.verify_access(&token, SERVICE, at(T0 + 329) + Duration::from_millis(999)).is_ok());
        assert_eq!(signer.verify_refresh(&refresh, SERVICE, at(T0 + 3629)), Ok(alice()));
        assert_eq!(signer.verify_refresh(&refresh, SERVICE, at(T0 + 3630)), Err(TokenError::Expired));
        assert_eq!(signer.verify_refresh(&refresh, SERVICE, at(T0 - 31)), Err(TokenError::NotYetValid));
    }

    /// A token verified once is not decoded again, but every later use is
    /// checked for its audience and period as the first was, and the map of
    /// verified tokens stays bounded.
    #[test]
    fn a_verified_token_is_checked_again_on_every_use() {
        let signer = TokenSigner::generate();
        let token = signer.issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        let first = signer.verify_access(&token, SERVICE, at(T0)).unwrap();
        let again = signer.verify_access(&token, SERVICE, at(T0 + 1)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second use was served from the verified tokens");
        assert_eq!(signer.verify_access(&token, "registry.local", at(T0)), Err(TokenError::WrongAudience));
        assert_eq!(signer.verify_access(&token, SERVICE, at(T0 + 330)), Err(TokenError::Expired));
        assert_eq!(signer.verify_access(&token, SERVICE, at(T0 - 31)), Err(TokenError::NotYetValid));
        let other_key = TokenSigner::generate();
        assert_eq!(other_key.verify_access(&token, SERVICE, at(T0)), Err(TokenError::BadSignature));

        for n in 0..VERIFIED_CAPACITY + 10 {
            let token = signer.issue_access(&alice(), SERVICE, &[], at(T0 + n as u64 % 100), TTL);
            signer.verify_access(&token, SERVICE, at(T0 + 100)).unwrap();
            assert!(signer.verified_list().len() <= VERIFIED_CAPACITY);
        }
    }

    #[test]
    fn tokens_are_bound_to_their_service() {
        let signer = TokenSigner::generate();
        let token = signer.issue_access(&alice(), SERVICE, &[], at(T0), TTL);
        let refresh = signer.issue_refresh(&alice(), SERVICE, at(T0), TTL);
        for other in ["registry.local", "registry.local:5001", "REGISTRY.LOCAL:5000", ""] {
            assert_eq!(
                signer.verify_access(&token, other, at(T0)),
                Err(TokenError::WrongAudience),
                "{other}"
            );
            assert_eq!(
                signer.verify_refresh(&refresh, other, at(T0)),
                Err(TokenError::WrongAudience),
                "{other}"
            );
        }
    }

    #[test]
    fn refresh_and_access_tokens_are_not_interchangeable() {
        let signer = TokenSigner::generate();
        let admin = Subject::User("admin".to_owned());
        let access = signer.issue_access(&admin, SERVICE, &[repository("a", &Action::ALL)], at(T0), TTL);
        let refresh = signer.issue_refresh(&admin, SERVICE, at(T0), Duration::from_secs(86_400));
        assert_eq!(signer.verify_refresh(&refresh, SERVICE, at(T0)), Ok(admin.clone()));
        assert_eq!(signer.verify_access(&refresh, SERVICE, at(T0)), Err(TokenError::WrongKind));
        assert_eq!(signer.verify_refresh(&access, SERVICE, at(T0)), Err(TokenError::WrongKind));

        let payload = payload_json(&refresh);
        assert_eq!(payload["kind"], "refresh");
        assert_eq!(payload["subject_kind"], "user");
        assert_eq!(payload["sub"], "admin");
        assert_eq!(payload["exp"], T0 + 86_400);
        assert!(payload.get("access").is_none(), "a refresh token lists no access");
    }

    #[test]
    fn refresh_tokens_carry_every_kind_of_credential() {
        let signer = TokenSigner::generate();
        let sp = Subject::ServicePrincipal("ci".into());
        for credential in [
            CredentialRef::Secret(7),
            CredentialRef::Federated(7),
            CredentialRef::TokenPassword { slot: 1, serial: 3 },
        ] {
            let token = signer.issue_refresh_for(&sp, Some(credential), SERVICE, at(T0), TTL);
            assert_eq!(
                signer.verify_refresh_credential(&token, SERVICE, at(T0)),
                Ok((sp.clone(), Some(credential)))
            );
        }
        assert_eq!(CredentialRef::decode("f.x"), None);
        assert_eq!(CredentialRef::decode("g.1"), None);
    }

    #[test]
    fn subjects_keep_their_kind_and_display_safely() {
        let signer = TokenSigner::generate();
        let subjects = [
            Subject::User("admin".into()),
            Subject::Token("admin".into()),
            Subject::ServicePrincipal("admin".into()),
            Subject::Anonymous,
        ];
        for subject in subjects {
            let token = signer.issue_refresh(&subject, SERVICE, at(T0), TTL);
            assert_eq!(signer.verify_refresh(&token, SERVICE, at(T0)), Ok(subject));
        }
        assert_eq!(Subject::User("alice".into()).to_string(), "user:alice");
        assert_eq!(Subject::Token("ci-bot".into()).to_string(), "token:ci-bot");
        assert_eq!(Subject::Token("a\nb".into()).to_string(), "token:a\\nb");
        assert_eq!(Subject::ServicePrincipal("ci".into()).to_string(), "sp:ci");
        assert_eq!(Subject::Anonymous.to_string(), "anonymous");
        assert_eq!(Subject::Token("t".into()).name(), "t");
    }

    #[test]
    fn token_response_serialises_the_token_spec_fields() {
        let now = at(T0) + Duration::from_millis(750);
        let response = TokenResponse::new("abc".into(), TTL, now, None);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({
                "token": "abc",
                "access_token": "abc",
                "expires_in": 300,
                "issued_at": "2023-11-14T22:13:20Z",
            })
        );
        let response = TokenResponse::new("abc".into(), TTL, now, Some("def".into()));
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["refresh_token"], "def");
        let parsed: TokenResponse = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.refresh_token.as_deref(), Some("def"));
        assert_eq!(parsed.access_token, "abc");
    }

    #[test]
    fn a_damaged_key_file_is_refused_without_quoting_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("token-signing.key");
        for content in ["", "secret-looking-content", &"ab".repeat(31), &"ab".repeat(33), &"zz".repeat(32)] {
            fs::write(&path, content).unwrap();
            let error = read_key_file(&path).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{content:?}");
            if !content.is_empty() {
                assert!(!error.to_string().contains(content), "{error}");
            }
        }
        // Whitespace around a good key is fine.
        fs::write(&path, format!("  {}\r\n", "0f".repeat(32))).unwrap();
        assert_eq!(read_key_file(&path).unwrap(), [0x0f; 32]);
        assert_eq!(
            read_key_file(&directory.path().join("missing")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn the_signer_never_shows_its_key() {
        let key = [0xa5u8; SIGNING_KEY_LENGTH];
        let shown = format!("{:?}", TokenSigner::from_key(key));
        assert_eq!(shown, "TokenSigner { .. }");
        assert!(!shown.contains(&hex::encode(key)));
    }
}
