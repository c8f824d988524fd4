//! TLS connections (`rediss://`) to a real redis-server with a certificate made for the test.

mod common;

use cache_console::backend::{self, BackendError, ConnectOptions};
use cache_console::config::connection::parse_url;
use common::tls::Pki;
use common::{RedisServer, fill};

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
