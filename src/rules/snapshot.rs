//! A rule book saved as one file, so that a big set of rules (tens of thousands of
//! imported site files) loads without reading, parsing and validating every TOML file.
//!
//! The snapshot holds, for each rule file: its path, what it was on disk when read
//! (size, modification and change times, inode, device, and a hash of its text), what
//! the book needs of it at once (domains, names, `disable`, its number of rules), and
//! its validated text, from which its rules are made when a page of the site first
//! needs them. It is written after a load that read any file from disk, into a
//! temporary file renamed over the old one (a cache: no fsync; a torn or damaged file
//! fails its checksum and is rebuilt).
//!
//! It is never trusted when it does not match:
//! - the whole file carries a checksum, the format version and the identity of the
//!   `pare` binary that wrote it (its size and modification time): anything else is
//!   rebuilt;
//! - it belongs to one list of rules folders and one size limit;
//! - a rule file is taken from it only when its size, times, inode and device are those
//!   recorded, and this process may read it. The change time cannot be set by a
//!   program, so an edit through `write`, a rename or a copy always shows. A file whose
//!   change time was within [`RACY`] of the moment it was read could have changed
//!   again in the same clock tick: its text is read and compared by hash instead (git's
//!   "racy" entries, handled the same way). What no metadata shows is not seen (as by
//!   git): a second write through a shared memory map to a page already dirty; use
//!   `--no-snapshot` or touch the file after such a writer.
//! - what lies at the snapshot's path is opened without blocking and must be a regular
//!   file; the lengths in its head are checked before anything is allocated; it is
//!   written into a new temporary file (never through a link), and temporary files
//!   left by writers no longer running are removed.
//!
//! Files that changed, new files and files the snapshot lacks are read and validated as
//! always, with their errors at `path:line:col`; the others come from the snapshot.

use std::hash::Hasher;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustc_hash::{FxHashMap, FxHasher};

use super::{Action, Category, Conditions, Origin, Place, Rule, RuleFile, Source};

/// How many rule files could not be made from a snapshot's text nor from the file as it
/// was validated (the snapshot overwritten in place while in use, and the file edited
/// since): they run without rules until the book is loaded again. The daemon watches it.
pub static LOST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Rule books of fewer files load in a few milliseconds from their TOML: no snapshot
/// is read or written for them.
pub const MIN_FILES: usize = 100;

/// How far from the moment a file was read its change time must be for its size and
/// times alone to vouch for its content (far above any filesystem's clock tick).
pub const RACY: i64 = 2_000_000_000;

const MAGIC: &[u8; 16] = b"pare rule book\n\0";
/// Bumped whenever what is written changes.
const FORMAT: u32 = 5;
/// The fixed head: magic, format, the length and hash of the part describing the
/// files, and the length of the texts after it.
const HEAD: usize = 44;

/// What a rule file was on disk when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    /// The hash of the file's text.
    pub hash: u64,
    /// When (nanoseconds since the epoch) the file was looked at, before it was read.
    pub checked_ns: i64,
}

/// What a file's metadata says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    /// Permission bits and owner, for [`Creds::may_read`] (not compared).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Meta {
    pub fn of(m: &std::fs::Metadata) -> Meta {
        Meta {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
        }
    }
}

/// Who this process reads files as (`/proc/self/status`: the filesystem uid and gid and
/// the supplementary groups), to tell whether it may read a file the snapshot holds: a
/// file another user could read when the snapshot was made is read (and refused) as
/// before, not taken from the snapshot.
pub struct Creds(Option<(u32, u32, Vec<u32>)>);

impl Creds {
    pub fn of_process() -> Creds {
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
            return Creds(None);
        };
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)).map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse::<u32>().ok())
                    .collect::<Vec<_>>()
            })
        };
        let (Some(uid), Some(gid), Some(groups)) = (field("Uid:"), field("Gid:"), field("Groups:"))
        else {
            return Creds(None);
        };
        // Real, effective, saved, filesystem: files are opened as the last.
        match (uid.get(3), gid.get(3)) {
            (Some(&u), Some(&g)) => Creds(Some((u, g, groups))),
            _ => Creds(None),
        }
    }

    /// May this process read a file with `m`'s owner and permission bits? (Access
    /// lists are not read: a file they alone would refuse is taken from the snapshot.)
    /// Unknown credentials: no.
    pub fn may_read(&self, m: &Meta) -> bool {
        let Some((uid, gid, groups)) = &self.0 else {
            return false;
        };
        if *uid == 0 {
            return true;
        }
        if m.uid == *uid {
            m.mode & 0o400 != 0
        } else if m.gid == *gid || groups.contains(&m.gid) {
            m.mode & 0o040 != 0
        } else {
            m.mode & 0o004 != 0
        }
    }
}

impl Stamp {
    pub fn new(m: &Meta, hash: u64, checked_ns: i64) -> Stamp {
        Stamp {
            size: m.size,
            mtime_ns: m.mtime_ns,
            ctime_ns: m.ctime_ns,
            ino: m.ino,
            dev: m.dev,
            hash,
            checked_ns,
        }
    }

    /// The same file, as far as its metadata says.
    fn same_file(&self, m: &Meta) -> bool {
        Stamp::new(m, self.hash, self.checked_ns) == *self
    }

    /// Could the file have changed in the tick it was read in, unseen by its times?
    fn racy(&self) -> bool {
        self.ctime_ns.max(self.mtime_ns) > self.checked_ns - RACY
    }
}

/// A run of bytes of an open snapshot file and their hash. The file stays open, so a
/// snapshot written meanwhile (renamed over it) does not change what it reads.
#[derive(Debug, Clone)]
pub struct Blob {
    file: Arc<std::fs::File>,
    offset: u64,
    len: u32,
    hash: u64,
}

impl Blob {
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The bytes, or `None` when they can no longer be read or no longer hash as they
    /// did.
    pub fn read(&self) -> Option<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; self.len as usize];
        self.file.read_exact_at(&mut buf, self.offset).ok()?;
        (hash(&buf) == self.hash).then_some(buf)
    }
}

/// The hash of a rule file's text (or of a snapshot's bytes).
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(bytes);
    h.write_usize(bytes.len());
    h.finish()
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The `pare` binary that runs: a snapshot written by another build is not read (the
/// rules it was validated against may differ).
fn binary() -> (u64, i64) {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map_or((0, 0), |m| {
            (m.len(), m.mtime() * 1_000_000_000 + m.mtime_nsec())
        })
}

/// What a book belongs to: its folders (made absolute) and the file size limit.
fn identity(dirs: &[PathBuf], max_size: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.str(env!("CARGO_PKG_VERSION"));
    let (size, mtime) = binary();
    w.u64(size);
    w.i64(mtime);
    w.u64(max_size);
    w.u32(dirs.len() as u32);
    for d in dirs {
        let d = std::path::absolute(d).unwrap_or_else(|_| d.clone());
        w.bytes(d.as_os_str().as_bytes());
    }
    w.0
}

/// The file name a command-line run keeps the snapshot of `dirs` under, in `cache`:
/// one per list of folders.
pub fn file_name(dirs: &[PathBuf], max_size: u64) -> String {
    let mut w = Writer::default();
    w.u64(max_size);
    for d in dirs {
        let d = std::path::absolute(d).unwrap_or_else(|_| d.clone());
        w.bytes(d.as_os_str().as_bytes());
    }
    format!("rules-{:016x}.snapshot", hash(&w.0))
}

/// The user's cache folder for pare (`$XDG_CACHE_HOME/pare`, else `~/.cache/pare`).
pub fn user_cache_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(x) if Path::new(&x).is_absolute() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    Some(base.join("pare"))
}

/// A snapshot read back and checked, its files not yet taken.
pub struct Snapshot {
    file: Arc<std::fs::File>,
    /// Where the texts start in the file, and how long they are.
    texts: u64,
    texts_len: u64,
    /// The part describing the files; each is decoded when taken.
    bytes: Vec<u8>,
    entries: Vec<At>,
    /// Entry by path, made when the files listed are not in the snapshot's order.
    by_path: Option<FxHashMap<Box<[u8]>, usize>>,
    /// The entry the next file listed is expected to be.
    next: usize,
}

/// Where an entry is in the description, its path, and whether it was taken.
struct At {
    at: u32,
    path: (u32, u32),
    taken: bool,
}

struct Entry {
    stamp: Stamp,
    generic: bool,
    subdomains: bool,
    domains: Vec<String>,
    except_domains: Vec<String>,
    names: Vec<String>,
    disable: Vec<String>,
    rule_count: u32,
    ids: Vec<(Box<str>, u32)>,
    /// The text's place among the texts, and its length.
    text: (u64, u32),
    /// A generic file's rules in binary form: place, length, hash.
    rules: Option<(u64, u32, u64)>,
}

/// How a file was taken from a snapshot.
pub enum Taken {
    /// Its metadata vouched for it.
    Unchanged(RuleFile),
    /// Its text was read and matched the snapshot's (a racy entry); `settled`: it has
    /// not changed for long enough now that its metadata will vouch for it next time
    /// (worth writing the snapshot again).
    Verified { file: RuleFile, settled: bool },
}

impl Snapshot {
    /// Reads the snapshot at `path` for this book, or says why it cannot be used
    /// (`None`: there is none). Only the part describing the files is read and checked
    /// now; each file's text is read when its rules are first needed, and checked
    /// against its own hash then.
    pub fn read(path: &Path, dirs: &[PathBuf], max_size: u64) -> Result<Snapshot, Option<String>> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        /// `O_NONBLOCK`: a FIFO put at the snapshot's path must not hang the load.
        const O_NONBLOCK: i32 = 0o4000;
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
            Err(e) => return Err(Some(format!("cannot read it: {e}"))),
        };
        let bad = |why: &str| Err(Some(why.to_string()));
        let size = match file.metadata() {
            Ok(m) if m.is_file() => m.len(),
            _ => return bad("not a regular file"),
        };
        let mut head = [0u8; HEAD];
        if file.read_exact(&mut head).is_err() || &head[..16] != MAGIC {
            return bad("not a pare rule snapshot");
        }
        let word = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().unwrap());
        let format = u32::from_le_bytes(head[16..20].try_into().unwrap());
        if format != FORMAT {
            return bad("written in another format");
        }
        let (len, sum, texts_len) = (word(20), word(28), word(36));
        let whole = len
            .checked_add(texts_len)
            .and_then(|n| n.checked_add(HEAD as u64));
        if whole != Some(size) {
            return bad("damaged (cut short or grown)");
        }
        let mut bytes = vec![0; len as usize];
        if file.read_exact(&mut bytes).is_err() || hash(&bytes) != sum {
            return bad("damaged (its checksum does not match)");
        }
        let mut r = Reader { b: &bytes, i: 0 };
        let id = identity(dirs, max_size);
        match r.bytes_range() {
            Some(got) if bytes[got.clone()] == id[..] => {}
            Some(_) => return bad("written by another pare build or for other folders"),
            None => return bad("damaged"),
        }
        let Some(entries) = scan_entries(&mut r, texts_len) else {
            return bad("damaged");
        };
        Ok(Snapshot {
            file: Arc::new(file),
            texts: HEAD as u64 + len,
            texts_len,
            bytes,
            entries,
            by_path: None,
            next: 0,
        })
    }

    fn key_at(&self, i: usize) -> &[u8] {
        let (start, len) = self.entries[i].path;
        &self.bytes[start as usize..(start + len) as usize]
    }

    /// The entry of file `name` in folder `dir`: the next one in order (files are
    /// listed as they were written), else looked up.
    fn find(&mut self, dir: u32, name: &[u8]) -> Option<usize> {
        if self.next < self.entries.len() {
            let k = self.key_at(self.next);
            if k.len() == 4 + name.len() && k[..4] == dir.to_le_bytes() && &k[4..] == name {
                self.next += 1;
                return Some(self.next - 1);
            }
        }
        if self.by_path.is_none() {
            let map = (0..self.entries.len())
                .map(|i| (Box::from(self.key_at(i)), i))
                .collect();
            self.by_path = Some(map);
        }
        let &i = self.by_path.as_ref()?.get(&key(dir, name)[..])?;
        self.next = i + 1;
        Some(i)
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The file at `path` as the snapshot holds it, if the file on disk (`meta`, looked
    /// at `checked_ns`) is still that one. A racy entry's text is read (at most `max`
    /// bytes) and compared.
    /// An entry is taken once: its parts move into the file.
    pub fn take(
        &mut self,
        dir: u32,
        path: &Path,
        meta: &Meta,
        checked_ns: i64,
        max: u64,
    ) -> Option<Taken> {
        let i = self.find(dir, path.file_name()?.as_bytes())?;
        let texts = self.texts;
        let file = self.file.clone();
        if self.entries[i].taken {
            return None;
        }
        let mut r = Reader {
            b: &self.bytes,
            i: self.entries[i].at as usize,
        };
        let e = read_entry(&mut r, self.texts_len)?;
        if !e.stamp.same_file(meta) {
            return None;
        }
        let mut stamp = e.stamp;
        let racy = stamp.racy();
        if racy {
            let text = super::read_rule_file(path, max).ok()?;
            if hash(text.as_bytes()) != stamp.hash {
                return None;
            }
            stamp = Stamp::new(meta, stamp.hash, checked_ns);
        }
        self.entries[i].taken = true;
        let file = RuleFile {
            path: Arc::from(path),
            domains: e.domains,
            except_domains: e.except_domains,
            subdomains: e.subdomains,
            generic: e.generic,
            names: e.names,
            disable: e.disable,
            rule_count: e.rule_count,
            ids: e.ids,
            source: Source::Snapshot {
                text: Blob {
                    file: file.clone(),
                    offset: texts + e.text.0,
                    len: e.text.1,
                    hash: stamp.hash,
                },
                rules: e.rules.map(|(offset, len, hash)| Blob {
                    file,
                    offset: texts + offset,
                    len,
                    hash,
                }),
            },
            parsed: OnceLock::new(),
            decoded: OnceLock::new(),
            stamp: Some(Box::new(stamp)),
            dir,
        };
        Some(if racy {
            Taken::Verified {
                settled: !stamp.racy(),
                file,
            }
        } else {
            Taken::Unchanged(file)
        })
    }
}

/// Walks the description of every file (checking that each is whole) and notes where
/// each starts and its path, decoding nothing else.
fn scan_entries(r: &mut Reader<'_>, texts_len: u64) -> Option<Vec<At>> {
    let n = r.u32()? as usize;
    let mut entries = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let at = u32::try_from(r.i).ok()?;
        let path = r.bytes_range()?;
        let path = (path.start as u32, path.len() as u32);
        r.i = at as usize;
        read_entry_with(r, texts_len, false)?;
        entries.push(At {
            at,
            path,
            taken: false,
        });
    }
    (r.i == r.b.len()).then_some(entries)
}

/// One file's description, decoded.
fn read_entry(r: &mut Reader<'_>, texts_len: u64) -> Option<Entry> {
    read_entry_with(r, texts_len, true)
}

/// Reads one file's description; with `keep` false only checks it and moves past it
/// (its strings are not made).
fn read_entry_with(r: &mut Reader<'_>, texts_len: u64, keep: bool) -> Option<Entry> {
    r.bytes_range()?;
    let stamp = Stamp {
        size: r.u64()?,
        mtime_ns: r.i64()?,
        ctime_ns: r.i64()?,
        ino: r.u64()?,
        dev: r.u64()?,
        hash: r.u64()?,
        checked_ns: r.i64()?,
    };
    let flags = r.u8()?;
    let strings = |r: &mut Reader<'_>| -> Option<Vec<String>> {
        if keep {
            r.strings()
        } else {
            let n = r.u32()?;
            for _ in 0..n {
                let s = r.bytes_range()?;
                std::str::from_utf8(&r.b[s]).ok()?;
            }
            Some(Vec::new())
        }
    };
    let domains = strings(r)?;
    let except_domains = strings(r)?;
    let names = strings(r)?;
    let disable = strings(r)?;
    let rule_count = r.u32()?;
    let n_ids = r.u32()? as usize;
    let mut ids = Vec::with_capacity(if keep { n_ids.min(1 << 16) } else { 0 });
    for _ in 0..n_ids {
        let id = r.bytes_range()?;
        let id = std::str::from_utf8(&r.b[id]).ok()?;
        let line = r.u32()?;
        if keep {
            ids.push((Box::from(id), line));
        }
    }
    let text = (r.u64()?, r.u32()?);
    if text.0.checked_add(u64::from(text.1))? > texts_len {
        return None;
    }
    let rules = match r.u8()? {
        0 => None,
        _ => {
            let b = (r.u64()?, r.u32()?, r.u64()?);
            if b.0.checked_add(u64::from(b.1))? > texts_len {
                return None;
            }
            Some(b)
        }
    };
    Some(Entry {
        stamp,
        generic: flags & 1 != 0,
        subdomains: flags & 2 != 0,
        domains,
        except_domains,
        names,
        disable,
        rule_count,
        ids,
        text,
        rules,
    })
}

/// Writes the snapshot of `files` (those read from disk, so stamped) to `path`: into a
/// temporary file beside it, renamed over it.
pub fn write(
    path: &Path,
    dirs: &[PathBuf],
    max_size: u64,
    files: &[RuleFile],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = Writer::default();
    w.bytes(&identity(dirs, max_size));
    // A text that can no longer be read back from the snapshot it came from (that file
    // damaged since) is left out: the next load reads that file itself.
    let stamped: Vec<(&RuleFile, &Stamp)> = files
        .iter()
        .filter(|f| f.path.file_name().is_some() && f.source.readable())
        .filter_map(|f| f.stamp.as_deref().map(|s| (f, s)))
        .collect();
    w.u32(stamped.len() as u32);
    // What follows the description, in order: each file's text (written from where it
    // is, not copied here) and a generic file's rules in binary form.
    let mut pieces: Vec<Result<&RuleFile, Vec<u8>>> = Vec::with_capacity(stamped.len() + 64);
    let mut at = 0u64;
    for (f, s) in stamped {
        let text_len = f.source.len();
        let name = f.path.file_name().map_or(&[][..], |n| n.as_bytes());
        w.bytes(&key(f.dir, name));
        w.u64(s.size);
        w.i64(s.mtime_ns);
        w.i64(s.ctime_ns);
        w.u64(s.ino);
        w.u64(s.dev);
        w.u64(s.hash);
        w.i64(s.checked_ns);
        w.u8(u8::from(f.generic) | (u8::from(f.subdomains) << 1));
        w.strings(&f.domains);
        w.strings(&f.except_domains);
        w.strings(&f.names);
        w.strings(&f.disable);
        w.u32(f.rule_count);
        w.u32(f.ids.len() as u32);
        for (id, line) in &f.ids {
            w.str(id);
            w.u32(*line);
        }
        w.u64(at);
        w.u32(text_len as u32);
        at += text_len as u64;
        pieces.push(Ok(f));
        if f.generic {
            let mut b = Writer::default();
            put_rules(&mut b, f.rules());
            w.u8(1);
            w.u64(at);
            w.u32(b.0.len() as u32);
            w.u64(hash(&b.0));
            at += b.0.len() as u64;
            pieces.push(Err(b.0));
        } else {
            w.u8(0);
        }
    }
    let mut head = Vec::with_capacity(HEAD);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&FORMAT.to_le_bytes());
    head.extend_from_slice(&(w.0.len() as u64).to_le_bytes());
    head.extend_from_slice(&hash(&w.0).to_le_bytes());
    head.extend_from_slice(&at.to_le_bytes());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    sweep(path);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!("{TMP}{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    // A new file, never one already there (nor what a link there points to).
    let _ = std::fs::remove_file(&tmp);
    let created = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let done = (|| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, created);
        out.write_all(&head)?;
        out.write_all(&w.0)?;
        for p in &pieces {
            match p {
                Ok(f) => {
                    let text = f.text().filter(|t| t.len() == f.source.len());
                    let Some(text) = text else {
                        return Err(std::io::Error::other(format!(
                            "the text of {} could not be read back",
                            f.path.display()
                        )));
                    };
                    out.write_all(text.as_bytes())?;
                }
                Err(bin) => out.write_all(bin)?,
            }
        }
        out.into_inner().map_err(|e| e.into_error())?;
        std::fs::rename(&tmp, path)
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// How an entry is found: its folder's index (the folders are the snapshot's own, made
/// absolute, so `rules`, `./rules` and `/srv/x/rules` are one) and its file name.
fn key(dir: u32, name: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + name.len());
    k.extend_from_slice(&dir.to_le_bytes());
    k.extend_from_slice(name);
    k
}

/// What a snapshot being written is named: its path, this, and the writer's pid.
const TMP: &str = ".tmp";

/// How long a temporary file must have been left alone before it is taken for a dead
/// writer's: a live one is written without pause, and its process may be invisible
/// here (`ProtectProc=invisible`, another user's).
const STALE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes the temporary files beside `path` that writers no longer running left (a
/// write cut short by a kill).
fn sweep(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut prefix = name.as_bytes().to_vec();
    prefix.extend_from_slice(TMP.as_bytes());
    sweep_where(dir, |n| n.starts_with(&prefix).then_some(prefix.len()));
}

/// Removes the files of `dir` that `pid_at` takes for a writer's temporary (giving
/// where the writer's pid starts in the name) when that writer is not running and the
/// file has been left alone for [`STALE`].
fn sweep_where(dir: &Path, pid_at: impl Fn(&[u8]) -> Option<usize>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name();
        let Some(at) = pid_at(n.as_bytes()) else {
            continue;
        };
        let pid = &n.as_bytes()[at..];
        let alive = !pid.is_empty()
            && pid.iter().all(u8::is_ascii_digit)
            && Path::new("/proc")
                .join(std::ffi::OsStr::from_bytes(pid))
                .exists();
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        let idle = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|d| d >= STALE);
        if !alive && idle && (meta.is_file() || meta.file_type().is_symlink()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Keeps the `keep` most recently written snapshots in a command-line cache folder
/// (one is made per list of rules folders, and temporary folders come and go).
pub fn prune(dir: &Path, keep: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut snaps: Vec<(SystemTime, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.as_bytes();
            n.starts_with(b"rules-") && n.ends_with(b".snapshot")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    snaps.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (_, p) in snaps.into_iter().skip(keep) {
        let _ = std::fs::remove_file(p);
    }
    // And what writers killed while writing any of them left.
    sweep_where(dir, |n| {
        let i = n.windows(TMP.len()).rposition(|w| w == TMP.as_bytes())?;
        (n.starts_with(b"rules-") && n[..i].ends_with(b".snapshot")).then_some(i + TMP.len())
    });
}

/// Writes validated rules in the snapshot's binary form: everything the engine uses of
/// them, selectors and regexes by their source (parsed again when read, but not
/// validated again, nor read through TOML).
fn put_rules(w: &mut Writer, rules: &[Arc<Rule>]) {
    w.u32(rules.len() as u32);
    for r in rules {
        w.str(&r.id);
        // A category is written as its place in `Category::ALL` (a change of that order
        // needs a new FORMAT).
        let category = Category::ALL.iter().position(|&c| c == r.category);
        w.u8(category.unwrap_or(Category::ALL.len() - 1) as u8);
        w.u32(r.origin.line);
        w.u8(u8::from(r.generic) | (u8::from(r.may_take_article) << 1));
        w.opt_str(r.note.as_deref());
        match &r.action {
            Action::Remove(s) => {
                w.u8(0);
                w.str(&s.source);
            }
            Action::RemoveContaining { phrases, within } => {
                w.u8(1);
                w.strings(phrases);
                w.str(&within.source);
            }
            Action::RemoveMatching {
                regex,
                max_len,
                within,
            } => {
                w.u8(2);
                w.str(regex.as_str());
                w.opt_u64(max_len.map(|n| n as u64));
                w.str(&within.source);
            }
            Action::CutAfter { marker, within } => {
                w.u8(3);
                w.str(marker);
                w.str(&within.source);
            }
            Action::Unwrap(s) => {
                w.u8(4);
                w.str(&s.source);
            }
            Action::DropAttributes { globs, selector } => {
                w.u8(5);
                w.strings(globs);
                w.str(&selector.source);
            }
            Action::LazyImages { selector } => {
                w.u8(6);
                w.str(&selector.source);
            }
            Action::Keep(s) => {
                w.u8(7);
                w.str(&s.source);
            }
            Action::DropBetween { start, end } => {
                w.u8(8);
                w.str(start);
                w.str(end);
            }
        }
        match &r.cond {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.opt_u64(c.min_words.map(u64::from));
                w.opt_u64(c.max_words.map(u64::from));
                w.opt_u64(c.min_link_density.map(|f| u64::from(f.to_bits())));
                w.opt_u64(c.max_link_density.map(|f| u64::from(f.to_bits())));
                w.opt_str(c.has.as_ref().map(|h| h.source.as_str()));
                w.u8(match c.place {
                    None => 0,
                    Some(Place::InsideArticle) => 1,
                    Some(Place::OutsideArticle) => 2,
                });
                w.str(&c.text);
            }
        }
    }
}

/// Reads rules written by [`put_rules`] for the file at `path`; `None` when the bytes
/// are damaged (then the file's text is parsed instead).
pub fn read_rules(blob: &Blob, path: &Arc<Path>) -> Option<Vec<Arc<Rule>>> {
    let bytes = blob.read()?;
    let mut r = Reader { b: &bytes, i: 0 };
    let rules = decode_rules(&mut r, &Origin::shown(path))?;
    (r.i == bytes.len()).then_some(rules)
}

fn decode_rules(r: &mut Reader<'_>, path: &Arc<str>) -> Option<Vec<Arc<Rule>>> {
    use super::selectors_unchecked as sel;
    let n = r.u32()? as usize;
    let mut rules = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let id = r.string()?;
        let category = *Category::ALL.get(r.u8()? as usize)?;
        let line = r.u32()?;
        let flags = r.u8()?;
        let note = r.opt_string()?;
        let action = match r.u8()? {
            0 => Action::Remove(sel(&r.string()?)),
            1 => Action::RemoveContaining {
                phrases: r.strings()?,
                within: sel(&r.string()?),
            },
            2 => {
                let pattern = r.string()?;
                let max_len = r.opt_u64()?.map(|n| n as usize);
                Action::RemoveMatching {
                    regex: regex::RegexBuilder::new(&pattern)
                        .size_limit(1 << 20)
                        .build()
                        .ok()?,
                    max_len,
                    within: sel(&r.string()?),
                }
            }
            3 => Action::CutAfter {
                marker: r.string()?,
                within: sel(&r.string()?),
            },
            4 => Action::Unwrap(sel(&r.string()?)),
            5 => Action::DropAttributes {
                globs: r.strings()?,
                selector: sel(&r.string()?),
            },
            6 => Action::LazyImages {
                selector: sel(&r.string()?),
            },
            7 => Action::Keep(sel(&r.string()?)),
            8 => Action::DropBetween {
                start: r.string()?,
                end: r.string()?,
            },
            _ => return None,
        };
        let cond = match r.u8()? {
            0 => None,
            _ => {
                let words = |v: Option<u64>| v.map(|n| n as u32);
                let density = |v: Option<u64>| v.map(|b| f32::from_bits(b as u32));
                Some(Box::new(Conditions {
                    min_words: words(r.opt_u64()?),
                    max_words: words(r.opt_u64()?),
                    min_link_density: density(r.opt_u64()?),
                    max_link_density: density(r.opt_u64()?),
                    has: r.opt_string()?.map(|h| sel(&h)),
                    place: match r.u8()? {
                        0 => None,
                        1 => Some(Place::InsideArticle),
                        2 => Some(Place::OutsideArticle),
                        _ => return None,
                    },
                    text: r.string()?,
                }))
            }
        };
        rules.push(Arc::new(Rule {
            id,
            category,
            action,
            origin: Origin {
                file: path.clone(),
                line,
            },
            generic: flags & 1 != 0,
            note,
            cond,
            may_take_article: flags & 2 != 0,
        }));
    }
    Some(rules)
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn strings(&mut self, v: &[String]) {
        self.u32(v.len() as u32);
        for s in v {
            self.str(s);
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes_range(&mut self) -> Option<std::ops::Range<usize>> {
        let n = self.u32()? as usize;
        let start = self.i;
        self.take(n)?;
        Some(start..start + n)
    }
    fn string(&mut self) -> Option<String> {
        let r = self.bytes_range()?;
        Some(std::str::from_utf8(&self.b[r]).ok()?.to_string())
    }
    fn opt_string(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
    fn opt_u64(&mut self) -> Option<Option<u64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.u64()?)),
            _ => None,
        }
    }
    fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        let mut v = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let r = self.bytes_range()?;
            v.push(std::str::from_utf8(&self.b[r]).ok()?.to_string());
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::MIN_FILES;
    use crate::rules::{Categories, RuleBook, RuleError};

    const GENERIC: &str =
        "generic = true\n[[rule]]\nid = \"ad\"\ncategory = \"promo\"\nremove = \".ad\"\n";

    fn site(i: usize, class: &str) -> String {
        format!(
            "domains = [\"site{i}.example\"]\n[[rule]]\nid = \"r{i}\"\ncategory = \"promo\"\nremove = \"div.{class}-{i} > p\"\n"
        )
    }

    /// A rules folder of a generic file and `n` site files.
    fn folder(n: usize) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("generic.toml"), GENERIC).unwrap();
        for i in 0..n {
            fs::write(d.path().join(format!("site{i:03}.toml")), site(i, "promo")).unwrap();
        }
        d
    }

    /// A rules folder of [`MIN_FILES`] site files, a cache folder, and the snapshot path
    /// in it.
    fn setup() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
        let d = folder(MIN_FILES);
        let cache = tempfile::tempdir().unwrap();
        let snap = cache.path().join("s");
        (d, cache, snap)
    }

    fn load(dir: &Path, snap: &Path) -> Result<RuleBook, Vec<RuleError>> {
        RuleBook::load_with(&[dir.to_path_buf()], 1 << 20, Some(snap))
    }

    /// What the book does for a site: its rules' selectors, generic and site.
    fn selectors(book: &RuleBook, host: &str) -> Vec<String> {
        let c = book.for_site(Some(host), Categories::defaults());
        c.rules()
            .map(|(_, r)| match &r.action {
                crate::rules::Action::Remove(s) => s.source.clone(),
                other => other.key().to_string(),
            })
            .collect()
    }

    #[test]
    fn a_second_load_takes_every_file_from_the_snapshot() {
        let d = folder(MIN_FILES);
        let cache = tempfile::tempdir().unwrap();
        let snap = cache.path().join("rules.snapshot");
        // Old files: their size and times vouch for them once the snapshot is made.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let first = load(d.path(), &snap).unwrap();
        assert_eq!(first.loaded.read, MIN_FILES + 1);
        assert!(first.loaded.written && snap.exists());
        let second = load(d.path(), &snap).unwrap();
        assert_eq!(
            (
                second.loaded.unchanged,
                second.loaded.verified,
                second.loaded.read
            ),
            (MIN_FILES + 1, 0, 0)
        );
        assert!(!second.loaded.written, "nothing changed, nothing written");
        assert_eq!(second.rule_count(), first.rule_count());
        for host in ["site007.example", "www.site042.example", "other.example"] {
            assert_eq!(selectors(&second, host), selectors(&first, host), "{host}");
        }
        assert_eq!(
            selectors(&second, "site7.example"),
            vec![".ad".to_string(), "div.promo-7 > p".to_string()]
        );

        // An edit of the same size whose modification time is put back is still seen
        // (the change time moves), and only that file is read.
        let path = d.path().join("site005.toml");
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        fs::write(&path, site(5, "promx")).unwrap();
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let third = load(d.path(), &snap).unwrap();
        assert_eq!(third.loaded.read, 1);
        assert!(third.loaded.written);
        assert_eq!(
            selectors(&third, "site5.example"),
            vec![".ad".to_string(), "div.promx-5 > p".to_string()]
        );
        // A removed file is gone from the book (and from the snapshot written then).
        fs::remove_file(d.path().join("site006.toml")).unwrap();
        let fourth = load(d.path(), &snap).unwrap();
        assert_eq!(fourth.files.len(), MIN_FILES);
        assert_eq!(selectors(&fourth, "site6.example"), vec![".ad".to_string()]);
        assert!(fourth.loaded.written);
        let fifth = load(d.path(), &snap).unwrap();
        assert_eq!(fifth.loaded.read, 0);
        assert_eq!(fifth.files.len(), MIN_FILES);
    }

    #[test]
    fn files_changed_just_before_the_snapshot_are_compared_by_their_text() {
        let (d, _cache, snap) = setup();
        load(d.path(), &snap).unwrap();
        let again = load(d.path(), &snap).unwrap();
        assert_eq!(
            (again.loaded.verified, again.loaded.read),
            (MIN_FILES + 1, 0)
        );
        assert_eq!(
            selectors(&again, "site3.example"),
            vec![".ad".to_string(), "div.promo-3 > p".to_string()]
        );
    }

    #[test]
    fn a_damaged_or_foreign_snapshot_is_rebuilt_never_used() {
        let (d, _cache, snap) = setup();
        let good = load(d.path(), &snap).unwrap();
        let bytes = fs::read(&snap).unwrap();
        let damage = |at: usize| {
            let mut b = bytes.clone();
            b[at] ^= 0x20;
            fs::write(&snap, b).unwrap();
        };
        // A byte of the part describing the files.
        damage(super::HEAD + 40);
        let b = load(d.path(), &snap).unwrap();
        assert!(
            b.loaded.refused.as_deref().unwrap().contains("checksum"),
            "{:?}",
            b.loaded
        );
        assert!(b.loaded.read == MIN_FILES + 1 && b.loaded.written);
        // Cut short.
        fs::write(&snap, &bytes[..bytes.len() - 1]).unwrap();
        let b = load(d.path(), &snap).unwrap();
        assert!(b.loaded.refused.as_deref().unwrap().contains("cut short"));
        // Not a snapshot at all.
        fs::write(&snap, b"[[rule]]\n").unwrap();
        let b = load(d.path(), &snap).unwrap();
        assert!(b.loaded.refused.is_some() && b.loaded.written);
        // Another folder's (a copy of this one, elsewhere).
        let copy = folder(MIN_FILES);
        let b = RuleBook::load_with(&[copy.path().to_path_buf()], 1 << 20, Some(&snap)).unwrap();
        assert!(
            b.loaded
                .refused
                .as_deref()
                .unwrap()
                .contains("other folders"),
            "{:?}",
            b.loaded
        );
        // Each time the rules are the same.
        let b = load(d.path(), &snap).unwrap();
        assert!(b.loaded.refused.is_some() && b.loaded.read == MIN_FILES + 1);
        assert_eq!(
            selectors(&b, "site9.example"),
            selectors(&good, "site9.example")
        );
    }

    #[test]
    fn a_text_damaged_after_loading_falls_back_to_the_file() {
        let (d, _cache, snap) = setup();
        std::thread::sleep(std::time::Duration::from_millis(2100));
        load(d.path(), &snap).unwrap();
        let book = load(d.path(), &snap).unwrap();
        // Nothing read, nothing written: the book reads its texts from this file.
        assert!(book.loaded.read == 0 && !book.loaded.written);
        // Every text lies after the part describing the files: overwrite them in place
        // (the book holds the open file, so it sees this).
        let mut bytes = fs::read(&snap).unwrap();
        let texts = bytes.len()
            - (0..MIN_FILES)
                .map(|i| site(i, "promo").len())
                .sum::<usize>()
            - GENERIC.len();
        for b in &mut bytes[texts..] {
            if *b == b'o' {
                *b = b'0';
            }
        }
        fs::OpenOptions::new()
            .write(true)
            .open(&snap)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
            .unwrap();
        assert_eq!(
            selectors(&book, "site11.example"),
            vec![".ad".to_string(), "div.promo-11 > p".to_string()]
        );
    }

    #[test]
    fn a_snapshot_written_over_in_use_never_yields_a_later_edit_and_says_so() {
        use std::sync::atomic::Ordering;
        let (d, _cache, snap) = setup();
        std::thread::sleep(std::time::Duration::from_millis(2100));
        load(d.path(), &snap).unwrap();
        let book = load(d.path(), &snap).unwrap();
        assert!(book.loaded.read == 0 && !book.loaded.written);
        // Written over in place (not replaced), and two files edited since the load.
        fs::write(&snap, b"").unwrap();
        fs::write(d.path().join("site020.toml"), site(20, "promx")).unwrap();
        fs::write(d.path().join("site021.toml"), "not = [toml").unwrap();
        let lost = super::LOST.load(Ordering::Relaxed);
        // An unchanged file: its rules from the file, as validated.
        assert_eq!(
            selectors(&book, "site19.example"),
            vec![".ad".to_string(), "div.promo-19 > p".to_string()]
        );
        // Edited ones: neither the edit (good or bad) nor silence.
        assert_eq!(selectors(&book, "site20.example"), vec![".ad".to_string()]);
        assert_eq!(selectors(&book, "site21.example"), vec![".ad".to_string()]);
        assert!(super::LOST.load(Ordering::Relaxed) >= lost + 2);
        // Loading again, rebuilding: the good edit is in, the bad file reported.
        let errors =
            RuleBook::load_rebuilding(&[d.path().to_path_buf()], 1 << 20, Some(&snap)).unwrap_err();
        assert!(errors[0].to_string().contains("site021.toml"), "{errors:?}");
        fs::write(d.path().join("site021.toml"), site(21, "promo")).unwrap();
        let b = RuleBook::load_rebuilding(&[d.path().to_path_buf()], 1 << 20, Some(&snap)).unwrap();
        assert!(b.loaded.written && b.loaded.read == MIN_FILES + 1);
        assert_eq!(
            selectors(&b, "site20.example"),
            vec![".ad".to_string(), "div.promx-20 > p".to_string()]
        );
    }

    #[test]
    fn an_error_in_a_new_file_is_reported_and_the_snapshot_kept() {
        let (d, _cache, snap) = setup();
        load(d.path(), &snap).unwrap();
        let before = fs::read(&snap).unwrap();
        let bad = d.path().join("zz-bad.toml");
        fs::write(
            &bad,
            "domains = [\"bad.example\"]\n[[rule]]\nid = \"x\"\ncategory = \"promo\"\nremove = \"div[\"\n",
        )
        .unwrap();
        let errors = load(d.path(), &snap).unwrap_err();
        assert_eq!(errors.len(), 1);
        let e = errors[0].to_string();
        assert!(
            e.starts_with(&format!("{}:5:10: bad selector", bad.display())),
            "{e}"
        );
        assert_eq!(
            fs::read(&snap).unwrap(),
            before,
            "the snapshot was replaced"
        );
    }

    #[test]
    fn generic_rules_read_back_from_their_binary_form_are_the_rules_parsed() {
        // The shipped library (every action, conditions, regexes, notes) and enough
        // site files for a snapshot.
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let sites = tempfile::tempdir().unwrap();
        for i in 0..MIN_FILES {
            fs::write(sites.path().join(format!("s{i}.toml")), site(i, "promo")).unwrap();
        }
        let dirs = [shipped, sites.path().to_path_buf()];
        let cache = tempfile::tempdir().unwrap();
        let snap = cache.path().join("s");
        let parsed = RuleBook::load_with(&dirs, 1 << 20, Some(&snap)).unwrap();
        let again = RuleBook::load_with(&dirs, 1 << 20, Some(&snap)).unwrap();
        assert_eq!(again.loaded.read, 0);
        let mut n = 0;
        for (a, b) in parsed
            .files
            .iter()
            .zip(&again.files)
            .filter(|(a, _)| a.generic)
        {
            assert!(
                b.parsed.get().is_none(),
                "{}: parsed from text",
                b.path.display()
            );
            assert_eq!(format!("{:?}", b.rules()), format!("{:?}", a.rules()));
            assert!(
                b.parsed.get().is_none(),
                "{}: parsed from text",
                b.path.display()
            );
            n += a.rules().len();
        }
        assert!(n >= 40, "{n} generic rules compared");
        // Their examples still come from the text.
        let with_examples = again
            .files
            .iter()
            .filter(|f| !f.examples().is_empty())
            .count();
        assert!(with_examples > 0);
    }

    #[test]
    fn what_lies_at_the_snapshot_path_cannot_hang_crash_or_redirect_the_load() {
        let (d, cache, snap) = setup();
        // A FIFO: refused at once (not opened blocking), and not replaced.
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&snap)
                .status()
                .unwrap()
                .success()
        );
        let b = load(d.path(), &snap).unwrap();
        assert_eq!(b.loaded.refused.as_deref(), Some("not a regular file"));
        fs::remove_file(&snap).unwrap();
        // A head whose lengths overflow when added: refused, nothing allocated.
        let mut head = Vec::new();
        head.extend_from_slice(super::MAGIC);
        head.extend_from_slice(&super::FORMAT.to_le_bytes());
        head.extend_from_slice(&(1u64 << 62).to_le_bytes());
        head.extend_from_slice(&0u64.to_le_bytes());
        let size = (super::HEAD + 100) as u64;
        head.extend_from_slice(
            &size
                .wrapping_sub(super::HEAD as u64)
                .wrapping_sub(1 << 62)
                .to_le_bytes(),
        );
        head.resize(super::HEAD + 100, 0);
        fs::write(&snap, &head).unwrap();
        let b = load(d.path(), &snap).unwrap();
        assert!(
            b.loaded.refused.as_deref().unwrap().contains("cut short"),
            "{:?}",
            b.loaded
        );
        // A link where the temporary file will be: never written through, and a
        // writer's leftover (its process gone) is swept.
        let victim = cache.path().join("victim");
        fs::write(&victim, "keep me").unwrap();
        let mine = cache
            .path()
            .join(format!("s{}{}", super::TMP, std::process::id()));
        std::os::unix::fs::symlink(&victim, &mine).unwrap();
        let dead = cache.path().join(format!("s{}999999999", super::TMP));
        fs::write(&dead, "left by a kill").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        fs::File::options()
            .write(true)
            .open(&dead)
            .unwrap()
            .set_modified(old)
            .unwrap();
        // One being written now by a writer this process cannot see: left alone.
        let busy = cache.path().join(format!("s{}999999998", super::TMP));
        fs::write(&busy, "being written").unwrap();
        // (An edit, so that the snapshot is written.)
        fs::write(d.path().join("site000.toml"), site(0, "promx")).unwrap();
        let b = load(d.path(), &snap).unwrap();
        assert!(b.loaded.written && b.loaded.read == 1, "{:?}", b.loaded);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(!dead.exists() && !mine.exists() && busy.exists());
        assert!(fs::symlink_metadata(&snap).unwrap().file_type().is_file());
        assert_eq!(load(d.path(), &snap).unwrap().loaded.read, 0);
    }

    #[test]
    fn a_snapshot_whose_texts_were_damaged_is_written_again_without_them() {
        let (d, _cache, snap) = setup();
        load(d.path(), &snap).unwrap();
        // The last 4 KiB (texts: not covered by the head's checksum) zeroed.
        let mut bytes = fs::read(&snap).unwrap();
        let n = bytes.len();
        bytes[n - 4096..].fill(0);
        fs::write(&snap, &bytes).unwrap();
        let b = load(d.path(), &snap).unwrap();
        assert_eq!(b.loaded.read, 0);
        // Its rules still right: the damaged texts fall back to the files.
        assert_eq!(
            selectors(&b, "site99.example"),
            vec![".ad".to_string(), "div.promo-99 > p".to_string()]
        );
        // An edit makes a new snapshot: written, without the damaged texts, which the
        // next load reads from their files.
        fs::write(d.path().join("site001.toml"), site(1, "promx")).unwrap();
        let b = load(d.path(), &snap).unwrap();
        assert!(
            b.loaded.written && b.loaded.write_error.is_none(),
            "{:?}",
            b.loaded
        );
        let next = load(d.path(), &snap).unwrap();
        assert!(
            next.loaded.read > 0 && next.loaded.read < MIN_FILES,
            "{:?}",
            next.loaded
        );
        let last = load(d.path(), &snap).unwrap();
        assert_eq!(last.loaded.read, 0, "{:?}", last.loaded);
        assert_eq!(
            selectors(&last, "site99.example"),
            vec![".ad".to_string(), "div.promo-99 > p".to_string()]
        );
    }

    #[test]
    fn one_folder_named_two_ways_is_one_snapshot() {
        let (d, _cache, snap) = setup();
        RuleBook::load_with(&[d.path().to_path_buf()], 1 << 20, Some(&snap)).unwrap();
        let other = RuleBook::load_with(&[d.path().join(".")], 1 << 20, Some(&snap)).unwrap();
        assert_eq!(other.loaded.read, 0, "{:?}", other.loaded);
        assert_eq!(
            super::file_name(&[d.path().to_path_buf()], 1),
            super::file_name(&[d.path().join(".")], 1)
        );
    }

    #[test]
    fn a_file_is_taken_only_if_this_process_may_read_it() {
        let m = |mode, uid, gid| super::Meta {
            size: 1,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 1,
            dev: 1,
            mode,
            uid,
            gid,
        };
        let me = super::Creds(Some((1000, 100, vec![100, 4242])));
        assert!(me.may_read(&m(0o600, 1000, 0)));
        assert!(
            !me.may_read(&m(0o060, 1000, 100)),
            "the owner's bits decide for the owner"
        );
        assert!(me.may_read(&m(0o640, 0, 4242)));
        assert!(!me.may_read(&m(0o640, 0, 4243)));
        assert!(me.may_read(&m(0o604, 0, 4243)));
        assert!(super::Creds(Some((0, 0, vec![]))).may_read(&m(0, 5, 5)));
        assert!(!super::Creds(None).may_read(&m(0o644, 0, 0)));
    }

    #[test]
    fn small_books_and_books_without_a_snapshot_path_write_none() {
        let d = folder(MIN_FILES - 2);
        let cache = tempfile::tempdir().unwrap();
        let snap = cache.path().join("s");
        let b = load(d.path(), &snap).unwrap();
        assert!(b.loaded.snapshot.is_none() && !snap.exists());
        let big = folder(MIN_FILES);
        let b = RuleBook::load_with(&[big.path().to_path_buf()], 1 << 20, None).unwrap();
        assert!(b.loaded.describe().is_none());
        assert_eq!(b.files.len(), MIN_FILES + 1);
    }

    #[test]
    fn the_cache_keeps_the_most_recent_snapshots() {
        let cache = tempfile::tempdir().unwrap();
        let mut made: Vec<PathBuf> = Vec::new();
        for i in 0..5 {
            let p = cache.path().join(format!("rules-{i:016x}.snapshot"));
            fs::write(&p, b"x").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i);
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
            made.push(p);
        }
        fs::write(cache.path().join("other"), b"kept").unwrap();
        // A write killed long ago, and one going on now.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        let killed = cache
            .path()
            .join("rules-00000000000000aa.snapshot.tmp999999999");
        fs::write(&killed, b"x").unwrap();
        fs::File::options()
            .write(true)
            .open(&killed)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let going = cache
            .path()
            .join("rules-00000000000000bb.snapshot.tmp999999998");
        fs::write(&going, b"x").unwrap();
        super::prune(cache.path(), 2);
        let left: Vec<bool> = made.iter().map(|p| p.exists()).collect();
        assert_eq!(left, [false, false, false, true, true]);
        assert!(cache.path().join("other").exists());
        assert!(!killed.exists() && going.exists());
    }
}
