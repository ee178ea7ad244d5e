//! A content-addressed store of compiled translation units, so that a
//! generation runs clang and llvm-objdump only for what changed.
//!
//! An entry's key is the SHA-256 of everything that decides the object and
//! its disassembly: the C source, clang's full argument list (target triple
//! included), the exact `--version` output of clang and of llvm-objdump, and
//! the entry format version. An entry holds the object file, clang's
//! warnings and llvm-objdump's listing of the object; lowering and writing
//! run afresh on every generation, so their code is not part of the key.
//!
//! Entries live in one directory (by default `target/stencil-cache` under
//! the workspace root), one file per key, named by its hex digest. A file
//! is a fixed header followed by the payload:
//!
//! ```text
//! magic          8 bytes  "STENCIL\0"
//! version        u32 LE   FORMAT_VERSION
//! key           32 bytes  the entry's key, so a renamed file is caught
//! object len     u64 LE
//! warnings len   u64 LE
//! listing len    u64 LE
//! payload sha   32 bytes  SHA-256 of the payload
//! payload                 object, warnings (UTF-8), listing (UTF-8)
//! ```
//!
//! A file that fails any check (not a regular file, larger than
//! [`MAX_ENTRY_LEN`], short, wrong magic, version or key, lengths that do
//! not add up to the file, digest mismatch, text that is not UTF-8) is
//! rejected with the reason and rebuilt, never used; an entry path that is
//! a FIFO or a device is never read from, so it cannot block a generation.
//! Entries are written to a temporary file `.entry-PID-*` in the same
//! directory and renamed into place, so a reader sees either a whole entry
//! or none, even with several generations running at once; the temporary
//! files of processes that died mid-write are removed by
//! [`Cache::remove_leftovers`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Where the cache lives, relative to the workspace root.
pub const DEFAULT_DIR: &str = "target/stencil-cache";

/// The entry format; part of every key, so a new format never reads an old
/// entry.
pub const FORMAT_VERSION: u32 = 1;

/// The largest entry file read: far above any object and listing of one
/// stencil, so a larger file is not an entry.
pub const MAX_ENTRY_LEN: u64 = 64 << 20;

/// The prefix of an entry being written; the writer's process id follows.
const TEMP_PREFIX: &str = ".entry-";

/// A temporary file without a process id in its name (as older versions
/// wrote them) is left over once it is this old: writing an entry takes
/// milliseconds.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

const MAGIC: &[u8; 8] = b"STENCIL\0";
const DIGEST_LEN: usize = 32;
/// Magic, version, key, three lengths, payload digest.
const HEADER_LEN: usize = 8 + 4 + DIGEST_LEN + 3 * 8 + DIGEST_LEN;

/// The content address of one translation unit built for one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key([u8; DIGEST_LEN]);

impl Key {
    /// The key of a unit; see [`KeyInputs`].
    pub fn of(inputs: &KeyInputs<'_>) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(b"stencil-cache key\0");
        hasher.update(FORMAT_VERSION.to_le_bytes());
        // Every field is length-prefixed, so no two different inputs hash
        // the same bytes (`["-a b"]` is not `["-a", "b"]`).
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(inputs.source.as_bytes());
        field(&(inputs.clang_args.len() as u64).to_le_bytes());
        for arg in inputs.clang_args {
            field(arg.as_bytes());
        }
        field(inputs.clang_version.as_bytes());
        field(inputs.objdump_version.as_bytes());
        Key(hasher.finalize().into())
    }

    /// Lowercase hex, the entry's file name.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Everything that decides a unit's object file and its disassembly.
#[derive(Clone, Copy, Debug)]
pub struct KeyInputs<'a> {
    /// The C source text.
    pub source: &'a str,
    /// clang's full argument list, target triple, input and output names
    /// included.
    pub clang_args: &'a [String],
    /// What `clang --version` prints, exactly.
    pub clang_version: &'a str,
    /// What `llvm-objdump --version` prints, exactly.
    pub objdump_version: &'a str,
}

/// What the cache keeps of one translation unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The relocatable object file clang wrote.
    pub object: Vec<u8>,
    /// clang's warnings (empty if none).
    pub warnings: String,
    /// llvm-objdump's listing of the whole object, before it is cut to the
    /// stencil's code (which depends on lowering).
    pub listing: String,
}

/// The result of looking a key up.
#[derive(Debug)]
pub enum Lookup {
    Hit(Entry),
    /// No entry for the key.
    Miss,
    /// An entry exists but cannot be trusted; it must be rebuilt.
    Rejected(Rejection),
}

/// Why an entry on disk was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The file could not be read.
    Unreadable(String),
    /// The path is not a regular file: a FIFO, a directory, a device.
    NotAFile(&'static str),
    /// Larger than [`MAX_ENTRY_LEN`].
    TooLarge(u64),
    /// Shorter than the header.
    Short {
        len: usize,
    },
    BadMagic,
    OtherVersion(u32),
    /// The header names another key.
    OtherKey,
    /// The header's lengths do not add up to the file's length.
    Length {
        expected: u64,
        found: usize,
    },
    /// The payload's digest is not the header's.
    Digest,
    /// Warnings or listing are not UTF-8.
    NotText,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unreadable(error) => write!(f, "cannot read it: {error}"),
            Rejection::NotAFile(kind) => write!(f, "not a regular file but {kind}"),
            Rejection::TooLarge(len) => write!(
                f,
                "{len} bytes, larger than any entry (at most {MAX_ENTRY_LEN})"
            ),
            Rejection::Short { len } => {
                write!(f, "truncated: {len} bytes, shorter than its header")
            }
            Rejection::BadMagic => f.write_str("not a stencil cache entry (wrong magic)"),
            Rejection::OtherVersion(v) => {
                write!(
                    f,
                    "entry format {v}, but this generator reads {FORMAT_VERSION}"
                )
            }
            Rejection::OtherKey => f.write_str("its header names another key"),
            Rejection::Length { expected, found } => write!(
                f,
                "truncated or padded: its header says {expected} bytes, the file has {found}"
            ),
            Rejection::Digest => f.write_str("corrupt: the payload does not match its digest"),
            Rejection::NotText => f.write_str("corrupt: its text is not UTF-8"),
        }
    }
}

/// The bytes of the entry file for `key`.
pub fn encode(key: &Key, entry: &Entry) -> Vec<u8> {
    let parts = [
        entry.object.as_slice(),
        entry.warnings.as_bytes(),
        entry.listing.as_bytes(),
    ];
    let payload_len: usize = parts.iter().map(|p| p.len()).sum();
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload_len);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&key.0);
    for part in parts {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
    }
    bytes.extend_from_slice(&digest.finalize());
    for part in parts {
        bytes.extend_from_slice(part);
    }
    bytes
}

/// The entry in `bytes`, checked against `key`, the header and the digest.
pub fn decode(key: &Key, bytes: &[u8]) -> Result<Entry, Rejection> {
    let mut header = Reader { bytes, at: 0 };
    let (Some(magic), Some(version), Some(stored_key), Some(lens), Some(digest)) = (
        header.take(MAGIC.len()),
        header.take(4),
        header.take(DIGEST_LEN),
        header.take(3 * 8),
        header.take(DIGEST_LEN),
    ) else {
        return Err(Rejection::Short { len: bytes.len() });
    };
    if magic != MAGIC {
        return Err(Rejection::BadMagic);
    }
    let version = u32::from_le_bytes(version.try_into().unwrap_or_default());
    if version != FORMAT_VERSION {
        return Err(Rejection::OtherVersion(version));
    }
    if stored_key != key.0 {
        return Err(Rejection::OtherKey);
    }
    let lens: Vec<u64> = lens
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect();
    let expected = lens
        .iter()
        .try_fold(HEADER_LEN as u64, |sum, &len| sum.checked_add(len));
    let payload = &bytes[HEADER_LEN..];
    if expected != Some(bytes.len() as u64) {
        return Err(Rejection::Length {
            expected: expected.unwrap_or(u64::MAX),
            found: bytes.len(),
        });
    }
    if Sha256::digest(payload).as_slice() != digest {
        return Err(Rejection::Digest);
    }
    // The lengths add up to the payload, so each fits in `usize`.
    let (object, rest) = payload.split_at(lens[0] as usize);
    let (warnings, listing) = rest.split_at(lens[1] as usize);
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| Rejection::NotText);
    Ok(Entry {
        object: object.to_vec(),
        warnings: text(warnings)?,
        listing: text(listing)?,
    })
}

/// Takes fixed-size fields off the front of a byte string.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let field = self.bytes.get(self.at..self.at + len)?;
        self.at += len;
        Some(field)
    }
}

/// A cache directory.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache in `dir`, which is created when the first entry is stored.
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the entry for `key`.
    pub fn entry_path(&self, key: &Key) -> PathBuf {
        self.dir.join(key.hex())
    }

    /// The entry for `key`, if there is a sound one.
    pub fn load(&self, key: &Key) -> Lookup {
        let bytes = match read_entry_file(&self.entry_path(key)) {
            Ok(bytes) => bytes,
            Err(Unread::Missing) => return Lookup::Miss,
            Err(Unread::Rejected(rejection)) => return Lookup::Rejected(rejection),
        };
        match decode(key, &bytes) {
            Ok(entry) => Lookup::Hit(entry),
            Err(rejection) => Lookup::Rejected(rejection),
        }
    }

    /// Store `entry` under `key`, replacing any entry there at once (a
    /// FIFO or other non-directory included).
    pub fn store(&self, key: &Key, entry: &Entry) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut file = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .tempfile_in(&self.dir)?;
        file.write_all(&encode(key, entry))?;
        file.persist(self.entry_path(key))
            .map(drop)
            .map_err(|e| e.error)
    }

    /// Remove the temporary files that processes which died while storing
    /// an entry left; those of running processes stay. The paths that
    /// could not be removed, with the error.
    pub fn remove_leftovers(&self) -> Vec<(PathBuf, io::Error)> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for item in dir.flatten() {
            let name = item.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
                continue;
            };
            let writer = rest.split_once('-').and_then(|(pid, _)| pid.parse().ok());
            let left_over = match writer {
                Some(pid) => crate::writer::lock::process_is_gone(pid),
                None => item
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_TEMP_AGE),
            };
            if left_over {
                if let Err(error) = std::fs::remove_file(item.path()) {
                    if error.kind() != io::ErrorKind::NotFound {
                        errors.push((item.path(), error));
                    }
                }
            }
        }
        errors
    }
}

/// Why an entry file's bytes were not read.
enum Unread {
    Missing,
    Rejected(Rejection),
}

/// The bytes of the entry file at `path`, read only when it is a regular
/// file of at most [`MAX_ENTRY_LEN`] bytes.
fn read_entry_file(path: &Path) -> Result<Vec<u8>, Unread> {
    let unreadable = |error: io::Error| {
        if error.kind() == io::ErrorKind::NotFound {
            Unread::Missing
        } else {
            Unread::Rejected(Rejection::Unreadable(error.to_string()))
        }
    };
    let mut file = open_without_blocking(path).map_err(unreadable)?;
    // The type of what was opened, not of what the path named a moment
    // before: the path may have been replaced in between.
    let metadata = file.metadata().map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(Unread::Rejected(Rejection::NotAFile(file_kind(&metadata))));
    }
    if metadata.len() > MAX_ENTRY_LEN {
        return Err(Unread::Rejected(Rejection::TooLarge(metadata.len())));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // The file may grow after the check; read no more than the limit.
    (&mut file)
        .take(MAX_ENTRY_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_ENTRY_LEN {
        return Err(Unread::Rejected(Rejection::TooLarge(bytes.len() as u64)));
    }
    Ok(bytes)
}

/// Open `path` for reading such that a FIFO with no writer does not block
/// the open (reads of a regular file are unaffected).
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    {
        // Elsewhere only regular files and directories are to be met.
        let metadata = std::fs::metadata(path)?;
        if !metadata.is_file() {
            return Err(io::Error::other(format!(
                "not a regular file but {}",
                file_kind(&metadata)
            )));
        }
    }
    options.open(path)
}

/// What kind of file `metadata` describes, for a rejection.
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    let kind = metadata.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn key(source: &str, clang_args: &[String], clang: &str, objdump: &str) -> Key {
        Key::of(&KeyInputs {
            source,
            clang_args,
            clang_version: clang,
            objdump_version: objdump,
        })
    }

    fn entry() -> Entry {
        Entry {
            object: b"\x7fELF\x00\x01object".to_vec(),
            warnings: "warning: unused\n".to_string(),
            listing: "0000 <_JIT_ENTRY>:\n   0: c3  ret\n".to_string(),
        }
    }

    #[test]
    fn every_input_changes_the_key() {
        let a = args(&["--target=x86_64-unknown-linux-gnu", "-O3"]);
        let base = key("int x;", &a, "clang 19.1.7", "objdump 19.1.7");
        assert_eq!(base, key("int x;", &a, "clang 19.1.7", "objdump 19.1.7"));
        assert_eq!(base.hex().len(), 64);
        let others = [
            key("int y;", &a, "clang 19.1.7", "objdump 19.1.7"),
            key(
                "int x;",
                &args(&["--target=x86_64-unknown-linux-gnu"]),
                "clang 19.1.7",
                "objdump 19.1.7",
            ),
            key(
                "int x;",
                &args(&["--target=x86_64-unknown-linux-gnu -O3"]),
                "clang 19.1.7",
                "objdump 19.1.7",
            ),
            key("int x;", &a, "clang 19.1.7 (other build)", "objdump 19.1.7"),
            key("int x;", &a, "clang 19.1.7", "objdump 19.1.6"),
            // A field boundary moved: the same bytes, split differently.
            key("int x;clang 19.1.7", &a, "", "objdump 19.1.7"),
        ];
        for other in others {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let k = key("int x;", &[], "c", "o");
        let bytes = encode(&k, &entry());
        assert_eq!(decode(&k, &bytes), Ok(entry()));
        let empty = Entry {
            object: Vec::new(),
            warnings: String::new(),
            listing: String::new(),
        };
        assert_eq!(decode(&k, &encode(&k, &empty)), Ok(empty));
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_rejected() {
        let k = key("int x;", &[], "c", "o");
        let bytes = encode(&k, &entry());
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            assert!(
                decode(&k, &flipped).is_err(),
                "byte {i} flipped was accepted"
            );
        }
        for len in 0..bytes.len() {
            assert!(decode(&k, &bytes[..len]).is_err(), "{len} bytes accepted");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(matches!(decode(&k, &padded), Err(Rejection::Length { .. })));
        assert_eq!(decode(&k, &bytes[..10]), Err(Rejection::Short { len: 10 }));
        let other = key("int y;", &[], "c", "o");
        assert_eq!(decode(&other, &bytes), Err(Rejection::OtherKey));
    }

    #[test]
    fn lengths_that_overflow_are_rejected() {
        let k = key("", &[], "c", "o");
        let mut bytes = encode(&k, &entry());
        let lens = 8 + 4 + DIGEST_LEN;
        bytes[lens..lens + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode(&k, &bytes), Err(Rejection::Length { .. })));
    }

    #[test]
    fn store_replaces_and_load_tells_miss_hit_and_rejection_apart() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("nested/cache"));
        let k = key("int x;", &[], "c", "o");
        assert!(matches!(cache.load(&k), Lookup::Miss));
        cache.store(&k, &entry()).unwrap();
        match cache.load(&k) {
            Lookup::Hit(found) => assert_eq!(found, entry()),
            other => panic!("{other:?}"),
        }
        let mut changed = entry();
        changed.listing.push_str("   1: 90  nop\n");
        cache.store(&k, &changed).unwrap();
        match cache.load(&k) {
            Lookup::Hit(found) => assert_eq!(found, changed),
            other => panic!("{other:?}"),
        }
        // Only the entry is left in the directory: no temporary file.
        let names: Vec<String> = std::fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![k.hex()]);
        std::fs::write(cache.entry_path(&k), b"STENCIL\0garbage").unwrap();
        assert!(matches!(
            cache.load(&k),
            Lookup::Rejected(Rejection::Short { .. })
        ));
    }
}
