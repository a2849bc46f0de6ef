//! The dashboard's pages and `report --html`'s file: pure functions from the dashboard's
//! model (`report::dashboard`) to one HTML document each, with its CSS inline and its
//! charts inline SVG (`render::svg`), so a page needs nothing from anywhere, and the file
//! reads the same with scripts off. The live page adds one script (`SCRIPT`, served from
//! the binary at `/app.js`) that swaps in the new figures when the ledger changes.
//!
//! Every text that comes from data (project names, model ids, session ids, dates) goes
//! through `escape`, the one escaper, for element text and attribute values alike; a
//! text put into a URL goes through `encode` first.

use std::fmt::Write;

use jiff::civil::Date;

use crate::model::Agent;
use crate::render::svg;
use crate::render::{cost_text, dollars, iso, model_cost_text, thousands};
use crate::report::Usage;
use crate::report::dashboard::{
    MAX_SESSIONS, Measure, Overview, SessionView, SortKey, Stack, cache_hit_percent,
};
use crate::report::quota::Window;

/// `text` safe inside an element or a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one component of a URL's query (`application/x-www-form-urlencoded`).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The reverse of `encode` (and of a browser's form encoding); `None` for bytes that are
/// not UTF-8 once decoded.
pub fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// What the page's controls chose: its range, agent, project, split and sort.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Controls {
    /// The first and last day of the range.
    pub since: Option<Date>,
    pub until: Option<Date>,
    pub agents: Vec<Agent>,
    pub project: Option<String>,
    pub stack: Stack,
    pub measure: Measure,
    pub sort: SortKey,
}

impl Controls {
    /// From a query string (`since=…&agent=…`); unknown names and empty values are
    /// ignored, a bad value is an error naming it.
    pub fn parse(query: &str) -> Result<Controls, String> {
        let mut controls = Controls::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).ok_or_else(|| format!("{name}: not UTF-8"))?;
            if value.is_empty() {
                continue;
            }
            match name {
                "since" => controls.since = Some(day(name, &value)?),
                "until" => controls.until = Some(day(name, &value)?),
                "project" => controls.project = Some(value),
                "agent" => controls
                    .agents
                    .push(Agent::from_name(&value).ok_or_else(|| format!("agent: {value:?}"))?),
                "by" => {
                    controls.stack = match value.as_str() {
                        "agent" => Stack::Agent,
                        "model" => Stack::Model,
                        _ => return Err(format!("by: {value:?}")),
                    }
                }
                "show" => {
                    controls.measure = match value.as_str() {
                        "cost" => Measure::Cost,
                        "tokens" => Measure::Tokens,
                        _ => return Err(format!("show: {value:?}")),
                    }
                }
                "sort" => {
                    controls.sort =
                        SortKey::from_name(&value).ok_or_else(|| format!("sort: {value:?}"))?
                }
                _ => {}
            }
        }
        Ok(controls)
    }

    /// The query string of these controls, with `change` applied to a copy first.
    pub fn query(&self, change: impl FnOnce(&mut Controls)) -> String {
        let mut c = self.clone();
        change(&mut c);
        let mut pairs = Vec::new();
        if let Some(day) = c.since {
            pairs.push(format!("since={day}"));
        }
        if let Some(day) = c.until {
            pairs.push(format!("until={day}"));
        }
        for a in &c.agents {
            pairs.push(format!("agent={}", a.name()));
        }
        if let Some(v) = &c.project {
            pairs.push(format!("project={}", encode(v)));
        }
        if c.stack != Stack::default() {
            pairs.push(format!("by={}", c.stack.name()));
        }
        if c.measure != Measure::default() {
            pairs.push(format!("show={}", c.measure.name()));
        }
        if c.sort != SortKey::default() {
            pairs.push(format!("sort={}", c.sort.name()));
        }
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }
}

/// A date control's value, as the CLI's `--since` takes it.
fn day(name: &str, value: &str) -> Result<Date, String> {
    crate::model::calendar::parse_date(value).map_err(|e| format!("{name}: {e}"))
}

/// Whether a page is served live (controls, links, the update script) or written to a
/// file (none of them: it must read whole without a server or scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Live,
    File,
}

/// What the server's pages may load: their own script and nothing else (inline CSS and
/// SVG, no fonts, no images from anywhere).
const LIVE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'";
/// A file loads nothing and runs nothing.
const FILE_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'";

/// Okabe and Ito's palette (told apart with any colour vision), and a one-hue ramp for
/// the calendar; light and dark from the system's setting.
const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#5c5c5c;--line:#d0d0d0;--card:#f5f5f5;
--c0:#0072B2;--c1:#E69F00;--c2:#009E73;--c3:#CC79A7;--c4:#56B4E9;--c5:#D55E00;--c6:#F0E442;--c7:#8a8a8a;
--l0:#ebedf0;--l1:#c6dbef;--l2:#6baed6;--l3:#2171b5;--l4:#08306b;--link:#0b57d0}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#ececec;--muted:#a8a8a8;--line:#3a3a3a;--card:#1e1e1e;
--l0:#262a30;--l1:#0e3a5f;--l2:#1f6aa5;--l3:#4ea3e0;--l4:#a8d4f5;--link:#8ab4f8}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 12px}h1{font-size:1.4em;margin:12px 0 4px}h2{font-size:1.1em;margin:20px 0 8px}
a{color:var(--link)}.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.card .big{font-size:1.35em;font-weight:600;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
td.n,th.n{text-align:right}td.name{white-space:normal;overflow-wrap:anywhere;min-width:10em}
svg{width:100%;height:auto;display:block}svg.chart{min-width:560px}svg.year{min-width:640px}.tick{font-size:11px;fill:var(--muted)}.axis{stroke:var(--line)}
.price{stroke:var(--fg);stroke-dasharray:3 3;stroke-width:1}
.s0{fill:var(--c0)}.s1{fill:var(--c1)}.s2{fill:var(--c2)}.s3{fill:var(--c3)}.s4{fill:var(--c4)}.s5{fill:var(--c5)}.s6{fill:var(--c6)}.s7{fill:var(--c7)}
.l0{fill:var(--l0)}.l1{fill:var(--l1)}.l2{fill:var(--l2)}.l3{fill:var(--l3)}.l4{fill:var(--l4)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;padding:0;list-style:none;font-size:.9em}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.sw.s0{background:var(--c0)}.sw.s1{background:var(--c1)}.sw.s2{background:var(--c2)}.sw.s3{background:var(--c3)}.sw.s4{background:var(--c4)}.sw.s5{background:var(--c5)}.sw.s6{background:var(--c6)}.sw.s7{background:var(--c7)}
form{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:end}label{display:flex;flex-direction:column;font-size:.85em}
input,select,button{font:inherit}nav.ranges a{margin-right:10px}
.hit{color:var(--c5);font-weight:600}caption{text-align:left;padding:6px 0}
"#;

/// The live page's script: asks `/stamp` twice a second (half a millisecond each) and, when the ledger changed,
/// fetches the page again and swaps its `<main>` in (no reload: the scroll stays).
pub const SCRIPT: &str = r#"(function(){
var stamp=document.body.getAttribute('data-stamp');
function swap(html){var doc=new DOMParser().parseFromString(html,'text/html');
var fresh=doc.querySelector('main');if(fresh){document.querySelector('main').replaceWith(fresh);}
stamp=doc.body.getAttribute('data-stamp');document.body.setAttribute('data-stamp',stamp);}
function tick(){fetch('/stamp',{cache:'no-store'}).then(function(r){return r.text();}).then(function(now){
if(now!==stamp){return fetch(location.href,{cache:'no-store'}).then(function(r){return r.text();}).then(swap);}
}).catch(function(){}).then(function(){setTimeout(tick,500);});}
setTimeout(tick,500);})();
"#;

fn head(out: &mut String, title: &str, mode: Mode, stamp: &str) {
    let policy = match mode {
        Mode::Live => LIVE_POLICY,
        Mode::File => FILE_POLICY,
    };
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta http-equiv="Content-Security-Policy" content="{policy}"><link rel="icon" href="data:,"><title>{}</title><style>{STYLE}</style></head><body data-stamp="{}">"#,
        escape(title),
        escape(stamp)
    );
}

fn foot(out: &mut String, mode: Mode, now_ms: i64) {
    let _ = write!(
        out,
        r#"<footer><p class="muted">cco-stats {} · drawn {}</p></footer>"#,
        env!("CARGO_PKG_VERSION"),
        escape(&utc_minute(now_ms))
    );
    if mode == Mode::Live {
        out.push_str(r#"<script src="/app.js"></script>"#);
    }
    out.push_str("</body></html>");
}

/// An instant as people read it, to the minute, its zone said: `2026-12-03 17:41 UTC`.
fn utc_minute(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The overview page: headline, range totals, daily chart, year, projects, sessions,
/// limits history.
pub fn overview(
    o: &Overview,
    controls: &Controls,
    mode: Mode,
    stamp: &str,
    now_ms: i64,
    range: &(String, String),
) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = match mode {
        Mode::Live => "cco-stats dashboard",
        Mode::File => "cco-stats report",
    };
    head(&mut out, title, mode, stamp);
    out.push_str("<header><h1>cco-stats</h1>");
    let scope = scope_text(o, controls);
    let _ = write!(
        out,
        r#"<p class="muted" id="scope">{} to {} · {}</p>"#,
        escape(&range.0),
        escape(&range.1),
        escape(&scope)
    );
    if mode == Mode::Live {
        control_form(&mut out, o, controls);
    }
    out.push_str("</header><main>");
    headline(&mut out, o, now_ms);
    range_totals(&mut out, &o.daily.totals);
    daily_chart(&mut out, o, controls);
    year_chart(&mut out, o);
    projects(&mut out, o, controls, mode);
    sessions(&mut out, o, controls, mode);
    limits_history(&mut out, &o.quota);
    out.push_str("</main>");
    foot(&mut out, mode, now_ms);
    out
}

fn scope_text(o: &Overview, c: &Controls) -> String {
    format!(
        "agent: {} · project: {}",
        match c.agents.as_slice() {
            [] => "all".to_string(),
            agents => agents
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
        },
        c.project.as_deref().map_or("all", |p| o.label(p))
    )
}

fn control_form(out: &mut String, o: &Overview, c: &Controls) {
    out.push_str(r#"<form method="get" action="/" aria-label="What the page shows">"#);
    for (name, label, value) in [("since", "From", &c.since), ("until", "To", &c.until)] {
        let _ = write!(
            out,
            r#"<label>{label}<input type="date" name="{name}" value="{}"></label>"#,
            value.map(|d| d.to_string()).unwrap_or_default()
        );
    }
    out.push_str(r#"<label>Agent<select name="agent"><option value="">all</option>"#);
    for agent in Agent::ALL {
        let selected = if c.agents == [agent] { " selected" } else { "" };
        let _ = write!(
            out,
            r#"<option value="{}"{selected}>{}</option>"#,
            agent.name(),
            agent.name()
        );
    }
    out.push_str(
        r#"</select></label><label>Project<select name="project"><option value="">all</option>"#,
    );
    let mut names = o.project_names.clone();
    if let Some(p) = c.project.as_ref().filter(|p| !names.contains(p)) {
        names.push(p.clone());
    }
    for name in &names {
        let selected = if c.project.as_deref() == Some(name.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<option value="{}"{selected}>{}</option>"#,
            escape(name),
            escape(o.label(name))
        );
    }
    out.push_str(r#"</select></label><label>Split by<select name="by">"#);
    for stack in [Stack::Model, Stack::Agent] {
        let selected = if c.stack == stack { " selected" } else { "" };
        let _ = write!(
            out,
            r#"<option value="{}"{selected}>{}</option>"#,
            stack.name(),
            stack.name()
        );
    }
    out.push_str(r#"</select></label><label>Chart of<select name="show">"#);
    for measure in [Measure::Cost, Measure::Tokens] {
        let selected = if c.measure == measure {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<option value="{}"{selected}>{}</option>"#,
            measure.name(),
            measure.name()
        );
    }
    out.push_str(r#"</select></label><button type="submit">Show</button></form>"#);
}

fn headline(out: &mut String, o: &Overview, now_ms: i64) {
    out.push_str(r#"<section aria-labelledby="h-now"><h2 id="h-now">Now</h2><div class="cards">"#);
    for (id, label, usage) in [
        ("today", "Today", &o.headline.today),
        ("week", "This week", &o.headline.week),
        ("month", "This month", &o.headline.month),
    ] {
        let _ = write!(
            out,
            r#"<div class="card" id="{id}"><div class="muted">{label}</div><div class="big">{}</div><div>{} tokens</div></div>"#,
            cost_text(usage),
            thousands(usage.tokens.total())
        );
    }
    match &o.active_block {
        Some(block) => {
            let left = crate::render::hours(block.end_ms - now_ms);
            let _ = write!(
                out,
                r#"<div class="card" id="block"><div class="muted">Active 5-hour block</div><div class="big">{}</div><div>{} tokens · {left} left</div></div>"#,
                cost_text(&block.usage),
                thousands(block.usage.tokens.total())
            );
        }
        None => out.push_str(
            r#"<div class="card" id="block"><div class="muted">Active 5-hour block</div><div class="big">none</div><div>no response in the last 5 hours</div></div>"#,
        ),
    }
    out.push_str("</div>");
    quota_now(out, &o.quota);
    out.push_str("</section>");
}

fn percent(value: Option<f64>) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.0}%"))
}

fn quota_now(out: &mut String, windows: &[Window]) {
    if windows.is_empty() {
        out.push_str(r#"<p class="muted">No official quota window recorded (the agents report them as they run).</p>"#);
        return;
    }
    out.push_str(r#"<div class="scroll"><table id="quota"><caption class="muted">Official quota windows</caption><thead><tr><th>Agent</th><th>Window</th><th class="n">Used</th><th class="n">Elapsed</th><th class="n">Pace</th><th>Full at</th><th>Resets</th></tr></thead><tbody>"#);
    for w in windows {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
            w.agent.name(),
            escape(&w.window),
            percent(w.used_percent),
            percent(w.elapsed_percent),
            percent(w.pace_percent),
            w.forecast_full_ms
                .map_or("not before the reset".to_string(), iso),
            w.resets_at_ms.map_or(String::new(), iso)
        );
    }
    out.push_str("</tbody></table></div>");
}

fn range_totals(out: &mut String, totals: &Usage) {
    let _ = write!(
        out,
        r#"<section aria-labelledby="h-range"><h2 id="h-range">This range</h2><div class="cards"><div class="card"><div class="muted">Cost</div><div class="big" id="range-cost">{}</div></div><div class="card"><div class="muted">Tokens</div><div class="big" id="range-tokens">{}</div></div><div class="card"><div class="muted">Responses</div><div class="big" id="range-requests">{}</div></div></div></section>"#,
        cost_text(totals),
        thousands(totals.tokens.total()),
        thousands(totals.requests)
    );
}

fn daily_chart(out: &mut String, o: &Overview, c: &Controls) {
    let (by, what) = (c.stack.name(), c.measure.name());
    let _ = write!(
        out,
        r#"<section aria-labelledby="h-daily"><h2 id="h-daily">Daily {what} by {by}</h2>"#
    );
    if o.days.is_empty() {
        out.push_str(r#"<p class="muted">No usage in this range.</p></section>"#);
        return;
    }
    let series = svg::series(&o.days, c.measure);
    // On a narrow screen a chart keeps a readable size and scrolls.
    out.push_str(r#"<div class="scroll">"#);
    out.push_str(&svg::stacked_days(
        &o.days,
        c.measure,
        &series,
        &o.price_changes,
        &format!("Daily {what} by {by}, {} days", o.days.len()),
    ));
    out.push_str("</div>");
    out.push_str(r#"<ul class="legend">"#);
    let other = o
        .days
        .iter()
        .any(|d| d.parts.iter().any(|p| !series.contains(&p.name)));
    for (i, name) in series.iter().enumerate() {
        let _ = write!(
            out,
            r#"<li><span class="sw s{i}"></span>{}</li>"#,
            escape(name)
        );
    }
    if other {
        let _ = write!(
            out,
            r#"<li><span class="sw s{}"></span>other</li>"#,
            svg::SERIES
        );
    }
    out.push_str("</ul>");
    if !o.price_changes.is_empty() {
        out.push_str(r#"<p class="muted">Dashed lines: price changes —"#);
        for change in &o.price_changes {
            let _ = write!(out, " {} on {};", escape(&change.family), change.date);
        }
        out.push_str("</p>");
    }
    out.push_str(r#"<details><summary>The days as a table</summary><div class="scroll"><table id="days"><thead><tr><th>Date</th><th class="n">Tokens</th><th class="n">Cost</th></tr></thead><tbody>"#);
    for day in &o.days {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            escape(&day.date),
            thousands(day.usage.tokens.total()),
            cost_text(&day.usage)
        );
    }
    out.push_str("</tbody></table></div></details></section>");
}

fn year_chart(out: &mut String, o: &Overview) {
    let total: f64 = o.year.iter().map(|d| d.1).sum();
    let _ = write!(
        out,
        r#"<section aria-labelledby="h-year"><h2 id="h-year">The year to {}</h2><p class="muted">{} over {} days with use; darker is costlier.</p>"#,
        o.year_end,
        dollars(total),
        o.year.iter().filter(|d| d.1 > 0.0).count()
    );
    out.push_str(r#"<div class="scroll">"#);
    out.push_str(&svg::year(
        &o.year,
        o.year_end,
        &format!("Cost per day, the year to {}", o.year_end),
    ));
    out.push_str("</div></section>");
}

/// A column head that sorts the table by `key` when served live.
fn sort_head(
    c: &Controls,
    mode: Mode,
    key: SortKey,
    label: &str,
    class: &str,
    anchor: &str,
) -> String {
    let sorted = c.sort == key;
    let aria = if sorted {
        match key {
            SortKey::Name => r#" aria-sort="ascending""#,
            _ => r#" aria-sort="descending""#,
        }
    } else {
        ""
    };
    match mode {
        Mode::Live => format!(
            r##"<th class="{class}"{aria}><a href="/{}#{anchor}">{label}</a></th>"##,
            escape(&c.query(|c| c.sort = key))
        ),
        Mode::File => format!(r#"<th class="{class}"{aria}>{label}</th>"#),
    }
}

fn projects(out: &mut String, o: &Overview, c: &Controls, mode: Mode) {
    out.push_str(r#"<section aria-labelledby="h-projects" id="projects"><h2 id="h-projects">Projects</h2><div class="scroll"><table id="project-table"><thead><tr>"#);
    out.push_str(&sort_head(
        c,
        mode,
        SortKey::Name,
        "Project",
        "",
        "projects",
    ));
    out.push_str(&sort_head(
        c,
        mode,
        SortKey::Tokens,
        "Tokens",
        "n",
        "projects",
    ));
    out.push_str(&sort_head(c, mode, SortKey::Cost, "Cost", "n", "projects"));
    out.push_str("</tr></thead><tbody>");
    for p in &o.projects.periods {
        let name = match mode {
            Mode::Live => format!(
                r#"<a href="/{}">{}</a>"#,
                escape(&c.query(|c| c.project = Some(p.key.clone()))),
                escape(o.label(&p.key))
            ),
            Mode::File => escape(o.label(&p.key)),
        };
        let _ = write!(
            out,
            r#"<tr><td class="name">{name}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            thousands(p.usage.tokens.total()),
            cost_text(&p.usage)
        );
    }
    out.push_str("</tbody></table></div></section>");
}

fn sessions(out: &mut String, o: &Overview, c: &Controls, mode: Mode) {
    out.push_str(
        r#"<section aria-labelledby="h-sessions" id="sessions"><h2 id="h-sessions">Sessions</h2>"#,
    );
    if o.sessions_total > o.sessions.len() {
        let _ = write!(
            out,
            r#"<p class="muted">The first {} of {} sessions; a shorter range or one project shows the rest.</p>"#,
            MAX_SESSIONS.min(o.sessions.len()),
            thousands(o.sessions_total as u64)
        );
    }
    out.push_str(r#"<div class="scroll"><table id="session-table"><thead><tr><th>Session</th>"#);
    out.push_str(&sort_head(
        c,
        mode,
        SortKey::Name,
        "Project",
        "",
        "sessions",
    ));
    out.push_str(&sort_head(
        c,
        mode,
        SortKey::Last,
        "Last active",
        "",
        "sessions",
    ));
    out.push_str(&sort_head(
        c,
        mode,
        SortKey::Tokens,
        "Tokens",
        "n",
        "sessions",
    ));
    out.push_str(&sort_head(c, mode, SortKey::Cost, "Cost", "n", "sessions"));
    out.push_str("</tr></thead><tbody>");
    for s in &o.sessions {
        let short: String = s.session_id.chars().take(12).collect();
        let id = match mode {
            Mode::Live => format!(
                r#"<a href="/session?id={}">{}</a>"#,
                escape(&encode(&s.session_id)),
                escape(&short)
            ),
            Mode::File => escape(&short),
        };
        let _ = write!(
            out,
            r#"<tr><td title="{}">{id}</td><td class="name">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            escape(&s.session_id),
            escape(o.label(&s.project)),
            escape(&utc_minute(s.last_ms)),
            thousands(s.usage.tokens.total()),
            cost_text(&s.usage)
        );
    }
    out.push_str("</tbody></table></div></section>");
}

/// The most past windows of one agent and kind the limits history lists (the latest):
/// a year of 5-hour windows would weigh more than the rest of the page.
const MAX_PAST: usize = 100;

fn limits_history(out: &mut String, windows: &[Window]) {
    out.push_str(r#"<section aria-labelledby="h-limits"><h2 id="h-limits">Limits history</h2>"#);
    let past: usize = windows.iter().map(|w| w.history.len()).sum();
    if past == 0 {
        out.push_str(r#"<p class="muted">No past quota window recorded yet.</p></section>"#);
        return;
    }
    let shown: usize = windows.iter().map(|w| w.history.len().min(MAX_PAST)).sum();
    if shown < past {
        let _ = write!(
            out,
            r#"<p class="muted">The latest {MAX_PAST} windows of each kind: {shown} of {past} (`cco-stats limits` lists them all).</p>"#
        );
    }
    out.push_str(r#"<div class="scroll"><table id="limits"><thead><tr><th>Agent</th><th>Window</th><th>Reset</th><th class="n">Peak</th><th>Limit hit</th><th class="n">Tokens</th><th class="n">Cost</th></tr></thead><tbody>"#);
    for w in windows {
        for p in w.history.iter().take(MAX_PAST) {
            let hit = if p.hit {
                r#"<span class="hit">yes</span>"#
            } else {
                "no"
            };
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n">{:.0}%</td><td>{hit}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                w.agent.name(),
                escape(&w.window),
                escape(&utc_minute(p.resets_at_ms)),
                p.peak_percent,
                thousands(p.spent.tokens),
                dollars(p.spent.cost)
            );
        }
    }
    out.push_str("</tbody></table></div></section>");
}

/// One session's page: its figures, responses over time, models and subagents.
pub fn session(view: &SessionView, stamp: &str, now_ms: i64) -> String {
    let s = &view.session;
    let mut out = String::with_capacity(16 * 1024);
    head(
        &mut out,
        &format!("Session {}", s.session_id),
        Mode::Live,
        stamp,
    );
    let _ = write!(
        out,
        r#"<header><p><a href="/">← dashboard</a></p><h1>Session <span class="name">{}</span></h1><p class="muted">{} · {} to {}</p></header><main>"#,
        escape(&s.session_id),
        escape(&view.project),
        escape(&utc_minute(s.first_ms)),
        escape(&utc_minute(s.last_ms))
    );
    let cache = cache_hit_percent(&s.usage).map_or("–".to_string(), |p| format!("{p:.1}%"));
    let _ = write!(
        out,
        r#"<section aria-labelledby="h-figures"><h2 id="h-figures">Figures</h2><div class="cards"><div class="card"><div class="muted">Cost</div><div class="big" id="session-cost">{}</div></div><div class="card"><div class="muted">Tokens</div><div class="big" id="session-tokens">{}</div></div><div class="card"><div class="muted">Responses</div><div class="big">{}</div></div><div class="card"><div class="muted">Cache hit ratio</div><div class="big" id="cache-hit">{cache}</div></div></div></section>"#,
        cost_text(&s.usage),
        thousands(s.usage.tokens.total()),
        thousands(s.usage.requests)
    );
    out.push_str(r#"<section aria-labelledby="h-time"><h2 id="h-time">Responses over time</h2>"#);
    out.push_str(r#"<div class="scroll">"#);
    out.push_str(&svg::timeline(
        &view.timeline,
        "Responses per quarter hour over the session",
    ));
    out.push_str("</div></section>");
    out.push_str(r#"<section aria-labelledby="h-models"><h2 id="h-models">Models</h2><div class="scroll"><table><thead><tr><th>Model</th><th class="n">Responses</th><th class="n">Tokens</th><th class="n">Cost</th></tr></thead><tbody>"#);
    for (model, m) in s.usage.breakdown() {
        let _ = write!(
            out,
            r#"<tr><td class="name">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            escape(model),
            thousands(m.requests),
            thousands(m.tokens.total()),
            model_cost_text(m)
        );
    }
    out.push_str("</tbody></table></div></section>");
    out.push_str(r#"<section aria-labelledby="h-sub"><h2 id="h-sub">Subagents</h2>"#);
    if view.subagents.is_empty() {
        out.push_str(r#"<p class="muted">No subagent in this session.</p>"#);
    } else {
        out.push_str(r#"<div class="scroll"><table id="subagents"><thead><tr><th>Subagent</th><th class="n">Responses</th><th class="n">Tokens</th><th class="n">Cost</th></tr></thead><tbody>"#);
        for (name, usage) in &view.subagents {
            let _ = write!(
                out,
                r#"<tr><td class="name">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                escape(name),
                thousands(usage.requests),
                thousands(usage.tokens.total()),
                cost_text(usage)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section></main>");
    foot(&mut out, Mode::Live, now_ms);
    out
}

/// A page that says what went wrong (a bad control, a session not in the ledger).
pub fn problem(title: &str, detail: &str) -> String {
    let mut out = String::new();
    head(&mut out, title, Mode::Live, "");
    let _ = write!(
        out,
        r#"<header><p><a href="/">← dashboard</a></p><h1>{}</h1></header><main><p>{}</p></main></body></html>"#,
        escape(title),
        escape(detail)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn query_text_survives_encoding() {
        for text in ["-home-u-app", "a b&c=d/é<", "100%", ""] {
            assert_eq!(decode(&encode(text)).as_deref(), Some(text));
        }
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), Some("%4".to_string()));
    }

    #[test]
    fn controls_round_trip_through_their_query() {
        let c = Controls {
            since: Some(Date::constant(2026, 1, 1)),
            until: None,
            agents: vec![Agent::Codex],
            project: Some("-home-u <x>".into()),
            stack: Stack::Agent,
            measure: Measure::Tokens,
            sort: SortKey::Tokens,
        };
        let query = c.query(|_| {});
        assert_eq!(Controls::parse(&query[1..]).unwrap(), c);
        assert!(Controls::parse("agent=nobody").is_err());
        assert!(Controls::parse("since=2026-13-01").is_err());
    }
}
