//! `cco-stats statusline`: the line under Claude Code's prompt, fresh on every call.
//!
//! Claude Code runs it after every message, in every open session, and blanks the line
//! when it is slow, fails or prints nothing. So a call reads only its own session's
//! transcripts (the file Claude Code names and its subagents'), from their cursors, and
//! answers the rest from the ledger as committed: other files wait for `watch` or
//! `once`, and the line says so when none has run for a while. It never waits: one call
//! at a time per ledger ingests (a lock file taken without blocking), the ledger is
//! opened so that a write lock held by anyone else fails at once, and a call that loses
//! either race answers from what is committed. Whatever goes wrong becomes a short
//! `cco-stats: …` text on stdout with exit 0: stderr and exit codes would only blank it.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, IsTerminal, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Result;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::cli::StatuslineArgs;
use crate::command::report::{Context, Periods};
use crate::ingest::discover::{self, SessionFilesError, Transcript};
use crate::ingest::{Ingestor, Options};
use crate::ledger::{self, Store};
use crate::model::calendar;
use crate::model::{Parsed, Record};
use crate::render::short_model;
use crate::render::statusline::{LineStyle, line};
use crate::report::Usage;
use crate::report::options::ReportOptions;
use crate::report::pricing::PriceTable;
use crate::report::statusline::{
    ActiveBlock, ContextUse, Cost, Figures, Freshness, Input, RateWindow, Unread,
    default_context_size,
};
use crate::sources::claude::parse;
use crate::sources::claude::roots::Roots;

/// Claude Code's JSON is a few KiB; past this it is not what we expect.
const MAX_INPUT: u64 = 4 << 20;

/// How long stdin may take to bring Claude Code's JSON, which it writes at once: a pipe
/// held open with nothing (or half a value) on it must not keep the line waiting.
const STDIN_WAIT: Duration = Duration::from_millis(500);

/// How long a read may wait for SQLite's locks (a checkpoint in progress, say). Reads in
/// WAL mode do not wait for writers; this only bounds the rare case that they must.
const READ_BUSY: Duration = Duration::from_millis(30);

/// SQLite's page cache for the reads (see `Store::set_cache_kib`).
const READ_CACHE_KIB: u32 = 2048;

/// Claude's usage limits count 5-hour blocks.
const BLOCK_MS: i64 = 5 * 3_600_000;

/// The last part of a transcript searched for its last response, for the context size.
const TAIL_BYTES: u64 = 512 << 10;

/// The line for this call. Never fails and never panics out: a failure is the line.
pub fn run(db: &Path, roots: &Roots, prices: Option<&Path>, args: &StatuslineArgs) -> String {
    let attempt = std::panic::catch_unwind(|| {
        let now_ms = Timestamp::now().as_millisecond();
        let zone = calendar::zone(args.timezone.as_deref())?;
        let (input, input_problem) = match read_stdin() {
            Ok(input) => (input, None),
            Err(problem) => (Input::default(), Some(problem)),
        };
        let mut figures = figures(db, roots, prices, args, &input, &zone, now_ms)?;
        figures.input_problem = input_problem;
        let color = !args.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let style = LineStyle {
            fields: &args.format,
            cost_source: args.cost_source,
            color,
            zone: &zone,
        };
        anyhow::Ok(line(&figures, &style, now_ms))
    });
    match attempt {
        Ok(Ok(text)) if !text.trim().is_empty() => text,
        Ok(Ok(_)) => "cco-stats".to_string(),
        Ok(Err(e)) => format!("cco-stats: {}", short(&e)),
        Err(_) => "cco-stats: internal error (run `cco-stats doctor`)".to_string(),
    }
}

/// The first line of an error and its causes, shown through `visible` (it names paths),
/// cut to fit a status line.
fn short(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let first = crate::visible::text(text.lines().next().unwrap_or("error"));
    match first.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &first[..at]),
        None => first.into_owned(),
    }
}

/// Claude Code pipes its JSON; a terminal (someone trying the command) sends nothing.
fn read_stdin() -> Result<Input, String> {
    if std::io::stdin().is_terminal() {
        return Input::read(std::io::empty());
    }
    let until = Instant::now() + STDIN_WAIT;
    Input::read(BufReader::new(StdinUntil { until }).take(MAX_INPUT))
}

/// Stdin, read until a deadline: past it a read fails ("timed out") instead of waiting.
struct StdinUntil {
    until: Instant,
}

impl Read for StdinUntil {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let stdin = std::io::stdin();
        let left = self.until.saturating_duration_since(Instant::now());
        let timeout = Timespec::try_from(left).map_err(std::io::Error::other)?;
        let mut ready = [PollFd::new(&stdin, PollFlags::IN)];
        if rustix::event::poll(&mut ready, Some(&timeout))? == 0 {
            let waited = STDIN_WAIT.as_millis();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no JSON within {waited} ms"),
            ));
        }
        // Straight from the descriptor: std's own stdin buffer would hide bytes from poll.
        Ok(rustix::io::read(&stdin, buf)?)
    }
}

fn figures(
    db: &Path,
    roots: &Roots,
    prices: Option<&Path>,
    args: &StatuslineArgs,
    input: &Input,
    zone: &TimeZone,
    now_ms: i64,
) -> Result<Figures> {
    let prices = PriceTable::load(prices)?;
    let own = input
        .transcript_path
        .as_deref()
        .map(|path| discover::session_transcripts(&roots.paths, path));
    let (store, unread) = ingest_own_session(db, own.as_ref(), &prices.tier_thresholds())?;
    // Like the ingest, never waits (a read-only or busy ledger fails at once): a sample
    // lost so comes again with the next call, as Claude Code sends its windows after
    // every response.
    let _ = ledger::quota::record_all(store.conn(), &input.quota_samples(now_ms));
    store.set_busy_timeout(READ_BUSY)?;
    store.set_cache_kib(READ_CACHE_KIB)?;
    let mut ctx = Context::with_store(store, prices, report_options(args))?;
    let session_id = input.session();
    let session = match &session_id {
        Some(id) => ctx.session(id)?.map(|s| cost(&s.usage)),
        None => None,
    };
    let block = ctx.active_block(BLOCK_MS, now_ms)?.map(|b| ActiveBlock {
        cost: cost(&b.usage),
        end_ms: b.end_ms,
        cost_per_hour: b.burn_rate().map(|r| r.cost_per_hour),
    });
    let quota = ctx.quota_now(now_ms)?;
    let recorded = |name: &str| quota.iter().find(|w| w.window == name);
    let five_hour = RateWindow::glance(input.five_hour, recorded("five_hour"));
    let seven_day = RateWindow::glance(input.seven_day, recorded("seven_day"));
    let freshness = freshness(ctx.store(), args.stale_after, now_ms)?;
    let today = calendar::local_date(now_ms, zone);
    ctx.set_days(Some(today), Some(today))?;
    let today = cost(&ctx.period_report(Periods::Daily)?.totals);
    // Only the transcript a full pass would read: a regular file below a data root.
    let last = match (&input.context, &input.model_name, &own) {
        (None, _, Some(Ok(files))) | (_, None, Some(Ok(files))) => last_response(&files[0].path),
        _ => None,
    };
    let model = input
        .model_name
        .clone()
        .or_else(|| input.model_id.as_deref().map(short_model))
        .or_else(|| last.as_ref()?.model.as_deref().map(short_model));
    let context = input.context.or_else(|| {
        let record = last.as_ref()?;
        let t = &record.tokens;
        let tokens = t.input + t.cache_creation() + t.cache_read;
        let model_id = input.model_id.as_deref().or(record.model.as_deref());
        let size = default_context_size(model_id);
        Some(ContextUse {
            percent: tokens as f64 * 100.0 / size as f64,
            tokens: Some(tokens),
        })
    });
    Ok(Figures {
        model,
        session,
        claude_session_usd: input.claude_cost_usd,
        today,
        block,
        context,
        five_hour,
        seven_day,
        freshness,
        unread,
        input_problem: None,
    })
}

/// The options a report would have for the same figures: all history, costs as `auto`,
/// Claude Code's usage only (the status line is Claude Code's).
fn report_options(args: &StatuslineArgs) -> ReportOptions {
    ReportOptions {
        timezone: args.timezone.clone(),
        agents: vec![crate::model::Agent::Claude],
        ..ReportOptions::default()
    }
}

fn cost(usage: &Usage) -> Cost {
    Cost {
        usd: usage.cost,
        unpriced: !usage.unpriced_models().is_empty(),
    }
}

/// Opens the ledger and reads the session's own transcripts into it, unless another call
/// is doing so or another process is writing: then the ledger as committed.
fn ingest_own_session(
    db: &Path,
    own: Option<&Result<Vec<Transcript>, SessionFilesError>>,
    tiers: &BTreeSet<u64>,
) -> Result<(Store, Option<Unread>)> {
    let mut store = match Store::open_without_waiting(db) {
        Ok(store) => store,
        Err(e) if ledger::is_busy(&e) => {
            return Ok((Store::open_read_only(db)?, Some(Unread::Busy)));
        }
        // Read-only media, say: answer from the ledger as it is, and say why it is not
        // current.
        Err(e) => match Store::open_read_only(db) {
            Ok(store) => return Ok((store, Some(Unread::Failed("ledger is read-only".into())))),
            Err(_) => return Err(e),
        },
    };
    let files = match own {
        None => return Ok((store, None)),
        Some(Ok(files)) => files,
        Some(Err(SessionFilesError::Missing)) => {
            return Ok((store, Some(Unread::Failed("transcript not found".into()))));
        }
        Some(Err(SessionFilesError::OutsideRoots)) => {
            let why = "transcript outside the data roots (--source)";
            return Ok((store, Some(Unread::Failed(why.into()))));
        }
    };
    let Some(_lock) = IngestLock::try_take(db) else {
        return Ok((store, Some(Unread::Busy)));
    };
    let never = AtomicBool::new(false);
    let passed = Ingestor::new(&mut store, Options::default()).pass_files(files, &never);
    // As a report does: aggregates that tell the price table's tiers apart.
    let passed = passed.and_then(|_| store.learn_tiers(tiers));
    let unread = match passed {
        Ok(_) => None,
        Err(e) if ledger::is_busy(&e) => Some(Unread::Busy),
        Err(e) => Some(Unread::Failed(format!("not ingested: {}", short(&e)))),
    };
    Ok((store, unread))
}

/// Held while one status line ingests: the others answer at once from the ledger
/// instead of reading the same new lines only to find the write lock taken.
struct IngestLock {
    _file: File,
}

impl IngestLock {
    fn try_take(db: &Path) -> Option<IngestLock> {
        let mut path = db.as_os_str().to_os_string();
        path.push("-statusline.lock");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(PathBuf::from(path))
            .ok()?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).ok()?;
        // Closing the file (when the lock is dropped) releases it.
        Some(IngestLock { _file: file })
    }
}

/// How old the ledger is outside this session: the last full pass's time against
/// `stale_after`.
fn freshness(store: &Store, stale_after: Duration, now_ms: i64) -> Result<Freshness> {
    let at: Option<i64> = store
        .meta(crate::ledger::LAST_FULL_PASS)?
        .and_then(|v| v.parse().ok());
    Ok(match at {
        None => Freshness::NeverRead,
        Some(at) if now_ms - at > stale_after.as_millis() as i64 => Freshness::Behind {
            age_ms: now_ms - at,
        },
        Some(_) => Freshness::Current,
    })
}

/// The transcript's last response (its model, and the context it filled), read from the
/// file's end. Opened without blocking and without following a link, and read only if it
/// is (still) a regular file: opening a FIFO would wait for a writer.
fn last_response(path: &Path) -> Option<Box<Record>> {
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOFOLLOW;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let size = meta.len();
    let start = size.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes).ok()?;
    // From the middle of the file, the first line is a fragment: `rsplit` meets it last.
    bytes
        .rsplit(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .find_map(|line| match parse::parse_line(line) {
            Parsed::Billable(record) if !record.is_sidechain => Some(record),
            _ => None,
        })
}
