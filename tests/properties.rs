//! Properties checked against the real thing: the client-side glob matcher (used for
//! memcached, SQL and file caches) must say exactly what Redis says, for random keys and
//! patterns, and answer at once even for patterns built to blow up a backtracking matcher.

mod common;

use common::RedisServer;
use proptest::prelude::*;

fn alphabet() -> impl Strategy<Value = Vec<u8>> {
    // Specials, a few letters, a high byte and a backslash: where matchers disagree.
    proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\\xff:".to_vec()), 0..12)
}

fn key_alphabet() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(b"ab]-^\\\xff:*?".to_vec()), 0..12)
}

#[test]
fn the_glob_matcher_agrees_with_redis() {
    let server = RedisServer::start();
    let c = std::cell::RefCell::new(server.conn());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1_500,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&(alphabet(), key_alphabet()), |(pattern, key)| {
            let mut c = c.borrow_mut();
            let c = &mut *c;
            redis::cmd("FLUSHDB").query::<()>(c).expect("flush");
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .query::<()>(c)
                .expect("set");
            let (_, found): (String, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(0)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(100)
                .query(c)
                .expect("scan");
            prop_assert_eq!(
                cache_console::core::glob::matches(&pattern, &key),
                !found.is_empty(),
                "pattern {:?} key {:?}",
                String::from_utf8_lossy(&pattern),
                String::from_utf8_lossy(&key)
            );
            Ok(())
        })
        .expect("the matcher agrees with Redis");
}

#[test]
fn patterns_built_to_blow_up_answer_at_once_and_like_redis() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let key = "a".repeat(60);
    redis::cmd("SET")
        .arg(&key)
        .arg(1)
        .query::<()>(&mut c)
        .expect("set");
    for stars in [5, 12, 30, 100] {
        let pattern = "*a".repeat(stars) + "*b";
        let (_, found): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .query(&mut c)
            .expect("scan");
        assert_eq!(
            cache_console::core::glob::matches(pattern.as_bytes(), key.as_bytes()),
            !found.is_empty()
        );
    }
}
