//! `county serve --tls-cert/--tls-key`: the real binary over real TLS (rustls on both ends,
//! test certificates in tests/data/tls).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn county(args: &[&str], data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_county"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("RUST_LOG")
        .env_remove("COUNTY_DATA_DIR");
    command
}

fn client() -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(tls_file("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// GET `path` over TLS with HTTP/1.1; the whole answer as text.
async fn get(address: &str, path: &str) -> String {
    let tcp = TcpStream::connect(address).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = client().connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    // A peer closing without close_notify is fine for this check.
    let _ = tls.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn serve_speaks_tls_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = tls_file("cert.pem");
    let key = tls_file("key.pem");
    let mut child = county(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        dir.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _serving = Serving(child);
    let address = line
        .trim()
        .strip_prefix("county: listening on https://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let answer = get(&address, county_api::paths::OPENAPI).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    assert!(answer.contains("openapi: 3.1.0"));
    // The station API and the review page sit behind the same handshake.
    let decisions = get(&address, county_api::paths::DECISIONS).await;
    assert!(decisions.starts_with("HTTP/1.1 401"), "{decisions:.300}");
    let review = get(&address, "/review/queue").await;
    assert!(review.starts_with("HTTP/1.1 303"), "{review:.300}");
    // Over TLS the review page's cookies never travel in clear.
    let login = get(&address, "/review/login").await;
    let cookie = login
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: county_login=")
        })
        .unwrap_or_else(|| panic!("no login cookie: {login:.600}"));
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Plain HTTP gets no HTTP answer, and a silent client does not block others.
    let mut silent = TcpStream::connect(&address).await.unwrap();
    let mut plain = TcpStream::connect(&address).await.unwrap();
    plain
        .write_all(b"GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "plain HTTP was served"
    );
    let again = get(&address, county_api::paths::OPENAPI).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again:.300}");
    silent.shutdown().await.unwrap();
}

fn assert_one_line_error(output: &Output, contains: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("county: ") && err.contains(contains),
        "{err}"
    );
}

#[test]
fn unusable_tls_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cert = tls_file("cert.pem");
    let key = tls_file("key.pem");
    let ca = tls_file("ca.pem");
    let missing = dir.path().join("missing.pem");
    let serve = |cert: &Path, key: &Path| {
        county(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
            dir.path(),
        )
        .output()
        .unwrap()
    };
    assert_one_line_error(&serve(&missing, &key), "TLS certificate");
    assert_one_line_error(&serve(&cert, &missing), "TLS key");
    // A certificate given as the key.
    assert_one_line_error(&serve(&cert, &ca), "TLS key");
    // --tls-cert without --tls-key is a usage error.
    let usage = county(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
        ],
        dir.path(),
    )
    .output()
    .unwrap();
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
}
