//! Where the tools of one LLVM major version are looked for, and the
//! look-up itself (the order is in the documentation of
//! [`crate::toolchain`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::clang_command::{self, ClangSpec};
use super::wheels;
use super::{
    exe, parse_timeout, parse_version, version_output, Tool, ToolPath, ToolchainError, Version,
    DEFAULT_TIMEOUT, PINNED_LLVM_MAJOR, TIMEOUT_ENV,
};

/// Environment variable naming the directory of the LLVM tools.
pub const BIN_DIR_ENV: &str = "STENCIL_LLVM_BIN_DIR";

/// Where to look for the tools.
#[derive(Clone, Debug)]
pub struct Search {
    /// The LLVM major version to accept.
    pub major: u32,
    /// An explicit clang command: when set, the only clang considered.
    pub clang: Option<ClangSpec>,
    /// An explicit bin directory: when set, the only place searched for
    /// the tools `clang` does not give.
    pub bin_dir: Option<PathBuf>,
    /// The `PATH` to search.
    pub path_var: Option<OsString>,
    /// Fixed installation directories searched after `PATH`; `{major}` in
    /// a path stands for the major version searched for.
    pub install_dirs: Vec<PathBuf>,
    /// Where `ziglang` wheels are installed, one directory per release
    /// (see [`wheels`]); searched for clang after the installation
    /// directories.
    pub wheel_dir: Option<PathBuf>,
    /// How long one tool run may take; `None` means `STENCIL_TOOL_TIMEOUT`,
    /// else [`DEFAULT_TIMEOUT`].
    pub timeout: Option<Duration>,
}

impl Search {
    /// A search of no place at all, to be filled in.
    pub fn nowhere(major: u32) -> Search {
        Search {
            major,
            clang: None,
            bin_dir: None,
            path_var: None,
            install_dirs: Vec::new(),
            wheel_dir: None,
            timeout: None,
        }
    }

    /// The standard search for LLVM `major`: the clang command in
    /// `STENCIL_CLANG_<major>`; `bin_dir`, else `STENCIL_LLVM_BIN_DIR`;
    /// else `PATH`, the usual install places and the wheel directory.
    pub fn standard(bin_dir: Option<PathBuf>, major: u32) -> Search {
        let bin_dir = bin_dir.or_else(|| {
            std::env::var_os(BIN_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        Search {
            major,
            clang: ClangSpec::from_env(major),
            bin_dir,
            path_var: std::env::var_os("PATH"),
            install_dirs: vec![
                PathBuf::from("/usr/lib/llvm-{major}/bin"),
                PathBuf::from("/opt/homebrew/opt/llvm@{major}/bin"),
                PathBuf::from("/usr/local/opt/llvm@{major}/bin"),
            ],
            wheel_dir: wheels::wheel_dir(),
            timeout: None,
        }
    }

    /// The same places, for LLVM `major`, and no clang command (it is of
    /// one version only).
    fn for_major(&self, major: u32) -> Search {
        Search {
            major,
            clang: None,
            ..self.clone()
        }
    }

    /// The timeout of every tool run: the explicit one, else
    /// `STENCIL_TOOL_TIMEOUT`, else [`DEFAULT_TIMEOUT`].
    pub fn timeout(&self) -> Result<Duration, ToolchainError> {
        if let Some(timeout) = self.timeout {
            return Ok(timeout);
        }
        match std::env::var_os(TIMEOUT_ENV) {
            Some(value) if !value.is_empty() => {
                parse_timeout(&value.to_string_lossy()).ok_or_else(|| ToolchainError::BadTimeout {
                    value: value.to_string_lossy().into_owned(),
                })
            }
            _ => Ok(DEFAULT_TIMEOUT),
        }
    }

    /// Candidates for `tool`, in search order, with a description of
    /// each place for error messages.
    fn candidates(&self, tool: Tool) -> (Vec<Candidate>, Vec<String>) {
        let versioned = exe(&format!("{}-{}", tool.name(), self.major));
        let plain = exe(tool.name());
        let mut candidates = Vec::new();
        let mut places = Vec::new();
        if let Some(dir) = &self.bin_dir {
            candidates.push(Candidate::Tool(dir.join(&versioned)));
            candidates.push(Candidate::Tool(dir.join(&plain)));
            places.push(format!("{versioned}, {plain} in {}", dir.display()));
            return (candidates, places);
        }
        let path_dirs: Vec<PathBuf> = self
            .path_var
            .as_deref()
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default();
        candidates.extend(
            path_dirs
                .iter()
                .map(|d| Candidate::Tool(d.join(&versioned))),
        );
        places.push(format!("{versioned} in PATH"));
        for dir in &self.install_dirs {
            let dir = PathBuf::from(
                dir.to_string_lossy()
                    .replace("{major}", &self.major.to_string()),
            );
            candidates.push(Candidate::Tool(dir.join(&plain)));
            places.push(format!("{plain} in {}", dir.display()));
        }
        // The wheel's clang comes before an unversioned `clang` in PATH,
        // which is more often some other version.
        let wheel = wheels::wheel_for(self.major).zip(self.wheel_dir.as_deref());
        if let (Tool::Clang, Some((wheel, wheel_dir))) = (tool, wheel) {
            let zig = wheel.zig(wheel_dir);
            places.push(format!(
                "zig clang in {}",
                zig.parent().unwrap_or(wheel_dir).display()
            ));
            candidates.push(Candidate::Wheel(zig));
        }
        candidates.extend(path_dirs.iter().map(|d| Candidate::Tool(d.join(&plain))));
        places.push(format!("{plain} in PATH"));
        (candidates, places)
    }
}

/// A place a tool may be.
enum Candidate {
    /// The tool itself.
    Tool(PathBuf),
    /// The `zig` of a wheel, whose clang needs arguments.
    Wheel(PathBuf),
}

/// Find `tool` along `search`: clang of its major version; llvm-objdump
/// and llvm-readelf of its major version, else of the pinned one, whose
/// tools read the objects of other versions.
pub(super) fn find(
    search: &Search,
    tool: Tool,
    timeout: Duration,
) -> Result<ToolPath, ToolchainError> {
    if tool == Tool::Clang {
        if let Some(spec) = &search.clang {
            return clang_command::find(spec, search.major, search.path_var.as_ref(), timeout);
        }
        return find_tool(search, tool, timeout);
    }
    let own = match find_tool(search, tool, timeout) {
        Ok(found) => return Ok(found),
        Err(own) if search.major == PINNED_LLVM_MAJOR => return Err(own),
        Err(own @ (ToolchainError::Missing { .. } | ToolchainError::WrongVersion { .. })) => own,
        // A tool that could not be run, or hung, is not passed over.
        Err(own) => return Err(own),
    };
    find_tool(&search.for_major(PINNED_LLVM_MAJOR), tool, timeout).map_err(|pinned| {
        match (own, pinned) {
            // Neither found: every place searched, in order.
            (
                ToolchainError::Missing {
                    tool,
                    major,
                    mut looked_in,
                    wheel_dir,
                },
                ToolchainError::Missing {
                    looked_in: more, ..
                },
            ) => {
                for place in more {
                    if !looked_in.contains(&place) {
                        looked_in.push(place);
                    }
                }
                ToolchainError::Missing {
                    tool,
                    major,
                    looked_in,
                    wheel_dir,
                }
            }
            (own, _) => own,
        }
    })
}

/// The first candidate of the wanted version; else an error about the
/// first candidate that exists, or about none existing.
fn find_tool(search: &Search, tool: Tool, timeout: Duration) -> Result<ToolPath, ToolchainError> {
    let (candidates, places) = search.candidates(tool);
    let mut wrong: Option<(PathBuf, String)> = None;
    for candidate in candidates {
        let found = match candidate {
            Candidate::Tool(path) if path.is_file() => plain_tool(tool, path, timeout)?,
            Candidate::Wheel(zig) if zig.is_file() => clang_command::wheel(&zig, timeout)?,
            _ => continue,
        };
        match parse_version(&found.version_text) {
            Some(version) if version.major == search.major => {
                return Ok(ToolPath { version, ..found })
            }
            Some(version) => {
                wrong.get_or_insert((found.path, version.to_string()));
            }
            None => {
                wrong.get_or_insert((found.path, "of an unknown version".to_string()));
            }
        }
    }
    match wrong {
        Some((path, found)) => Err(ToolchainError::WrongVersion {
            tool,
            path,
            found,
            major: search.major,
            wheel_dir: search.wheel_dir.clone(),
        }),
        None => Err(ToolchainError::Missing {
            tool,
            major: search.major,
            looked_in: places,
            wheel_dir: search.wheel_dir.clone(),
        }),
    }
}

/// A tool at `path` that takes no leading arguments, with what its
/// `--version` prints; its version is parsed by the caller.
fn plain_tool(tool: Tool, path: PathBuf, timeout: Duration) -> Result<ToolPath, ToolchainError> {
    let version_text = version_output(tool, &path, &[], timeout)?;
    Ok(ToolPath {
        tool,
        path,
        args: Vec::new(),
        version: Version::default(),
        version_text,
    })
}

/// Where `program` is: itself when it names a directory part, else the
/// first directory of `path_var` that holds it.
pub(super) fn in_path(program: &str, path_var: Option<&OsString>) -> Option<PathBuf> {
    let given = Path::new(program);
    if given.components().count() > 1 {
        return given.is_file().then(|| given.to_path_buf());
    }
    let name = if Path::new(program).extension().is_some() {
        program.to_string()
    } else {
        exe(program)
    };
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
}
