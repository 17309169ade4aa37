//! Encryption at rest of the registry's own keys (`server_keys`) under the
//! operator's key-encryption key (`--key-encryption-key-file`): reading that
//! key's file, telling a stored key's plain form from its sealed one,
//! sealing and opening. It must not query the database (the caller,
//! `service::bootstrap::shared_key`, stores what it gets here) nor log.
//!
//! A sealed key is AES-256-GCM (`ring`, the crate rustls already uses):
//! [`SEALED_MAGIC`], a random 96-bit nonce, then the ciphertext and its
//! tag. The associated data is the key's name, so a sealed value copied to
//! the row of another name does not open. A plain key is exactly
//! [`KEY_LENGTH`] bytes and a sealed one [`SEALED_LENGTH`], so the two
//! forms share the column without a flag.

use std::{fmt, fs, io, path::Path};

use rand::{rngs::OsRng, RngCore};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use secrecy::{
    zeroize::{Zeroize, Zeroizing},
    ExposeSecret, ExposeSecretMut, SecretBox,
};

use super::token::SIGNING_KEY_LENGTH;

/// The length of a registry key and of a key-encryption key.
pub const KEY_LENGTH: usize = SIGNING_KEY_LENGTH;
/// What a sealed key starts with: its format and version.
pub const SEALED_MAGIC: &[u8; 4] = b"pck1";
const TAG_LENGTH: usize = 16;
/// The length of a sealed key: magic, nonce, ciphertext, tag.
pub const SEALED_LENGTH: usize = SEALED_MAGIC.len() + NONCE_LEN + KEY_LENGTH + TAG_LENGTH;

/// The operator's key-encryption key. Never printed (`Debug` is redacted),
/// wiped from memory when dropped.
pub struct KeyEncryptionKey(SecretBox<[u8; KEY_LENGTH]>);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

/// Why a key-encryption key file cannot be used. Never quotes the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read it: {0}")]
    Unreadable(#[from] io::Error),
    #[error(
        "it must hold exactly {} hexadecimal characters \
         (a {KEY_LENGTH}-byte key, e.g. from `openssl rand -hex {KEY_LENGTH}`)",
        KEY_LENGTH * 2
    )]
    NotAKey,
}

/// A sealed key that does not open: another key-encryption key sealed it,
/// it was sealed for another name, or the row is damaged.
#[derive(Debug, thiserror::Error)]
#[error("the sealed key does not open with this key-encryption key")]
pub struct OpenError;

/// A `server_keys` row's bytes, by form. Not `Debug`: a plain key is the
/// secret itself.
#[derive(Clone, Copy)]
pub enum StoredKey<'a> {
    Plain(&'a [u8; KEY_LENGTH]),
    Sealed(&'a [u8; SEALED_LENGTH]),
    /// Neither form.
    Damaged,
}

impl<'a> StoredKey<'a> {
    pub fn classify(stored: &'a [u8]) -> Self {
        if let Ok(plain) = stored.try_into() {
            return Self::Plain(plain);
        }
        match stored.try_into() {
            Ok(sealed) if stored.starts_with(SEALED_MAGIC) => Self::Sealed(sealed),
            _ => Self::Damaged,
        }
    }
}

impl KeyEncryptionKey {
    pub fn from_bytes(bytes: [u8; KEY_LENGTH]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Reads the key from a file holding it as 64 hexadecimal characters;
    /// surrounding whitespace (a trailing newline) is ignored.
    pub fn read_file(path: &Path) -> Result<Self, KeyFileError> {
        let text = Zeroizing::new(fs::read(path)?);
        let mut key = SecretBox::new(Box::new([0u8; KEY_LENGTH]));
        hex::decode_to_slice(text.trim_ascii(), key.expose_secret_mut())
            .map_err(|_| KeyFileError::NotAKey)?;
        Ok(Self(key))
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, self.0.expose_secret()).expect("a 32-byte key suits AES-256-GCM"),
        )
    }

    /// `key` sealed for the row `name`, under a fresh random nonce.
    pub fn seal(&self, name: &str, key: &[u8; KEY_LENGTH]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let mut ciphertext = *key;
        let tag = self
            .aead()
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut ciphertext,
            )
            .expect("a 32-byte message is within AES-GCM's limits");
        let mut sealed = Vec::with_capacity(SEALED_LENGTH);
        sealed.extend_from_slice(SEALED_MAGIC);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// The key sealed for the row `name`.
    pub fn open(&self, name: &str, sealed: &[u8; SEALED_LENGTH]) -> Result<[u8; KEY_LENGTH], OpenError> {
        let (nonce, body) = sealed[SEALED_MAGIC.len()..].split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut buffer = [0u8; KEY_LENGTH + TAG_LENGTH];
        buffer.copy_from_slice(body);
        let opened = self.aead().open_in_place(nonce, Aad::from(name.as_bytes()), &mut buffer).map(|plain| {
            let mut key = [0u8; KEY_LENGTH];
            key.copy_from_slice(plain);
            key
        });
        buffer.zeroize();
        opened.map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_LENGTH] = [0x5a; KEY_LENGTH];

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes([byte; KEY_LENGTH])
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_key_and_name() {
        let sealed = kek(1).seal("token-signing", &KEY);
        assert_eq!(sealed.len(), SEALED_LENGTH);
        assert!(sealed.starts_with(SEALED_MAGIC));
        assert!(!sealed.windows(KEY_LENGTH).any(|window| window == KEY));
        let StoredKey::Sealed(stored) = StoredKey::classify(&sealed) else { panic!("not sealed") };
        assert_eq!(kek(1).open("token-signing", stored).unwrap(), KEY);
        assert!(kek(2).open("token-signing", stored).is_err());
        assert!(kek(1).open("token-password", stored).is_err());

        let mut damaged = *stored;
        damaged[SEALED_LENGTH - 1] ^= 1;
        assert!(kek(1).open("token-signing", &damaged).is_err());
    }

    #[test]
    fn every_sealing_takes_a_new_nonce() {
        assert_ne!(kek(1).seal("token-signing", &KEY), kek(1).seal("token-signing", &KEY));
    }

    #[test]
    fn the_two_forms_are_told_apart_by_length_and_magic() {
        assert!(matches!(StoredKey::classify(&KEY), StoredKey::Plain(plain) if *plain == KEY));
        // A plain key that happens to start with the magic is still plain.
        let mut lookalike = KEY;
        lookalike[..4].copy_from_slice(SEALED_MAGIC);
        assert!(matches!(StoredKey::classify(&lookalike), StoredKey::Plain(_)));
        assert!(matches!(StoredKey::classify(&[0u8; SEALED_LENGTH]), StoredKey::Damaged));
        assert!(matches!(StoredKey::classify(&KEY[..31]), StoredKey::Damaged));
        assert!(matches!(StoredKey::classify(b""), StoredKey::Damaged));
    }

    #[test]
    fn a_key_file_holds_64_hex_characters() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kek");
        std::fs::write(&file, format!("  {}\n", "0a".repeat(KEY_LENGTH))).unwrap();
        let read = KeyEncryptionKey::read_file(&file).unwrap();
        assert_eq!(read.0.expose_secret(), &[0x0a; KEY_LENGTH]);
        assert_eq!(format!("{read:?}"), "KeyEncryptionKey(<redacted>)");
    }

    #[test]
    fn a_bad_key_file_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = KeyEncryptionKey::read_file(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(missing, KeyFileError::Unreadable(_)), "{missing}");

        let file = dir.path().join("kek");
        for content in ["0a".repeat(31), "zz".repeat(KEY_LENGTH), "0a".repeat(33), String::new()] {
            std::fs::write(&file, &content).unwrap();
            let error = KeyEncryptionKey::read_file(&file).unwrap_err();
            assert!(matches!(error, KeyFileError::NotAKey), "{error}");
            assert!(content.is_empty() || !error.to_string().contains(&content[..8]), "{error}");
        }
    }
}
