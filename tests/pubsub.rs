//! Pub/Sub and MONITOR against real servers: channels and patterns round trip (binary
//! payloads exact), sharded channels on a cluster each on its slot's node, MONITOR seeing
//! what another client sent (on every primary of a cluster), and the app's own path: the
//! viewer subscribed from the console, publishing refused on a read-only profile.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_console::backend::feed::Feed;
use cache_console::core::model::{StreamItem, Subscription, WriteOp};
use common::cluster::RedisCluster;
use common::ui::{connect_with, run_until, wait_listed};
use common::{RedisServer, b, open_url};
use egui_kittest::kittest::Queryable;

/// Drains `feed` until `enough` items came (or 10 s passed).
async fn collect(feed: &Feed, enough: usize) -> Vec<StreamItem> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut items = Vec::new();
    while items.len() < enough && Instant::now() < deadline {
        items.extend(feed.drain(usize::MAX).items);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    items
}

fn publish(conn: &mut redis::Connection, channel: &str, payload: &[u8]) -> i64 {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query(conn)
        .expect("publish")
}

#[tokio::test]
async fn channels_and_patterns_round_trip_with_their_bytes() {
    let server = RedisServer::start();
    let backend: Arc<dyn cache_console::backend::CacheBackend> =
        open_url(&server.url()).await.into();
    let feed = Arc::new(Feed::default());
    let listening = {
        let backend = backend.clone();
        let feed = feed.clone();
        tokio::spawn(async move {
            let subscription = Subscription {
                channels: vec![b("orders")],
                patterns: vec![b("cache:*")],
                sharded: vec![],
            };
            backend.subscribe(&subscription, feed).await
        })
    };
    let mut c = server.conn();
    // Wait until both subscriptions are in place.
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis::cmd("PUBSUB")
        .arg("NUMPAT")
        .query::<i64>(&mut c)
        .expect("numpat")
        < 1
    {
        assert!(
            Instant::now() < deadline,
            "the pattern subscription did not come"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(publish(&mut c, "orders", b"new \x00\xff"), 1);
    assert_eq!(publish(&mut c, "cache:user:1", b"a:1:{i:0;s:1:\"x\";}"), 1);
    assert_eq!(publish(&mut c, "elsewhere", b"not for us"), 0);
    let items = collect(&feed, 2).await;
    let messages: Vec<_> = items
        .into_iter()
        .filter_map(|i| match i {
            StreamItem::Message(m) => Some(m),
            StreamItem::Command(_) => None,
        })
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].channel, b("orders"));
    assert_eq!(messages[0].payload.as_ref(), b"new \x00\xff");
    assert_eq!(messages[0].pattern, None);
    assert_eq!(messages[1].pattern, Some(b("cache:*")));
    assert!(messages[1].preview.starts_with("(PHP serialize)"));
    // Dropping the listener closes its connection: nobody is subscribed any more.
    listening.abort();
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("orders")
        .query::<(String, i64)>(&mut c)
        .expect("numsub")
        .1
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "the subscriber's connection stayed open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn monitor_sees_what_another_client_sends() {
    let server = RedisServer::start();
    let backend: Arc<dyn cache_console::backend::CacheBackend> =
        open_url(&server.url()).await.into();
    let feed = Arc::new(Feed::default());
    let watching = {
        let backend = backend.clone();
        let feed = feed.clone();
        tokio::spawn(async move { backend.monitor(&[], feed).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut other = server.named_conn("other-app");
    redis::cmd("SET")
        .arg("user:7")
        .arg("a \"quoted\"\x00 value")
        .query::<()>(&mut other)
        .expect("set");
    let items = collect(&feed, 1).await;
    let seen = items.iter().find_map(|i| match i {
        StreamItem::Command(l)
            if l.args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"set")) =>
        {
            Some(l.clone())
        }
        _ => None,
    });
    let seen = seen.expect("MONITOR saw the SET");
    assert_eq!(seen.args[1], b("user:7"));
    assert_eq!(seen.args[2].as_ref(), b"a \"quoted\"\x00 value");
    assert!(seen.client.starts_with("127.0.0.1:"), "{}", seen.client);
    watching.abort();
}

#[tokio::test]
async fn a_cluster_routes_sharded_channels_to_their_nodes_and_monitors_every_primary() {
    let cluster = RedisCluster::start();
    let backend: Arc<dyn cache_console::backend::CacheBackend> =
        open_url(&cluster.url()).await.into();
    let feed = Arc::new(Feed::default());
    // Two sharded channels in different slots (so on different nodes), and a classic one.
    let sharded = vec![b("orders{a}"), b("orders{b}")];
    let listening = {
        let backend = backend.clone();
        let feed = feed.clone();
        let subscription = Subscription {
            channels: vec![b("news")],
            patterns: vec![],
            sharded: sharded.clone(),
        };
        tokio::spawn(async move { backend.subscribe(&subscription, feed).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    for channel in &sharded {
        let published = backend
            .write(&WriteOp::Publish {
                channel: channel.clone(),
                message: b("paid"),
                sharded: true,
            })
            .await
            .expect("spublish");
        assert_eq!(
            published.changed(),
            1,
            "the subscriber on the slot's node got it"
        );
    }
    backend
        .write(&WriteOp::Publish {
            channel: b("news"),
            message: b("hello"),
            sharded: false,
        })
        .await
        .expect("publish");
    let items = collect(&feed, 3).await;
    let mut got: Vec<(Vec<u8>, bool)> = items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Message(m) => Some((m.channel.to_vec(), m.sharded)),
            StreamItem::Command(_) => None,
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (b"news".to_vec(), false),
            (b"orders{a}".to_vec(), true),
            (b"orders{b}".to_vec(), true)
        ]
    );
    listening.abort();

    // MONITOR on every primary: a SET lands on one of them, and says which.
    let feed = Arc::new(Feed::default());
    let watching = {
        let backend = backend.clone();
        let feed = feed.clone();
        tokio::spawn(async move { backend.monitor(&[], feed).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut c = cluster.client();
    redis::cmd("SET")
        .arg("order:42")
        .arg("paid")
        .query::<()>(&mut c)
        .expect("set");
    let items = collect(&feed, 1).await;
    let seen = items.iter().find_map(|i| match i {
        StreamItem::Command(l) if l.args.get(1).is_some_and(|k| k.as_ref() == b"order:42") => {
            Some(l.clone())
        }
        _ => None,
    });
    let seen = seen.expect("a primary reported the SET");
    let owner = cluster
        .nodes
        .iter()
        .take(cluster.primaries)
        .find(|n| {
            redis::cmd("EXISTS")
                .arg("order:42")
                .query::<i64>(&mut n.conn())
                .unwrap_or(0)
                == 1
        })
        .map(|n| format!("127.0.0.1:{}", n.port));
    assert_eq!(seen.node, owner, "named by the node that ran it");
    watching.abort();
}

#[test]
fn the_viewer_opens_from_the_console_and_a_read_only_profile_cannot_publish() {
    let server = RedisServer::start();
    let (_cfg, mut h) = connect_with(&server.url(), "ro", |p| p.read_only = true);
    wait_listed(&mut h);
    h.get_by_label("Console").click();
    h.run_steps(2);
    h.get_by_label("Console command").focus();
    h.run_steps(1);
    h.get_by_label("Console command")
        .type_text("SUBSCRIBE alerts");
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the subscription", |app| {
        app.state
            .active_session()
            .and_then(|s| s.pubsub.as_ref())
            .is_some_and(|v| v.listening.is_some())
    });
    assert!(
        h.query_by_label("listening in the Pub/Sub viewer")
            .is_some()
    );
    // Reading is allowed on a read-only profile; publishing is a write and not offered.
    assert!(h.query_by_label("Publish").is_none());
    let mut c = server.conn();
    let deadline = Instant::now() + Duration::from_secs(5);
    while publish(&mut c, "alerts", b"disk full") == 0 {
        assert!(Instant::now() < deadline, "never subscribed on the server");
        std::thread::sleep(Duration::from_millis(20));
    }
    run_until(&mut h, "the message", |app| {
        app.state
            .active_session()
            .and_then(|s| s.pubsub.as_ref())
            .is_some_and(|v| v.rows.shown() > 0)
    });
    h.run_steps(2);
    assert!(h.query_by_label("disk full").is_some(), "the row is drawn");
    // Asked anyway (a palette, a script): refused before it is sent.
    if let Some(view) = h
        .state_mut()
        .state
        .active_session_mut()
        .and_then(|s| s.pubsub.as_mut())
    {
        view.publish_channel = "alerts".into();
    }
    common::ui::act(&mut h, cache_console::state::SessionAction::Publish);
    h.run_steps(2);
    let refused = h
        .state()
        .state
        .notices
        .iter()
        .any(|n| n.text.contains("read-only"));
    assert!(refused, "publishing is refused on a read-only profile");
    h.state_mut().shutdown();
}
