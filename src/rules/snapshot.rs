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
//!   recorded. The change time cannot be set by a program, so an edit always shows. A
//!   file whose change time was within [`RACY`] of the moment it was read could have
//!   changed again in the same clock tick: its text is read and compared by hash
//!   instead (git's "racy" entries, handled the same way).
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

use super::{RuleFile, Source};

/// Rule books of fewer files load in a few milliseconds from their TOML: no snapshot
/// is read or written for them.
pub const MIN_FILES: usize = 100;

/// How far from the moment a file was read its change time must be for its size and
/// times alone to vouch for its content (far above any filesystem's clock tick).
pub const RACY: i64 = 2_000_000_000;

const MAGIC: &[u8; 16] = b"pare rule book\n\0";
/// Bumped whenever what is written changes.
const FORMAT: u32 = 3;
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
}

impl Meta {
    pub fn of(m: &std::fs::Metadata) -> Meta {
        Meta {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
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
    /// Where the texts start in the file.
    texts: u64,
    entries: Vec<Entry>,
    /// Entry by path, made when the files listed are not in the snapshot's order.
    by_path: Option<FxHashMap<Box<[u8]>, usize>>,
    /// The entry the next file listed is expected to be.
    next: usize,
}

struct Entry {
    path: Box<[u8]>,
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
    taken: bool,
}

/// How a file was taken from a snapshot.
pub enum Taken {
    /// Its metadata vouched for it.
    Unchanged(RuleFile),
    /// Its text was read and matched the snapshot's (a racy entry).
    Verified(RuleFile),
}

impl Snapshot {
    /// Reads the snapshot at `path` for this book, or says why it cannot be used
    /// (`None`: there is none). Only the part describing the files is read and checked
    /// now; each file's text is read when its rules are first needed, and checked
    /// against its own hash then.
    pub fn read(path: &Path, dirs: &[PathBuf], max_size: u64) -> Result<Snapshot, Option<String>> {
        use std::io::Read;
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
            Err(e) => return Err(Some(format!("cannot read it: {e}"))),
        };
        let bad = |why: &str| Err(Some(why.to_string()));
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
        let size = file.metadata().map_or(0, |m| m.len());
        if size != HEAD as u64 + len + texts_len {
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
        let Some(entries) = read_entries(&mut r, texts_len) else {
            return bad("damaged");
        };
        Ok(Snapshot {
            file: Arc::new(file),
            texts: HEAD as u64 + len,
            entries,
            by_path: None,
            next: 0,
        })
    }

    fn find(&mut self, path: &[u8]) -> Option<usize> {
        if self
            .entries
            .get(self.next)
            .is_some_and(|e| &*e.path == path)
        {
            self.next += 1;
            return Some(self.next - 1);
        }
        let map = self.by_path.get_or_insert_with(|| {
            self.entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.path.clone(), i))
                .collect()
        });
        let &i = map.get(path)?;
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
    pub fn take(&mut self, path: &Path, meta: &Meta, checked_ns: i64, max: u64) -> Option<Taken> {
        let i = self.find(path.as_os_str().as_bytes())?;
        let texts = self.texts;
        let file = self.file.clone();
        let e = &mut self.entries[i];
        if e.taken {
            return None;
        }
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
        e.taken = true;
        let file = RuleFile {
            path: Arc::from(path),
            domains: std::mem::take(&mut e.domains),
            except_domains: std::mem::take(&mut e.except_domains),
            subdomains: e.subdomains,
            generic: e.generic,
            names: std::mem::take(&mut e.names),
            disable: std::mem::take(&mut e.disable),
            rule_count: e.rule_count,
            ids: std::mem::take(&mut e.ids),
            source: Source::Snapshot {
                file,
                offset: texts + e.text.0,
                len: e.text.1,
                hash: stamp.hash,
            },
            parsed: OnceLock::new(),
            stamp: Some(Box::new(stamp)),
        };
        Some(if racy {
            Taken::Verified(file)
        } else {
            Taken::Unchanged(file)
        })
    }
}

fn read_entries(r: &mut Reader<'_>, texts_len: u64) -> Option<Vec<Entry>> {
    let n = r.u32()? as usize;
    let mut entries = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let path = Box::from(&r.b[r.bytes_range()?]);
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
        let domains = r.strings()?;
        let except_domains = r.strings()?;
        let names = r.strings()?;
        let disable = r.strings()?;
        let rule_count = r.u32()?;
        let n_ids = r.u32()? as usize;
        let mut ids = Vec::with_capacity(n_ids.min(1 << 16));
        for _ in 0..n_ids {
            let id = r.bytes_range()?;
            let id = std::str::from_utf8(&r.b[id]).ok()?;
            ids.push((Box::from(id), r.u32()?));
        }
        let text = (r.u64()?, r.u32()?);
        if text.0.checked_add(u64::from(text.1))? > texts_len {
            return None;
        }
        entries.push(Entry {
            path,
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
            taken: false,
        });
    }
    (r.i == r.b.len()).then_some(entries)
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
    let stamped: Vec<(&RuleFile, &Stamp)> = files
        .iter()
        .filter_map(|f| f.stamp.as_deref().map(|s| (f, s)))
        .collect();
    w.u32(stamped.len() as u32);
    let mut texts: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(stamped.len());
    let mut at = 0u64;
    for (f, s) in stamped {
        let Some(text) = f.text() else {
            return Err(std::io::Error::other(format!(
                "the text of {} could not be read back",
                f.path.display()
            )));
        };
        w.bytes(f.path.as_os_str().as_bytes());
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
        w.u32(text.len() as u32);
        at += text.len() as u64;
        texts.push(text);
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
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let done = (|| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp)?);
        out.write_all(&head)?;
        out.write_all(&w.0)?;
        for t in &texts {
            out.write_all(t.as_bytes())?;
        }
        out.into_inner().map_err(|e| e.into_error())?;
        std::fs::rename(&tmp, path)
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
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
