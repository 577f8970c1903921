//! The daemon's configuration: one TOML file (`/etc/pare/pare.toml` by default), read
//! strictly — unknown keys and bad values are errors located as `path:line:col`.
//!
//! This module only turns text into a validated [`Config`]; it creates no folders and
//! knows nothing of watching or cleaning. `docs/DAEMON.md` and `examples/pare.toml`
//! describe every key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::rules::{Categories, line_col};

/// The suffix of the file beside a failed file saying why it failed (`NAME.reason`).
pub const REASON: &str = ".reason";

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/pare/pare.toml";

/// What happens to an original once its cleaned copy is safely in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// Delete it.
    Delete,
    /// Move it into this folder (same relative path, never overwriting).
    Move(PathBuf),
}

/// A validated daemon configuration, with every path absolute or as given.
#[derive(Debug, Clone)]
pub struct Config {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub failed: PathBuf,
    /// Claimed files wait here while they are cleaned; same filesystem as the inbox.
    pub work: PathBuf,
    pub processed: Processed,
    /// Rules folders in load order: the shipped one, then the local one (whose files
    /// replace shipped files of the same name).
    pub rules: Vec<PathBuf>,
    pub workers: usize,
    pub max_file_size: u64,
    /// File-name patterns to take (`*` and `?` wildcards); empty means every name.
    pub take: Vec<String>,
    /// File-name patterns never to take (added to the built-in temporary names).
    pub ignore: Vec<String>,
    /// Poll the inbox instead of inotify (network filesystems).
    pub poll: bool,
    pub poll_interval: Duration,
    /// How long a file's size and mtime must stay still before it is taken when no
    /// close or rename event says it is complete.
    pub quiet: Duration,
    pub shutdown_timeout: Duration,
    /// A worker busy on one file longer than this stops the systemd watchdog pings.
    pub stuck_after: Duration,
    pub state_file: PathBuf,
    pub categories: Categories,
    /// What each output is: the page minus clutter, or a reading copy (`profile`).
    pub profile: crate::clean::Profile,
    /// How outputs are written (`format`): HTML, Markdown (`.md`) or text (`.txt`).
    pub format: crate::clean::Format,
    /// Inbox sub-folders with a profile, format or categories of their own
    /// (`[folder."read-later"]`): files dropped below `inbox/read-later/` are cleaned so.
    pub folders: std::collections::BTreeMap<String, Route>,
    /// Creates inbox, outbox and failed at start-up when missing (default true; false
    /// suits mount points that must not be replaced by an empty folder).
    pub create_dirs: bool,
    /// Take `*.reason` files in the inbox as articles (default false: they are the
    /// failed folder's explanations, left where they are and counted).
    pub take_reason_files: bool,
    /// How long a file still open for writing (inotify) is waited for before it is
    /// taken anyway, with a warning.
    pub max_open_write: Duration,
    /// Rule files larger than this are refused before they are read.
    pub max_rule_file_size: u64,
    /// A Prometheus text-format file the daemon keeps current (node_exporter's textfile
    /// collector reads it), if any.
    pub metrics_file: Option<PathBuf>,
}

impl Config {
    /// Where the daemon keeps the snapshot of its rules: `rules.snapshot` beside the
    /// state file (the daemon's state folder).
    pub fn rule_snapshot(&self) -> Option<PathBuf> {
        let dir = self.state_file.parent()?;
        // Never the state file or the metrics file, whatever they are named.
        let taken = |p: &PathBuf| *p == self.state_file || self.metrics_file.as_ref() == Some(p);
        [
            "rules.snapshot",
            "pare-rules.snapshot",
            "pare-rules-2.snapshot",
        ]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| !taken(p))
    }

    /// The configuration `pare run` uses with no config file: everything in the current
    /// folder.
    pub fn local_defaults() -> Config {
        Config::with_paths(
            PathBuf::from("inbox"),
            PathBuf::from("outbox"),
            PathBuf::from("failed"),
            vec![PathBuf::from("rules")],
        )
    }

    fn with_paths(inbox: PathBuf, outbox: PathBuf, failed: PathBuf, rules: Vec<PathBuf>) -> Config {
        let work = inbox.join(".pare-work");
        Config {
            state_file: work.join("status.json"),
            work,
            inbox,
            outbox,
            failed,
            processed: Processed::Delete,
            rules,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_file_size: 50 << 20,
            take: Vec::new(),
            ignore: Vec::new(),
            poll: false,
            poll_interval: Duration::from_secs(2),
            quiet: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            stuck_after: Duration::from_secs(300),
            categories: Categories::defaults(),
            profile: crate::clean::Profile::Page,
            format: crate::clean::Format::Html,
            folders: std::collections::BTreeMap::new(),
            create_dirs: true,
            take_reason_files: false,
            max_open_write: Duration::from_secs(3600),
            max_rule_file_size: crate::rules::DEFAULT_MAX_FILE_SIZE,
            metrics_file: None,
        }
    }

    /// The same config with every path made absolute (from the current folder), as the
    /// watcher reports absolute paths.
    pub fn absolute(mut self) -> std::io::Result<Config> {
        for p in [
            &mut self.inbox,
            &mut self.outbox,
            &mut self.failed,
            &mut self.work,
            &mut self.state_file,
        ] {
            *p = std::path::absolute(&*p)?;
        }
        if let Processed::Move(d) = &mut self.processed {
            *d = std::path::absolute(&*d)?;
        }
        if let Some(m) = &mut self.metrics_file {
            *m = std::path::absolute(&*m)?;
        }
        for r in &mut self.rules {
            *r = std::path::absolute(&*r)?;
        }
        Ok(self)
    }

    /// The config `pare run` and `pare status` use: the file given, else
    /// [`DEFAULT_PATH`] if it exists, else [`Config::local_defaults`]; with absolute
    /// paths.
    pub fn find(given: Option<&Path>) -> Result<Config, ConfigError> {
        let default = Path::new(DEFAULT_PATH);
        let (path, config) = match given {
            Some(p) => (p, Config::load(p)?),
            None if default.exists() => (default, Config::load(default)?),
            None => (Path::new(""), Config::local_defaults()),
        };
        config.absolute().map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot resolve paths: {e}"),
        })
    }

    /// Reads and validates a config file. Relative paths in it are taken from the
    /// config file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!("cannot read config: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text; `path` locates errors and anchors relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let err_at = |offset: usize, message: String| {
            let (line, col) = line_col(text, offset);
            ConfigError {
                path: path.to_path_buf(),
                line,
                col,
                message,
            }
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err_at(offset, e.message().trim().to_string())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let abs = |p: &Spanned<PathBuf>| -> Result<PathBuf, ConfigError> {
            let v = p.get_ref();
            if v.as_os_str().is_empty() {
                return Err(err_at(p.span().start, "empty path".into()));
            }
            Ok(if v.is_absolute() {
                v.clone()
            } else {
                base.join(v)
            })
        };
        let mut rules = vec![match &raw.rules {
            Some(r) => abs(r)?,
            None => PathBuf::from("/usr/share/pare/rules"),
        }];
        if let Some(l) = &raw.local_rules {
            rules.push(abs(l)?);
        }
        let mut c = Config::with_paths(
            abs(&raw.inbox)?,
            abs(&raw.outbox)?,
            abs(&raw.failed)?,
            rules,
        );
        c.create_dirs = raw.create_dirs.unwrap_or(true);
        if let Some(w) = &raw.work {
            c.work = abs(w)?;
            c.state_file = c.work.join("status.json");
        }
        if let Some(m) = &raw.metrics_file {
            c.metrics_file = Some(abs(m)?);
        }
        if let Some(s) = &raw.state_file {
            c.state_file = abs(s)?;
        }
        // The state and metrics files are rewritten while the daemon runs: never over the
        // config, each other, or a file that is not pare's.
        let written = [
            (
                raw.state_file.as_ref(),
                Some(&c.state_file),
                "state_file",
                "a pare state file",
            ),
            (
                raw.metrics_file.as_ref(),
                c.metrics_file.as_ref(),
                "metrics_file",
                "a pare metrics file",
            ),
        ];
        let config_real = real_path(path);
        for (key, file, name, ours) in written {
            let (Some(key), Some(file)) = (key, file) else {
                continue;
            };
            let real = real_path(file);
            let why = if real == config_real {
                Some("is this config file".to_string())
            } else if name == "metrics_file" && real == real_path(&c.state_file) {
                Some("is the state file too".to_string())
            } else {
                foreign_file(file, name == "state_file")
                    .map(|what| format!("is {what}, not {ours}"))
            };
            if let Some(why) = why {
                return Err(err_at(
                    key.span().start,
                    format!(
                        "`{name}` {} {why}: pare rewrites it while running; name a new file (or one pare wrote)",
                        file.display()
                    ),
                ));
            }
        }
        c.processed = match (
            raw.processed.as_ref().map(|p| (p.get_ref(), p.span())),
            &raw.done,
        ) {
            (None | Some((ProcessedKey::Delete, _)), None) => Processed::Delete,
            (None | Some((ProcessedKey::Move, _)), Some(d)) => Processed::Move(abs(d)?),
            (Some((ProcessedKey::Move, span)), None) => {
                return Err(err_at(
                    span.start,
                    "`processed = \"move\"` needs a `done` folder".into(),
                ));
            }
            (Some((ProcessedKey::Delete, _)), Some(d)) => {
                return Err(err_at(
                    d.span().start,
                    "`done` is only used with `processed = \"move\"`".into(),
                ));
            }
        };
        if let Some(w) = &raw.workers {
            if *w.get_ref() == 0 || *w.get_ref() > 1024 {
                return Err(err_at(
                    w.span().start,
                    "workers must be between 1 and 1024".into(),
                ));
            }
            c.workers = *w.get_ref() as usize;
        }
        if let Some(m) = &raw.max_file_size {
            c.max_file_size =
                parse_size(m.get_ref(), "max_file_size").map_err(|e| err_at(m.span().start, e))?;
        }
        if let Some(m) = &raw.max_rule_file_size {
            c.max_rule_file_size = parse_size(m.get_ref(), "max_rule_file_size")
                .map_err(|e| err_at(m.span().start, e))?;
        }
        c.take_reason_files = raw.take_reason_files.unwrap_or(false);
        for (list, out) in [(&raw.take, &mut c.take), (&raw.ignore, &mut c.ignore)] {
            for p in list.iter().flatten() {
                if p.get_ref().is_empty() || p.get_ref().contains('/') {
                    return Err(err_at(
                        p.span().start,
                        "a pattern matches a file name: not empty, no `/`".into(),
                    ));
                }
                out.push(p.get_ref().clone());
            }
        }
        c.poll = raw.poll.unwrap_or(false);
        let ms = |v: &Option<Spanned<i64>>,
                  min: i64,
                  max: i64,
                  what: &str|
         -> Result<Option<Duration>, ConfigError> {
            match v {
                None => Ok(None),
                Some(v) if (min..=max).contains(v.get_ref()) => {
                    Ok(Some(Duration::from_millis(*v.get_ref() as u64)))
                }
                Some(v) => Err(err_at(
                    v.span().start,
                    format!("{what} must be between {min} and {max} ms"),
                )),
            }
        };
        if let Some(d) = ms(&raw.poll_interval_ms, 50, 3_600_000, "poll_interval_ms")? {
            c.poll_interval = d;
        }
        if let Some(d) = ms(&raw.quiet_ms, 10, 3_600_000, "quiet_ms")? {
            c.quiet = d;
        }
        if let Some(d) = ms(
            &raw.shutdown_timeout_ms,
            0,
            3_600_000,
            "shutdown_timeout_ms",
        )? {
            c.shutdown_timeout = d;
        }
        if let Some(d) = ms(&raw.stuck_after_ms, 100, 86_400_000, "stuck_after_ms")? {
            c.stuck_after = d;
        }
        if let Some(d) = ms(&raw.max_open_write_ms, 100, 86_400_000, "max_open_write_ms")? {
            c.max_open_write = d;
        }
        if let Some(p) = raw.profile {
            c.profile = p;
            if p == crate::clean::Profile::Reader {
                c.categories = Categories::all();
            }
        }
        if let Some(f) = raw.format {
            c.format = f;
        }
        if let Some(cat) = &raw.categories {
            c.categories = Categories::adjust(c.categories, cat.get_ref())
                .map_err(|e| err_at(cat.span().start, e))?;
        }
        for (name, f) in raw.folder.unwrap_or_default() {
            let at = f.span().start;
            let name_ok = !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\\', '\0']);
            if !name_ok {
                return Err(err_at(
                    at,
                    format!("[folder.{name:?}]: a folder is one name inside the inbox"),
                ));
            }
            if name.starts_with('.') {
                return Err(err_at(
                    at,
                    format!(
                        "[folder.{name:?}]: pare ignores hidden names in the inbox (its work folder is one), so no file would ever be taken from it; name the folder without the leading dot"
                    ),
                ));
            }
            let f = f.into_inner();
            let profile = f.profile.unwrap_or(c.profile);
            let mut categories = if f.profile.is_some() && profile == crate::clean::Profile::Reader
            {
                Categories::all()
            } else {
                c.categories
            };
            if let Some(cat) = &f.categories {
                categories = Categories::adjust(categories, cat.get_ref())
                    .map_err(|e| err_at(cat.span().start, e))?;
            }
            c.folders.insert(
                name,
                Route {
                    profile,
                    format: f.format.unwrap_or(c.format),
                    categories,
                },
            );
        }
        Ok(c)
    }

    /// How a file at `rel` below the inbox is cleaned: its folder's route, or the
    /// config's own; and the part of `rel` below the route's folder (where a site
    /// folder may follow: `read-later/example.com/x.html`).
    pub fn route<'a>(&self, rel: &'a Path) -> (Route, &'a Path) {
        let mut parts = rel.components();
        if let Some(first) = parts.next()
            && let Some(r) = first.as_os_str().to_str().and_then(|f| self.folders.get(f))
            && parts.clone().next().is_some()
        {
            return (*r, parts.as_path());
        }
        (
            Route {
                profile: self.profile,
                format: self.format,
                categories: self.categories,
            },
            rel,
        )
    }
}

/// How the files of one inbox folder are cleaned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route {
    pub profile: crate::clean::Profile,
    pub format: crate::clean::Format,
    pub categories: Categories,
}

/// The rules folders that exist: the first is required, later (local) ones optional.
pub fn existing_rule_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter()
        .enumerate()
        .filter(|(i, d)| *i == 0 || d.is_dir())
        .map(|(_, d)| d.clone())
        .collect()
}

/// A path with every link and `..` resolved: the longest part that exists is resolved
/// by the filesystem, the rest (not yet created) is appended.
pub fn real_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let comps: Vec<Component> = p.components().collect();
    for i in (1..=comps.len()).rev() {
        let prefix: PathBuf = comps[..i].iter().collect();
        if let Ok(mut r) = std::fs::canonicalize(&prefix) {
            for c in &comps[i..] {
                match c {
                    Component::ParentDir => {
                        r.pop();
                    }
                    Component::Normal(n) => r.push(n),
                    _ => {}
                }
            }
            return r;
        }
    }
    p.to_path_buf()
}

impl Config {
    /// The rules folders to load: the shipped one, and the local one if it exists.
    pub fn rule_dirs(&self) -> Vec<PathBuf> {
        existing_rule_dirs(&self.rules)
    }

    /// Checks the folders against each other by their real paths (links and `..`
    /// resolved): inbox, outbox, failed and done must be four separate folders, none
    /// inside another — an outbox inside the inbox is read again as input, a failed
    /// folder inside the outbox mixes failures into the cleaned pages. The work folder
    /// may be inside the inbox (it is skipped there) but not be it, nor be inside or
    /// hold another folder; a rules folder must not be inside the inbox. Every problem
    /// is one line naming both paths.
    pub fn check_layout(&self) -> Result<(), String> {
        self.check_layout_with(None, None, None)
    }

    /// [`check_layout`](Self::check_layout) with the outbox's, the failed folder's or
    /// the done folder's real path given: where the folder the caller opened is now
    /// (one swapped for a link after it was opened is checked as what was opened, not as
    /// what its name leads to).
    pub fn check_layout_with(
        &self,
        outbox: Option<&Path>,
        failed: Option<&Path>,
        done: Option<&Path>,
    ) -> Result<(), String> {
        let mut named: Vec<(&str, PathBuf)> = vec![
            ("inbox", real_path(&self.inbox)),
            (
                "outbox",
                outbox.map_or_else(|| real_path(&self.outbox), Path::to_path_buf),
            ),
            (
                "failed folder",
                failed.map_or_else(|| real_path(&self.failed), Path::to_path_buf),
            ),
        ];
        if let Processed::Move(d) = &self.processed {
            named.push((
                "done folder",
                done.map_or_else(|| real_path(d), Path::to_path_buf),
            ));
        }
        let mut problems = Vec::new();
        // The same folder under two paths that links and `..` do not explain: a bind
        // mount of one onto the other (the outbox a bind mount of the inbox would feed
        // every output back in).
        {
            use std::os::unix::fs::MetadataExt;
            let mut all = named.clone();
            all.push(("work folder", real_path(&self.work)));
            let ids: Vec<Option<(u64, u64)>> = all
                .iter()
                .map(|(_, p)| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino())))
                .collect();
            for i in 0..all.len() {
                for j in i + 1..all.len() {
                    if ids[i].is_some() && ids[i] == ids[j] && all[i].1 != all[j].1 {
                        problems.push(format!(
                            "the {} {} and the {} {} are the same folder (one is mounted onto the other): give each its own",
                            all[i].0,
                            all[i].1.display(),
                            all[j].0,
                            all[j].1.display()
                        ));
                    }
                }
            }
        }
        for (i, (a, pa)) in named.iter().enumerate() {
            for (b, pb) in named[i + 1..].iter().filter(|(_, pb)| pb == pa) {
                problems.push(format!(
                    "the {a} {} and the {b} {} are the same folder: give each its own",
                    pa.display(),
                    pb.display()
                ));
            }
        }
        for (a, pa) in &named {
            for (b, pb) in &named {
                if a != b && pb != pa && pb.starts_with(pa) {
                    let why = if *a == "inbox" {
                        "what is written there would be taken again as input"
                    } else if *b == "inbox" {
                        "articles dropped there would be mixed with the other folder's files"
                    } else {
                        "their files would be mixed"
                    };
                    problems.push(format!(
                        "the {b} {} is inside the {a} {}: {why}",
                        pb.display(),
                        pa.display()
                    ));
                }
            }
        }
        // The work folder holds claimed articles and the state file: a link to a folder
        // elsewhere would put them (and their renames) wherever it points.
        if std::fs::symlink_metadata(&self.work).is_ok_and(|m| m.file_type().is_symlink()) {
            problems.push(format!(
                "the work folder {} is a symbolic link: make it a folder (pare moves articles into it)",
                self.work.display()
            ));
        }
        let work = real_path(&self.work);
        for (a, pa) in &named {
            let clash = if work == *pa {
                Some("is the same folder as")
            } else if *a != "inbox" && work.starts_with(pa) {
                Some("is inside")
            } else if pa.starts_with(&work) {
                Some("holds")
            } else {
                None
            };
            if let Some(how) = clash {
                problems.push(format!(
                    "the work folder {} {how} the {a} {}",
                    work.display(),
                    pa.display()
                ));
            }
        }
        let inbox = &named[0].1;
        // The state file is rewritten four times a second: never where it would be taken
        // as an article, replace an output or a failed file, or be read as a rule file.
        let mut holders: Vec<(&str, PathBuf)> = named.clone();
        holders.extend(self.rules.iter().map(|r| ("rules folder", real_path(r))));
        let mut written = vec![("state file", real_path(&self.state_file))];
        if let Some(m) = &self.metrics_file {
            written.push(("metrics file", real_path(m)));
        }
        for (what, file) in &written {
            for (a, pa) in &holders {
                if file.starts_with(pa) && !(*a == "inbox" && file.starts_with(&work)) {
                    problems.push(format!(
                        "the {what} {} is inside the {a} {}: keep it in the work folder or a folder of its own",
                        file.display(),
                        pa.display()
                    ));
                }
            }
        }
        for r in &self.rules {
            let r = real_path(r);
            if r.starts_with(inbox) {
                problems.push(format!(
                    "the rules folder {} is inside the inbox {}: rule files would be taken as articles",
                    r.display(),
                    inbox.display()
                ));
                continue;
            }
            // Outputs, failures or processed originals among the rule files: anything a
            // producer drops in named `*.toml` would become a live rule.
            for (a, pa) in named
                .iter()
                .skip(1)
                .chain(std::iter::once(&("work folder", work.clone())))
            {
                // Rule files are read one level deep: a rules folder above these is fine.
                let how = if r == *pa {
                    "is the same folder as"
                } else if r.starts_with(pa) {
                    "is inside"
                } else {
                    continue;
                };
                problems.push(format!(
                    "the rules folder {} {how} the {a} {}: files pare writes there would be read as rules",
                    r.display(),
                    pa.display()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// The file as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    inbox: Spanned<PathBuf>,
    outbox: Spanned<PathBuf>,
    failed: Spanned<PathBuf>,
    work: Option<Spanned<PathBuf>>,
    done: Option<Spanned<PathBuf>>,
    processed: Option<Spanned<ProcessedKey>>,
    rules: Option<Spanned<PathBuf>>,
    local_rules: Option<Spanned<PathBuf>>,
    workers: Option<Spanned<i64>>,
    max_file_size: Option<Spanned<Size>>,
    take: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    poll: Option<bool>,
    poll_interval_ms: Option<Spanned<i64>>,
    quiet_ms: Option<Spanned<i64>>,
    shutdown_timeout_ms: Option<Spanned<i64>>,
    stuck_after_ms: Option<Spanned<i64>>,
    state_file: Option<Spanned<PathBuf>>,
    metrics_file: Option<Spanned<PathBuf>>,
    categories: Option<Spanned<String>>,
    profile: Option<crate::clean::Profile>,
    format: Option<crate::clean::Format>,
    folder: Option<std::collections::BTreeMap<String, Spanned<RawFolder>>>,
    create_dirs: Option<bool>,
    take_reason_files: Option<bool>,
    max_open_write_ms: Option<Spanned<i64>>,
    max_rule_file_size: Option<Spanned<Size>>,
}

/// A `[folder."NAME"]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFolder {
    profile: Option<crate::clean::Profile>,
    format: Option<crate::clean::Format>,
    categories: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ProcessedKey {
    Delete,
    Move,
}

/// A size: a number of bytes, or a string such as `"20 MB"` / `"512KiB"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(i64),
    Text(String),
}

fn parse_size(s: &Size, key: &str) -> Result<u64, String> {
    let bad = || format!("{key} must be a positive number of bytes or a size such as \"20 MB\"");
    match s {
        Size::Bytes(n) if *n > 0 => Ok(*n as u64),
        Size::Bytes(_) => Err(bad()),
        Size::Text(t) => {
            let t = t.trim();
            let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let n: u64 = t[..split].parse().map_err(|_| bad())?;
            let mult: u64 = match t[split..].trim().to_ascii_lowercase().as_str() {
                "" | "b" => 1,
                "k" | "kb" => 1_000,
                "kib" => 1 << 10,
                "m" | "mb" => 1_000_000,
                "mib" => 1 << 20,
                "g" | "gb" => 1_000_000_000,
                "gib" => 1 << 30,
                _ => return Err(bad()),
            };
            match n.checked_mul(mult) {
                Some(v) if v > 0 => Ok(v),
                _ => Err(bad()),
            }
        }
    }
}

/// What lies at `path`, when it is something pare must not write over as its state
/// file (`state`) or metrics file: not a regular file, or a file whose text is not one
/// pare writes (JSON with a `pid`, or the metrics' `# HELP pare_` text). `None` when
/// nothing is there, or pare's own file, or an empty one.
fn foreign_file(path: &Path, state: bool) -> Option<String> {
    let m = std::fs::symlink_metadata(path).ok()?;
    if m.file_type().is_symlink() {
        return Some("a symbolic link".into());
    }
    if !m.is_file() {
        return Some("not a regular file".into());
    }
    if m.len() == 0 {
        return None;
    }
    let mut head = vec![0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    let ours = if state {
        head.trim_start().starts_with('{') && head.contains("\"pid\"")
    } else {
        head.starts_with("# HELP pare_")
    };
    (!ours).then(|| "an existing file of something else".into())
}

/// A config problem, located as `path:line:col` (line 0 when the file cannot be read).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}:{col}: {message}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "inbox = \"/in\"\noutbox = \"/out\"\nfailed = \"/failed\"\n";

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/pare/pare.toml"), &format!("{MIN}{extra}"))
    }

    /// The state and metrics files are rewritten while running: a config naming the
    /// config itself, one file for both, or someone else's file is refused at its key
    /// (the second hostile run overwrote the config with JSON); a file pare wrote, or
    /// a new one, is fine.
    #[test]
    fn state_and_metrics_files_never_land_on_a_file_that_is_not_theirs() {
        let d = std::env::temp_dir().join(format!("pare-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let cfg = d.join("pare.toml");
        std::fs::write(&cfg, "").unwrap();
        std::fs::write(d.join("notes.txt"), "my notes").unwrap();
        std::fs::write(d.join("old.json"), "{\"pid\": 7, \"state\": \"stopped\"}").unwrap();
        std::fs::write(d.join("old.prom"), "# HELP pare_files_total x\n").unwrap();
        let parse = |extra: &str| Config::parse(&cfg, &format!("{MIN}{extra}"));
        let err = |extra: &str| parse(extra).unwrap_err().to_string();
        assert!(err("state_file = \"pare.toml\"\n").contains("is this config file"));
        assert!(err("metrics_file = \"pare.toml\"\n").contains("is this config file"));
        let e = err("state_file = \"s.json\"\nmetrics_file = \"s.json\"\n");
        assert!(e.contains("is the state file too"), "{e}");
        let e = err("state_file = \"notes.txt\"\n");
        assert!(
            e.contains(":4:") && e.contains("not a pare state file"),
            "{e}"
        );
        assert!(err("metrics_file = \"notes.txt\"\n").contains("not a pare metrics file"));
        assert!(err("state_file = \"/\"\n").contains("not a regular file"));
        assert!(parse("state_file = \"old.json\"\nmetrics_file = \"old.prom\"\n").is_ok());
        assert!(parse("state_file = \"new.json\"\nmetrics_file = \"new.prom\"\n").is_ok());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.inbox, PathBuf::from("/in"));
        assert_eq!(c.work, PathBuf::from("/in/.pare-work"));
        assert_eq!(c.state_file, PathBuf::from("/in/.pare-work/status.json"));
        assert_eq!(c.processed, Processed::Delete);
        assert_eq!(c.rules, vec![PathBuf::from("/usr/share/pare/rules")]);
        assert!(c.workers >= 1);
    }

    #[test]
    fn the_rules_snapshot_is_beside_the_state_file_and_never_it() {
        let c = parse("").unwrap();
        assert_eq!(
            c.rule_snapshot(),
            Some(PathBuf::from("/in/.pare-work/rules.snapshot"))
        );
        let c = parse("state_file = \"/var/s/rules.snapshot\"\n").unwrap();
        assert_eq!(
            c.rule_snapshot(),
            Some(PathBuf::from("/var/s/pare-rules.snapshot"))
        );
        let c = parse(
            "state_file = \"/var/s/rules.snapshot\"\nmetrics_file = \"/var/s/pare-rules.snapshot\"\n",
        )
        .unwrap();
        assert_eq!(
            c.rule_snapshot(),
            Some(PathBuf::from("/var/s/pare-rules-2.snapshot"))
        );
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let c = Config::parse(
            Path::new("/srv/pare/pare.toml"),
            "inbox = \"in\"\noutbox = \"out\"\nfailed = \"f\"\nrules = \"r\"\nlocal_rules = \"/l\"\n",
        )
        .unwrap();
        assert_eq!(c.inbox, PathBuf::from("/srv/pare/in"));
        assert_eq!(
            c.rules,
            vec![PathBuf::from("/srv/pare/r"), PathBuf::from("/l")]
        );
    }

    #[test]
    fn unknown_key_is_located() {
        let e = parse("\nworkres = 3\n").unwrap_err();
        assert_eq!((e.line, e.col), (5, 1), "{e}");
        assert!(
            e.to_string().starts_with("/etc/pare/pare.toml:5:1: "),
            "{e}"
        );
        assert!(e.message.contains("workres"), "{e}");
    }

    #[test]
    fn bad_values_are_located() {
        let e = parse("workers = 0\n").unwrap_err();
        assert_eq!(
            (e.line, e.col, e.message.as_str()),
            (4, 11, "workers must be between 1 and 1024")
        );
        let e = parse("max_file_size = \"12 parsecs\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (4, 17));
        let e = parse("processed = \"shred\"\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        let e = parse("processed = \"move\"\n").unwrap_err();
        assert!(e.message.contains("done"), "{e}");
        let e = parse("quiet_ms = 1\n").unwrap_err();
        assert_eq!((e.line, e.col), (4, 12));
        let e = parse("take = [\"a/b\"]\n").unwrap_err();
        assert_eq!((e.line, e.col), (4, 9));
        let e = parse("categories = \"nope\"\n").unwrap_err();
        assert!(e.message.contains("unknown category"), "{e}");
    }

    #[test]
    fn missing_required_key() {
        let e = Config::parse(Path::new("p.toml"), "inbox = \"/in\"\n").unwrap_err();
        assert!(e.message.contains("outbox"), "{e}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(&Size::Text("20 MB".into()), "k"), Ok(20_000_000));
        assert_eq!(
            parse_size(&Size::Text("512KiB".into()), "k"),
            Ok(512 * 1024)
        );
        assert_eq!(parse_size(&Size::Bytes(100), "k"), Ok(100));
        assert!(parse_size(&Size::Bytes(0), "k").is_err());
        assert!(parse_size(&Size::Text("MB".into()), "k").is_err());
    }

    #[test]
    fn the_example_config_parses() {
        let c = Config::parse(
            Path::new("examples/pare.toml"),
            include_str!("../examples/pare.toml"),
        )
        .unwrap();
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.max_file_size, 50 << 20);
    }

    #[test]
    fn move_needs_done() {
        let c = parse("processed = \"move\"\ndone = \"/done\"\n").unwrap();
        assert_eq!(c.processed, Processed::Move(PathBuf::from("/done")));
    }
}
