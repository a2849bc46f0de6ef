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
    let s = Scratch::with_fixtures();
    s.once();
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
