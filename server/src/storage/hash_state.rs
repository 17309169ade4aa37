//! `UploadHashState`: the running hash of a chunked upload and how many of
//! the upload's first bytes it covers, in the versioned text form a backend
//! saves beside the upload's bytes. Saved between requests, it lets every
//! byte be hashed once, as it arrives, even across restarts or on another
//! replica. Owns only the state and its text form; the backend decides where
//! it lives and when it may be trusted. Calls only `domain`.
//!
//! The text form (version 1):
//!
//! ```text
//! portcullis upload hash state
//! version 1
//! algorithm sha256
//! covered 1048576
//! state <hex of DigestHasher::saved_state>
//! check <sha256 hex of every line above, newlines included>
//! ```
//!
//! Version 1 means this text and the hasher state layout of sha2 0.11
//! (pinned by `domain::digest`'s test `saved_state_layout_is_pinned`). A text
//! with another version, a failed check (a write torn by a crash) or any
//! other fault decodes to `None`, and the backend re-hashes the upload from
//! its bytes: a saved state only ever saves work, it never decides a digest
//! on its own.

use crate::domain::{Algorithm, Digest, DigestHasher};

/// The first line of every saved state.
const MAGIC: &str = "portcullis upload hash state";

/// The version written; the only one read.
const VERSION: u32 = 1;

/// A hash over an upload's first `covered` bytes.
#[derive(Debug, Clone)]
pub(crate) struct UploadHashState {
    covered: u64,
    hasher: DigestHasher,
}

impl UploadHashState {
    /// The state of an upload with no bytes yet.
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        Self { covered: 0, hasher: DigestHasher::new(algorithm) }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.hasher.algorithm()
    }

    /// How many of the upload's first bytes the hash covers.
    pub(crate) fn covered(&self) -> u64 {
        self.covered
    }

    /// Adds the next bytes of the upload.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.covered += bytes.len() as u64;
    }

    /// The digest of the `covered` bytes.
    pub(crate) fn finish(self) -> Digest {
        self.hasher.finish()
    }

    /// The text form described in the module documentation.
    pub(crate) fn encode(&self) -> String {
        let body = format!(
            "{MAGIC}\nversion {VERSION}\nalgorithm {}\ncovered {}\nstate {}\n",
            self.algorithm(),
            self.covered,
            hex::encode(self.hasher.saved_state()),
        );
        let check = Digest::of_bytes(Algorithm::Sha256, body.as_bytes());
        format!("{body}check {}\n", check.hex())
    }

    /// The state `encode` wrote, or `None` for anything else: another
    /// version, a torn or altered text, a state that does not resume.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        let check_at = text.rfind("check ")?;
        let (body, check_line) = text.split_at(check_at);
        let check = check_line.strip_prefix("check ")?.strip_suffix('\n')?;
        if Digest::of_bytes(Algorithm::Sha256, body.as_bytes()).hex() != check {
            return None;
        }
        let mut lines = body.strip_suffix('\n')?.split('\n');
        if lines.next()? != MAGIC {
            return None;
        }
        let version: u32 = field(lines.next()?, "version")?.parse().ok()?;
        if version != VERSION {
            return None;
        }
        let algorithm: Algorithm = field(lines.next()?, "algorithm")?.parse().ok()?;
        let covered: u64 = field(lines.next()?, "covered")?.parse().ok()?;
        let state = hex::decode(field(lines.next()?, "state")?).ok()?;
        if lines.next().is_some() {
            return None;
        }
        let hasher = DigestHasher::resume(algorithm, &state)?;
        Some(Self { covered, hasher })
    }
}

/// The value of a `name value` line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.strip_prefix(name)?.strip_prefix(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_over(algorithm: Algorithm, parts: &[&[u8]]) -> UploadHashState {
        let mut state = UploadHashState::new(algorithm);
        for part in parts {
            state.update(part);
        }
        state
    }

    #[test]
    fn a_decoded_state_continues_the_hash() {
        let content: Vec<u8> = (0..300u32).map(|i| (i * 31) as u8).collect();
        for algorithm in Algorithm::ALL {
            for split in [0, 1, 64, 100, 128, 299, 300] {
                let state = state_over(algorithm, &[&content[..split]]);
                let mut decoded = UploadHashState::decode(&state.encode()).expect("its own text decodes");
                assert_eq!(decoded.covered(), split as u64);
                assert_eq!(decoded.algorithm(), algorithm);
                decoded.update(&content[split..]);
                assert_eq!(decoded.covered(), 300);
                assert_eq!(decoded.finish(), Digest::of_bytes(algorithm, &content), "{algorithm} at {split}");
            }
        }
    }

    #[test]
    fn the_text_says_what_it_is() {
        let text = state_over(Algorithm::Sha256, &[b"abc"]).encode();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(lines[0], MAGIC);
        assert_eq!(lines[1], "version 1");
        assert_eq!(lines[2], "algorithm sha256");
        assert_eq!(lines[3], "covered 3");
        assert!(lines[4].starts_with("state "), "{text}");
        assert!(lines[5].starts_with("check ") && lines[5].len() == 6 + 64, "{text}");
    }

    #[test]
    fn anything_but_an_intact_state_of_this_version_decodes_to_none() {
        let text = state_over(Algorithm::Sha256, &[b"some bytes"]).encode();
        let lines: Vec<&str> = text.lines().collect();
        // Re-signed texts: the check passes, the content is wrong.
        let signed = |body: String| {
            let check = Digest::of_bytes(Algorithm::Sha256, body.as_bytes());
            format!("{body}check {}\n", check.hex())
        };
        let body_with = |index: usize, line: &str| {
            let mut changed = lines[..5].to_vec();
            changed[index] = line;
            changed.iter().map(|line| format!("{line}\n")).collect::<String>()
        };
        let sha512_state = hex::encode(DigestHasher::new(Algorithm::Sha512).saved_state());
        let rejected = [
            (String::new(), "empty (a write torn by a crash)"),
            (text[..text.len() / 2].to_owned(), "cut in half"),
            (text[..text.len() - 1].to_owned(), "no final newline"),
            (text.replace("covered 10", "covered 11"), "altered without a new check"),
            (signed(body_with(1, "version 2")), "another version"),
            (signed(body_with(0, "portcullis upload state")), "another magic"),
            (signed(body_with(2, "algorithm md5")), "an unknown algorithm"),
            (signed(body_with(3, "covered -1")), "a negative count"),
            (signed(body_with(4, "state zz")), "a state that is not hex"),
            (signed(body_with(4, &format!("state {sha512_state}"))), "a sha512 state for sha256"),
            (signed(format!("{}extra line\n", body_with(0, MAGIC))), "an extra line"),
        ];
        for (text, why) in rejected {
            assert!(UploadHashState::decode(&text).is_none(), "{why}: {text:?}");
        }
        assert!(UploadHashState::decode(&text).is_some());
    }
}
