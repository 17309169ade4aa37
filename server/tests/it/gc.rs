//! `portcullis gc` against a running registry: unreferenced content goes,
//! referenced and recent content stays.

use std::{path::Path, process::Command};

use reqwest::{Method, StatusCode};

use crate::registry::Registry;

fn gc(data: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["gc", "--data-dir"])
        .arg(data)
        .envs(crate::testkit::database_env(data))
        .args(args)
        .env("PORTCULLIS_LOG", "warn")
        .output()
        .expect("gc runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn stored_blobs(data: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum()
            })
            .unwrap_or(0)
    }
    count(&data.join("blobs"))
}

#[tokio::test]
async fn collects_unreferenced_blobs_while_serving() {
    let registry = Registry::start();
    let data = registry.data_dir().to_owned();
    let repo = "samples/gc";
    let (_, manifest_digest) = registry.push_image(repo, "v1", b"kept layer").await;
    let orphan = registry.push_blob(repo, b"orphan blob, never referenced").await;
    assert_eq!(stored_blobs(&data), 3);

    // Within the grace period nothing goes, not even the orphan.
    assert!(gc(&data, &[]).contains("removed 0 blobs"));
    assert_eq!(stored_blobs(&data), 3);

    let dry = gc(&data, &["--dry-run", "--grace-minutes", "0"]);
    assert!(dry.contains("would remove 1 blobs"), "{dry}");
    assert_eq!(stored_blobs(&data), 3);

    let real = gc(&data, &["--grace-minutes", "0"]);
    assert!(real.contains("removed 1 blobs"), "{real}");
    assert_eq!(stored_blobs(&data), 2);
    let gone = registry.request(Method::GET, &format!("/v2/{repo}/blobs/{orphan}")).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    // The image is whole.
    let manifest = registry.request(Method::GET, &format!("/v2/{repo}/manifests/v1")).send().await.unwrap();
    assert_eq!(manifest.status(), StatusCode::OK);
    let layer = crate::registry::sha256(b"kept layer");
    let body = registry.request(Method::GET, &format!("/v2/{repo}/blobs/{layer}")).send().await.unwrap();
    assert_eq!(body.bytes().await.unwrap().as_ref(), b"kept layer");

    // Once the manifest is deleted its config and layer are garbage too.
    let deleted = registry
        .request(Method::DELETE, &format!("/v2/{repo}/manifests/{manifest_digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::ACCEPTED);
    let real = gc(&data, &["--grace-minutes", "0"]);
    assert!(real.contains("removed 2 blobs"), "{real}");
    assert_eq!(stored_blobs(&data), 0);

    // A re-push after collection works.
    registry.push_image(repo, "v1", b"kept layer").await;
    assert_eq!(stored_blobs(&data), 2);
}
