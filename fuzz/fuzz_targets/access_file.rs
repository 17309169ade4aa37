//! `AccessFile::parse`, the TOML access file of `portcullis plan|apply`,
//! an administrator's text. No panic; every refusal places itself inside
//! the text; a document read, written back (`access_file::write`, what
//! `export` prints), reads as the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_cli::access_file::{write, AccessFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = match AccessFile::parse(text) {
        Ok(file) => file,
        Err(error) => {
            if let Some(line) = error.line {
                assert!(line >= 1 && line <= text.split('\n').count(), "{error} in {text:?}");
            }
            return;
        }
    };
    let printed = write(&file.document, "exported");
    match AccessFile::parse(&printed) {
        Ok(again) => assert_eq!(again.document, file.document, "{text:?} printed as {printed:?}"),
        Err(error) => panic!("{text:?} printed as {printed:?} is refused: {error}"),
    }
    let _ = file.locate(Some("/document/tokens/x"), "refused");
});
