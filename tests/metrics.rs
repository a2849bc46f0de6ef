//! `cco-stats metrics` and `watch --metrics-listen` through the real binary, checked by
//! the real Prometheus tools: `promtool check metrics` lints every text output, and a
//! Prometheus server started here scrapes the watch's endpoint (as OpenMetrics, which it
//! asks for, and as 0.0.4 text) and answers the same totals as `daily --json`. Counters
//! never go down: not when a transcript is deleted, not when a price is cut.
//!
//! promtool and prometheus are test dependencies (.ci/run installs Debian's `prometheus`):
//! a test fails, saying so, where they are missing.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scratch, json};
use serde_json::Value;

fn tool(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(name);
    let found = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{name} is not installed: `apt-get install --no-install-recommends prometheus` (.ci/run does)"
    );
    path
}

/// `promtool check metrics` on `text`: no parse error and no lint warning.
fn promtool_clean(text: &str) {
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
}

fn metrics(s: &Scratch, args: &[&str]) -> String {
    let out = s.cmd().arg("metrics").args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// Samples of `name` as (labels, value).
fn samples(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
            (metric == name).then(|| (labels.to_string(), value.parse().unwrap()))
        })
        .collect()
}

fn sum_where(text: &str, name: &str, label: &str) -> f64 {
    samples(text, name)
        .iter()
        .filter(|(labels, _)| labels.contains(label))
        .map(|(_, v)| v)
        .sum()
}

/// The totals of `daily --json` (tokens by kind, cost), and what the metrics say of them.
fn assert_totals_match(daily: &Value, text: &str) {
    let totals = &daily["totals"];
    for (kind, field) in [
        ("input", "inputTokens"),
        ("output", "outputTokens"),
        ("cacheRead", "cacheReadTokens"),
        ("cacheCreation", "cacheCreationTokens"),
    ] {
        assert_eq!(
            sum_where(text, "cco_stats_tokens_total", &format!("type=\"{kind}\"")),
            totals[field].as_f64().unwrap(),
            "{kind}\n{text}"
        );
    }
    let cost = sum_where(text, "cco_stats_cost_usd_total", "");
    assert!(
        (cost - totals["totalCost"].as_f64().unwrap()).abs() < 1e-9,
        "{cost} against {totals}"
    );
}

#[test]
fn metrics_equal_daily_totals_and_pass_promtool() {
    let s = Scratch::with_fixtures();
    s.once();
    let daily = s.daily(&["--timezone", "UTC"]);
    let host = s.status()["host"]["id"].as_str().unwrap().to_string();
    assert_eq!(host.len(), 32, "{host}");

    let text = metrics(&s, &[]);
    promtool_clean(&text);
    assert_totals_match(&daily, &text);
    // The fixtures' requests: the number of rows, every one of them.
    assert_eq!(
        sum_where(&text, "cco_stats_requests_total", ""),
        s.status()["rows"].as_f64().unwrap()
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.contains(&format!("host=\"{host}\"")), "{line}");
    }
    assert!(text.contains("model=\"claude-opus-4-6-fast\""));
    assert!(!text.contains("project="));
    assert_eq!(
        samples(&text, "cco_stats_ledger_rows")[0].1,
        s.status()["rows"].as_f64().unwrap()
    );
    assert_eq!(
        samples(&text, "cco_stats_files_tracked")[0].1,
        s.status()["tracked_files"].as_f64().unwrap()
    );
    assert!(samples(&text, "cco_stats_last_pass_timestamp_seconds")[0].1 > 1.7e9);
    assert!(samples(&text, "cco_stats_ledger_bytes")[0].1 > 0.0);
    assert_eq!(samples(&text, "cco_stats_prices_revision")[0].1, 1.0);
    let info = &samples(&text, "cco_stats_info")[0].0;
    assert!(
        info.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{info}"
    );

    // Projects, opt-in: the same totals, split further.
    let by_project = metrics(&s, &["--labels", "model,project"]);
    promtool_clean(&by_project);
    assert_totals_match(&daily, &by_project);
    assert!(by_project.contains("project=\"-home-dev-other\""));

    // OpenMetrics (which promtool 2.42 does not read; Prometheus reads it below).
    let open = metrics(&s, &["--openmetrics"]);
    assert!(open.ends_with("# EOF\n"));
    assert!(open.contains("# TYPE cco_stats_tokens counter\n"));
    assert_eq!(
        samples(&open, "cco_stats_tokens_created").len(),
        samples(&open, "cco_stats_tokens_total").len()
    );
    assert_totals_match(&daily, &open);
}

#[test]
fn a_textfile_is_written_whole_for_node_exporter() {
    let s = Scratch::with_fixtures();
    s.once();
    let dir = s.dir.path().join("textfile");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cco-stats.prom");
    s.cmd()
        .args(["metrics", "--textfile"])
        .arg(&path)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&path).unwrap();
    promtool_clean(&text);
    assert_totals_match(&s.daily(&["--timezone", "UTC"]), &text);
    // Only the file itself: the temporary one was renamed onto it.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn host_ids_are_stable_and_names_can_be_set() {
    let s = Scratch::with_fixtures();
    s.once();
    let first = s.status()["host"].clone();
    assert_eq!(s.status()["host"], first, "the id is made once");
    s.cmd()
        .args(["--host-name", "workstation", "once"])
        .assert()
        .success();
    let renamed = s.status()["host"].clone();
    assert_eq!(renamed["id"], first["id"]);
    assert_eq!(renamed["name"], "workstation");
    let text = s.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(
        text.contains(&format!(
            "workstation (id {})",
            first["id"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(metrics(&s, &[]).contains("host_name=\"workstation\""));
    // Another ledger, another id.
    let other = Scratch::with_fixtures();
    other.once();
    assert_ne!(other.status()["host"]["id"], first["id"]);
}

#[test]
fn a_price_cut_never_lowers_a_counter_and_is_flagged() {
    let s = Scratch::with_fixtures();
    s.once();
    let before = metrics(&s, &[]);
    let sonnet = "model=\"claude-sonnet-4-5-20250929\"";
    let cost_before = sum_where(&before, "cco_stats_cost_usd_total", sonnet);
    assert!(cost_before > 0.0);
    let total_before = s.daily(&[])["totals"]["totalCost"].as_f64().unwrap();

    // Sonnet 4.5 at a tenth of its price, for every day.
    let cheap = s.dir.path().join("cheap.toml");
    std::fs::write(
        &cheap,
        "[[models.claude-sonnet-4-5]]\ninput = 0.3\noutput = 1.5\ncache_write_5m = 0.375\n\
         cache_write_1h = 0.6\ncache_read = 0.03\nweb_search_per_1k = 10\n",
    )
    .unwrap();
    let cut = s
        .cmd()
        .arg("--prices")
        .arg(&cheap)
        .arg("metrics")
        .assert()
        .success();
    let cut = String::from_utf8_lossy(&cut.get_output().stdout).into_owned();
    promtool_clean(&cut);
    assert_eq!(
        sum_where(&cut, "cco_stats_cost_usd_total", sonnet),
        cost_before
    );
    assert_eq!(samples(&cut, "cco_stats_prices_revision")[0].1, 2.0);
    // The reports, unlike the counter, re-price all history.
    let daily = s
        .cmd()
        .arg("--prices")
        .arg(&cheap)
        .args(["daily", "--json", "--no-ingest"])
        .assert()
        .success();
    let daily = json(&daily.get_output().stdout);
    assert!(daily["totals"]["totalCost"].as_f64().unwrap() < total_before);

    // Back to the built-in prices: a step up to the current view, revision 3.
    let back = metrics(&s, &[]);
    assert_eq!(samples(&back, "cco_stats_prices_revision")[0].1, 3.0);
    assert!(sum_where(&back, "cco_stats_cost_usd_total", sonnet) >= cost_before);
}

/// A free loopback port (taken again by whoever binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 request: (status, body).
fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_watch(s: &Scratch, extra: &[&str]) -> (Running, u16) {
    let port = free_port();
    let child = s
        .std_cmd()
        .args(["watch", "--interval", "200ms", "--metrics-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    wait_for("the metrics endpoint", Duration::from_secs(30), || {
        http(port, "GET", "/metrics")
            .ok()
            .filter(|(status, _)| *status == 200)
    });
    // The server answers before the first pass has committed: wait for that too, or a
    // first scrape may see an empty ledger.
    wait_for("the first pass", Duration::from_secs(30), || {
        let out = s.cmd().args(["status", "--json"]).output().ok()?;
        let status: Value = serde_json::from_slice(&out.stdout).ok()?;
        (!status["last_ingest"].is_null()).then_some(())
    });
    (running, port)
}

#[test]
fn watch_serves_get_metrics_only_and_a_stuck_client_stalls_nothing() {
    let s = Scratch::with_fixtures();
    let (_watch, port) = start_watch(&s, &[]);
    let (status, body) = http(port, "GET", "/metrics").unwrap();
    assert_eq!(status, 200);
    promtool_clean(&body);
    assert_totals_match(&s.daily(&["--timezone", "UTC"]), &body);
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/metrics/x"),
        ("POST", "/metrics"),
        ("HEAD", "/metrics"),
    ] {
        assert_eq!(http(port, method, path).unwrap().0, 404, "{method} {path}");
    }
    let (_, open) = http(port, "GET", "/metrics?format=openmetrics").unwrap();
    assert!(open.ends_with("# EOF\n"));

    // A client that sends half a request and then nothing.
    let mut stuck = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stuck.write_all(b"GET /metr").unwrap();
    // The watch keeps ingesting: a new response is in the ledger and in the metrics.
    let rows = s.status()["rows"].as_u64().unwrap();
    let transcript = s.root.join("projects/-home-dev-other/s9.jsonl");
    std::fs::write(&transcript, line("msg_new", 7)).unwrap();
    wait_for("the new row", Duration::from_secs(20), || {
        (s.status()["rows"].as_u64().unwrap() == rows + 1).then_some(())
    });
    let (status, body) = http(port, "GET", "/metrics").unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        samples(&body, "cco_stats_ledger_rows")[0].1,
        (rows + 1) as f64
    );
    drop(stuck);
}

#[test]
fn watch_refuses_a_remote_address_unless_asked() {
    let s = Scratch::with_fixtures();
    let out = s
        .cmd()
        .args(["watch", "--metrics-listen", "0.0.0.0:1"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2);
    let err = common::stderr(out.get_output());
    assert!(err.contains("--metrics-allow-remote"), "{err}");
}

/// One billable response of claude-sonnet-4-5 with `output` tokens, at a fixed time.
fn line(message_id: &str, output: u64) -> String {
    format!(
        r#"{{"type":"assistant","sessionId":"s9","cwd":"/home/dev/other","timestamp":"2026-01-20T10:00:00.000Z","requestId":"req_{message_id}","message":{{"id":"{message_id}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":3,"output_tokens":{output},"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}
"#
    )
}

/// A Prometheus server of our own on loopback, scraping `targets` every second.
struct Prometheus {
    _process: Running,
    port: u16,
}

impl Prometheus {
    fn start(dir: &Path, target: u16) -> Prometheus {
        let port = free_port();
        let config = dir.join("prometheus.yml");
        // Two jobs on one endpoint: Prometheus asks for OpenMetrics; `format=prometheus`
        // makes the endpoint answer 0.0.4 text instead.
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n\
                 - job_name: openmetrics\n  static_configs:\n  - targets: ['127.0.0.1:{target}']\n\
                 - job_name: text\n  params:\n    format: [prometheus]\n  static_configs:\n  - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let process = Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let prometheus = Prometheus {
            _process: Running(process),
            port,
        };
        wait_for("Prometheus to be ready", Duration::from_secs(60), || {
            http(port, "GET", "/-/ready")
                .ok()
                .filter(|(status, _)| *status == 200)
        });
        prometheus
    }

    /// The value of an instant query whose answer is one number, if it has one yet.
    fn scalar(&self, query: &str) -> Option<f64> {
        let (status, body) = http(
            self.port,
            "GET",
            &format!("/api/v1/query?query={}", encode(query)),
        )
        .ok()?;
        assert_eq!(status, 200, "{query}: {body}");
        let answer = json(body.as_bytes());
        let result = answer["data"]["result"].as_array()?;
        assert!(result.len() <= 1, "{query}: {answer}");
        result.first()?["value"][1].as_str()?.parse().ok()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_watch_and_its_totals_never_go_back() {
    let s = Scratch::with_fixtures();
    let (_watch, port) = start_watch(&s, &[]);
    let daily = s.daily(&["--timezone", "UTC"]);
    let output = daily["totals"]["outputTokens"].as_f64().unwrap();
    let cost = daily["totals"]["totalCost"].as_f64().unwrap();
    let prometheus = Prometheus::start(s.dir.path(), port);

    for job in ["openmetrics", "text"] {
        let tokens = format!("sum(cco_stats_tokens_total{{job=\"{job}\",type=\"output\"}})");
        let scraped = wait_for(
            &format!("a scrape by job {job}"),
            Duration::from_secs(60),
            || prometheus.scalar(&tokens),
        );
        assert_eq!(scraped, output, "job {job}");
        let scraped_cost = prometheus
            .scalar(&format!("sum(cco_stats_cost_usd_total{{job=\"{job}\"}})"))
            .unwrap();
        assert!(
            (scraped_cost - cost).abs() < 1e-9,
            "{scraped_cost} against {cost}"
        );
        assert_eq!(
            prometheus
                .scalar(&format!("count(cco_stats_info{{job=\"{job}\"}})"))
                .unwrap(),
            1.0
        );
    }
    // Both scrape, each in its own format: only OpenMetrics has `_created` samples.
    assert_eq!(prometheus.scalar("count(up == 1)").unwrap(), 2.0);
    assert!(
        prometheus
            .scalar("count(cco_stats_tokens_created{job=\"openmetrics\"})")
            .unwrap()
            > 0.0
    );
    assert_eq!(
        prometheus.scalar("count(cco_stats_tokens_created{job=\"text\"})"),
        None
    );

    // Claude Code deletes a transcript; the watch passes again; the ledger keeps its rows.
    std::fs::remove_file(s.root.join("projects/-home-dev-other/s3.jsonl")).unwrap();
    // Several passes and scrapes after it.
    std::thread::sleep(Duration::from_secs(4));
    let window = "[5m]";
    for job in ["openmetrics", "text"] {
        let selector = format!("cco_stats_tokens_total{{job=\"{job}\"}}");
        assert_eq!(
            prometheus
                .scalar(&format!("sum(resets({selector}{window}))"))
                .unwrap(),
            0.0,
            "job {job}: a counter went down"
        );
        let tokens = format!("sum(cco_stats_tokens_total{{job=\"{job}\",type=\"output\"}})");
        assert_eq!(prometheus.scalar(&tokens).unwrap(), output, "job {job}");
    }
}

#[test]
fn metrics_of_no_ledger_is_an_error_and_creates_none() {
    let s = Scratch::new();
    let out = s.cmd().arg("metrics").assert().code(2);
    let err = common::stderr(out.get_output());
    assert!(
        err.contains("no database at") && err.contains("once"),
        "{err}"
    );
    assert!(!s.db.exists());
}
