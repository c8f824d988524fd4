//! Decoding what PHP itself writes: `serialize()`, base64 and gzip around it, as stored by
//! Laravel/DreamFactory apps in Redis and memcached.

mod common;

use cache_console::core::decode::{self, Format, php};
use common::{RedisServer, php};

const VALUES: &[&str] = &[
    "null",
    "true",
    "-42",
    "3.14159",
    "1.0E+25",
    "'Zoë 東京 \\\\ \"quoted\"'",
    "['a' => 1, 'b' => [1, 2, 3], 7 => null, 'nested' => ['x' => ['y' => 'z']]]",
    "[0 => 'zero', 5 => 'five']",
    "new ArrayObject([1, 2])",
    "(object) ['id' => 42, 'roles' => ['admin']]",
    "new DateTimeZone('Europe/Berlin')",
];

#[test]
fn every_value_php_serializes_round_trips_byte_for_byte() {
    let classes =
        "class User { public $name = 'Ada'; protected $role = 'admin'; private $secret = 's3'; }";
    let mut codes: Vec<String> = VALUES
        .iter()
        .map(|v| format!("echo serialize({v});"))
        .collect();
    codes.push(format!("{classes} echo serialize(new User());"));
    codes.push(format!(
        "{classes} $u = new User(); echo serialize(['a' => $u, 'b' => $u, 'c' => &$u]);"
    ));
    for code in codes {
        let bytes = php(&code);
        let node = php::unserialize(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(php::serialize(&node), bytes, "{code}");
    }
}

#[test]
fn decoded_values_match_what_php_means() {
    let bytes = php(
        "echo serialize(['name' => 'Ada', 'tags' => ['x', 'y'], 'qty' => 3, 'price' => 9.5, 'on' => true]);",
    );
    let d = decode::detect(&bytes, None)
        .expect("detected")
        .expect("decoded");
    let expected: serde_json::Value = serde_json::from_slice(&php(
        "echo json_encode(['name' => 'Ada', 'tags' => ['x', 'y'], 'qty' => 3, 'price' => 9.5, 'on' => true]);",
    ))
    .expect("php json");
    assert_eq!(decode::to_json(&d.node), expected);

    let classes =
        "class User { public $name = 'Ada'; protected $role = 'admin'; private $secret = 's3'; }";
    let bytes = php(&format!("{classes} echo serialize(new User());"));
    let d = decode::detect(&bytes, None)
        .expect("detected")
        .expect("decoded");
    assert_eq!(
        decode::to_json(&d.node),
        serde_json::json!({"__class": "User", "name": "Ada", "role (protected)": "admin", "secret (private User)": "s3"})
    );
}

#[test]
fn base64_and_gzip_wrapped_values_are_recognised() {
    let b64 = php("echo base64_encode(serialize(['k' => 'v']));");
    let d = decode::detect(&b64, None)
        .expect("detected")
        .expect("decoded");
    assert_eq!(d.labels(), ["base64", "PHP serialize"]);
    assert_eq!(decode::to_json(&d.node), serde_json::json!({"k": "v"}));
    let gz = php("echo gzencode(serialize([1, 2, 3]));");
    let d = decode::detect(&gz, None)
        .expect("detected")
        .expect("decoded");
    assert_eq!(d.labels(), ["gzip", "PHP serialize"]);
    assert_eq!(decode::to_json(&d.node), serde_json::json!([1, 2, 3]));
    let z = php("echo gzcompress(serialize('inside'));");
    let d = decode::detect(&z, None)
        .expect("detected")
        .expect("decoded");
    assert_eq!(d.labels(), ["zlib", "PHP serialize"]);
    // Truncated PHP output is an error, never a crash; text stays readable.
    let whole = php("echo serialize(['a' => str_repeat('x', 100)]);");
    for cut in [1, 5, 20, whole.len() - 1] {
        assert!(decode::decode_as(&whole[..cut], Format::Php).is_err());
    }
}

#[test]
fn the_cli_prints_a_php_value_as_json() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let value = php("echo serialize(['user' => ['id' => 42, 'name' => 'Ada'], 'ttl' => 900]);");
    redis::cmd("SET")
        .arg("laravel_cache:user:42")
        .arg(&value)
        .query::<()>(&mut c)
        .expect("set");
    let cfg = common::config_dir();
    let url = server.url();
    let json = common::cli_json(
        cfg.path(),
        &["get", &url, "laravel_cache:user:42", "--decode"],
    );
    assert_eq!(
        json,
        serde_json::json!({"user": {"id": 42, "name": "Ada"}, "ttl": 900})
    );
    redis::cmd("SET")
        .arg("plain")
        .arg("just text")
        .query::<()>(&mut c)
        .expect("set");
    let out = common::cli(cfg.path())
        .args(["get", &server.url(), "plain", "--decode"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no known encoding"));
}
