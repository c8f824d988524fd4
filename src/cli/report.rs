//! `stats` and `analyze`: live figures and where the memory goes, as text or JSON.

use std::io::Write as _;

use super::target::{block_on, open, split_target};
use super::{AnalyzeArgs, Failure, StatsArgs};
use crate::backend::CacheBackend;
use crate::core::escape::{escape_bytes, pattern_to_glob};
use crate::core::model::Ttl;

/// `stats`: one report over an interval, or one every `--watch` seconds.
pub(super) fn stats(args: &StatsArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, _) = split_target(ssh, args.profile.as_deref(), &args.args, 0..=0)?;
    let secs = args.watch.unwrap_or(args.interval);
    if !(0.1..=86_400.0).contains(&secs) {
        return Err(Failure::usage(
            "the interval must be between 0.1 and 86400 seconds",
        ));
    }
    let reports = if args.watch.is_some() {
        args.count
    } else {
        Some(1)
    };
    block_on(async move {
        let backend = open(&target).await?;
        sample(
            backend.as_ref(),
            std::time::Duration::from_secs_f64(secs),
            reports,
            args.json,
        )
        .await
    })
}

/// `analyze`: the memory analysis of the keys a pattern matches.
pub(super) fn analyze(args: &AnalyzeArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 0..=1)?;
    if args.sample == Some(0) {
        return Err(Failure::usage("--sample must be at least 1 key"));
    }
    let request = crate::backend::analysis::AnalysisRequest {
        pattern: pattern_to_glob(rest.first().map_or("*", String::as_str)),
        sample: args.sample,
        delimiter: args.delimiter.clone(),
        depth: usize::from(args.depth),
        top: args.top.max(1),
        server: args.server.clone(),
        budget_ms: super::scan_budget(),
    };
    block_on(async move {
        let backend = open(&target).await?;
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let report =
            crate::backend::analysis::analyze(backend.as_ref(), &request, &cancel, &|_, _| {})
                .await?;
        let text = if args.json {
            analysis_json(&report).to_string()
        } else {
            analysis_text(&report)
        };
        println!("{text}");
        Ok(())
    })
}

/// Samples every `interval` and prints a report per interval, `reports` times (or forever).
async fn sample(
    backend: &dyn CacheBackend,
    interval: std::time::Duration,
    reports: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    use crate::core::metrics::{Sample, derive};
    let sample = async || -> Result<Sample, Failure> {
        let servers = backend.stats().await?;
        Ok(Sample {
            at_ms: crate::core::ttl::now_unix_ms(),
            servers,
        })
    };
    let mut prev = sample().await?;
    let mut printed = 0;
    while reports.is_none_or(|n| printed < n) {
        tokio::time::sleep(interval).await;
        let cur = sample().await?;
        let derived = derive(Some(&prev), &cur);
        let text = if json {
            stats_json(&cur, &derived).to_string()
        } else {
            stats_text(&cur, &derived)
        };
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends the watch quietly.
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
        prev = cur;
        printed += 1;
    }
    Ok(())
}

fn ttl_json(ttl: crate::core::model::Ttl) -> serde_json::Value {
    match ttl {
        Ttl::Persistent => serde_json::Value::Null,
        Ttl::ExpiresInMs(ms) => ms.div_ceil(1000).into(),
        Ttl::Unknown => "unknown".into(),
    }
}

fn analysis_json(r: &crate::backend::analysis::MemoryReport) -> serde_json::Value {
    use crate::backend::analysis::TTL_BUCKETS;
    let totals = |t: &crate::backend::analysis::Totals| serde_json::json!({"keys": t.keys, "bytes": t.bytes});
    serde_json::json!({
        "keys": r.keys,
        "bytes": r.bytes,
        "sampled": r.sampled,
        "vanished": r.vanished,
        "without_size": r.without_size,
        "elapsed_ms": r.elapsed_ms,
        "top": r.top.iter().map(|f| serde_json::json!({
            "key": escape_bytes(&f.key),
            "type": f.key_type.label(),
            "bytes": f.bytes,
            "ttl_secs": ttl_json(f.ttl),
        })).collect::<Vec<_>>(),
        "namespaces": r.namespaces.iter().map(|(n, t)| {
            let mut v = totals(t);
            v["namespace"] = n.as_str().into();
            v
        }).collect::<Vec<_>>(),
        "types": r.types.iter().map(|(k, t)| {
            let mut v = totals(t);
            v["type"] = k.label().into();
            v
        }).collect::<Vec<_>>(),
        "ttl": TTL_BUCKETS.iter().zip(&r.ttl).map(|(name, t)| {
            let mut v = totals(t);
            v["range"] = (*name).into();
            v
        }).collect::<Vec<_>>(),
    })
}

fn analysis_text(r: &crate::backend::analysis::MemoryReport) -> String {
    use std::fmt::Write as _;
    let bytes = |n: u64| crate::core::metrics::bytes(n as f64);
    let mut out = format!(
        "{} keys, {}{}\n\nbiggest keys\n",
        r.keys,
        bytes(r.bytes),
        if r.sampled { " (a sample)" } else { "" }
    );
    for f in &r.top {
        let _ = writeln!(
            out,
            "  {:>10}  {:<8} {}",
            bytes(f.bytes),
            f.key_type.label(),
            escape_bytes(&f.key)
        );
    }
    out.push_str("\nnamespaces\n");
    for (n, t) in &r.namespaces {
        let _ = writeln!(out, "  {:>10}  {:>9} keys  {n}", bytes(t.bytes), t.keys);
    }
    out.push_str("\ntypes\n");
    for (k, t) in &r.types {
        let _ = writeln!(
            out,
            "  {:>10}  {:>9} keys  {}",
            bytes(t.bytes),
            t.keys,
            k.label()
        );
    }
    out.push_str("\nTTLs\n");
    for (name, t) in crate::backend::analysis::TTL_BUCKETS.iter().zip(&r.ttl) {
        let _ = writeln!(out, "  {:>10}  {:>9} keys  {name}", bytes(t.bytes), t.keys);
    }
    out.trim_end().to_owned()
}

fn point_json(point: &crate::core::metrics::Point) -> serde_json::Value {
    crate::core::metrics::Metric::ALL
        .iter()
        .map(|m| (m.name().to_owned(), point.value(*m).into()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn stats_json(
    sample: &crate::core::metrics::Sample,
    derived: &crate::core::metrics::Derived,
) -> serde_json::Value {
    let mut total = point_json(&derived.total);
    if let Some(obj) = total.as_object_mut() {
        obj.insert(
            "time".into(),
            crate::core::metrics::rfc3339(derived.total.t).into(),
        );
        let per_db: serde_json::Map<String, serde_json::Value> = sample
            .servers
            .iter()
            .flat_map(|(_, s)| &s.keys_per_db)
            .map(|(db, keys)| (format!("db{db}"), (*keys).into()))
            .collect();
        if !per_db.is_empty() {
            obj.insert("keys_per_db".into(), per_db.into());
        }
        if !derived.servers.is_empty() {
            let servers: serde_json::Map<String, serde_json::Value> = derived
                .servers
                .iter()
                .map(|(name, p)| (name.clone(), point_json(p)))
                .collect();
            obj.insert("servers".into(), servers.into());
        }
        obj.insert("restarted".into(), derived.restarted.clone().into());
        let errors: serde_json::Map<String, serde_json::Value> = sample
            .servers
            .iter()
            .filter_map(|(name, s)| Some((name.clone(), s.error.clone()?.into())))
            .collect();
        if !errors.is_empty() {
            obj.insert("errors".into(), errors.into());
        }
    }
    total
}

fn stats_text(
    sample: &crate::core::metrics::Sample,
    derived: &crate::core::metrics::Derived,
) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{}\n", crate::core::metrics::rfc3339(derived.total.t));
    let mut block = |name: &str, p: &crate::core::metrics::Point| {
        if !name.is_empty() {
            let _ = writeln!(out, "[{name}]");
        }
        for m in crate::core::metrics::Metric::ALL {
            if let Some(v) = p.value(m) {
                let _ = writeln!(out, "{:<22}{}", m.label(), m.format(v));
            }
        }
    };
    block("", &derived.total);
    for (name, p) in &derived.servers {
        block(name, p);
    }
    for (_, s) in &sample.servers {
        for (db, keys) in &s.keys_per_db {
            let _ = writeln!(out, "{:<22}{keys}", format!("Keys in db{db}"));
        }
    }
    for (name, s) in &sample.servers {
        if let Some(e) = &s.error {
            let _ = writeln!(out, "{name} is not answering: {e}");
        }
    }
    for name in &derived.restarted {
        let _ = writeln!(
            out,
            "{name} restarted or reset its counters: no rates for this interval"
        );
    }
    out.trim_end().to_owned()
}
