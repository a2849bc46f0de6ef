//! Kilo (Kilo Code's CLI), a fork of OpenCode that keeps OpenCode's database under its
//! own names: `kilo.db` (or a channel build's `kilo-<channel>.db`) in `$KILO_DATA_DIR`
//! (a comma list, the variable ccusage reads), else `$XDG_DATA_HOME/kilo`
//! (`~/.local/share/kilo`: its `packages/opencode/src/global/index.ts` names the app
//! `kilo`, its `storage/db.ts` the database).
//!
//! Its `session` and `message` tables are OpenCode's (its `session.sql.ts` adds columns
//! to `session` only), and its messages' `data` OpenCode's `MessageV2`: it is read by
//! OpenCode's reader (`opencode`), with every rule of it (the watermark on
//! `time_updated`, a message updated in place counted once, reasoning as output, Kilo's
//! own `cost` in `auto` mode, subtasks under their parent, deleted sessions kept), under
//! its own agent name.
//!
//! Not read: a database that Kilo's `KILO_DB` names elsewhere, and a dev channel's
//! database whose channel holds a `.` (OpenCode's channel rule applies).

use crate::model::Agent;
use crate::sources::opencode::OpenCode;

pub static KILO: OpenCode = OpenCode {
    agent: Agent::Kilo,
    data_var: "KILO_DATA_DIR",
    name: "kilo",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::database::DatabaseReader;

    #[test]
    fn kilos_databases_are_its_own_and_not_opencodes() {
        for name in ["kilo.db", "kilo-beta.db", "kilo-fix-windows_2.db"] {
            assert!(KILO.is_database(name), "{name}");
        }
        for name in ["opencode.db", "kilo.db-wal", "kilo-.db", "kilocode.db"] {
            assert!(!KILO.is_database(name), "{name}");
        }
    }
}
