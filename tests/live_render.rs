//! `cco-stats live`'s screen, drawn on ratatui's `TestBackend` from a fixed ledger (the
//! fixtures, at a fixed moment inside their last block) at the smallest size it supports
//! and at a large one. The snapshots under tests/snapshots/ are the expected screens.

mod common;

use cco_stats::command::live::{Source, report_options};
use cco_stats::ledger::Store;
use cco_stats::render;
use cco_stats::report::options::TokenLimit;
use cco_stats::report::pricing::PriceTable;
use common::Scratch;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-01-12 10:30 UTC: half an hour after the fixtures' last response.
const NOW_MS: i64 = 1_768_213_800_000;

fn screen(width: u16, height: u16, limit: Option<TokenLimit>) -> String {
    screen_with(width, height, limit, "")
}

/// The screen after `sql` ran on the ledger (quota samples, say).
fn screen_with(width: u16, height: u16, limit: Option<TokenLimit>, sql: &str) -> String {
    let s = Scratch::with_fixtures();
    s.once();
    rusqlite::Connection::open(&s.db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    let options = report_options(Some("UTC".to_string()));
    let store = Store::open_read_only(&s.db).unwrap();
    let mut source =
        Source::new(store, PriceTable::builtin(), options, limit, "UTC".into()).unwrap();
    let live = source
        .live(NOW_MS, Some("pass 10:30:00 UTC: 4 files, 0 changed".into()))
        .unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render::live::draw(frame, &live, false))
        .unwrap();
    terminal.backend().to_string()
}

#[test]
fn small_screen() {
    insta::assert_snapshot!(screen(60, 20, None));
}

#[test]
fn large_screen() {
    insta::assert_snapshot!(screen(200, 60, None));
}

#[test]
fn a_projection_past_the_limit_warns() {
    let text = screen(80, 24, Some(TokenLimit::Tokens(1_000)));
    assert!(
        text.contains("⚠ the block is projected to pass its token limit"),
        "{text}"
    );
    let calm = screen(80, 24, Some(TokenLimit::Tokens(100_000_000)));
    assert!(!calm.contains('⚠'), "{calm}");
}

/// Claude Code's official windows, as status-line calls recorded them: a gauge each with
/// its pace marker, and the block's estimated limit gives way to the 5-hour figure.
#[test]
fn official_quota_windows_are_gauges_with_their_pace() {
    let hour = 3_600_000;
    // The 5-hour window started at 09:00 (NOW is 10:30: 30 % elapsed), the week 3.5
    // days before NOW.
    let sql = format!(
        "INSERT INTO quota_samples VALUES
           ('claude', 'five_hour', {five}, {seen}, {seen}, 45.0, 300, 0),
           ('claude', 'seven_day', {week}, {seen}, {seen}, 20.0, 10080, 0);",
        five = NOW_MS + 7 * hour / 2,
        week = NOW_MS + 84 * hour,
        seen = NOW_MS - 60_000,
    );
    let text = screen_with(80, 24, Some(TokenLimit::Tokens(1_000)), &sql);
    let line = |label: &str| {
        text.lines()
            .find(|l| l.trim_start_matches('"').starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row: {text}"))
            .to_string()
    };
    let five = line("5h");
    assert!(
        five.contains("claude 45% · 3h 30m left · pace 150%"),
        "{five}"
    );
    assert!(five.contains('│'), "the pace marker: {five}");
    let week = line("7d");
    assert!(
        week.contains("claude 20% · 3d 12h left · pace 40%"),
        "{week}"
    );
    // The block's token limit was a guess: with the official figure it is not drawn.
    assert!(!text.contains('⚠'), "{text}");
    assert!(!line("Block").contains("of 1.0k"), "{text}");
}
