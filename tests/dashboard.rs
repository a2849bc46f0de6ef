//! The dashboard and `report --html`, through the real binary and a real headless
//! Chromium (Debian's `chromium`, which `.ci/run` installs): the figures shown are the
//! CLI's JSON's, the page logs no error and asks nothing of any host but its own, a
//! change to the ledger shows on the open page within 2 s, data is shown as text
//! (hostile names included), and the file reads whole with scripts off. Screenshots of
//! each page are left in `target/dashboard-shots/`.
//!
//! The live checks speak the DevTools protocol over `--remote-debugging-pipe` (JSON
//! messages ended by NUL on descriptors 3 and 4): a few dozen lines, where a WebSocket
//! client or a CDP crate would bring an async runtime or a dependency tree for them.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Scratch;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
const SESSION_A: &str = "5e551011-aaaa";

fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("these tests need Debian's chromium (apt-get install chromium; .ci/run does)");
}

/// Where the screenshots go: `target/dashboard-shots/`.
fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-shots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The flags every Chromium run gets: headless, a private profile, nothing fetched in
/// the background.
fn chromium_cmd(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd
}

/// A screenshot of `url` at `width` × `height`, saved as `target/dashboard-shots/NAME.png`.
fn screenshot(url: &str, name: &str, (width, height): (u32, u32), dark: bool) -> PathBuf {
    let profile = tempfile::tempdir().unwrap();
    let path = shots().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&path);
    let mut cmd = chromium_cmd(profile.path());
    cmd.arg(format!("--screenshot={}", path.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg("--hide-scrollbars");
    if dark {
        cmd.arg("--force-dark-mode")
            .arg("--blink-settings=preferredColorScheme=0");
    }
    let status = cmd.arg(url).status().unwrap();
    assert!(status.success(), "chromium --screenshot {url}: {status}");
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        path.display()
    );
    path
}

/// `$1,234.57` and `1,234,567` as the page writes them.
fn dollars(cost: f64) -> String {
    let cents = format!("{cost:.2}");
    let (whole, fraction) = cents.split_once('.').unwrap();
    format!("${}.{fraction}", thousands(whole.parse().unwrap()))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn iso(ms: i64) -> String {
    common::corpus::iso(ms)
}

/// A Claude Code response line.
fn response(
    session: &str,
    cwd: &str,
    ts_ms: i64,
    id: &str,
    model: &str,
    tokens: [u64; 3],
) -> String {
    json!({"type": "assistant", "sessionId": session, "cwd": cwd, "isSidechain": false,
           "timestamp": iso(ts_ms), "requestId": format!("req_{id}"),
           "message": {"id": format!("msg_{id}"), "type": "message", "role": "assistant",
                       "model": model, "content": [{"type": "text", "text": "ok"}],
                       "usage": {"input_tokens": tokens[0], "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": tokens[2], "output_tokens": tokens[1]}}})
    .to_string()
}

fn append(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

/// Six weeks of three projects' use up to `now_ms`, three models, a subagent in
/// `SESSION_A`: enough for every chart to have something to draw.
fn six_weeks(s: &Scratch, now_ms: i64) {
    let models = [
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-6",
        "claude-haiku-4-5-20251001",
    ];
    let projects = ["-home-dev-app", "-home-dev-site", "-home-dev-tools"];
    for (p, project) in projects.iter().enumerate() {
        for day in 0..42i64 {
            // A quiet day now and then, a busier one at the weekend of each project.
            if (day + p as i64) % 5 == 3 {
                continue;
            }
            let session = if p == 0 && day == 0 {
                SESSION_A.to_string()
            } else {
                format!("{project}-{day}")
            };
            let mut lines = Vec::new();
            for r in 0..(3 + (day * 7 + p as i64 * 3) % 9) {
                let ts = now_ms - day * DAY_MS - (r + 1) * 600_000 - p as i64 * 60_000;
                let model = models[((r + day) as usize + p) % 3];
                let id = format!("{p}-{day}-{r}");
                let output = 200 + ((day * 131 + r * 17) % 900) as u64 * (1 + p as u64);
                lines.push(response(
                    &session,
                    &project.replace('-', "/"),
                    ts,
                    &id,
                    model,
                    [40, output, 4_000],
                ));
            }
            append(
                &s.root
                    .join("projects")
                    .join(project)
                    .join(format!("{session}.jsonl")),
                &lines,
            );
        }
    }
    let sub: Vec<String> = (0..3)
        .map(|r| {
            let mut line: Value = serde_json::from_str(&response(
                SESSION_A,
                "/home/dev",
                now_ms - (r + 1) * 300_000,
                &format!("sub-{r}"),
                "claude-haiku-4-5-20251001",
                [10, 300, 1_000],
            ))
            .unwrap();
            line["isSidechain"] = json!(true);
            line.to_string()
        })
        .collect();
    append(
        &s.root
            .join("projects/-home-dev-app")
            .join(SESSION_A)
            .join("subagents/agent-a7.jsonl"),
        &sub,
    );
}

/// One status-line call of `SESSION_A` with these `rate_limits` (name, percent, reset).
fn statusline(s: &Scratch, windows: &[(&str, f64, i64)]) {
    let limits: serde_json::Map<String, Value> = windows
        .iter()
        .map(|(name, used, resets_ms)| {
            let window = json!({"used_percentage": used, "resets_at": resets_ms / 1000});
            (name.to_string(), window)
        })
        .collect();
    let transcript = s
        .root
        .join("projects/-home-dev-app")
        .join(format!("{SESSION_A}.jsonl"));
    let input = json!({"session_id": SESSION_A, "transcript_path": transcript,
                       "rate_limits": limits});
    s.cmd()
        .args(["statusline", "--no-color", "--timezone", "UTC"])
        .write_stdin(input.to_string())
        .assert()
        .success();
}

/// A running `cco-stats dashboard`, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(s: &Scratch) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = s
            .std_cmd()
            .args([
                "-q",
                "dashboard",
                "--port",
                &port.to_string(),
                "--timezone",
                "UTC",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.get("/stamp").is_none() {
            assert!(Instant::now() < deadline, "the dashboard did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The body of a 200 answer to `GET path`.
    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium driven over the DevTools protocol, one page open.
struct Browser {
    child: Child,
    to: std::io::PipeWriter,
    from: mpsc::Receiver<Value>,
    next_id: u64,
    session: String,
    /// Every event received, in order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (their_read, to) = std::io::pipe().unwrap();
        let (from, their_write) = std::io::pipe().unwrap();
        let (r, w) = {
            use std::os::fd::AsRawFd;
            (their_read.as_raw_fd(), their_write.as_raw_fd())
        };
        let mut cmd = chromium_cmd(profile.path());
        cmd.arg("--remote-debugging-pipe").arg("about:blank");
        // SAFETY: dup2 is async-signal-safe; the descriptors are open in the parent.
        unsafe {
            cmd.pre_exec(move || {
                // Out of the way first: either may be 3 or 4 already.
                let (r, w) = (
                    libc::fcntl(r, libc::F_DUPFD, 10),
                    libc::fcntl(w, libc::F_DUPFD, 10),
                );
                if r < 0 || w < 0 || libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop((their_read, their_write));
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).unwrap_or(0) > 0 {
                message.pop();
                if let Ok(value) = serde_json::from_slice(&message)
                    && sender.send(value).is_err()
                {
                    return;
                }
                message.clear();
            }
        });
        let mut browser = Browser {
            child,
            to,
            from: receiver,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in [
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
            "Page.enable",
        ] {
            browser.call(domain, json!({}));
        }
        browser
    }

    /// Sends one command (to the page once attached) and waits for its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        loop {
            let message = self
                .from
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no answer from chromium to {method}"));
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Opens `url` and waits until it has loaded.
    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = self.eval("document.readyState === 'complete' && location.href");
            if ready.as_str() == Some(url) {
                return;
            }
            assert!(Instant::now() < deadline, "{url} did not load");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the next event called `method` (received from now on).
    fn wait_event(&mut self, method: &str) {
        loop {
            let message = self
                .from
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {method} from chromium"));
            let found = message["method"] == method;
            self.events.push(message);
            if found {
                return;
            }
        }
    }

    /// The markup of the first element `selector` finds, read through the DOM domain
    /// (which needs no script in the page).
    fn outer_html(&mut self, selector: &str) -> String {
        let root = self.call("DOM.getDocument", json!({}))["root"]["nodeId"].clone();
        let node = self.call(
            "DOM.querySelector",
            json!({"nodeId": root, "selector": selector}),
        )["nodeId"]
            .clone();
        assert_ne!(node, json!(0), "no {selector} in the page");
        self.call("DOM.getOuterHTML", json!({"nodeId": node}))["outerHTML"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A screenshot of the whole page at `width`, saved as `target/dashboard-shots/NAME.png`.
    fn capture(&mut self, name: &str, width: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64(shot["data"].as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
    }

    fn text(&mut self, selector: &str) -> String {
        let expression = format!(
            "(document.querySelector({}) || {{}}).textContent",
            json!(selector)
        );
        self.eval(&expression)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// What the page logged as an error, or threw.
    fn errors(&mut self) -> Vec<String> {
        while let Ok(message) = self.from.try_recv() {
            self.events.push(message);
        }
        self.events
            .iter()
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => e["params"]["type"] == "error",
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == "error",
                _ => false,
            })
            .map(Value::to_string)
            .collect()
    }

    /// Every URL the page asked for.
    fn requests(&mut self) -> Vec<String> {
        while let Ok(message) = self.from.try_recv() {
            self.events.push(message);
        }
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .map(|e| e["params"]["request"]["url"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// The totals of `daily --json` (UTC, from the ledger) for `extra` filters:
/// (cost as shown, tokens as shown).
fn daily_totals(s: &Scratch, extra: &[&str]) -> (String, String) {
    let daily = s.daily(&[&["--timezone", "UTC"][..], extra].concat());
    let totals = &daily["totals"];
    (
        dollars(totals["totalCost"].as_f64().unwrap()),
        thousands(totals["totalTokens"].as_u64().unwrap()),
    )
}

#[test]
fn the_dashboard_shows_the_clis_figures_and_follows_the_ledger() {
    let s = Scratch::new();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    six_weeks(&s, now_ms);
    // Claude Code's status line reported a 5-hour window that filled and reset an hour
    // ago, and the current one.
    let hour = 3_600_000;
    statusline(
        &s,
        &[
            ("five_hour", 100.0, now_ms - hour),
            ("seven_day", 31.0, now_ms + 80 * hour),
        ],
    );
    statusline(
        &s,
        &[
            ("five_hour", 24.0, now_ms + 4 * hour),
            ("seven_day", 35.0, now_ms + 80 * hour),
        ],
    );
    let server = Server::start(&s);
    let mut browser = Browser::launch();
    browser.open(&server.url("/"));

    // The quota windows and their history, as `limits --json` has them.
    let limits = s.report(&["limits"]);
    let five = limits["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "five_hour")
        .unwrap()
        .clone();
    assert_eq!(five["history"][0]["hit"], json!(true));
    let quota = browser.text("#quota");
    assert!(quota.contains("five_hour24%"), "{quota}");
    assert!(quota.contains("seven_day35%"), "{quota}");
    let history = browser.text("#limits");
    assert!(history.contains("five_hour"), "{history}");
    assert!(history.contains("100%yes"), "{history}");

    // The whole range, today and one project: each as `daily --json` has it.
    let (cost, tokens) = daily_totals(&s, &[]);
    assert_eq!(browser.text("#range-cost"), cost);
    assert_eq!(browser.text("#range-tokens"), tokens);
    let today = iso(now_ms)[..10].to_string();
    let (today_cost, today_tokens) = daily_totals(&s, &["--since", &today, "--until", &today]);
    let today_card = browser.text("#today");
    assert!(
        today_card.contains(&today_cost),
        "{today_card} vs {today_cost}"
    );
    assert!(
        today_card.contains(&today_tokens),
        "{today_card} vs {today_tokens}"
    );
    let since = iso(now_ms - 10 * DAY_MS)[..10].to_string();
    let filtered = format!("/?since={since}&project=-home-dev-site&agent=claude&by=agent");
    browser.open(&server.url(&filtered));
    let (cost, tokens) = daily_totals(
        &s,
        &[
            "--since",
            &since,
            "--project",
            "-home-dev-site",
            "--agent",
            "claude",
        ],
    );
    assert_eq!(browser.text("#range-cost"), cost);
    assert_eq!(browser.text("#range-tokens"), tokens);
    // Projects are named by their folder's path, as the CLI's tables name them; the
    // filter keeps the ledger's name.
    let table = browser.text("#project-table");
    assert!(table.contains("/home/dev/site"), "{table}");
    assert!(!table.contains("-home-dev-site"), "{table}");
    assert!(browser.text("#session-table").contains("/home/dev/site"));

    // A session's page: its cost is `session --json`'s, its subagent listed.
    browser.open(&server.url(&format!("/session?id={SESSION_A}")));
    let sessions = s.report(&["session"]);
    let row = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sessionId"] == SESSION_A)
        .unwrap()
        .clone();
    assert_eq!(
        browser.text("#session-cost"),
        dollars(row["totalCost"].as_f64().unwrap())
    );
    assert!(browser.text("#subagents").contains("agent-a7"));

    // A response written now is on the open page within 2 s, without a reload.
    browser.open(&server.url("/"));
    browser.eval("window.notReloaded = true");
    let before = browser.text("#range-tokens");
    append(
        &s.root
            .join("projects/-home-dev-app")
            .join(format!("{SESSION_A}.jsonl")),
        &[response(
            SESSION_A,
            "/home/dev",
            now_ms,
            "late",
            "claude-sonnet-4-5-20250929",
            [1, 123_457, 0],
        )],
    );
    let written = Instant::now();
    let shown = loop {
        let now = browser.text("#range-tokens");
        if now != before {
            break written.elapsed();
        }
        assert!(
            written.elapsed() < Duration::from_secs(10),
            "the page still shows {before} 10 s after a new response"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    eprintln!("a new response was on the open page {shown:?} after it was written");
    assert!(
        shown <= Duration::from_secs(2),
        "the change took {shown:?} to show"
    );
    assert_eq!(
        browser.eval("window.notReloaded"),
        json!(true),
        "the page reloaded"
    );
    let (_, tokens) = daily_totals(&s, &[]);
    assert_eq!(browser.text("#range-tokens"), tokens);

    // Nothing logged as an error, nothing asked of any other host.
    assert_eq!(browser.errors(), Vec::<String>::new());
    let origin = server.url("/");
    let requests = browser.requests();
    assert!(
        requests.iter().any(|u| u.ends_with("/stamp")),
        "{requests:?}"
    );
    for url in &requests {
        assert!(
            url.starts_with(&origin) || url.starts_with("data:"),
            "a request left loopback: {url}"
        );
    }

    // Screenshots of each page, wide and narrow, light and dark.
    screenshot(&server.url("/"), "dashboard", (1280, 1400), false);
    screenshot(&server.url("/"), "overview", (1280, 2300), false);
    screenshot(&server.url("/"), "overview-dark", (1280, 2300), true);
    screenshot(&server.url("/"), "overview-360", (360, 3600), false);
    screenshot(
        &server.url(&filtered),
        "overview-filtered",
        (1280, 2300),
        false,
    );
    screenshot(
        &server.url(&format!("/session?id={SESSION_A}")),
        "session",
        (1280, 1400),
        false,
    );
}

#[test]
fn the_html_report_reads_whole_with_scripts_off() {
    let s = Scratch::new();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    six_weeks(&s, now_ms);
    let file = s.dir.path().join("report.html");
    s.cmd()
        .args(["-q", "report", "--html"])
        .arg(&file)
        .args(["--timezone", "UTC", "--by", "agent"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("<script"), "the file runs nothing");
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "the file loads nothing"
    );
    assert!(text.len() < 300 * 1024, "{} bytes", text.len());

    // Scripts off before the file is opened; the DOM is read without them.
    let url = format!("file://{}", file.display());
    let mut browser = Browser::launch();
    browser.call(
        "Emulation.setScriptExecutionDisabled",
        json!({"value": true}),
    );
    browser.call("Page.navigate", json!({"url": url}));
    browser.wait_event("Page.loadEventFired");
    let shown = |browser: &mut Browser, id: &str| {
        let html = browser.outer_html(&format!("#{id}"));
        html[html.find('>').unwrap() + 1..html.rfind('<').unwrap()].to_string()
    };
    let (cost, tokens) = daily_totals(&s, &[]);
    assert_eq!(shown(&mut browser, "range-cost"), cost);
    assert_eq!(shown(&mut browser, "range-tokens"), tokens);
    assert!(browser.outer_html("#h-daily").contains("by agent"));
    assert!(browser.outer_html("svg.year").contains("<rect"));
    browser.capture("report-file", 1280);
    assert_eq!(browser.errors(), Vec::<String>::new());
}

#[test]
fn hostile_names_are_shown_as_text() {
    let s = Scratch::new();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let project = r#"-x-<img src=x onerror="document.title='pwned'">&amp;"#;
    let model = "claude-<script>document.title='pwned'</script>";
    append(
        &s.root.join("projects").join(project).join("hostile.jsonl"),
        &[response(
            "hostile",
            "/x",
            now_ms - 60_000,
            "h1",
            model,
            [1, 2, 3],
        )],
    );
    let server = Server::start(&s);
    let mut browser = Browser::launch();
    browser.open(&server.url("/"));
    assert_eq!(
        browser.eval("document.querySelectorAll('img').length"),
        json!(0)
    );
    assert_eq!(
        browser.eval("Array.from(document.scripts).map(s => s.src)"),
        json!([server.url("/app.js")])
    );
    assert!(browser.text("#project-table").contains(project));
    assert!(browser.text("main").contains(model));
    browser.open(&server.url("/session?id=hostile"));
    assert!(browser.text("main").contains(model));
    assert_ne!(browser.eval("document.title"), json!("pwned"));
    assert_eq!(browser.errors(), Vec::<String>::new());

    let file = s.dir.path().join("hostile.html");
    s.cmd()
        .args(["-q", "report", "--no-ingest", "--html"])
        .arg(&file)
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("<img") && !text.contains("<script"),
        "markup from data"
    );
    assert!(text.contains("&lt;img src=x onerror=&quot;"));
}

#[test]
fn the_dashboard_listens_on_loopback_unless_told() {
    let s = Scratch::new();
    let out = s
        .cmd()
        .args(["dashboard", "--listen", "0.0.0.0:0"])
        .assert()
        .failure();
    let stderr = common::stderr(out.get_output());
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[test]
fn the_html_reports_chart_runs_forward_whatever_the_order() {
    let s = Scratch::with_fixtures();
    let file = s.dir.path().join("desc.html");
    s.cmd()
        .args([
            "-q",
            "report",
            "--order",
            "desc",
            "--timezone",
            "UTC",
            "--html",
        ])
        .arg(&file)
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let days: Vec<&str> = text
        .match_indices("<g><title>")
        .map(|(at, tag)| &text[at + tag.len()..at + tag.len() + 10])
        .collect();
    assert!(days.len() >= 3, "{days:?}");
    assert!(days.windows(2).all(|w| w[0] < w[1]), "{days:?}");
}

/// A model without a price is said unpriced, as the CLI's tables say it, never `$0.00`;
/// the file is titled a report and its writing is said.
#[test]
fn the_html_report_says_unpriced_where_the_table_does() {
    let s = Scratch::new();
    let now_ms = jiff::Timestamp::now().as_millisecond() - 3_600_000;
    let project = "-home-dev-app";
    append(
        &s.root.join("projects").join(project).join("priced.jsonl"),
        &[response(
            "priced",
            "/home/dev/app",
            now_ms,
            "p1",
            "claude-sonnet-4-5-20250929",
            [40, 500, 4_000],
        )],
    );
    append(
        &s.root.join("projects").join(project).join("mystery.jsonl"),
        &[response(
            "mystery",
            "/home/dev/app",
            now_ms,
            "m1",
            "claude-mystery-9",
            [40, 500, 4_000],
        )],
    );
    let file = s.dir.path().join("report.html");
    let out = s
        .cmd()
        .args(["report", "--timezone", "UTC", "--html"])
        .arg(&file)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains(&format!("wrote {}", file.display())), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("<title>cco-stats report</title>"), "{text}");
    let range = &text[text.find(r#"id="range-cost">"#).unwrap()..][..40];
    assert!(
        range.contains("+?"),
        "part of the range has no price: {range}"
    );
    let mystery = &text[text.find(">mystery<").unwrap()..];
    let row = &mystery[..mystery.find("</tr>").unwrap()];
    assert!(row.contains(">unpriced<"), "{row}");
    assert!(!row.contains("$0.00"), "{row}");
}
