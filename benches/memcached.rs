//! `cargo bench --bench memcached`: listing 1,000,000 memcached items through the app's path
//! (crawl → service → channel → state → key index, UI drawing meanwhile) against a bare read of
//! the raw `lru_crawler metadump all` stream that does nothing with the lines.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::time::{Duration, Instant};

use cache_console::config::connection::parse_url;

const ITEMS: usize = 1_000_000;

fn bare_metadump(port: u16) -> (Duration, usize) {
    let start = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"lru_crawler metadump all\r\n").expect("write");
    let mut reader = BufReader::with_capacity(256 * 1024, s);
    let mut line = Vec::new();
    let mut lines = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).expect("read") == 0 || line.starts_with(b"END") {
            break;
        }
        lines += 1;
    }
    (start.elapsed(), lines)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let server = common::MemcachedServer::start_with(&["-m", "1024"]);
    let fill_start = Instant::now();
    server.fill("session:user:", ITEMS);
    println!(
        "filled {ITEMS} items in {:.1} s",
        fill_start.elapsed().as_secs_f64()
    );
    let stats = server.raw("stats\r\n", "END\r\n");
    for line in stats.lines().filter(|l| {
        l.contains("curr_items") || l.contains("evictions") || l.contains("total_items")
    }) {
        println!("  {line}");
    }

    let bare = (0..3)
        .map(|_| {
            let (t, n) = bare_metadump(server.port);
            println!("  a bare metadump returned {n} lines");
            t
        })
        .min()
        .unwrap_or_default();

    // The backend alone, for reference: how much of the app path is the crawl itself.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let crawl_only = rt.block_on(async {
        let (spec, _) = parse_url(&format!("memcached://{}", server.addr())).expect("url");
        let be = cache_console::backend::connect(
            &spec,
            None,
            &cache_console::backend::ConnectOptions::default(),
        )
        .await
        .expect("connect");
        let request = cache_console::core::model::ScanRequest {
            pattern: b"*".to_vec(),
            type_filter: None,
            count: 1000,
            server: None,
            budget_ms: None,
        };
        let start = Instant::now();
        let mut cursor = 0;
        let mut n = 0;
        loop {
            let page = be.scan(&request, cursor).await.expect("scan");
            n += page.keys.len();
            cursor = page.next_cursor;
            if cursor == 0 {
                break;
            }
        }
        println!(
            "  backend crawl alone: {n} keys in {:.0} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
        start.elapsed()
    });
    let _ = crawl_only;
    let (mut h, app_best) =
        common::ui::timed_app_listing(&format!("memcached://{}", server.addr()), 3, None);
    let listed = h
        .state()
        .state
        .active_session()
        .map_or(0, |s| s.browser.index.len());
    // memcached's crawler can miss items its LRU maintainer moves during the crawl (the bare
    // dump misses a few too); the app must not lose more than that.
    println!("  the app listed {listed} distinct keys");
    assert!(listed >= ITEMS * 999 / 1000, "listed {listed} of {ITEMS}");
    let ratio = app_best.as_secs_f64() / bare.as_secs_f64();
    println!("\nfull listing of {ITEMS} memcached items");
    println!(
        "  bare read of the metadump stream              {:>8.0} ms",
        bare.as_secs_f64() * 1e3
    );
    println!(
        "  app path (crawl, service, index, tree, UI)    {:>8.0} ms",
        app_best.as_secs_f64() * 1e3
    );
    println!("  ratio                                         {ratio:>8.2}   (target <= 1.25)");
    h.state_mut().shutdown();
}
