//! The real `cco-stats live` in a real tmux: it starts at 60×20, redraws when the window
//! grows to 200×60, and `q` or Ctrl-C end it with exit 0 and the terminal as it was
//! (main screen, cooked mode with echo). It uses its whole width (120×40: the 12-hour
//! chart spans the panel over an hour axis), keeps the gauge's figures out of its bar
//! (60×20), and below 60×20 says the terminal is too small. Without a terminal it
//! refuses.
//!
//! tmux is a test dependency (.ci/run installs it): under CI a missing tmux fails the
//! test; elsewhere the test says it skipped.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Scratch;

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is not installed: CI must install it (.ci/run)"
        );
        eprintln!("skipped: tmux is not installed");
    }
    found
}

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("cco-stats-test-{name}-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "live"])
    }

    /// Waits (at most 30 s) until the screen passes `test`; returns it.
    fn wait_for(&self, what: &str, test: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if test(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never saw {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Starts `live` in a 60×20 tmux window; after it ends, the pane shows its exit code and
/// the terminal's modes, and stays open.
fn start(s: &Scratch, tmux: &Tmux, interval: &str) -> std::path::PathBuf {
    start_with(s, tmux, &format!("--interval {interval}"))
}

/// `start`, with these flags (shell words) for `live`.
fn start_with(s: &Scratch, tmux: &Tmux, flags: &str) -> std::path::PathBuf {
    let rc = s.dir.path().join("rc");
    let script = s.dir.path().join("run.sh");
    let env = format!(
        "HOME={} XDG_CONFIG_HOME={} XDG_DATA_HOME={} NO_COLOR=1 TERM=xterm-256color",
        shell_quote(s.dir.path()),
        shell_quote(&s.dir.path().join("config")),
        shell_quote(&s.dir.path().join("data")),
    );
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nunset CLAUDE_CONFIG_DIR CCO_STATS_DB RUST_LOG\n{env} {} --db {} --source {} live {flags}\necho $? > {}.tmp && mv {}.tmp {}\necho AFTER-LIVE\nstty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo\nsleep 120\n",
            shell_quote(Path::new(common::BIN)),
            shell_quote(&s.db),
            shell_quote(&s.root),
            shell_quote(&rc),
            shell_quote(&rc),
            shell_quote(&rc),
        ),
    )
    .unwrap();
    let command = format!("sh {}", shell_quote(&script));
    tmux.ok(&[
        "new-session",
        "-d",
        "-s",
        "live",
        "-x",
        "60",
        "-y",
        "20",
        &command,
    ]);
    rc
}

fn exit_code(rc: &Path) -> i32 {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(rc) {
            return text.trim().parse().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "live did not exit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_restored(tmux: &Tmux) {
    let screen = tmux.wait_for("the shell after live", |s| {
        s.contains("AFTER-LIVE") && s.contains("echo")
    });
    assert!(
        !screen.contains("cco-stats live"),
        "the view is gone:\n{screen}"
    );
    let modes: Vec<&str> = screen.lines().map(str::trim).collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "cooked mode with echo:\n{screen}"
    );
    assert_eq!(
        tmux.ok(&["display-message", "-p", "-t", "live", "#{alternate_on}"])
            .trim(),
        "0"
    );
}

#[test]
fn live_draws_resizes_and_quits_in_tmux() {
    if !tmux_available() {
        return;
    }
    let s = Scratch::with_fixtures();
    let tmux = Tmux::new("q");
    let rc = start(&s, &tmux, "1s");
    let small = tmux.wait_for("the view at 60x20", |s| {
        s.contains("cco-stats live") && s.contains("Models today")
    });
    assert!(small.contains("Today"), "{small}");
    assert!(small.lines().all(|l| l.chars().count() <= 60), "{small}");
    assert_eq!(
        tmux.ok(&["display-message", "-p", "-t", "live", "#{alternate_on}"])
            .trim(),
        "1"
    );

    tmux.ok(&["resize-window", "-t", "live", "-x", "200", "-y", "60"]);
    // Wide enough: sessions and models side by side.
    let large = tmux.wait_for("the view at 200x60", |s| {
        s.lines()
            .any(|l| l.contains("Sessions active today") && l.contains("Models today"))
    });
    assert!(large.lines().count() >= 59, "{large}");

    tmux.ok(&["send-keys", "-t", "live", "q"]);
    assert_eq!(exit_code(&rc), 0);
    assert_restored(&tmux);
}

#[test]
fn ctrl_c_ends_live_and_restores_the_terminal() {
    if !tmux_available() {
        return;
    }
    let s = Scratch::with_fixtures();
    let tmux = Tmux::new("c");
    let rc = start(&s, &tmux, "1s");
    tmux.wait_for("the view", |s| s.contains("cco-stats live"));
    tmux.ok(&["send-keys", "-t", "live", "C-c"]);
    assert_eq!(exit_code(&rc), 0);
    assert_restored(&tmux);
}

/// Like `watch`, `live` reads an append when the OS reports it, not at its interval.
#[test]
fn live_reads_an_append_without_waiting_for_its_interval() {
    if !tmux_available() {
        return;
    }
    let s = Scratch::with_fixtures();
    let tmux = Tmux::new("n");
    let rc = start(&s, &tmux, "1h");
    tmux.wait_for("the view", |s| s.contains("cco-stats live"));
    let rows = || s.status()["rows"].as_u64().unwrap();
    let before = rows();
    let transcript = s.root.join("projects/-home-dev-other/s3.jsonl");
    let line = r#"{"type":"assistant","sessionId":"s3","cwd":"/home/dev/other","timestamp":"2026-01-12T11:00:00.000Z","requestId":"req_live_new","message":{"id":"msg_live_new","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"usage":{"input_tokens":1,"output_tokens":2}}}"#;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&transcript)
        .unwrap();
    std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).unwrap();
    let written = Instant::now();
    while rows() != before + 1 {
        assert!(
            written.elapsed() < Duration::from_secs(3),
            "live did not read the append"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.ok(&["send-keys", "-t", "live", "q"]);
    assert_eq!(exit_code(&rc), 0);
    assert_eq!(s.status()["watch"]["mode"], "notify");
}

#[test]
fn without_a_terminal_live_refuses() {
    let s = Scratch::with_fixtures();
    let out = s.cmd().arg("live").assert().failure();
    let err = common::stderr(out.get_output());
    assert!(err.contains("needs a terminal"), "{err}");
}

/// `live` judges the config file's budgets as `watch` does: the crossing fires its alert
/// command once, and the view shows it beside the pass line (stderr would tear the
/// screen).
#[test]
fn live_fires_a_budget_crossing_and_shows_it() {
    if !tmux_available() {
        return;
    }
    let s = Scratch::new();
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    let line = serde_json::json!({
        "type": "assistant", "timestamp": now.to_string(), "requestId": "req_1",
        "sessionId": "s1", "cwd": "/home/dev/app",
        "message": {"id": "msg_1", "model": "claude-sonnet-4-5", "usage": {
            "input_tokens": 0, "output_tokens": 200_000,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
    });
    let dir = s.root.join("projects/-home-dev-app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s1.jsonl"), format!("{line}\n")).unwrap();
    let fired = s.dir.path().join("fired");
    let config = s.dir.path().join("config/cco-stats");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[budgets]\ndaily = 2\n\n[alerts]\ncommand = \"echo $CCO_STATS_ALERT_ID >> {}\"\n",
            shell_quote(&fired)
        ),
    )
    .unwrap();
    let tmux = Tmux::new("alert");
    let rc = start(&s, &tmux, "1s");
    tmux.ok(&["resize-window", "-t", "live", "-x", "200", "-y", "60"]);
    let screen = tmux.wait_for("the alert in the view", |s| {
        s.contains("alert: over  daily budget of all usage: $3.00 of $2.00")
    });
    assert!(screen.contains("cco-stats live"), "{screen}");
    tmux.ok(&["send-keys", "-t", "live", "q"]);
    assert_eq!(exit_code(&rc), 0);
    assert_eq!(
        std::fs::read_to_string(&fired).unwrap(),
        "budget/daily/all\n"
    );
}

/// The columns of `line` holding `c`.
fn columns_of(line: &str, c: impl Fn(char) -> bool) -> Vec<usize> {
    line.chars()
        .enumerate()
        .filter(|(_, ch)| c(*ch))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn live_uses_its_width_keeps_the_gauge_apart_and_says_when_too_small() {
    if !tmux_available() {
        return;
    }
    let s = Scratch::new();
    let now = jiff::Timestamp::now().as_millisecond();
    let dir = s.root.join("projects/-home-dev-app");
    std::fs::create_dir_all(&dir).unwrap();
    let lines: String = [(now - 7_200_000, 1), (now - 600_000, 2)]
        .iter()
        .map(|&(at, n)| {
            let at = jiff::Timestamp::from_millisecond(at).unwrap();
            serde_json::json!({
                "type": "assistant", "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "requestId": format!("req_{n}"), "sessionId": "s1", "cwd": "/home/dev/app",
                "message": {"id": format!("msg_{n}"), "model": "claude-sonnet-4-5", "usage": {
                    "input_tokens": 1000, "output_tokens": 200_000,
                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
            })
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(dir.join("s1.jsonl"), lines).unwrap();
    let tmux = Tmux::new("size");
    let rc = start_with(&s, &tmux, "--interval 1s --token-limit 1000000");

    // 60×20: the gauge's bar, a space, then its figures; never the one inside the other.
    let small = tmux.wait_for("the gauge at 60x20", |s| s.contains("of 1.0M"));
    let gauge = small.lines().find(|l| l.starts_with("Block")).unwrap();
    let bar: String = gauge["Block  ".len()..]
        .chars()
        .take_while(|c| "█▏▎▍▌▋▊▉░".contains(*c))
        .collect();
    assert!(bar.chars().count() >= 10, "{small}");
    let figures = &gauge["Block  ".len() + bar.len()..];
    assert!(figures.starts_with(" $"), "{small}");
    assert!(figures.contains("40% of 1.0M"), "{small}");
    assert!(!figures.contains(['█', '░']), "{small}");

    // 120×40: the chart's frame, bars and hour axis reach the right edge.
    tmux.ok(&["resize-window", "-t", "live", "-x", "120", "-y", "40"]);
    let large = tmux.wait_for("the view at 120x40", |s| {
        s.lines()
            .any(|l| l.starts_with("┌Last 12.0 h") && l.chars().count() == 120)
    });
    let lines: Vec<&str> = large.lines().collect();
    let top = lines.iter().position(|l| l.starts_with("┌Last")).unwrap();
    let bottom = top
        + lines[top..]
            .iter()
            .position(|l| l.starts_with('└'))
            .unwrap();
    let axis = lines[bottom - 1];
    let labels: Vec<&str> = axis
        .trim_matches(|c| c == '│' || c == ' ')
        .split_whitespace()
        .collect();
    assert!(labels.len() >= 11, "an hour axis: {axis}");
    assert!(
        labels
            .iter()
            .all(|l| l.len() == 2 && l.parse::<u8>().is_ok_and(|h| h < 24)),
        "{axis}"
    );
    let last_label = *columns_of(axis, |c| c.is_ascii_digit()).last().unwrap();
    assert!(last_label >= 105, "the axis spans the panel: {axis}");
    let bars: Vec<usize> = lines[top + 1..bottom - 1]
        .iter()
        .flat_map(|l| columns_of(l, |c| c == '█'))
        .collect();
    assert!(
        bars.iter().any(|&c| c >= 105),
        "now's bar at the right edge:\n{large}"
    );
    assert!(
        bars.iter().any(|&c| c < 100),
        "two hours ago further left:\n{large}"
    );
    assert!(bars.iter().all(|&c| c > 50), "nothing older:\n{large}");

    // 40×10: too small, and it says so.
    tmux.ok(&["resize-window", "-t", "live", "-x", "40", "-y", "10"]);
    let tiny = tmux.wait_for("the view at 40x10", |s| {
        s.contains("terminal too small (need 60×20)")
    });
    assert!(tiny.contains("now 40×10"), "{tiny}");
    assert!(!tiny.contains("Block"), "no panel cut off:\n{tiny}");

    tmux.ok(&["send-keys", "-t", "live", "q"]);
    assert_eq!(exit_code(&rc), 0);
    assert_restored(&tmux);
}
