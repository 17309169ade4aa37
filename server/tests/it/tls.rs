//! HTTPS served directly from a certificate and key.

use std::process::Command;

use crate::testkit::{TestServer, ADMIN_PASSWORD};

#[test]
fn serves_the_registry_and_portal_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let data = dir.path().join("data");
    let server = TestServer::start_with(
        &data,
        Some(ADMIN_PASSWORD),
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);

    let curl = |args: &[&str]| {
        let output =
            Command::new("curl").args(["-sS", "-i", "--cacert"]).arg(&cert).args(args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    // The challenge sends clients to the HTTPS token endpoint.
    let answer = curl(&[&server.url("/v2/")]);
    assert!(answer.starts_with("HTTP/2 401") || answer.starts_with("HTTP/1.1 401"), "{answer}");
    let realm = format!("realm=\"https://{}/oauth2/token\"", server.authority());
    assert!(answer.to_lowercase().contains(&realm.to_lowercase()), "{answer}");
    let answer = curl(&["-u", &format!("admin:{ADMIN_PASSWORD}"), &server.url("/v2/")]);
    assert!(answer.contains(" 200"), "{answer}");
    // Portal session cookies are Secure over HTTPS.
    let answer = curl(&[&server.url("/login")]);
    let cookie = answer.lines().find(|l| l.to_lowercase().starts_with("set-cookie")).unwrap_or_default();
    assert!(cookie.contains("Secure"), "{answer}");
}
