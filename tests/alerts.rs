//! Budgets and alerts through the real binary: `check`'s exit codes (0 ok, 1 warn, 2
//! over, 3 when it cannot tell) for dollar budgets and quota windows, the config file
//! read strictly, the alert command's JSON and variables, the desktop notification, and
//! `watch` firing each crossing once per period across restarts.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scratch, json, stderr};
use serde_json::Value;

/// A response of now costing `threes` times $3: 200,000 output tokens of Sonnet 4.5
/// each ($15 per million).
fn response(id: &str, threes: u64) -> String {
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    serde_json::json!({
        "type": "assistant", "timestamp": now.to_string(), "requestId": format!("req_{id}"),
        "sessionId": "s1", "cwd": "/home/dev/app",
        "message": {"id": format!("msg_{id}"), "model": "claude-sonnet-4-5", "usage": {
            "input_tokens": 0, "output_tokens": threes * 200_000,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
    })
    .to_string()
        + "\n"
}

fn spend(s: &Scratch, id: &str, threes: u64) {
    use std::io::Write;
    let dir = s.root.join("projects").join("-home-dev-app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("s1.jsonl"))
        .unwrap()
        .write_all(response(id, threes).as_bytes())
        .unwrap();
}

/// The binary with days counted in UTC (the test's "today" is UTC's).
fn cmd(s: &Scratch) -> Command {
    let mut cmd = s.std_cmd();
    cmd.env("TZ", "UTC");
    cmd
}

fn check(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    let out = cmd(s).arg("check").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

/// A Codex rollout of today whose quota windows are at `five_hour` and `seven_day`
/// percent and reset `resets_in` seconds from now.
fn codex_limits(s: &Scratch, name: &str, five_hour: f64, seven_day: f64, resets_in: i64) {
    let now = jiff::Timestamp::now();
    let at = now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let resets = now.as_second() + resets_in;
    let dir = s.dir.path().join(".codex/sessions/2026/01/01");
    std::fs::create_dir_all(&dir).unwrap();
    let meta = serde_json::json!({"timestamp": at, "type": "session_meta", "payload": {
        "id": name, "timestamp": at, "cwd": "/home/dev/app", "originator": "codex_cli_rs",
        "cli_version": "0.46.0", "source": "cli"}});
    let limits = serde_json::json!({"timestamp": at, "type": "event_msg", "payload": {
        "type": "token_count", "info": null, "rate_limits": {
            "primary": {"used_percent": five_hour, "window_minutes": 300, "resets_at": resets},
            "secondary": {"used_percent": seven_day, "window_minutes": 10080, "resets_at": resets + 86_400}}}});
    std::fs::write(
        dir.join(format!("rollout-2026-01-01T09-00-00-{name}.jsonl")),
        format!("{meta}\n{limits}\n"),
    )
    .unwrap();
}

/// An executable shell script in the scratch folder.
fn script(s: &Scratch, name: &str, body: &str) -> PathBuf {
    let path = s.dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// An alert command that appends `id level period` of each alert to `fired.log`.
fn logging_command(s: &Scratch) -> (String, PathBuf) {
    let log = s.dir.path().join("fired.log");
    let path = script(
        s,
        "log-alert.sh",
        &format!(
            "echo \"$CCO_STATS_ALERT_ID $CCO_STATS_ALERT_LEVEL\" >> '{}'",
            log.display()
        ),
    );
    (path.display().to_string(), log)
}

fn fired(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn check_exits_by_the_worst_budget() {
    let s = Scratch::new();
    spend(&s, "a", 2); // $6 today
    let (code, out, _) = check(&s, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no budget is set"), "{out}");
    let (code, out, _) = check(&s, &["--daily-budget", "10"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!(
            "ok    daily budget of all usage: $6.00 of $10.00 (60%) in {}\n",
            today()
        )
    );
    let (code, out, _) = check(&s, &["--daily-budget", "7"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("warn  daily budget of all usage: $6.00 of $7.00 (86%)"),
        "{out}"
    );
    let (code, out, _) = check(&s, &["--daily-budget", "7", "--warn-percent", "90"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = check(&s, &["--daily-budget", "20", "--monthly-budget", "6"]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("over  monthly budget"),
        "{out}"
    );
    let (code, out, _) = check(&s, &["--weekly-budget", "5", "--json"]);
    assert_eq!(code, 2);
    let report = json(out.as_bytes());
    assert_eq!(report["level"], "over");
    assert_eq!(report["thresholds"][0]["id"], "budget/weekly/all");
    assert_eq!(report["thresholds"][0]["value"], 6.0);
    assert_eq!(report["thresholds"][0]["overAt"], 5.0);
    // Nothing to fire without an alert command: check only reads.
    assert!(!check(&s, &["--weekly-budget", "5"]).2.contains("alert"));
}

fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

#[test]
fn the_config_file_sets_budgets_per_agent_and_project_and_is_read_strictly() {
    let s = Scratch::new();
    spend(&s, "a", 2);
    let dir = s.dir.path().join("config/cco-stats");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        "[budgets]\nmonthly = 100\n\n[budgets.agent.codex]\ndaily = 1\n\n[budgets.project.\"/home/dev/app\"]\ndaily = 5\n",
    )
    .unwrap();
    let (code, out, err) = check(&s, &[]);
    assert_eq!(code, 2, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("ok    monthly budget of all usage: $6.00"),
        "{out}"
    );
    // Codex spent nothing; the project spent all of it.
    assert!(
        lines[1].starts_with("ok    daily budget of agent codex: $0.00 of $1.00"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("over  daily budget of project -home-dev-app: $6.00 of $5.00"),
        "{out}"
    );
    // A flag wins over the file.
    let (_, out, _) = check(&s, &["--monthly-budget", "6.5"]);
    assert!(
        out.starts_with("warn  monthly budget of all usage: $6.00 of $6.50"),
        "{out}"
    );

    // A misspelt key is an error naming the file and its line, and exit 3.
    std::fs::write(&file, "[budgets]\nmonthly = 100\ndaly = 5\n").unwrap();
    let (code, _, err) = check(&s, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!(
            "config file {}, line 3: unknown field `daly`",
            file.display()
        )),
        "{err}"
    );
    std::fs::write(&file, "[thresholds]\nwarn_percent = 120\n").unwrap();
    let (code, _, err) = check(&s, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("line 2: warn_percent: 120 is not a percent"),
        "{err}"
    );
    // --config names another file; one that is missing is an error.
    let other = s.dir.path().join("other.toml");
    std::fs::write(&other, "[budgets]\ndaily = 1\n").unwrap();
    let (code, out, _) = check(&s, &["--config", other.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    let (code, _, err) = check(&s, &["--config", "/nonexistent/config.toml"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("cannot read config file /nonexistent/config.toml"),
        "{err}"
    );
}

#[test]
fn check_judges_the_quota_windows_official_percents() {
    let s = Scratch::new();
    codex_limits(&s, "0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a01", 85.0, 40.0, 3600);
    // A window that has reset says nothing of now.
    codex_limits(
        &s,
        "0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a02",
        99.0,
        99.0,
        -7 * 86_400 - 60,
    );
    let (code, out, err) = check(&s, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0]
            .starts_with("warn  five_hour quota of codex: 85% used (warn 80%, over 95%), resets "),
        "{out}"
    );
    assert!(
        lines[1].starts_with("ok    seven_day quota of codex: 40% used"),
        "{out}"
    );
    assert_eq!(check(&s, &["--warn-percent", "90"]).0, 0);
    assert_eq!(check(&s, &["--over-percent", "85"]).0, 2);
    // Per window in the config file; a flag holds for every window.
    let config = s.dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[thresholds.window.seven_day]\nwarn_percent = 30\nover_percent = 40\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    assert_eq!(check(&s, &["--config", c]).0, 2);
    assert_eq!(check(&s, &["--config", c, "--warn-percent", "90"]).0, 0);
    // Warn above over is refused.
    let (code, _, err) = check(&s, &["--warn-percent", "96"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("warn percent (96) is above the over percent (95)"),
        "{err}"
    );
}

#[test]
fn the_alert_command_receives_its_json_and_variables_once_per_crossing() {
    let s = Scratch::new();
    spend(&s, "a", 2);
    let got = s.dir.path().join("alert.json");
    let command = script(
        &s,
        "alert.sh",
        &format!(
            "cat >> '{0}'; echo >> '{0}'; echo \"$CCO_STATS_ALERT_LEVEL|$CCO_STATS_ALERT_PERIOD|$CCO_STATS_ALERT_VALUE|$CCO_STATS_ALERT_OVER_AT\" >> '{0}.env'",
            got.display()
        ),
    );
    let command = command.to_str().unwrap();
    let (code, _, err) = check(&s, &["--daily-budget", "5", "--alert-command", command]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cco-stats: alert: over  daily budget of all usage: $6.00 of $5.00"),
        "{err}"
    );
    let text = std::fs::read_to_string(&got).unwrap();
    let alerts: Vec<Value> = text.lines().map(|l| json(l.as_bytes())).collect();
    assert_eq!(alerts.len(), 1, "{text}");
    let alert = &alerts[0];
    assert_eq!(alert["kind"], "budget");
    assert_eq!(alert["id"], "budget/daily/all");
    assert_eq!(alert["level"], "over");
    assert_eq!(alert["period"], "daily");
    assert_eq!(alert["periodKey"], today());
    assert_eq!(alert["value"], 6.0);
    assert_eq!(alert["overAt"], 5.0);
    assert_eq!(alert["warnAt"], 4.0);
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .starts_with("over  daily budget")
    );
    assert!(alert["firedAt"].as_str().unwrap().ends_with('Z'));
    let env = std::fs::read_to_string(format!("{}.env", got.display())).unwrap();
    assert_eq!(env, "over|daily|6|5\n");
    // The same crossing again: recorded, not fired. The exit code still says over.
    let (code, _, err) = check(&s, &["--daily-budget", "5", "--alert-command", command]);
    assert_eq!(code, 2);
    assert!(!err.contains("alert:"), "{err}");
    assert_eq!(std::fs::read_to_string(&got).unwrap(), text);
}

#[test]
fn a_failing_alert_command_is_logged_and_a_notification_is_sent_where_it_can_be() {
    let s = Scratch::new();
    spend(&s, "a", 2);
    let bin = s.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let said = s.dir.path().join("notified");
    let notify = bin.join("notify-send");
    std::fs::write(
        &notify,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", said.display()),
    )
    .unwrap();
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = cmd(&s)
        .env("PATH", path)
        .args(["check", "--daily-budget", "7", "--alert-command", "exit 4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the alert command failed (exit status: 4) for budget/daily/all"),
        "{}",
        stderr(&out)
    );
    let args = std::fs::read_to_string(&said).unwrap();
    assert!(
        args.starts_with("--app-name=cco-stats\ncco-stats: warn\nwarn  daily budget"),
        "{args}"
    );
}

/// A `watch` of our own, stopped with SIGINT (or killed, if a test failed) when dropped.
struct Watch(Option<Child>);

impl Watch {
    fn start(s: &Scratch, args: &[&str]) -> Watch {
        let child = cmd(s)
            .args(["watch", "--interval", "1h", "--rescan", "1h"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Watch(Some(child))
    }

    fn stop(mut self) -> String {
        let mut child = self.0.take().unwrap();
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "watch exited with {status}: {err}");
        err
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_for(log: &Path, line: &str) {
    let started = Instant::now();
    while !fired(log).iter().any(|l| l == line) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{line} did not fire: {:?}",
            fired(log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watch_fires_each_crossing_once_across_restarts() {
    let s = Scratch::new();
    spend(&s, "a", 2); // $6 of a $7 day: warn
    let (command, log) = logging_command(&s);
    let daily = ["--daily-budget", "7", "--alert-command", command.as_str()];

    let watch = Watch::start(&s, &daily);
    wait_for(&log, "budget/daily/all warn");
    let err = watch.stop();
    assert!(
        err.contains("cco-stats: alert: warn  daily budget of all usage: $6.00 of $7.00"),
        "{err}"
    );

    // Restarted: the day's warning has fired. A weekly budget crossed now fires, and
    // so does the day's over when more is spent while it watches.
    let mut args = daily.to_vec();
    args.extend(["--weekly-budget", "5"]);
    let watch = Watch::start(&s, &args);
    wait_for(&log, "budget/weekly/all over");
    spend(&s, "b", 1); // $9
    wait_for(&log, "budget/daily/all over");
    watch.stop();

    // Once more: only a new threshold fires (it shows the check ran).
    args.extend(["--monthly-budget", "8"]);
    let watch = Watch::start(&s, &args);
    wait_for(&log, "budget/monthly/all over");
    watch.stop();
    assert_eq!(
        fired(&log),
        [
            "budget/daily/all warn",
            "budget/weekly/all over",
            "budget/daily/all over",
            "budget/monthly/all over",
        ]
    );
}

#[test]
fn watch_fires_a_quota_crossing_once() {
    let s = Scratch::new();
    codex_limits(&s, "0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a01", 96.0, 10.0, 3600);
    let (command, log) = logging_command(&s);
    let watch = Watch::start(&s, &["--alert-command", &command]);
    wait_for(&log, "quota/codex/five_hour over");
    watch.stop();
    let watch = Watch::start(
        &s,
        &[
            "--alert-command",
            &command,
            "--daily-budget",
            "0.01",
            "--warn-percent",
            "5",
        ],
    );
    // Nothing spent: the daily budget is ok, the seven-day window now warns.
    wait_for(&log, "quota/codex/seven_day warn");
    watch.stop();
    assert_eq!(
        fired(&log),
        ["quota/codex/five_hour over", "quota/codex/seven_day warn"]
    );
}

/// One status-line call whose `rate_limits` say the 5-hour window is at `used` percent,
/// resetting in an hour.
fn statusline(s: &Scratch, used: f64) {
    let resets = jiff::Timestamp::now().as_second() + 3600;
    let input = serde_json::json!({"session_id": "s1",
        "transcript_path": s.root.join("projects/-home-dev-app/s1.jsonl"),
        "rate_limits": {"five_hour": {"used_percentage": used, "resets_at": resets}}});
    let out = cmd(s)
        .args(["statusline", "--no-color"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.to_string().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn check_judges_claude_codes_status_line_figures() {
    let s = Scratch::new();
    statusline(&s, 50.0);
    assert_eq!(check(&s, &[]).0, 0);
    statusline(&s, 82.0);
    let (code, out, _) = check(&s, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("warn  five_hour quota of claude: 82% used"),
        "{out}"
    );
}

/// The crossing sample comes from a status-line call, which no transcript change
/// follows: `watch` still judges it within a minute (`ALERT_EVERY`).
#[test]
fn watch_judges_at_least_once_a_minute_without_a_transcript_change() {
    let s = Scratch::new();
    // A first alert, to know the watch has judged once before the sample comes.
    codex_limits(&s, "0199a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a01", 90.0, 10.0, 3600);
    let (command, log) = logging_command(&s);
    let watch = Watch::start(&s, &["--alert-command", &command]);
    wait_for(&log, "quota/codex/five_hour warn");
    let sampled = Instant::now();
    statusline(&s, 97.0);
    let started = Instant::now();
    while !fired(&log)
        .iter()
        .any(|l| l == "quota/claude/five_hour over")
    {
        assert!(
            started.elapsed() < Duration::from_secs(75),
            "{:?}",
            fired(&log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        sampled.elapsed() <= Duration::from_secs(62),
        "{:?}",
        sampled.elapsed()
    );
    watch.stop();
}

/// An alert command that never ends is killed with everything it started, and the check
/// still answers.
#[test]
fn a_hanging_alert_command_is_killed_with_its_children() {
    let s = Scratch::new();
    spend(&s, "a", 2);
    let late = s.dir.path().join("late");
    let command = format!(
        "(sleep 15; touch '{0}') & sleep 30; touch '{0}'",
        late.display()
    );
    let started = Instant::now();
    let (code, _, err) = check(&s, &["--daily-budget", "5", "--alert-command", &command]);
    let took = started.elapsed();
    assert_eq!(code, 2, "{err}");
    assert!(took < Duration::from_secs(14), "{took:?}");
    assert!(
        err.contains("the alert command for budget/daily/all: killed after 10s"),
        "{err}"
    );
    std::thread::sleep(Duration::from_secs(16) - took.min(Duration::from_secs(16)));
    assert!(!late.exists(), "a child of the command outlived it");
}
