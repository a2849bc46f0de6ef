//! `make bench`: cco-stats against itself and against ccusage, side by side in one run.
//!
//! Generates one tree (about 1 GB in 3,000+ files by default; `CCO_BENCH_FILES` and
//! `CCO_BENCH_BIG_KB` scale it) and measures, each as the median of several runs:
//! a cold ingest (fresh database), a no-change `once`, the time of 100-row flushes (from
//! the binary's own debug lines), the peak RSS of a cold ingest beside the longest line,
//! and `ccusage claude daily --json --offline` over the same tree when its binary is found
//! (`CCUSAGE_BIN`, or `ccusage` on PATH). `CCO_BENCH_DIR` keeps the tree and database
//! there for profiling. The status line and `live` figures are in `glance.rs`. Figures and ratios are printed; nothing is
//! asserted here: these machines are shared, and goals are read, not enforced.

#[path = "corpus.rs"]
mod corpus;
#[path = "glance.rs"]
mod glance;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    if glance::rss_helper() {
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cco-stats"));
    let scratch = tempfile::tempdir().expect("a scratch folder");
    // Every run below would read this machine's other agents too: empty homes instead,
    // so the figures are the generated tree's alone.
    // SAFETY: no thread has started yet.
    unsafe { corpus::empty_agent_homes(scratch.path()) }.expect("empty agent homes");
    let work = match std::env::var_os("CCO_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => scratch.path().to_path_buf(),
    };
    let root = work.join("claude");
    std::fs::remove_dir_all(&root).ok();
    let spec = corpus::Spec {
        files: corpus::env_usize("CCO_BENCH_FILES", 2_200),
        days: 60,
        seed: 42,
        turns: 12,
        big_prob: 0.03,
        big_kb: corpus::env_usize("CCO_BENCH_BIG_KB", 400),
    };
    let started = Instant::now();
    let expected = corpus::generate(&root, &spec).expect("generate the bench tree");
    let longest = longest_line(&expected.files);
    println!(
        "tree: {} files, {:.0} MiB, {} lines, longest line {:.1} MiB (generated in {:.1} s)",
        expected.files.len(),
        mib(expected.bytes),
        expected.lines,
        mib(longest),
        started.elapsed().as_secs_f64()
    );
    // A first ingest reads history: files the agent wrote earlier, not being written now.
    corpus::backdate(&expected.files).expect("backdate the bench tree");
    // Warm the page cache so every contender reads from memory.
    warm(&expected.files);

    let db = work.join("bench.db");
    let cco = |args: &[&str]| {
        let mut cmd = Command::new(&bin);
        cmd.arg("--db")
            .arg(&db)
            .arg("--source")
            .arg(&root)
            .args(args);
        cmd.env_remove("CLAUDE_CONFIG_DIR");
        cmd
    };
    let fresh = || remove_db(&db);

    let mut cold = Vec::new();
    let mut peak_rss = Vec::new();
    let mut flushes = Vec::new();
    let mut spent = None;
    for run in 0..5 {
        fresh();
        let mut cmd = cco(&["once"]);
        if run == 0 {
            cmd.env("RUST_LOG", "debug");
        }
        let (elapsed, rss, stderr) = ingest_rss(&mut cmd);
        cold.push(elapsed);
        peak_rss.push(rss);
        if run == 0 {
            flushes = flush_times(&stderr);
            spent = corpus::time_spent(&stderr).map(str::to_string);
        }
    }
    let rows = check_totals(&bin, &db, &root, &expected);

    let mut unchanged = Vec::new();
    for _ in 0..21 {
        unchanged.push(measure(&mut cco(&["once"])).0);
    }
    let mut report = Vec::new();
    for _ in 0..11 {
        report.push(measure(&mut cco(&["daily", "--json", "--timezone", "UTC"])).0);
    }

    // `metrics` on the bench ledger, as a scrape or a cron textfile run reads it (goal:
    // 20 ms): by model, and by model and project.
    let mut metrics = Vec::new();
    let mut metrics_projects = Vec::new();
    for _ in 0..11 {
        metrics.push(measure(&mut cco(&["metrics"])).0);
        metrics_projects.push(measure(&mut cco(&["metrics", "--labels", "model,project"])).0);
    }

    // `export` of the whole bench ledger and `import` of it into an empty ledger (goal:
    // each no slower than the cold ingest that built the ledger).
    let export_file = work.join("bench-export.ndjson");
    let imported_db = work.join("bench-imported.db");
    let mut exports = Vec::new();
    let mut imports = Vec::new();
    for _ in 0..3 {
        let mut cmd = cco(&["export", "-o"]);
        cmd.arg(&export_file);
        exports.push(measure(&mut cmd).0);
        remove_db(&imported_db);
        let mut cmd = Command::new(&bin);
        cmd.arg("--db")
            .arg(&imported_db)
            .arg("import")
            .arg(&export_file);
        imports.push(measure(&mut cmd).0);
    }
    let export_mib = mib(std::fs::metadata(&export_file).map_or(0, |m| m.len()));
    remove_db(&imported_db);
    std::fs::remove_file(&export_file).ok();

    let cold_s = median(&mut cold);
    let unchanged_s = median(&mut unchanged);
    let report_s = median(&mut report);
    let rss = median_u64(&mut peak_rss);
    println!("\ncco-stats ({rows} ledger rows)");
    println!(
        "  cold ingest (once, fresh db)   median {:>9.1} ms   ({:.0} MiB/s)",
        cold_s * 1e3,
        mib(expected.bytes) / cold_s
    );
    println!(
        "  no-change once                 median {:>9.2} ms",
        unchanged_s * 1e3
    );
    println!(
        "  daily --json (ingest + report) median {:>9.2} ms",
        report_s * 1e3
    );
    println!(
        "  metrics (by model)             median {:>9.2} ms   (goal 20 ms)",
        median(&mut metrics) * 1e3
    );
    println!(
        "  metrics --labels model,project median {:>9.2} ms",
        median(&mut metrics_projects) * 1e3
    );
    let (export_s, import_s) = (median(&mut exports), median(&mut imports));
    println!(
        "  export (whole ledger, file)    median {:>9.1} ms   ({export_mib:.0} MiB; {:.2}x the cold ingest)",
        export_s * 1e3,
        export_s / cold_s
    );
    println!(
        "  import into an empty ledger    median {:>9.1} ms   ({:.2}x the cold ingest)",
        import_s * 1e3,
        import_s / cold_s
    );
    if let Some(spent) = spent {
        println!("  cold ingest, where time goes   {spent}");
    }
    if flushes.is_empty() {
        println!("  cold ingest's flushes          (no flush lines seen)");
    } else {
        let mut rows: Vec<f64> = flushes.iter().map(|f| f.0 as f64).collect();
        let mut times: Vec<f64> = flushes.iter().map(|f| f.1).collect();
        println!(
            "  cold ingest's flushes          median {:>9.3} ms   (p90 {:.3} ms, {} flushes, median {:.0} rows)",
            median(&mut times.clone()),
            percentile(&mut times, 0.9),
            flushes.len(),
            median(&mut rows)
        );
    }
    println!(
        "  peak RSS, cold ingest          median {:>9.1} MiB  ({:.1} MiB beyond the longest line; goal <= 64 MiB)",
        mib(rss),
        mib(rss.saturating_sub(longest))
    );

    million_row_reports(&bin, &work);
    huge_inputs(&bin, &work);

    match ccusage() {
        None => println!(
            "\nccusage: not found (set CCUSAGE_BIN to its binary, e.g. node_modules/@ccusage/ccusage-linux-x64/bin/ccusage); no comparison"
        ),
        Some(ccusage) => {
            let mut times = Vec::new();
            for _ in 0..5 {
                times.push(measure(&mut ccusage_daily(&ccusage, &root)).0);
            }
            let ccusage_s = median(&mut times);
            println!(
                "\nccusage daily --json --offline   median {:>9.1} ms   ({})",
                ccusage_s * 1e3,
                ccusage.display()
            );
            println!("ratios (ccusage / cco-stats, higher is better for cco-stats)");
            println!(
                "  cold ingest        {:>8.2}x   (goal: >= 1.5x)",
                ccusage_s / cold_s
            );
            println!(
                "  no-change once     {:>8.0}x   (goal: >= 100x)",
                ccusage_s / unchanged_s
            );
            println!(
                "  daily with ingest  {:>8.0}x   (goal: >= 100x)",
                ccusage_s / report_s
            );
        }
    }
    // Last: it appends to one session of the tree.
    glance::run(&bin, &db, &root, &expected.files, ccusage());
}

/// A 700 MB transcript and a transcript holding one 200 MB line: peak RSS stays bounded
/// (lines are streamed; the 200 MB line is past the default 64 MiB limit and skipped
/// unread), and the totals stay exact, against the generator and against ccusage.
fn huge_inputs(bin: &Path, work: &Path) {
    let root = work.join("huge");
    std::fs::remove_dir_all(&root).ok();
    let started = Instant::now();
    let mut expected = corpus::session_file(&root, "seven-hundred-mb", 1_750, |_| 400_000, 7)
        .expect("write the 700 MB transcript");
    // The giant line is a tool result: skipping it loses no response.
    let giant = corpus::session_file(
        &root,
        "giant-line",
        3,
        |i| if i == 1 { 200 << 20 } else { 1_000 },
        8,
    )
    .expect("write the 200 MB line");
    corpus::merge(&mut expected, giant);
    println!(
        "\nhuge inputs: {} MiB in 2 transcripts, longest line 200 MiB (written in {:.1} s)",
        mib(expected.bytes) as u64,
        started.elapsed().as_secs_f64()
    );
    // Written a day ago, so the 700 MB transcript is read from maps: their windows, not
    // the file, are what its peak RSS may hold.
    corpus::backdate(&expected.files).expect("backdate the huge inputs");
    warm(&expected.files);
    let db = work.join("huge.db");
    remove_db(&db);
    let mut cmd = Command::new(bin);
    cmd.arg("--db")
        .arg(&db)
        .arg("--source")
        .arg(&root)
        .arg("once");
    let (elapsed, rss, _) = ingest_rss(&mut cmd);
    check_totals(bin, &db, &root, &expected);
    println!(
        "  cold ingest                    {:>9.1} ms   peak RSS {:.1} MiB",
        elapsed * 1e3,
        mib(rss)
    );
    if let Some(ccusage) = ccusage() {
        let mut cmd = ccusage_daily(&ccusage, &root);
        let out = cmd.output().expect("run ccusage");
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let t = &theirs["totals"];
        let same = [
            t["inputTokens"].as_u64(),
            t["outputTokens"].as_u64(),
            t["cacheCreationTokens"].as_u64(),
            t["cacheReadTokens"].as_u64(),
        ] == expected.totals.map(Some);
        let (ccusage_s, _) = measure(&mut cmd);
        println!(
            "  ccusage daily                  {:>9.1} ms   totals {}",
            ccusage_s * 1e3,
            if same {
                "equal to ours"
            } else {
                "DIFFER from ours"
            }
        );
    }
    if std::env::var_os("CCO_BENCH_DIR").is_none() {
        std::fs::remove_dir_all(&root).ok();
    }
}

/// Reports over a ledger of one million responses (a heavy year), in three zones.
fn million_row_reports(bin: &Path, work: &Path) {
    let db = work.join("million.db");
    let empty = work.join("empty");
    std::fs::create_dir_all(empty.join("projects")).expect("an empty root");
    remove_db(&db);
    let cco = |args: &[&str]| {
        let mut cmd = Command::new(bin);
        cmd.arg("--db")
            .arg(&db)
            .arg("--source")
            .arg(&empty)
            .args(args);
        cmd
    };
    measure(&mut cco(&["once"]));
    let started = Instant::now();
    let conn = rusqlite::Connection::open(&db).expect("open the ledger");
    // One response every ~30 s for a year; one project at a time, sessions of 300.
    conn.execute_batch(
        "INSERT INTO files (id, path, project, session_id, dev, inode, size, mtime_ns, offset, lines, head_len, head_hash, updated_ms)
             VALUES (1, x'00', 'p', 's', 0, 0, 0, 0, 0, 0, 0, 0, 0);
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
         INSERT INTO entries (file_id, ts_ms, session_id, project, model, message_id, request_id,
                              is_sidechain, speed, input, output, cache_write_5m, cache_write_1h,
                              cache_read, web_search, cost_usd)
         SELECT 1, 1735689600000 + i * 31536 + (i * 7919) % 20000, 'session-' || (i / 300),
                'project-' || (i / 50000),
                CASE i % 3 WHEN 0 THEN 'claude-sonnet-4-5-20250929' WHEN 1 THEN 'claude-opus-4-6'
                           ELSE 'claude-haiku-4-5-20251001' END,
                'msg_' || i, 'req_' || i, 0, NULL, i % 50, i % 2000, i % 5000, 0, i % 150000, 0, NULL
         FROM n;",
    )
    .expect("fill a million rows");
    drop(conn);
    let filled = started.elapsed().as_secs_f64();
    // The rows went in by SQL, around the flush that keeps the aggregates: rebuild them.
    let (rebuild, _) = measure(&mut cco(&["rebuild"]));
    println!(
        "\n1,000,000-row ledger (rows written in {filled:.1} s; `rebuild` of the aggregates {:.0} ms)",
        rebuild * 1e3
    );
    for (label, args) in [
        (
            "daily, UTC",
            &["daily", "--json", "--no-ingest", "--timezone", "UTC"][..],
        ),
        (
            "daily, Asia/Kolkata",
            &[
                "daily",
                "--json",
                "--no-ingest",
                "--timezone",
                "Asia/Kolkata",
            ],
        ),
        (
            "daily, America/New_York",
            &[
                "daily",
                "--json",
                "--no-ingest",
                "--timezone",
                "America/New_York",
            ],
        ),
        ("monthly", &["monthly", "--json", "--no-ingest"]),
        ("session", &["session", "--json", "--no-ingest"]),
        ("blocks", &["blocks", "--json", "--no-ingest"]),
    ] {
        let mut times: Vec<f64> = (0..7).map(|_| measure(&mut cco(args)).0).collect();
        println!("  {label:<28} median {:>9.1} ms", median(&mut times) * 1e3);
    }
    dashboard_pages(&mut cco(&["-q", "dashboard", "--timezone", "UTC"]));
}

/// The dashboard's pages over the million-row ledger: each page's time to its last byte
/// (the server's drawing time, over loopback) and its weight. Goals: 50 ms, 300 KB.
fn dashboard_pages(cmd: &mut Command) {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut server = cmd
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the dashboard");
    let get = |path: &str| -> Option<(f64, usize)> {
        let started = Instant::now();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok()?;
        let elapsed = started.elapsed().as_secs_f64();
        answer
            .starts_with(b"HTTP/1.1 200")
            .then_some((elapsed, answer.len()))
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while get("/stamp").is_none() {
        assert!(Instant::now() < deadline, "the dashboard did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    println!("\ndashboard pages over the 1,000,000-row ledger (goals: 50 ms, 300 KB)");
    for (label, path) in [
        ("overview, all time", "/"),
        (
            "overview, 2025, by agent",
            "/?since=2025-01-01&until=2025-12-31&by=agent",
        ),
        (
            "overview, 2025, by tokens",
            "/?since=2025-01-01&until=2025-12-31&sort=tokens",
        ),
        (
            "overview, one project",
            "/?until=2025-12-31&project=project-3",
        ),
        ("overview, one month", "/?since=2025-06-01&until=2025-06-30"),
        ("session page", "/session?id=session-1000"),
        ("stamp (asked every second)", "/stamp"),
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..7 {
            let (elapsed, size) = get(path).unwrap_or_else(|| panic!("GET {path} failed"));
            times.push(elapsed);
            bytes = size;
        }
        println!(
            "  {label:<28} median {:>9.1} ms   {:>6.1} KB",
            median(&mut times) * 1e3,
            bytes as f64 / 1024.0
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// Runs `cmd` to completion: wall time, its stdout and its stderr.
fn run(cmd: &mut Command) -> (f64, String, String) {
    let started = Instant::now();
    let out = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .expect("spawn");
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    (
        elapsed,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn measure(cmd: &mut Command) -> (f64, String) {
    let (elapsed, _, stderr) = run(cmd);
    (elapsed, stderr)
}

/// `once --json` reports the process's own peak RSS (VmHWM). Not wait4's ru_maxrss: at
/// exec Linux folds the spawning process's peak into the child's, so after the bench
/// has held a 200 MB line every child would seem to.
fn ingest_rss(cmd: &mut Command) -> (f64, u64, String) {
    let (elapsed, stdout, stderr) = run(cmd.arg("--json"));
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("once --json");
    (
        elapsed,
        summary["peak_rss_bytes"].as_u64().unwrap_or(0),
        stderr,
    )
}

/// Removes a database and its WAL files, so the next run starts from nothing.
fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        std::fs::remove_file(PathBuf::from(p)).ok();
    }
}

/// Reads files through the page cache without holding them (the bench's own memory must
/// stay small: see `ingest_rss`).
fn warm(files: &[PathBuf]) {
    for file in files {
        if let Ok(mut f) = std::fs::File::open(file) {
            std::io::copy(&mut f, &mut std::io::sink()).ok();
        }
    }
}

/// The ledger must hold exactly what the generator wrote, or no figure means anything.
fn check_totals(bin: &Path, db: &Path, root: &Path, expected: &corpus::Expected) -> u64 {
    let out = Command::new(bin)
        .arg("--db")
        .arg(db)
        .arg("--source")
        .arg(root)
        .args(["daily", "--json", "--no-ingest", "--timezone", "UTC"])
        .output()
        .expect("daily");
    let daily: serde_json::Value = serde_json::from_slice(&out.stdout).expect("daily JSON");
    let totals = &daily["totals"];
    let got = [
        totals["inputTokens"].as_u64().unwrap_or(0),
        totals["outputTokens"].as_u64().unwrap_or(0),
        totals["cacheCreationTokens"].as_u64().unwrap_or(0),
        totals["cacheReadTokens"].as_u64().unwrap_or(0),
    ];
    assert_eq!(
        got, expected.totals,
        "the ledger's totals differ from the generator's"
    );
    println!(
        "totals: exact ({} responses, input {} output {} cache write {} cache read {})",
        expected.rows, got[0], got[1], got[2], got[3]
    );
    expected.rows
}

/// The flushes a debug log names: (rows, milliseconds) each.
fn flush_times(stderr: &str) -> Vec<(usize, f64)> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("Batch insert of "))
        .filter_map(|(_, rest)| {
            let (rows, took) = rest.split_once(" records took ")?;
            Some((
                rows.parse().ok()?,
                took.trim_end_matches(" ms").parse().ok()?,
            ))
        })
        .collect()
}

/// `ccusage claude daily --json --offline --timezone UTC` over `root`.
fn ccusage_daily(ccusage: &Path, root: &Path) -> Command {
    let mut cmd = Command::new(ccusage);
    cmd.args([
        "claude",
        "daily",
        "--json",
        "--offline",
        "--timezone",
        "UTC",
    ])
    .env("CLAUDE_CONFIG_DIR", root);
    cmd
}

fn ccusage() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CCUSAGE_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("ccusage"))
            .find(|p| p.is_file())
    })
}

fn longest_line(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .flat_map(|bytes| bytes.split(|&b| b == b'\n').map(|l| l.len() as u64).max())
        .max()
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn median_u64(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}
