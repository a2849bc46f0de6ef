//! Text that came from data, made safe to print for people: model ids, project folders,
//! transcript file names, a transcript's `cwd`, host names from imports, Claude Code's
//! stdin, skipped-line reasons. Any of them can hold bytes a terminal obeys rather than
//! shows: ESC starts sequences that retitle a window, clear the screen or (OSC 52) write
//! the clipboard; 8-bit C1 codes do the same on some terminals; bidi overrides reorder
//! what is drawn, so a name can read as another. Every table, CSV, warning, `status`,
//! `doctor`, `hosts`, `prices`, status line and `live` prints such text through this
//! module, and nothing else decides what is hidden.
//!
//! A hidden character is written as Rust writes it in a string, `\u{1b}`: visible, ASCII
//! (it survives any font, CSV reader and log file), telling which code it was (OSC 52 and
//! a colour look different), and never confused with U+FFFD, which already stands for
//! bytes that were not UTF-8. JSON and the export are exact instead: serde escapes what
//! JSON must, and a program reading them gets the data as it is.

use std::borrow::Cow;
use std::fmt::{self, Display, Write};

/// Whether `c` is kept from the terminal: C0 and C1 controls and DEL (ESC among them),
/// and the bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069).
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s`, each hidden character written as `\u{…}`; borrowed when there is none.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    // Writing into a String cannot fail.
    let _ = Escaping(&mut out).write_str(s);
    Cow::Owned(out)
}

/// Shows a value's `Display` (a path's, an error's, a log record's) through `text`'s rule,
/// without building the string first. `{:#}` reaches the value as `{:#}`.
pub struct Shown<T>(pub T);

impl<T: Display> Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Escaping(f);
        if out.0.alternate() {
            write!(out, "{:#}", self.0)
        } else {
            write!(out, "{}", self.0)
        }
    }
}

/// A writer that passes text on with hidden characters escaped.
struct Escaping<W>(W);

impl<W: Write> Write for Escaping<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(hidden) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..]
                .chars()
                .next()
                .expect("a character where find stopped");
            write!(self.0, "\\u{{{:x}}}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(text("plain · 项目"), "plain · 项目");
        assert!(matches!(text("plain"), Cow::Borrowed(_)));
        assert_eq!(
            text("a\x1b]52;c;aGk=\x07b"),
            "a\\u{1b}]52;c;aGk=\\u{7}b",
            "OSC 52"
        );
        assert_eq!(text("\u{9b}2J\u{7f}\n\t"), "\\u{9b}2J\\u{7f}\\u{a}\\u{9}");
        assert_eq!(text("abc\u{202e}fed\u{2066}"), "abc\\u{202e}fed\\u{2066}");
        // Marks that do not reorder, and joiners, stay.
        assert_eq!(text("\u{200d}\u{200e}"), "\u{200d}\u{200e}");
    }

    #[test]
    fn shown_matches_text_and_keeps_the_alternate_form() {
        let err = anyhow::anyhow!("inner \x1b[2J").context("outer \u{202e}");
        assert_eq!(Shown(&err).to_string(), text(&err.to_string()).into_owned());
        assert_eq!(
            format!("{:#}", Shown(&err)),
            "outer \\u{202e}: inner \\u{1b}[2J"
        );
        // Shown twice is shown once: the escape is plain text.
        assert_eq!(text(&text("\x1b")), "\\u{1b}");
    }
}
