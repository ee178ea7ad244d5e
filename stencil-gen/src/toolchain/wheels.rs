//! clang from PyPI: the `ziglang` wheels carry a whole clang driver, run
//! as `zig clang`, for any OS with Python. Each wheel is installed into a
//! directory of its own under the wheel directory (they cannot share one
//! `site-packages`), where the search finds it by the LLVM major version:
//!
//! ```text
//! pip install --target ~/.cache/stencil-llvm/zig-0.15.1 ziglang==0.15.1   # clang 20.1.2
//! ```
//!
//! zig's clang looks for its own headers (`stdint.h`) beside the wrong
//! directory, so it is run with `-resource-dir` set to the wheel's `lib`
//! directory, which sits beside the `zig` executable.

use std::path::{Path, PathBuf};

/// Environment variable naming the wheel directory.
pub const WHEEL_DIR_ENV: &str = "STENCIL_ZIG_DIR";

/// One `ziglang` release and the clang it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZigWheel {
    /// The LLVM major version of its clang.
    pub major: u32,
    /// The `ziglang` version on PyPI.
    pub zig: &'static str,
    /// The full version its `zig clang --version` reports.
    pub clang: &'static str,
}

/// The wheels the search knows, by LLVM major version.
pub const ZIG_WHEELS: &[ZigWheel] = &[
    ZigWheel {
        major: 19,
        zig: "0.14.1",
        clang: "19.1.7",
    },
    ZigWheel {
        major: 20,
        zig: "0.15.1",
        clang: "20.1.2",
    },
    ZigWheel {
        major: 21,
        zig: "0.16.0",
        clang: "21.1.0",
    },
    ZigWheel {
        major: 22,
        zig: "0.17.0",
        clang: "22.1.8",
    },
];

/// The wheel whose clang is LLVM `major`, if one is known.
pub fn wheel_for(major: u32) -> Option<&'static ZigWheel> {
    ZIG_WHEELS.iter().find(|w| w.major == major)
}

impl ZigWheel {
    /// The directory this wheel is installed into under `wheel_dir`.
    pub fn install_dir(&self, wheel_dir: &Path) -> PathBuf {
        wheel_dir.join(format!("zig-{}", self.zig))
    }

    /// The `zig` executable of the wheel installed under `wheel_dir`.
    pub fn zig(&self, wheel_dir: &Path) -> PathBuf {
        self.install_dir(wheel_dir)
            .join("ziglang")
            .join(format!("zig{}", std::env::consts::EXE_SUFFIX))
    }

    /// The command that installs the wheel under `wheel_dir`.
    pub fn pip_command(&self, wheel_dir: &Path) -> String {
        format!(
            "pip install --target {} ziglang=={}",
            self.install_dir(wheel_dir).display(),
            self.zig
        )
    }
}

/// The wheel directory: `STENCIL_ZIG_DIR`, else `~/.cache/stencil-llvm`.
/// `None` when neither it nor a home directory is known.
pub fn wheel_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(WHEEL_DIR_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|v| !v.is_empty())?;
    Some(PathBuf::from(home).join(".cache").join("stencil-llvm"))
}

/// The directory of zig's own files (`lib/include/stdint.h` among them)
/// for the `zig` executable at `zig`: `lib` beside it, as the wheels and
/// zig's release archives lay it out.
pub fn lib_dir_of(zig: &Path) -> PathBuf {
    let real = std::fs::canonicalize(zig).unwrap_or_else(|_| zig.to_path_buf());
    real.parent().unwrap_or(Path::new("")).join("lib")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_are_found_by_major_and_installed_one_per_directory() {
        let wheel = wheel_for(20).unwrap();
        assert_eq!((wheel.zig, wheel.clang), ("0.15.1", "20.1.2"));
        assert!(wheel_for(16).is_none());
        let dir = Path::new("/w");
        assert_eq!(
            wheel.zig(dir),
            Path::new("/w/zig-0.15.1/ziglang").join(format!("zig{}", std::env::consts::EXE_SUFFIX))
        );
        assert_eq!(
            wheel.pip_command(dir),
            format!(
                "pip install --target {} ziglang==0.15.1",
                Path::new("/w/zig-0.15.1").display()
            )
        );
        // Each clang version is the major's.
        for wheel in ZIG_WHEELS {
            assert!(wheel.clang.starts_with(&format!("{}.", wheel.major)));
        }
    }
}
