//! Finding the project a person means, and naming it as they know it.
//!
//! The ledger keys a project by its encoded folder (`-home-dev-app`); people know it as
//! `/home/dev/app`, `~/dev/app`, `app`, or an alias from the config file's `[projects]`
//! table. `resolve` tries, in order, and the first rule that matches anything decides:
//!
//! 1. an alias (its target is then resolved by the rules below);
//! 2. the whole name: the encoded folder, or the path (`~` expanded, a trailing slash
//!    dropped), also for a project whose path the ledger never saw (its encoding);
//! 3. the folder's last component (`app`);
//! 4. a part of the path or name (`dev/ap`), when only one project has it.
//!
//! One match is the project; several, or none, are errors listing the candidates, as
//! `--host` does: a filter that silently matches nothing reads as "no usage".

use std::collections::BTreeMap;
use std::path::Path;

use crate::ledger::projects::without_trailing_slash;
use crate::model::project_of_cwd as encoded;

/// The ledger's projects (encoded name → path, where known) and the config's aliases.
#[derive(Clone, Debug, Default)]
pub struct Projects {
    known: BTreeMap<String, Option<String>>,
    /// Alias → the project it names (resolved once; aliases of projects the ledger does
    /// not hold are left out).
    aliases: BTreeMap<String, String>,
    /// The home folder, shown as `~`.
    home: Option<String>,
}

/// A matching rule: whether a project (its encoded name, and its path where known) is
/// one the person may mean.
type Rule<'a> = dyn Fn(&str, Option<&str>) -> bool + 'a;

/// The most candidates an error lists.
const LISTED: usize = 20;

impl Projects {
    pub fn new(
        known: BTreeMap<String, Option<String>>,
        aliases: &BTreeMap<String, String>,
        home: Option<&Path>,
    ) -> Projects {
        let mut projects = Projects {
            known,
            aliases: BTreeMap::new(),
            home: home.map(|h| without_trailing_slash(&h.to_string_lossy()).to_string()),
        };
        let resolved = aliases
            .iter()
            .filter_map(|(alias, target)| Some((alias.clone(), projects.find(target).ok()?)))
            .collect();
        projects.aliases = resolved;
        projects
    }

    /// The encoded name of the project `asked` means, or an error naming the candidates.
    pub fn resolve(&self, asked: &str) -> Result<String, String> {
        if let Some(project) = self.aliases.get(asked) {
            return Ok(project.clone());
        }
        self.find(asked)
    }

    fn find(&self, asked: &str) -> Result<String, String> {
        let path = self.expanded(asked.trim());
        let path = without_trailing_slash(&path);
        let wanted = encoded(path);
        // A folder's name has no separator: `work/app` is a part of a path, not a name.
        let folder = (!path.contains(['/', '\\'])).then_some(path);
        let rules: [&Rule; 3] = [
            &|name, known| name == path || name == wanted || known == Some(path),
            &|name, known| match (folder, known) {
                (None, _) => false,
                (Some(folder), Some(known)) => known.rsplit(['/', '\\']).next() == Some(folder),
                (Some(_), None) => name.ends_with(&format!("-{wanted}")),
            },
            &|name, known| {
                known.is_some_and(|k| k.contains(path)) || name.contains(wanted.as_str())
            },
        ];
        for rule in rules {
            let found: Vec<&String> = self
                .known
                .iter()
                .filter(|(name, known)| rule(name, known.as_deref()))
                .map(|(name, _)| name)
                .collect();
            match found.as_slice() {
                [one] => return Ok((*one).clone()),
                [] => continue,
                many => {
                    return Err(format!(
                        "--project {asked:?} matches {} projects: {}; give more of its path",
                        many.len(),
                        self.listed(many.iter().copied())
                    ));
                }
            }
        }
        Err(match self.known.is_empty() {
            true => format!("no project matches {asked:?}: the ledger holds no usage yet"),
            false => format!(
                "no project matches {asked:?} (known: {})",
                self.listed(self.known.keys())
            ),
        })
    }

    /// `~/…` with the home folder written out.
    fn expanded(&self, asked: &str) -> String {
        match (asked.strip_prefix('~'), &self.home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                format!("{home}{rest}")
            }
            _ => asked.to_string(),
        }
    }

    /// How tables name a project: its alias, else its path with the home folder as `~`,
    /// else its encoded name.
    pub fn display(&self, name: &str) -> String {
        if let Some((alias, _)) = self.aliases.iter().find(|(_, project)| *project == name) {
            return alias.clone();
        }
        match self.path(name) {
            Some(path) => self.tilde(path),
            None => name.to_string(),
        }
    }

    /// The directory a project is named after, where the ledger saw it.
    pub fn path(&self, name: &str) -> Option<&str> {
        self.known.get(name)?.as_deref()
    }

    fn tilde(&self, path: &str) -> String {
        if let Some(home) = &self.home
            && let Some(rest) = path.strip_prefix(home.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("~{rest}");
        }
        path.to_string()
    }

    fn listed<'a>(&self, names: impl Iterator<Item = &'a String>) -> String {
        let names: Vec<String> = names.map(|n| self.display(n)).collect();
        match names.len() > LISTED {
            true => format!(
                "{}, … ({} more)",
                names[..LISTED].join(", "),
                names.len() - LISTED
            ),
            false => names.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projects(aliases: &[(&str, &str)]) -> Projects {
        let known = [
            ("-home-dev-app", Some("/home/dev/app")),
            ("-home-dev-work-app", Some("/home/dev/work/app")),
            ("-home-dev-other", Some("/home/dev/other")),
            ("-home-dev-my-tool", None),
        ]
        .into_iter()
        .map(|(n, p)| (n.to_string(), p.map(str::to_string)))
        .collect();
        let aliases = aliases
            .iter()
            .map(|(a, t)| (a.to_string(), t.to_string()))
            .collect();
        Projects::new(known, &aliases, Some(Path::new("/home/dev")))
    }

    #[test]
    fn names_paths_and_parts_find_their_project() {
        let p = projects(&[]);
        for asked in [
            "-home-dev-app",
            "/home/dev/app",
            "/home/dev/app/",
            "~/app",
            "~/app/",
        ] {
            assert_eq!(p.resolve(asked).as_deref(), Ok("-home-dev-app"), "{asked}");
        }
        assert_eq!(p.resolve("other").as_deref(), Ok("-home-dev-other"));
        assert_eq!(p.resolve("oth").as_deref(), Ok("-home-dev-other"));
        assert_eq!(p.resolve("work/app").as_deref(), Ok("-home-dev-work-app"));
        // Without a known path, the encoded name's end and parts.
        assert_eq!(p.resolve("my-tool").as_deref(), Ok("-home-dev-my-tool"));
        assert_eq!(p.resolve("tool").as_deref(), Ok("-home-dev-my-tool"));
    }

    #[test]
    fn ambiguous_and_unknown_names_list_the_candidates() {
        let p = projects(&[]);
        let e = p.resolve("app").unwrap_err();
        assert!(e.contains("matches 2 projects: ~/app, ~/work/app"), "{e}");
        let e = p.resolve("nope").unwrap_err();
        assert!(
            e.contains("no project matches \"nope\" (known: ~/app,"),
            "{e}"
        );
        assert!(p.resolve("/srv/new").is_err());
    }

    #[test]
    fn aliases_resolve_and_are_shown() {
        let p = projects(&[("site", "~/work/app"), ("gone", "/nowhere/x")]);
        assert_eq!(p.resolve("site").as_deref(), Ok("-home-dev-work-app"));
        assert_eq!(p.display("-home-dev-work-app"), "site");
        assert_eq!(p.display("-home-dev-other"), "~/other");
        assert_eq!(p.display("-home-dev-my-tool"), "-home-dev-my-tool");
    }
}
