//! The pipelined listing (the next `SCAN` sent as soon as the cursor is known), checked key
//! for key, from a cursor, on a database index, behind a password, with and without a scan
//! budget, and through a connection that breaks.

mod common;

use cache_console::backend::ops::Pages;
use cache_console::core::model::{KeyType, ScanRequest};
use common::RedisServer;

/// Every key of a listing walked with `Pages` from `from`, in a fresh runtime.
async fn walk(
    url: &str,
    request: &ScanRequest,
    from: u64,
    stop_after: Option<usize>,
) -> (Vec<Vec<u8>>, u64) {
    let (spec, password) = cache_console::config::connection::parse_url(url).expect("url");
    let backend = cache_console::backend::connect(
        &spec,
        password.as_ref(),
        &cache_console::backend::ConnectOptions::default(),
    )
    .await
    .expect("connect");
    let mut pages = Pages::new(backend.as_ref(), request, from);
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await.expect("a page") {
        keys.extend(page.keys.iter().map(|k| k.to_vec()));
        if stop_after.is_some_and(|n| keys.len() >= n) {
            break;
        }
    }
    (keys, pages.cursor())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipelined_listing_gives_every_key_byte_for_byte_and_goes_on_from_a_cursor() {
    let server = RedisServer::start_with(Some("s3cret"));
    let url = format!("redis://:s3cret@127.0.0.1:{}/3", server.port);
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut c = client.get_connection().expect("conn");
    let mut want: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| format!("k:{i}").into_bytes())
        .collect();
    // Keys no text can hold: CR LF, NUL, invalid UTF-8, an empty name, a long one.
    want.extend([
        b"bin:\r\n\x00\xff".to_vec(),
        Vec::new(),
        vec![b'x'; 70_000],
        b"*2\r\n$1\r\nx".to_vec(),
    ]);
    let mut pipe = redis::pipe();
    for k in &want {
        pipe.cmd("SET").arg(k.as_slice()).arg(1).ignore();
    }
    pipe.query::<()>(&mut c).expect("fill db 3");
    let mut db0 = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/0", server.port))
        .expect("client")
        .get_connection()
        .expect("db 0");
    redis::cmd("SET")
        .arg("db0-only")
        .arg(1)
        .query::<()>(&mut db0)
        .expect("db 0");
    want.sort();

    for budget in [None, Some(250)] {
        let mut request = ScanRequest::matching(b"*".to_vec());
        request.budget_ms = budget;
        let (mut got, cursor) = walk(&url, &request, 0, None).await;
        assert_eq!(cursor, 0);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), want.len(), "budget {budget:?}");
        assert!(
            got == want,
            "the keys of db 3, byte for byte (budget {budget:?})"
        );
    }

    // Stopped part way and taken up again from its cursor: together, every key.
    let request = ScanRequest {
        count: 500,
        budget_ms: None,
        ..ScanRequest::matching(b"k:*".to_vec())
    };
    let (mut first, cursor) = walk(&url, &request, 0, Some(3_000)).await;
    assert_ne!(cursor, 0);
    let (rest, end) = walk(&url, &request, cursor, None).await;
    assert_eq!(end, 0);
    first.extend(rest);
    first.sort();
    first.dedup();
    assert_eq!(first.len(), 20_000);

    // A type filter is the server's.
    let request = ScanRequest {
        type_filter: Some(KeyType::Hash),
        ..ScanRequest::matching(b"*".to_vec())
    };
    let (got, _) = walk(&url, &request, 0, None).await;
    assert!(got.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_breaks_mid_listing_is_an_error_and_the_listing_can_go_on() {
    let server = RedisServer::start();
    common::fill(&mut server.conn(), "k:", 30_000);
    let proxy = common::fault::FaultProxy::start(&format!("127.0.0.1:{}", server.port));
    let url = format!("redis://127.0.0.1:{}/0", proxy.port());
    let backend = common::open_url(&url).await;
    let request = ScanRequest {
        count: 200,
        budget_ms: None,
        ..ScanRequest::matching(b"*".to_vec())
    };
    let mut pages = Pages::new(backend.as_ref(), &request, 0);
    let mut keys = Vec::new();
    let first = pages.next().await.expect("a page").expect("not done");
    keys.extend(first.keys);
    // Every connection through the proxy is cut now: the next page fails, and says so.
    proxy.set(common::fault::Fault::Cut);
    let mut failed = false;
    for _ in 0..200 {
        match pages.next().await {
            Ok(Some(page)) => keys.extend(page.keys),
            Ok(None) => break,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the broken connection is reported");
    // Back: the walk goes on from the cursor it reached, to the end.
    proxy.set(common::fault::Fault::Pass);
    while let Some(page) = pages.next().await.expect("a page after the fault") {
        keys.extend(page.keys);
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 30_000);
}
