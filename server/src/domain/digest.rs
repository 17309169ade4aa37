//! `Digest` (`algorithm:hex`), its `Algorithm`, and `DigestHasher`, which
//! computes one incrementally. Pure: hashing bytes it is handed, never
//! reading them itself; calls nothing outside `domain`.
//!
//! The OCI image-spec grammar is `algorithm ":" encoded` with
//! `algorithm ::= [a-z0-9]+ ([+._-] [a-z0-9]+)*` and
//! `encoded ::= [a-zA-Z0-9=_-]+`. Text that breaks the grammar is
//! `DigestInvalid`; well-formed text naming an algorithm other than sha256 or
//! sha512 is `DigestUnsupported`, so the registry can answer each correctly.
//! Registered algorithms then narrow `encoded` to lowercase hex of a fixed
//! length.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::digest::common::hazmat::SerializableState as _;
use sha2::Digest as _;

use super::DomainError;

/// A content-addressing hash algorithm the registry implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Every supported algorithm, for code that must visit each (listing
    /// blobs, for instance).
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in digests and blob paths: `sha256` or `sha512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// How many hex digits the encoded part has.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DomainError;

    /// Accepts a registered name; any other well-formed name is
    /// `DigestUnsupported`, anything else `DigestInvalid`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            other if is_algorithm_grammar(other) => {
                Err(DomainError::DigestUnsupported { algorithm: other.to_owned() })
            }
            _ => Err(digest_invalid(
                "the algorithm must be lowercase letters and digits joined by '+', '.', '_' or '-'",
            )),
        }
    }
}

/// A verified-shape content digest such as `sha256:e3b0c442...`.
///
/// The hex is always lowercase and of the algorithm's length, so two equal
/// digests are equal strings and the hex is safe as a file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    /// The whole `algorithm:hex` text; `Ord` and `Hash` follow it.
    text: String,
    algorithm: Algorithm,
}

impl Digest {
    /// Builds a digest from an algorithm and its encoded part, as found in a
    /// blob path; the hex is validated like a parsed digest's.
    pub fn from_parts(algorithm: Algorithm, hex: &str) -> Result<Self, DomainError> {
        check_hex(algorithm, hex)?;
        Ok(Self::from_checked_parts(algorithm, hex))
    }

    /// The digest of `bytes`, for content small enough to be in memory
    /// (manifests). Blobs go through `DigestHasher` while streaming.
    pub fn of_bytes(algorithm: Algorithm, bytes: &[u8]) -> Self {
        let mut hasher = DigestHasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded part: lowercase hex of `algorithm().hex_len()` digits.
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.as_str().len() + 1..]
    }

    /// The whole digest, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn from_checked_parts(algorithm: Algorithm, hex: &str) -> Self {
        Self { text: format!("{algorithm}:{hex}"), algorithm }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl FromStr for Digest {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let algorithm = check_digest(text)?;
        Ok(Self { text: text.to_owned(), algorithm })
    }
}

impl TryFrom<String> for Digest {
    type Error = DomainError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let algorithm = check_digest(&text)?;
        Ok(Self { text, algorithm })
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> Self {
        digest.text
    }
}

fn digest_invalid(reason: impl Into<String>) -> DomainError {
    DomainError::DigestInvalid { reason: reason.into() }
}

/// Validates `algorithm:hex` and returns the algorithm.
fn check_digest(text: &str) -> Result<Algorithm, DomainError> {
    let Some((algorithm, encoded)) = text.split_once(':') else {
        return Err(digest_invalid("a digest is <algorithm>:<encoded>, and this has no ':'"));
    };
    if encoded.is_empty() {
        return Err(digest_invalid("the encoded part after ':' is empty"));
    }
    let encoded_grammar = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'=' | b'_' | b'-');
    if !encoded.bytes().all(encoded_grammar) {
        return Err(digest_invalid(
            "the encoded part contains a character outside a-z, A-Z, 0-9, '=', '_' and '-'",
        ));
    }
    let algorithm: Algorithm = algorithm.parse()?;
    check_hex(algorithm, encoded)?;
    Ok(algorithm)
}

fn check_hex(algorithm: Algorithm, hex: &str) -> Result<(), DomainError> {
    if hex.len() != algorithm.hex_len() {
        return Err(digest_invalid(format!(
            "a {algorithm} digest has {} hex digits, this one has {}",
            algorithm.hex_len(),
            hex.len()
        )));
    }
    if !hex.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(digest_invalid(format!("a {algorithm} digest is lowercase hex (0-9, a-f)")));
    }
    Ok(())
}

/// `[a-z0-9]+ ([+._-] [a-z0-9]+)*`
fn is_algorithm_grammar(name: &str) -> bool {
    let is_component = |component: &str| {
        !component.is_empty()
            && component.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
    };
    name.split(['+', '.', '_', '-']).all(is_component)
}

/// Computes a `Digest` over bytes fed to it in pieces, so content is hashed
/// while it streams and never held whole.
#[derive(Clone)]
pub enum DigestHasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl DigestHasher {
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => DigestHasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => DigestHasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            DigestHasher::Sha256(_) => Algorithm::Sha256,
            DigestHasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            DigestHasher::Sha256(hasher) => hasher.update(bytes),
            DigestHasher::Sha512(hasher) => hasher.update(bytes),
        }
    }

    /// The hasher's state as bytes, from which `resume` continues it: a
    /// chunked upload keeps it between requests (and across restarts), so
    /// each byte is hashed once. The layout is sha2's own
    /// (`SerializableState`, a "hazmat" API not promised stable across sha2
    /// releases), so whoever stores it must record which layout it is; the
    /// test `saved_state_layout_is_pinned` fails when an upgrade changes it.
    pub fn saved_state(&self) -> Vec<u8> {
        match self {
            DigestHasher::Sha256(hasher) => hasher.serialize().to_vec(),
            DigestHasher::Sha512(hasher) => hasher.serialize().to_vec(),
        }
    }

    /// A hasher continued from `saved_state`'s bytes, or `None` when they
    /// are not a state of `algorithm` (wrong length or inconsistent).
    pub fn resume(algorithm: Algorithm, state: &[u8]) -> Option<Self> {
        match algorithm {
            Algorithm::Sha256 => {
                let state = state.try_into().ok()?;
                sha2::Sha256::deserialize(state).ok().map(DigestHasher::Sha256)
            }
            Algorithm::Sha512 => {
                let state = state.try_into().ok()?;
                sha2::Sha512::deserialize(state).ok().map(DigestHasher::Sha512)
            }
        }
    }

    pub fn finish(self) -> Digest {
        let algorithm = self.algorithm();
        let hex = match self {
            DigestHasher::Sha256(hasher) => hex::encode(hasher.finalize()),
            DigestHasher::Sha512(hasher) => hex::encode(hasher.finalize()),
        };
        Digest::from_checked_parts(algorithm, &hex)
    }
}

impl fmt::Debug for DigestHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DigestHasher").field(&self.algorithm()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const EMPTY_SHA512: &str = "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    const ABC_SHA256: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn accepts_valid_digests() {
        let valid = [
            (EMPTY_SHA256, Algorithm::Sha256),
            (ABC_SHA256, Algorithm::Sha256),
            (EMPTY_SHA512, Algorithm::Sha512),
            ("sha256:0000000000000000000000000000000000000000000000000000000000000000", Algorithm::Sha256),
        ];
        for (text, algorithm) in valid {
            let digest: Digest =
                text.parse().unwrap_or_else(|error| panic!("{text:?} should be valid: {error}"));
            assert_eq!(digest.algorithm(), algorithm);
            assert_eq!(digest.hex().len(), algorithm.hex_len());
            assert_eq!(format!("{}:{}", digest.algorithm(), digest.hex()), text);
            assert_eq!(digest.to_string(), text);
            assert_eq!(digest.as_ref(), text);
        }
    }

    #[test]
    fn rejects_malformed_digests_as_invalid() {
        let hex64 = "a".repeat(64);
        let hex128 = "a".repeat(128);
        let invalid = [
            (String::new(), "empty"),
            (hex64.clone(), "no algorithm"),
            (format!(":{hex64}"), "empty algorithm"),
            ("sha256:".to_owned(), "empty hex"),
            ("sha256".to_owned(), "no colon"),
            (format!("sha256:{}", "a".repeat(63)), "short sha256"),
            (format!("sha256:{}", "a".repeat(65)), "long sha256"),
            (format!("sha256:{hex128}"), "sha512-length hex for sha256"),
            (format!("sha512:{hex64}"), "sha256-length hex for sha512"),
            (format!("sha512:{}", "a".repeat(127)), "short sha512"),
            (format!("sha256:{}", "A".repeat(64)), "uppercase hex"),
            (format!("sha256:{}F", "a".repeat(63)), "one uppercase digit"),
            (format!("sha256:{}g", "a".repeat(63)), "non-hex letter"),
            (format!("sha256:{}=", "a".repeat(63)), "'=' in sha256 hex"),
            (format!("sha256:{hex64}:"), "second colon"),
            (format!("sha256:{} ", "a".repeat(63)), "space"),
            (format!("SHA256:{hex64}"), "uppercase algorithm"),
            (format!("sha-:{hex64}"), "algorithm ending in separator"),
            (format!("sha--256:{hex64}"), "doubled algorithm separator"),
            (format!("sha256 :{hex64}"), "space in algorithm"),
            (format!("sha256:{}é", "a".repeat(62)), "non-ascii"),
        ];
        for (text, why) in invalid {
            match text.parse::<Digest>() {
                Err(DomainError::DigestInvalid { reason }) => {
                    assert!(!reason.is_empty(), "{why}: empty reason")
                }
                other => panic!("{text:?} ({why}) should be DigestInvalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_unknown_algorithms_as_unsupported() {
        let unsupported = [
            ("md5:d41d8cd98f00b204e9800998ecf8427e", "md5"),
            (
                "sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
                "sha384",
            ),
            (
                "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
                "blake3",
            ),
            ("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", "multihash+base58"),
            ("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", "sha256+b64u"),
        ];
        for (text, algorithm) in unsupported {
            assert_eq!(
                text.parse::<Digest>(),
                Err(DomainError::DigestUnsupported { algorithm: algorithm.to_owned() }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn hashes_known_vectors() {
        assert_eq!(Digest::of_bytes(Algorithm::Sha256, b"").as_str(), EMPTY_SHA256);
        assert_eq!(Digest::of_bytes(Algorithm::Sha512, b"").as_str(), EMPTY_SHA512);
        assert_eq!(Digest::of_bytes(Algorithm::Sha256, b"abc").as_str(), ABC_SHA256);
    }

    #[test]
    fn hasher_in_pieces_equals_hashing_at_once() {
        let content: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for algorithm in Algorithm::ALL {
            let mut hasher = DigestHasher::new(algorithm);
            assert_eq!(hasher.algorithm(), algorithm);
            for piece in content.chunks(333) {
                hasher.update(piece);
            }
            assert_eq!(hasher.finish(), Digest::of_bytes(algorithm, &content));
        }
    }

    #[test]
    fn from_parts_validates_the_hex() {
        let digest = Digest::from_parts(Algorithm::Sha256, &EMPTY_SHA256[7..]).unwrap();
        assert_eq!(digest.as_str(), EMPTY_SHA256);
        assert!(Digest::from_parts(Algorithm::Sha256, "abc").is_err());
        assert!(Digest::from_parts(Algorithm::Sha256, &"A".repeat(64)).is_err());
        assert!(Digest::from_parts(Algorithm::Sha512, &EMPTY_SHA256[7..]).is_err());
        assert!(Digest::from_parts(Algorithm::Sha256, "../../etc/passwd").is_err());
    }

    #[test]
    fn algorithm_names_round_trip() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.as_str().parse::<Algorithm>(), Ok(algorithm));
        }
        assert!(matches!("md5".parse::<Algorithm>(), Err(DomainError::DigestUnsupported { .. })));
        assert!(matches!("SHA256".parse::<Algorithm>(), Err(DomainError::DigestInvalid { .. })));
    }

    #[test]
    fn serde_round_trips_as_a_string_and_validates() {
        let digest: Digest = ABC_SHA256.parse().unwrap();
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{ABC_SHA256}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }

    /// 1,000 bytes that differ from one another, split anywhere below.
    fn sample_content() -> Vec<u8> {
        (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect()
    }

    #[test]
    fn a_resumed_hasher_gives_the_same_digest_from_any_split() {
        let content = sample_content();
        for algorithm in Algorithm::ALL {
            let whole = Digest::of_bytes(algorithm, &content);
            // Inside a block, at block ends (64 and 128 bytes), past several.
            for split in [0, 1, 63, 64, 65, 127, 128, 129, 500, 999, 1000] {
                let mut first = DigestHasher::new(algorithm);
                first.update(&content[..split]);
                let saved = first.saved_state();
                let mut resumed = DigestHasher::resume(algorithm, &saved).expect("a saved state resumes");
                resumed.update(&content[split..]);
                assert_eq!(resumed.finish(), whole, "{algorithm} split at {split}");
            }
        }
    }

    #[test]
    fn resume_refuses_bytes_that_are_not_a_state() {
        let sha256_state = DigestHasher::new(Algorithm::Sha256).saved_state();
        let sha512_state = DigestHasher::new(Algorithm::Sha512).saved_state();
        assert_ne!(sha256_state.len(), sha512_state.len());
        assert!(DigestHasher::resume(Algorithm::Sha512, &sha256_state).is_none());
        assert!(DigestHasher::resume(Algorithm::Sha256, &sha512_state).is_none());
        assert!(DigestHasher::resume(Algorithm::Sha256, &sha256_state[1..]).is_none());
        assert!(DigestHasher::resume(Algorithm::Sha256, &[]).is_none());
        // A buffered-byte count of a whole block or more is inconsistent
        // (the byte after the state words and the block count).
        let mut bad_position = sha256_state.clone();
        bad_position[40] = 64;
        assert!(DigestHasher::resume(Algorithm::Sha256, &bad_position).is_none());
    }

    /// Stored upload states record this layout as their format version (see
    /// `storage::hash_state`). If a sha2 upgrade changes it, this test fails:
    /// bump that version, so states saved by older binaries are re-hashed
    /// instead of misread.
    #[test]
    fn saved_state_layout_is_pinned() {
        let mut hasher = DigestHasher::new(Algorithm::Sha256);
        hasher.update(&[0xAB; 70]);
        let state = hasher.saved_state();
        let expected = concat!(
            // The eight state words after one block, little-endian.
            "1d1583b9b61ebb42e885364463fb96a26d229b343ea4be9c8b92136c54dac86f",
            // How many whole blocks were hashed (one), a little-endian u64.
            "0100000000000000",
            // How many bytes wait in the block buffer (six), then the buffer's
            // 63 bytes: the six, and zeros.
            "06",
            "abababababab",
            "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        );
        assert_eq!(hex::encode(&state), expected);
    }
}
