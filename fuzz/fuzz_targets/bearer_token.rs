//! `TokenSigner::verify_access` / `verify_refresh_credential`: the bearer
//! token of every `/v2` request and the refresh token of `/oauth2/token`.
//! Three inputs: any text (no panic, refused); any JSON claims signed with
//! the key, as a token this registry might have issued (no panic, whatever
//! the claims hold); and issue → verify round trips, which must give back
//! the subject, service, credential, times and grants issued.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use server::{
    auth::{
        scope::{Resource, ResourceScope},
        token::{CredentialRef, Subject, TokenSigner},
    },
    policy::{Action, ActionSet},
};

const KEY: [u8; 32] = [7; 32];
const SERVICE: &str = "registry.example.com";

#[derive(Arbitrary, Debug)]
struct Issue {
    subject: (u8, String),
    credential: Option<(u8, i64)>,
    service: String,
    grants: Vec<(Option<String>, u8)>,
    /// Seconds after the epoch: up to the year 2106.
    now: u32,
    /// Up to about 10 years.
    ttl: u32,
}

fn subject_of((kind, name): &(u8, String)) -> Subject {
    match kind % 4 {
        0 => Subject::User(name.clone()),
        1 => Subject::ServicePrincipal(name.clone()),
        2 => Subject::Token(name.clone()),
        _ => Subject::Anonymous,
    }
}

fn credential_of(credential: Option<(u8, i64)>) -> Option<CredentialRef> {
    credential.map(|(kind, id)| match kind % 4 {
        0 | 1 => CredentialRef::TokenPassword { slot: kind % 2, serial: id },
        2 => CredentialRef::Secret(id),
        _ => CredentialRef::Federated(id),
    })
}

fn grants_of(grants: &[(Option<String>, u8)]) -> Vec<ResourceScope> {
    grants
        .iter()
        .filter_map(|(name, bits)| {
            let resource = match name {
                None => Resource::Catalog,
                Some(name) => Resource::Repository(name.parse().ok()?),
            };
            let actions: ActionSet = Action::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, action)| *action)
                .collect();
            (!actions.is_empty()).then_some(ResourceScope { resource, actions })
        })
        .collect()
}

fn verify_anything(signer: &TokenSigner, token: &str) {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    if let Ok(claims) = signer.verify_access(token, SERVICE, now) {
        assert_eq!(claims.service, SERVICE);
        let _ = claims.grants().len();
    }
    let _ = signer.verify_refresh_credential(token, SERVICE, now);
}

fuzz_target!(|data: &[u8]| {
    let signer = TokenSigner::from_key(KEY);
    let Some((&mode, rest)) = data.split_first() else { return };
    // `0` then a token, `1` then JSON claims, `2` then bytes for `Issue`.
    match mode % 3 {
        0 => {
            let Ok(token) = std::str::from_utf8(rest) else { return };
            verify_anything(&signer, token);
        }
        1 => {
            let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else { return };
            let token = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&KEY),
            )
            .expect("JSON claims sign");
            verify_anything(&signer, &token);
        }
        _ => {
            let Ok(issue) = Issue::arbitrary(&mut Unstructured::new(rest)) else { return };
            let subject = subject_of(&issue.subject);
            let credential = credential_of(issue.credential);
            let grants = grants_of(&issue.grants);
            let now = UNIX_EPOCH + Duration::from_secs(issue.now.into());
            let ttl = Duration::from_secs(u64::from(issue.ttl) % (10 * 366 * 24 * 3600));

            let token = signer.issue_access_for(&subject, credential, &issue.service, &grants, now, ttl);
            let claims =
                signer.verify_access(&token, &issue.service, now).expect("a token just issued verifies");
            assert_eq!(claims.subject, subject);
            assert_eq!(claims.service, issue.service);
            assert_eq!(claims.credential, credential);
            assert_eq!(claims.issued_at, now);
            assert_eq!(claims.expires_at, now + ttl);
            assert_eq!(claims.grants(), grants.as_slice());

            let refresh = signer.issue_refresh_for(&subject, credential, &issue.service, now, ttl);
            let (again, again_credential) = signer
                .verify_refresh_credential(&refresh, &issue.service, now)
                .expect("a refresh token verifies");
            assert_eq!((again, again_credential), (subject, credential));
            // Neither kind passes for the other.
            assert!(signer.verify_refresh(&token, &issue.service, now).is_err());
            assert!(signer.verify_access(&refresh, &issue.service, now).is_err());
        }
    }
});
