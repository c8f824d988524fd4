//! URLs read and printed back, secrets kept out, hostile input refused.

use super::*;
use crate::config::connection::{ConnectionSpec, PasswordSource, RedisAddress, RedisSpec};

fn redis(spec: &ConnectionSpec) -> &RedisSpec {
    match spec {
        ConnectionSpec::Redis(s) => s,
        ConnectionSpec::Memcached(_)
        | ConnectionSpec::File(_)
        | ConnectionSpec::Sql(_)
        | ConnectionSpec::DreamFactory(_) => {
            panic!("not redis")
        }
    }
}

#[test]
fn errors_never_quote_a_password_or_secret_parameter() {
    for url in [
        "memcached://u:hunter2@127.0.0.1:11211",
        "redis+unix://:hunter2@/relative/sock?x",
        "redis://:hunter2@h:6379/notadb",
        "redis://:hunter2@h:6379/0?timeout_ms=hunter2",
        "postgres://u:hunter2@db/x?command_timeout_ms=hunter2",
        "redis://h/0?password=hunter2&db=hunter2",
        "redis://h/0?auth_token=hunter%32&db=hunter2",
        "memcached://h:1,bad host?token=hunter2&timeout_ms=hunter2",
        "ftp://u:hunter2@h/",
        "dreamfactory+https://:hunter2@df/api/v2/cache?session_token=hunter2",
        "dreamfactory+https://:hunter2@df/cache",
        "dreamfactory+https://hunter2@df/api/v2/cache?timeout_ms=hunter2",
        "dreamfactory+ftp://:hunter2@df/api/v2/cache",
    ] {
        let err = parse_url(url).expect_err(url).to_string();
        assert!(!err.contains("hunter2"), "{url}: {err}");
    }
    assert!(parse_url("file:///srv/cache?token=x").is_err());
    let (spec, _) = parse_url("file:///srv/cache%3Fodd").expect("escaped");
    assert_eq!(spec.display_url(), "file:///srv/cache%3Fodd");
}

#[test]
fn sql_urls_keep_the_password_apart_and_the_table_as_an_option() {
    let (spec, pw) =
        parse_url("postgres://app:s3cret@db:5433/shop?table=cache_store&sslmode=disable")
            .expect("parses");
    assert_eq!(pw.as_ref().map(Secret::expose), Some("s3cret"));
    let ConnectionSpec::Sql(s) = &spec else {
        panic!("sql")
    };
    assert_eq!(s.dialect, SqlDialect::Postgres);
    assert_eq!(s.table, "cache_store");
    assert!(
        !s.url.contains("s3cret") && s.url.contains("sslmode=disable"),
        "{}",
        s.url
    );
    assert_eq!(s.display_target(), "db:5433/shop");
    let (spec, pw) = parse_url("mysql://app:${DB_PASSWORD}@db/app").expect("parses");
    assert!(pw.is_none());
    assert_eq!(
        spec.password_source(),
        &PasswordSource::Env("DB_PASSWORD".into())
    );
    assert_eq!(
        spec.display_url(),
        "mysql://app:${DB_PASSWORD}@db/app?table=cache"
    );
    let (spec, _) = parse_url("sqlite:///srv/app/database.sqlite").expect("parses");
    assert!(matches!(&spec, ConnectionSpec::Sql(s) if s.dialect == SqlDialect::Sqlite));
    assert!(parse_url("sqlite://").is_err());
}

#[test]
fn sql_urls_print_as_they_parse_and_secret_parameters_never_stay() {
    for text in [
        "postgres://app@db:5433/shop?sslmode=disable&table=cache_store",
        "mysql://app@db/app?ssl-mode=REQUIRED&table=cache&command_timeout_ms=2500",
        "sqlite:///srv/app/db.sqlite?table=cache",
    ] {
        let (spec, _) = parse_url(text).expect("parses");
        let printed = spec.display_url();
        let (again, _) = parse_url(&printed).expect("the printed URL parses");
        assert_eq!(again, spec, "{text} -> {printed}");
        assert_eq!(printed.matches('?').count(), 1, "{printed}");
    }
    let (spec, pw) =
        parse_url("postgres://app@db/shop?password=hunter2&sslmode=require").expect("parses");
    assert_eq!(pw.as_ref().map(Secret::expose), Some("hunter2"));
    assert!(!format!("{spec:?}").contains("hunter2"));
    assert!(!spec.display_url().contains("hunter2"));
    for secret in [
        "sslpassword=x",
        "api_key=x",
        "auth_token=x",
        "client-secret=x",
    ] {
        let err = parse_url(&format!("postgres://app@db/shop?{secret}"))
            .expect_err("a secret parameter is refused");
        assert!(!err.to_string().contains("=x"), "{err}");
    }
    assert!(parse_url("postgres://app@db/shop?command_timeout_ms=soon").is_err());
    let (spec, _) = parse_url("postgres://app@db/x?table=c#mariadb://frag").expect("parses");
    assert_eq!(spec.display_url(), "postgres://app@db/x?table=c");
    let (spec, _) = parse_url("MariaDB://app@db/x").expect("parses");
    assert!(spec.display_url().starts_with("mysql://app@db/x"));
}

#[test]
fn memcached_urls_name_one_server_or_a_pool() {
    let (spec, pw) =
        parse_url("memcached://10.0.0.1:11211,cache2,[::1]:11300?timeout_ms=250").expect("parses");
    assert!(pw.is_none());
    let ConnectionSpec::Memcached(m) = &spec else {
        panic!("memcached")
    };
    assert_eq!(
        m.servers,
        vec![
            MemcachedAddress::Tcp {
                host: "10.0.0.1".into(),
                port: 11211
            },
            MemcachedAddress::Tcp {
                host: "cache2".into(),
                port: 11211
            },
            MemcachedAddress::Tcp {
                host: "::1".into(),
                port: 11300
            },
        ]
    );
    assert_eq!(m.command_timeout_ms, 250);
    assert_eq!(
        spec.display_url(),
        "memcached://10.0.0.1:11211,cache2:11211,[::1]:11300"
    );
    let (spec, _) = parse_url("memcached+unix:///run/mc.sock").expect("parses");
    assert_eq!(spec.display_url(), "memcached+unix:///run/mc.sock");
    assert!(matches!(
        parse_url("memcached://h:notaport"),
        Err(UrlError::Server(_))
    ));
    assert!(
        parse_url("memcached://,,,").is_err(),
        "no server is not a default"
    );
    let (spec, _) = parse_url("memcached://").expect("default");
    assert_eq!(spec.display_url(), "memcached://127.0.0.1:11211");
}

#[test]
fn plain_url_with_db() {
    let (spec, pw) = parse_url("redis://cache.local:6380/3").expect("parses");
    let s = redis(&spec);
    assert_eq!(
        s.address,
        RedisAddress::Tcp {
            host: "cache.local".into(),
            port: 6380
        }
    );
    assert_eq!(s.db, 3);
    assert!(s.tls.is_none());
    assert!(pw.is_none());
}

#[test]
fn inline_password_is_returned_apart_and_never_displayed() {
    let (spec, pw) = parse_url("rediss://alice:s3cr%40t@h:6390/1").expect("parses");
    assert_eq!(pw.as_ref().map(Secret::expose), Some("s3cr@t"));
    let s = redis(&spec);
    assert_eq!(s.username.as_deref(), Some("alice"));
    assert!(s.tls.is_some());
    assert_eq!(s.password, PasswordSource::None);
    let shown = spec.display_url();
    assert_eq!(shown, "rediss://alice@h:6390/1");
    assert!(!format!("{pw:?}").contains("s3cr"));
}

#[test]
fn env_reference_is_kept_as_a_reference() {
    let (spec, pw) = parse_url("redis://:${REDIS_PASSWORD}@127.0.0.1:6379").expect("parses");
    assert!(pw.is_none());
    assert_eq!(
        spec.password_source(),
        &PasswordSource::Env("REDIS_PASSWORD".into())
    );
    assert_eq!(
        spec.display_url(),
        "redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0"
    );
    assert_eq!(
        spec.resolve_password(None),
        Err(UrlError::EnvUnset("REDIS_PASSWORD".into()))
    );
}

#[test]
fn paths_in_urls_read_back_byte_for_byte() {
    for path in ["/srv/a&b=c", "/tmp/with space?#%", "/srv/café", "/x/+plus"] {
        for url in [
            format!("file://{}", path_for_url(Path::new(path))),
            format!("redis+unix://{}", path_for_url(Path::new(path))),
            format!("memcached+unix://{}", path_for_url(Path::new(path))),
        ] {
            let (spec, _) = parse_url(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
            let (again, _) = parse_url(&spec.display_url()).expect("printed URL");
            assert_eq!(again, spec, "{url}");
            let found = match &spec {
                ConnectionSpec::File(f) => f.dir.clone(),
                ConnectionSpec::Redis(r) => match &r.address {
                    RedisAddress::Unix { path } => path.clone(),
                    RedisAddress::Tcp { .. }
                    | RedisAddress::Cluster { .. }
                    | RedisAddress::Sentinel { .. } => PathBuf::new(),
                },
                ConnectionSpec::Memcached(m) => match m.servers.as_slice() {
                    [MemcachedAddress::Unix { path }] => path.clone(),
                    _ => PathBuf::new(),
                },
                ConnectionSpec::Sql(_) | ConnectionSpec::DreamFactory(_) => PathBuf::new(),
            };
            assert_eq!(found, Path::new(path), "{url}");
        }
    }
    assert!(
        parse_url("redis+unix:J//run/redis.sock").is_err(),
        "a relative socket path"
    );
    assert!(parse_url("memcached+unix://run/mc.sock").is_err());
}

#[test]
fn redis_urls_print_every_setting_and_read_back_the_same() {
    for text in [
        "redis+unix:///run/redis.sock?db=3&user=ops&password=${REDIS_PW}&timeout_ms=2500",
        "rediss://a%40b:${PW}@cache:6380/2?ca_file=/etc/ssl/my%20ca.pem&connect_timeout_ms=900",
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1:6379/1?key_prefix=laravel_database_laravel_cache%3A",
        "redis+cluster://10.0.0.1:7000/0?key_prefix=app%20one%3A%2A",
    ] {
        let (spec, _) = parse_url(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let printed = spec.display_url();
        let (again, _) = parse_url(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert_eq!(again, spec, "{text} -> {printed}");
    }
    assert!(parse_url("redis://h:1/0?timeout_ms=soon").is_err());
    let (spec, _) = parse_url("redis://h:1/0?key_prefix=app%3A").expect("parses");
    assert_eq!(redis(&spec).key_prefix.as_deref(), Some("app:"));
    let (spec, _) = parse_url("postgres://:${PGPW}@db/shop").expect("parses");
    assert_eq!(
        spec.display_url(),
        "postgres://:${PGPW}@db/shop?table=cache"
    );
    let (spec, _) = parse_url("sqlite:@x?a=redis://u:${V}@h").expect("parses");
    assert_eq!(spec.password_source(), &PasswordSource::None);
    // A `${…}` in a path is part of the path, not a password reference.
    let (spec, _) = parse_url("redis+unix:///run/a:${X}@b.sock").expect("parses");
    assert_eq!(spec.password_source(), &PasswordSource::None);
}

#[test]
fn unix_socket_urls() {
    let (spec, _) = parse_url("redis+unix:///run/redis.sock?db=2").expect("parses");
    let s = redis(&spec);
    assert_eq!(
        s.address,
        RedisAddress::Unix {
            path: "/run/redis.sock".into()
        }
    );
    assert_eq!(s.db, 2);
    assert_eq!(spec.display_url(), "redis+unix:///run/redis.sock?db=2");
}

#[test]
fn bad_urls_say_why() {
    assert!(matches!(parse_url("http://x"), Err(UrlError::Scheme(s)) if s == "http"));
    assert!(matches!(parse_url("redis://h/abc"), Err(UrlError::Db(_))));
    assert!(matches!(parse_url("not a url"), Err(UrlError::Invalid(_))));
}

#[test]
fn prompt_needs_an_entered_password() {
    let (mut spec, _) = parse_url("redis://h").expect("parses");
    spec.set_password_source(PasswordSource::Prompt);
    assert_eq!(spec.resolve_password(None), Err(UrlError::PasswordNeeded));
    let entered = Secret::new("pw");
    assert_eq!(spec.resolve_password(Some(&entered)), Ok(Some(entered)));
}

proptest::proptest! {
    #[test]
    fn any_text_parses_or_says_why(text in "\\PC{0,80}") {
        if let Ok((spec, password)) = parse_url(&text) {
            let printed = spec.display_url();
            if let Some(pw) = password.filter(|p| p.expose().len() >= 4) {
                proptest::prop_assert!(!printed.contains(pw.expose()), "{}", printed);
            }
        }
    }

    #[test]
    fn urls_print_as_they_parse(
        scheme in proptest::sample::select(vec!["redis", "rediss", "postgres", "mysql", "memcached"]),
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?",
        port in 1u16..,
        db in 0u32..16,
        user in proptest::option::of("[a-z]{1,8}"),
        secret in "Pw[0-9]{6}",
        timeout in proptest::option::of(1u64..100_000),
    ) {
        let auth = user.as_ref().map_or_else(String::new, |u| format!("{u}:{secret}@"));
        let text = match scheme {
            "memcached" => format!("memcached://{host}:{port}"),
            "postgres" | "mysql" => format!(
                "{scheme}://{auth}{host}:{port}/db{db}?table=cache{}",
                timeout.map_or_else(String::new, |t| format!("&command_timeout_ms={t}"))
            ),
            _ => format!(
                "{scheme}://{auth}{host}:{port}/{db}{}",
                timeout.map_or_else(String::new, |t| format!("?timeout_ms={t}"))
            ),
        };
        let (spec, _) = parse_url(&text).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{text}: {e}")))?;
        let printed = spec.display_url();
        proptest::prop_assert!(!printed.contains(&secret), "{}", printed);
        let (again, _) = parse_url(&printed).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{printed}: {e}")))?;
        if scheme != "memcached" && !scheme.starts_with("redis") {
            proptest::prop_assert_eq!(again, spec);
        } else {
            proptest::prop_assert_eq!(again.display_url(), printed);
        }
    }
}

#[test]
fn cluster_urls_read_every_seed_and_print_back() {
    let (spec, pw) = parse_url(
        "rediss+cluster://ops:hunter2@node-a:7000,10.0.0.2:7001,[::1]:7002/0?ca_file=/etc/ca.pem\
         &map=10.0.0.2:7001=127.0.0.1:17001&scan=replicas&timeout_ms=2500",
    )
    .expect("parses");
    assert_eq!(
        pw.map(|p| p.expose().to_owned()),
        Some("hunter2".to_owned())
    );
    let r = redis(&spec);
    assert_eq!(
        r.address,
        RedisAddress::Cluster {
            seeds: vec![
                NodeAddress::new("node-a", 7000),
                NodeAddress::new("10.0.0.2", 7001),
                NodeAddress::new("::1", 7002),
            ]
        }
    );
    assert!(r.tls.is_some());
    assert_eq!(r.username.as_deref(), Some("ops"));
    assert!(r.cluster.scan_replicas);
    assert_eq!(
        r.cluster.reach(&NodeAddress::new("10.0.0.2", 7001)),
        NodeAddress::new("127.0.0.1", 17001)
    );
    assert_eq!(
        r.cluster.reach(&NodeAddress::new("node-a", 7000)),
        NodeAddress::new("node-a", 7000),
        "an address the map does not name is reached as announced"
    );
    let shown = spec.display_url();
    assert!(!shown.contains("hunter2"), "{shown}");
    let (again, _) = parse_url(&shown).expect("reparses");
    assert_eq!(again, spec, "{shown}");

    let (plain, _) = parse_url("redis+cluster://127.0.0.1:7000").expect("one seed");
    assert_eq!(plain.display_url(), "redis+cluster://127.0.0.1:7000/0");
    let (env, _) = parse_url("redis+cluster://:${CLUSTER_PW}@h:1,h:2").expect("env");
    assert_eq!(
        redis(&env).password,
        PasswordSource::Env("CLUSTER_PW".to_owned())
    );
    assert_eq!(
        env.display_url(),
        "redis+cluster://:${CLUSTER_PW}@h:1,h:2/0"
    );
}

#[test]
fn bad_cluster_urls_are_refused_with_a_reason() {
    for (url, says) in [
        ("redis+cluster://", "at least one node"),
        ("redis+cluster://h:notaport", "not a server"),
        ("redis+cluster://h:1/0?map=h:1", "map=ANNOUNCED"),
        ("redis+cluster://h:1/0?scan=sideways", "scan=replicas"),
        ("redis://h:1/0?map=a:1=b:2", "cluster settings"),
        ("cc-redis-cluster://h/0", "unsupported URL scheme"),
    ] {
        let err = parse_url(url).expect_err(url).to_string();
        assert!(err.contains(says), "{url}: {err}");
    }
    let err = parse_url("redis+cluster://:hunter2@h:x")
        .expect_err("bad port")
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn sentinel_urls_name_the_sentinels_the_primary_and_their_own_login() {
    let (spec, pw) = parse_url(
        "redis+sentinel://app:hunter2@s1:26379,10.0.0.2,[::1]:26380/my%20master/3\
         ?sentinel_user=watch&sentinel_password=${SENTINEL_PW}&replica=yes",
    )
    .expect("parses");
    assert_eq!(
        pw.map(|p| p.expose().to_owned()),
        Some("hunter2".to_owned())
    );
    let r = redis(&spec);
    assert_eq!(
        r.address,
        RedisAddress::Sentinel {
            sentinels: vec![
                NodeAddress::new("s1", 26379),
                NodeAddress::new("10.0.0.2", 26379),
                NodeAddress::new("::1", 26380),
            ],
            master: "my master".to_owned(),
        }
    );
    assert_eq!(r.db, 3);
    assert_eq!(r.username.as_deref(), Some("app"));
    assert_eq!(r.sentinel.username.as_deref(), Some("watch"));
    assert_eq!(
        r.sentinel.password,
        crate::config::connection::SentinelAuth::Env("SENTINEL_PW".to_owned())
    );
    assert!(r.sentinel.replica);
    let shown = spec.display_url();
    assert!(!shown.contains("hunter2"), "{shown}");
    let (again, _) = parse_url(&shown).expect("reparses");
    assert_eq!(again, spec, "{shown}");
    let (plain, _) = parse_url("redis+sentinel://s1/mymaster").expect("plain");
    assert_eq!(plain.display_url(), "redis+sentinel://s1:26379/mymaster/0");
    for (url, says) in [
        ("redis+sentinel://s1:26379", "name the primary"),
        ("redis+sentinel://s1:26379/", "name the primary"),
        ("redis+sentinel:///mymaster", "at least one sentinel"),
        (
            "redis+sentinel://s1/m/0?sentinel_password=hunter2",
            "reference",
        ),
        ("redis://h/0?replica=yes", "Sentinel settings"),
        ("cc-redis-sentinel://h/0", "unsupported URL scheme"),
    ] {
        let err = parse_url(url).expect_err(url).to_string();
        assert!(err.contains(says), "{url}: {err}");
        assert!(!err.contains("hunter2"), "{url}: {err}");
    }
}

#[test]
fn dreamfactory_urls_read_and_print_back() {
    let (spec, key) =
        parse_url("dreamfactory+https://:s3cret@df.example.com/api/v2/cache").expect("plain");
    let ConnectionSpec::DreamFactory(df) = &spec else {
        panic!("not DreamFactory: {spec:?}")
    };
    assert_eq!(df.base_url, "https://df.example.com");
    assert_eq!(df.service, "cache");
    assert_eq!(key.as_ref().map(Secret::expose), Some("s3cret"));
    assert_eq!(
        df.api_key,
        PasswordSource::None,
        "an inline key is this session's only"
    );
    assert_eq!(
        spec.display_url(),
        "dreamfactory+https://df.example.com/api/v2/cache"
    );

    let url = "dreamfactory+http://:${DF_KEY}@10.0.0.5:8080/df/api/v2/my-cache?session_token=${DF_TOKEN}&ca_file=/etc/ca.pem";
    assert!(parse_url(url).is_err(), "a CA file is for HTTPS");
    let url = "dreamfactory+https://:${DF_KEY}@10.0.0.5:8443/df/api/v2/my-cache/?session_token=${DF_TOKEN}&ca_file=/etc/ca.pem&timeout_ms=2500";
    let (spec, key) = parse_url(url).expect("full");
    assert!(key.is_none());
    let ConnectionSpec::DreamFactory(df) = &spec else {
        panic!("not DreamFactory")
    };
    assert_eq!(df.base_url, "https://10.0.0.5:8443/df");
    assert_eq!(df.service, "my-cache");
    assert_eq!(df.api_key, PasswordSource::Env("DF_KEY".to_owned()));
    assert_eq!(df.session_token_env.as_deref(), Some("DF_TOKEN"));
    assert_eq!(df.command_timeout_ms, 2500);
    let printed = spec.display_url();
    assert_eq!(
        parse_url(&printed).expect("reads back").0,
        spec,
        "{printed}"
    );

    // A key alone before `@` is the key; a session token only by reference; the path must name
    // a service under /api/v2/.
    let (_, key) = parse_url("df+https://k3y@df/api/v2/cache").expect("user form");
    assert_eq!(key.as_ref().map(Secret::expose), Some("k3y"));
    for bad in [
        "dreamfactory+https://df/api/v2/",
        "dreamfactory+https://df/api/v2/a/b",
        "dreamfactory+https://df/cache",
        "dreamfactory+https:///api/v2/cache",
        "dreamfactory+https://df/api/v2/cache?session_token=raw",
        "dreamfactory+https://df/api/v2/cache?api_key=raw",
        "dreamfactory+https://df/api/v2/cache?nonsense=1",
    ] {
        assert!(parse_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn laravel_session_stores_read_and_print_back() {
    let (spec, _) = parse_url("file:///srv/app/storage/framework/sessions?session_lifetime=120")
        .expect("sessions dir");
    let ConnectionSpec::File(f) = &spec else {
        panic!("not a directory: {spec:?}")
    };
    assert_eq!(f.session_lifetime_min, Some(120));
    assert_eq!(parse_url(&spec.display_url()).expect("back").0, spec);
    let (spec, _) = parse_url("sqlite:///srv/app/db.sqlite?session_lifetime=30").expect("table");
    let ConnectionSpec::Sql(q) = &spec else {
        panic!("not a table: {spec:?}")
    };
    assert_eq!(
        (q.table.as_str(), q.session_lifetime_min),
        ("sessions", Some(30))
    );
    assert_eq!(parse_url(&spec.display_url()).expect("back").0, spec);
    for bad in [
        "file:///srv/sessions?session_lifetime=0",
        "file:///srv/sessions?session_lifetime=x",
        "file:///srv/sessions?session_lifetime=120&x=1",
        "file:///srv/sessions?other=1",
        "file:///srv/sessions#frag",
        "sqlite:///srv/db.sqlite?session_lifetime=-5",
    ] {
        assert!(parse_url(bad).is_err(), "{bad}");
    }
}
