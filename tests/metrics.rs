//! `cco-stats metrics` and `watch --metrics-listen` through the real binary, checked by
//! the real Prometheus tools: `promtool check metrics` lints every text output, and a
//! Prometheus server started here scrapes the watch's endpoint (as OpenMetrics, which it
//! asks for, and as 0.0.4 text) and answers the same totals as `daily --json`. Counters
//! never go down: not when a transcript is deleted, not when a price is cut. The server
//! holds up under abuse (a client that never reads, hundreds of idle connections at a low
//! descriptor limit, a huge request line, endless headers, a slowloris): scrapes still
//! answer, threads and memory stay bounded, and a listener that dies ends the watch.
//!
//! promtool and prometheus are test dependencies (.ci/run installs Debian's `prometheus`):
//! a test fails, saying so, where they are missing.

mod common;

use std::io::{ErrorKind, Read, Write};
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
    let request =
        format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    exchange(port, request.as_bytes(), Duration::from_secs(10))
}

/// `request` sent as it is, and the answer read to its end within `timeout`.
fn exchange(port: u16, request: &[u8], timeout: Duration) -> std::io::Result<(u16, String)> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    let mut chunk = [0; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk)? {
            0 => break,
            n => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
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
    start_watch_with(s, extra, |_| {})
}

/// `start_watch`, with `adjust` applied to the command before it is spawned.
fn start_watch_with(
    s: &Scratch,
    extra: &[&str],
    adjust: impl FnOnce(&mut Command),
) -> (Running, u16) {
    let port = free_port();
    let mut cmd = s.std_cmd();
    cmd.args(["watch", "--interval", "200ms", "--metrics-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null());
    adjust(&mut cmd);
    let child = cmd.spawn().unwrap();
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

// The server under abuse (issue 17): each case ends by itself in seconds, and meanwhile a
// scrape answers, and the watch's threads and peak memory stay near its idle figures.

/// Threads the abused watch may have: the server holds at most 32 connections, a thread
/// each, beside the watch's own few. The old server made one per connection.
const MAX_THREADS: u64 = 48;
/// Peak resident memory the abused watch may reach: a request head is read into 16 KiB
/// at most. The old server held a request line or its headers whole.
const MAX_PEAK_KIB: u64 = 64 * 1024;

/// `Threads` and `VmHWM` (KiB) of process `pid`.
fn threads_and_peak(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("Threads:"), field("VmHWM:"))
}

fn assert_bounded(watch: &Running) {
    let (threads, peak) = threads_and_peak(watch.0.id());
    assert!(threads <= MAX_THREADS, "{threads} threads");
    assert!(peak <= MAX_PEAK_KIB, "a peak of {peak} KiB resident");
}

/// A scrape answers 200 with the metrics within 5 s.
fn assert_scrape_answers(port: u16) {
    let started = Instant::now();
    let request = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    match exchange(port, request, Duration::from_secs(5)) {
        Ok((200, body)) => assert!(body.contains("cco_stats_info"), "{body}"),
        other => panic!("a scrape after {:?}: {other:?}", started.elapsed()),
    }
}

/// A connection, or none if the server does not take it within a second.
fn connect(port: u16) -> Option<TcpStream> {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()
}

/// Sends `head`, then `filler` again and again until `total` bytes went out or the server
/// hung up; the bytes sent. A server that stops reading without hanging up fails the test.
fn stream_until_hung_up(port: u16, head: &[u8], filler: &[u8], total: usize) -> usize {
    let mut stream = connect(port).expect("a connection");
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let chunk = filler.repeat(64 * 1024 / filler.len());
    let mut sent = 0;
    if stream.write_all(head).is_err() {
        return sent;
    }
    while sent < total {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server stopped reading after {sent} bytes but kept the connection")
            }
            Err(_) => break,
        }
    }
    sent
}

#[test]
fn a_client_that_pipelines_and_never_reads_stalls_no_scrape() {
    let s = Scratch::with_fixtures();
    let (watch, port) = start_watch(&s, &[]);
    let mut greedy = connect(port).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let requests = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(2000);
    // The server may hang up before it has all of them: the write fails, and that is fine.
    let _ = greedy.write_all(requests.as_bytes());
    std::thread::sleep(Duration::from_secs(1));
    for _ in 0..3 {
        assert_scrape_answers(port);
    }
    assert_bounded(&watch);
    drop(greedy);
}

/// The child gets `n` descriptors, soft and hard.
fn limit_descriptors(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
}

#[test]
fn hundreds_of_idle_connections_at_a_low_descriptor_limit_stall_nothing() {
    let s = Scratch::with_fixtures();
    // 128 descriptors: the old server ran out at about a hundred connections, and its
    // accept loop ended for good.
    let (watch, port) = start_watch_with(&s, &[], |cmd| limit_descriptors(cmd, 128));
    let idle: Vec<TcpStream> = (0..300).map_while(|_| connect(port)).collect();
    assert_scrape_answers(port);
    // The watch still reads transcripts (it has descriptors left for them).
    let rows = s.status()["rows"].as_u64().unwrap();
    let transcript = s.root.join("projects/-home-dev-other/s9.jsonl");
    std::fs::write(&transcript, line("msg_new", 7)).unwrap();
    wait_for("the new row", Duration::from_secs(20), || {
        (s.status()["rows"].as_u64().unwrap() == rows + 1).then_some(())
    });
    assert_scrape_answers(port);
    assert_bounded(&watch);
    drop(idle);
}

#[test]
fn a_huge_request_line_is_hung_up_on_and_costs_no_memory() {
    let s = Scratch::with_fixtures();
    let (watch, port) = start_watch(&s, &[]);
    let total = 128 << 20;
    let sent = stream_until_hung_up(port, b"GET /", b"a", total);
    assert!(
        sent < total,
        "the server read a request line of {sent} bytes"
    );
    assert_scrape_answers(port);
    assert_bounded(&watch);
}

#[test]
fn thousands_of_headers_are_refused() {
    let s = Scratch::with_fixtures();
    let (watch, port) = start_watch(&s, &[]);
    // A hundred headers in one piece: refused, with the status that says why.
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n",
        "X-Filler: y\r\n".repeat(100)
    );
    let (status, _) = exchange(port, request.as_bytes(), Duration::from_secs(5)).unwrap();
    assert_eq!(status, 431);
    // Headers without end (a million and more): hung up on early.
    let total = 16 << 20;
    let sent = stream_until_hung_up(
        port,
        b"GET /metrics HTTP/1.1\r\n",
        b"X-Filler: y\r\n",
        total,
    );
    assert!(sent < total, "the server read {sent} bytes of headers");
    assert_scrape_answers(port);
    assert_bounded(&watch);
}

/// Whether the server has hung up on `stream` (or answered it, which ends it too).
fn hung_up(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0];
    let ended = !matches!(stream.read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
    ended
}

#[test]
fn a_slowloris_is_hung_up_on_and_holds_no_thread() {
    let s = Scratch::with_fixtures();
    let (watch, port) = start_watch(&s, &[]);
    let mut slow: Vec<TcpStream> = (0..100).map_while(|_| connect(port)).collect();
    assert_eq!(slow.len(), 100);
    for stream in &mut slow {
        stream.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    }
    let started = Instant::now();
    let mut scraped = false;
    while !slow.is_empty() && started.elapsed() < Duration::from_secs(15) {
        // A header line every half second on each: never the end of a request.
        slow.retain_mut(|stream| stream.write_all(b"X-Slow: y\r\n").is_ok() && !hung_up(stream));
        if !scraped && started.elapsed() > Duration::from_secs(1) {
            assert_scrape_answers(port);
            assert_bounded(&watch);
            scraped = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(scraped);
    assert!(
        slow.is_empty(),
        "{} slow requests still open after {:?}",
        slow.len(),
        started.elapsed()
    );
}

/// Shuts the watch's listening socket down from outside, as a failing network stack
/// would: a copy of the descriptor (pidfd_getfd, allowed to a parent) shut down for both
/// directions makes the child's accept fail for good.
fn kill_listener(pid: u32, port: u16) {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: plain system calls; every descriptor returned is owned below.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    let _pidfd = unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd) };
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let entry = entry.unwrap();
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if !is_socket {
            continue;
        }
        let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as i32;
        assert!(
            copy >= 0,
            "pidfd_getfd: {}",
            std::io::Error::last_os_error()
        );
        let socket = unsafe { TcpListener::from_raw_fd(copy) };
        let mut listening: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let asked = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ACCEPTCONN,
                (&raw mut listening).cast(),
                &mut len,
            )
        };
        if asked == 0 && listening == 1 && socket.local_addr().unwrap().port() == port {
            assert_eq!(
                unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_RDWR) },
                0
            );
            return;
        }
    }
    panic!("no socket listening on port {port} in process {pid}");
}

#[test]
fn watch_ends_with_an_error_when_its_listener_dies() {
    let s = Scratch::with_fixtures();
    let (mut watch, port) = start_watch_with(&s, &[], |cmd| {
        cmd.stderr(Stdio::piped());
    });
    kill_listener(watch.0.id(), port);
    let status = wait_for("the watch to end", Duration::from_secs(20), || {
        watch.0.try_wait().unwrap()
    });
    assert!(!status.success(), "{status}");
    let mut err = String::new();
    watch
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains(&format!("metrics server on 127.0.0.1:{port}")),
        "{err}"
    );
}
