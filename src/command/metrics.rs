//! `cco-stats metrics` and `watch --metrics-listen`: gather the metrics model from the
//! ledger (counters settled so they never go down, see `ledger::counters`), render it,
//! and write it to stdout, to a textfile by rename, or to HTTP clients.
//!
//! The HTTP server is `crate::http` (bounded in connections, request size and time) on
//! threads of its own with its own ledger connection: the watch loop shares nothing with
//! it but the database file, so a scrape (or a client that never finishes its request)
//! cannot stall ingest. Only `GET /metrics` is answered.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};

use crate::cli::{MetricLabel, MetricsArgs};
use crate::http;
use crate::ledger::Store;
use crate::ledger::counters::Viewed;
use crate::ledger::query;
use crate::render::metrics::{Format, render, series_key};
use crate::report::metrics::{self as model, Dimensions, Metrics};
use crate::report::pricing::PriceTable;

pub fn run(db: &Path, prices: Option<&Path>, args: &MetricsArgs) -> Result<ExitCode> {
    let prices = PriceTable::load(prices)?;
    // Metrics of a ledger that does not exist would be a new, empty one's: say so instead.
    if !db.exists() {
        bail!(
            "no database at {} (run `cco-stats once` first)",
            db.display()
        );
    }
    let mut store = Store::open(db)?;
    store.learn_tiers(&prices.tier_thresholds())?;
    let format = if args.openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    let metrics = gather(&mut store, &prices, MetricLabel::dimensions(&args.labels))?;
    let text = render(&metrics, format);
    match &args.textfile {
        Some(path) => write_atomically(path, &text)?,
        None => super::print(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The metrics of the ledger now, with every counter at least what was printed before.
pub fn gather(store: &mut Store, prices: &PriceTable, dims: Dimensions) -> Result<Metrics> {
    let host = store.host()?;
    let started = std::time::Instant::now();
    let settled = store.settle_counters(&prices.digest(), |conn| {
        let groups = query::lifetime_groups(conn, dims.project)?;
        log::debug!("metrics: {} groups read", groups.len());
        let counters = model::counters(&groups, prices, dims);
        let viewed = counters
            .iter()
            .map(|c| Viewed {
                series: series_key(c),
                value: c.value,
            })
            .collect();
        Ok((viewed, (counters, query::health(conn)?)))
    })?;
    log::debug!(
        "metrics: read, priced and settled in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let (mut counters, health) = settled.extra;
    for (counter, settled) in counters.iter_mut().zip(&settled.counters) {
        counter.value = settled.value;
        counter.created_ms = settled.created_ms;
    }
    let now_ms = jiff::Timestamp::now().as_millisecond();
    // Only the figures, not what the ledger spent in the windows: nothing to sum.
    let samples = crate::ledger::quota::windows(store.conn(), &[], now_ms)?;
    let mut nothing = |_, _, _| Ok(crate::report::quota::Spent::default());
    let quota = crate::report::quota::build(&samples, &mut nothing, now_ms)?;
    Ok(Metrics {
        quota: model::quota_gauges(&quota),
        host_id: host.id,
        host_name: host.name,
        version: env!("CARGO_PKG_VERSION").to_string(),
        counters,
        health,
        ledger_bytes: store.size_on_disk(),
        prices_revision: settled.prices_revision,
    })
}

/// Replaces `path` by `text` in one rename: a reader (node_exporter) sees the old file or
/// the new one, never half of one. The temporary file sits in the same folder, so the
/// rename stays on one file system.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    // node_exporter runs as another user: the textfile is readable by all, as its
    // collector expects.
    crate::paths::write_replacing(path, text, 0o644)
}

/// Where `--metrics-listen` binds: `ADDR` as host:port, or a port alone on loopback.
/// Anything but loopback needs `allow_remote` (see `http::listen_address`).
pub fn listen_address(text: &str, allow_remote: bool) -> Result<SocketAddr> {
    http::listen_address(
        text,
        allow_remote,
        "--metrics-listen",
        "--metrics-allow-remote",
    )
}

/// How long a scrape waits for the ingest's write lock (it settles counters in a write).
const SCRAPE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Binds `addr` now (so a taken port is an error before the watch starts) and answers
/// scrapes on the bounded server (`crate::http`) until the process ends, or the listener
/// fails: then `on_failure` is called, and the returned `Serving` says why.
pub fn serve(
    addr: SocketAddr,
    db: PathBuf,
    prices: PriceTable,
    dims: Dimensions,
    on_failure: impl FnOnce() + Send + 'static,
) -> Result<http::Serving> {
    // One ledger connection for every scrape, opened by the first: scrapes take turns.
    let store = Mutex::new(None);
    let routes = move |request: &http::Request| -> http::Response {
        if request.method != "GET" || request.path != "/metrics" {
            return http::Response::text(404, "not found\n".into());
        }
        let format = negotiate(request);
        // A scrape that panicked may have left the connection mid-transaction: a new one.
        let mut store = store.lock().unwrap_or_else(|poisoned| {
            let mut store = poisoned.into_inner();
            *store = None;
            store
        });
        match scrape(&db, &mut store, &prices, dims, format) {
            Ok(text) => http::Response::new(200, format.content_type(), text),
            Err(err) => {
                log::error!("metrics: {err:#}");
                http::Response::text(500, format!("cco-stats: {err:#}\n"))
            }
        }
    };
    let serving = http::serve("metrics server", addr, Box::new(routes), on_failure)
        .context("--metrics-listen")?;
    log::info!("serving metrics on http://{addr}/metrics");
    Ok(serving)
}

fn scrape(
    db: &Path,
    store: &mut Option<Store>,
    prices: &PriceTable,
    dims: Dimensions,
    format: Format,
) -> Result<String> {
    let store = match store {
        Some(store) => store,
        None => {
            let opened = Store::open(db)?;
            // A scrape that waits on a long write answers late rather than never: Prometheus
            // gives up after 10 s by default, and the next scrape should not queue behind it.
            opened.set_busy_timeout(SCRAPE_BUSY_TIMEOUT)?;
            store.insert(opened)
        }
    };
    Ok(render(&gather(store, prices, dims)?, format))
}

/// OpenMetrics when the client asks for it (Prometheus does, first), or `?format=`
/// chooses; Prometheus text otherwise.
fn negotiate(request: &http::Request) -> Format {
    for pair in request.query.split('&') {
        match pair {
            "format=openmetrics" => return Format::OpenMetrics,
            "format=prometheus" => return Format::Prometheus,
            _ => {}
        }
    }
    let accepts_openmetrics = request
        .header("Accept")
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    if accepts_openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn listen_addresses_are_loopback_unless_asked() {
        assert_eq!(
            listen_address("9464", false).unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert!(listen_address("[::1]:9464", false).is_ok());
        let err = listen_address("0.0.0.0:9464", false).unwrap_err();
        assert!(
            format!("{err:#}").contains("--metrics-allow-remote"),
            "{err:#}"
        );
        assert!(listen_address("0.0.0.0:9464", true).is_ok());
        assert!(listen_address("nonsense", false).is_err());
    }

    #[test]
    fn a_textfile_is_replaced_whole_and_no_temporary_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cco.prom");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, "new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no/such/dir/cco.prom");
        assert!(write_atomically(&missing, "x").is_err());
    }
}
