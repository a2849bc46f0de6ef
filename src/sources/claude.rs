//! Claude Code: `projects/**/*.jsonl` below each data root, one line per response block.
//!
//! The first source, with the rules the ledger always had: the roots are `discover`'s
//! (`--source`, `CLAUDE_CONFIG_DIR`, the defaults), the names come from the path below
//! `projects/`, and each line is read alone by `parse`, so the parser keeps no state.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::ingest::discover::{self, Roots};
use crate::ingest::parse::{self, Parsed};
use crate::sources::{Agent, Folder, LineParser, Shape, Source};

pub struct Claude;

/// The `projects/` folder of each root. Default roots are only kept if they exist, so
/// every root is a named one: missing, a warning.
pub fn folders_of(roots: &[PathBuf]) -> Vec<Folder> {
    roots
        .iter()
        .map(|root| Folder {
            agent: Agent::Claude,
            path: root.join("projects"),
            named: true,
        })
        .collect()
}

pub static CLAUDE: Claude = Claude;

impl Source for Claude {
    fn agent(&self) -> Agent {
        Agent::Claude
    }

    fn shape(&self) -> Shape {
        Shape::AppendOnly
    }

    fn folders(&self, claude: &Roots) -> Vec<Folder> {
        folders_of(&claude.paths)
    }

    fn names(&self, relative: &Path, path: &Path) -> (String, String) {
        discover::names(relative, path)
    }

    fn parser(&self) -> Box<dyn LineParser> {
        Box::new(Lines)
    }
}

/// Claude Code's lines, each read alone.
struct Lines;

impl LineParser for Lines {
    fn resume(&mut self, _state: &str) -> Result<()> {
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Parsed {
        parse::parse_line(line)
    }

    fn take_state(&mut self) -> Option<String> {
        None
    }
}
