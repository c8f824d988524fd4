//! TLS connections (`rediss://`) to a real redis-server with a certificate made for the test.

mod common;

use cache_console::backend::{self, BackendError, ConnectOptions};
use cache_console::config::connection::parse_url;
use common::{RedisServer, fill};

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA and a server certificate for 127.0.0.1 and localhost, signed by it.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Cache Console test CA");
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca cert");
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("server params");
        let key = rcgen::KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &ca).expect("server cert");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write ca");
        std::fs::write(dir.path().join("server.pem"), cert.pem()).expect("write cert");
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).expect("write key");
        Self { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[tokio::test]
async fn rediss_with_a_ca_file_connects_and_lists() {
    let pki = Pki::new();
    let server = RedisServer::start_tls(
        &pki.path("server.pem"),
        &pki.path("server.key"),
        &pki.path("ca.pem"),
    );
    let mut c = server.conn();
    fill(&mut c, "tls:", 25);
    let tls_port = server.tls_port.expect("tls port");
    let url = format!(
        "rediss://127.0.0.1:{tls_port}/0?ca={}",
        pki.path("ca.pem").display()
    );
    let (spec, _) = parse_url(&url).expect("url");
    let b = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .expect("TLS connect with the CA file");
    assert_eq!(b.key_count().await.expect("dbsize"), 25);

    // The system roots do not know the test CA: a clear error, not a hang or a panic.
    let url = format!("rediss://127.0.0.1:{tls_port}/0");
    let (spec, _) = parse_url(&url).expect("url");
    let err = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("untrusted certificate");
    let text = err.to_string();
    assert!(
        matches!(
            err,
            BackendError::Connect { .. } | BackendError::Server { .. }
        ),
        "{err:?}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");

    // A missing CA file is reported as such.
    let url = format!("rediss://127.0.0.1:{tls_port}/0?ca=/nonexistent/ca.pem");
    let (spec, _) = parse_url(&url).expect("url");
    let err = backend::connect(&spec, None, &ConnectOptions::default())
        .await
        .err()
        .expect("missing CA file");
    assert!(err.to_string().contains("cannot read TLS CA file"), "{err}");
}
