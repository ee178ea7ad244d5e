//! Reading an object file from disk: regular files only, up to a size
//! limit, so that a device (`/dev/zero`) cannot fill memory and a FIFO
//! cannot block the reader forever.

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest object file read: far above any stencil's object, and the
/// most the object reader copies out of one anyway.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Why an object file could not be read from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileError {
    /// A directory, FIFO, device or socket; `kind` names it.
    NotRegular { path: PathBuf, kind: &'static str },
    /// Larger than [`MAX_FILE_SIZE`].
    TooLarge { path: PathBuf, size: u64 },
    /// The operating system's error, e.g. no such file.
    Io { path: PathBuf, message: String },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotRegular { path, kind } => write!(
                f,
                "{} is {kind}, not a regular file: pass a relocatable object file",
                path.display()
            ),
            FileError::TooLarge { path, size } => write!(
                f,
                "{} is at least {size} bytes, more than the {} MiB ({MAX_FILE_SIZE} bytes) an object file may have",
                path.display(),
                MAX_FILE_SIZE >> 20
            ),
            FileError::Io { path, message } => {
                write!(f, "cannot read {}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for FileError {}

/// Read the object file at `path`. Its type and size are checked through
/// its metadata before it is opened, so a FIFO is never opened; the read
/// itself stops past the limit in case the file changed in between.
pub fn read_file(path: &Path) -> Result<Vec<u8>, FileError> {
    let io = |e: std::io::Error| FileError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let metadata = fs::metadata(path).map_err(io)?;
    check_metadata(path, &metadata)?;
    let file = fs::File::open(path).map_err(io)?;
    check_metadata(path, &file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn check_metadata(path: &Path, metadata: &fs::Metadata) -> Result<(), FileError> {
    let kind = metadata.file_type();
    if !kind.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_name(&kind),
        });
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
        });
    }
    Ok(())
}

/// What a file that is not a regular file is, for messages.
fn kind_name(kind: &fs::FileType) -> &'static str {
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}
