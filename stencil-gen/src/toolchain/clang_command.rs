//! A clang given as a command line rather than found by name: `zig clang`,
//! `python3 -m ziglang clang`, or a wrapper script, from `--clang CMD` or
//! `STENCIL_CLANG_<MAJOR>`. Its version is what the command answers to
//! `--version`; every compile runs the command with clang's arguments
//! after its own.
//!
//! zig's clang does not find its own headers, so a command that runs zig
//! (the program `zig` given `clang`, or Python's `-m ziglang clang`) gets
//! `-resource-dir` with zig's `lib` directory, unless it sets one. Any
//! command must then find `stdint.h` in its resource directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::search::in_path;
use super::wheels;
use super::{
    command_line, parse_version, run, version_output, Tool, ToolPath, ToolchainError, Version,
};

/// The prefix of the environment variable that gives the clang command of
/// one LLVM major version: `STENCIL_CLANG_19`.
pub const CLANG_ENV_PREFIX: &str = "STENCIL_CLANG_";

/// An explicit clang command and where it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClangSpec {
    /// The command as given, e.g. `zig clang`.
    pub command: String,
    /// Where it was given: `--clang`, or the environment variable.
    pub from: String,
}

impl ClangSpec {
    /// A command given on the command line.
    pub fn flag(command: &str) -> ClangSpec {
        ClangSpec {
            command: command.to_string(),
            from: "--clang".to_string(),
        }
    }

    /// The name of the environment variable of LLVM `major`'s clang.
    pub fn env_var(major: u32) -> String {
        format!("{CLANG_ENV_PREFIX}{major}")
    }

    /// The command in `STENCIL_CLANG_<major>`, if set.
    pub fn from_env(major: u32) -> Option<ClangSpec> {
        let name = ClangSpec::env_var(major);
        let value = std::env::var_os(&name).filter(|v| !v.is_empty())?;
        Some(ClangSpec {
            command: value.to_string_lossy().into_owned(),
            from: name,
        })
    }

    fn error(&self, problem: impl Into<String>) -> ToolchainError {
        ToolchainError::ClangCommand {
            command: self.command.clone(),
            from: self.from.clone(),
            problem: problem.into(),
        }
    }
}

/// The clang of `spec`, which must be LLVM `major`.
pub(super) fn find(
    spec: &ClangSpec,
    major: u32,
    path_var: Option<&OsString>,
    timeout: Duration,
) -> Result<ToolPath, ToolchainError> {
    let words = split_words(&spec.command).map_err(|problem| spec.error(problem))?;
    let Some((program, args)) = words.split_first() else {
        return Err(spec.error(
            "is empty; give the program and its arguments, e.g. `zig clang` or `python3 -m ziglang clang`",
        ));
    };
    let path = in_path(program, path_var).ok_or_else(|| {
        spec.error(if Path::new(program).components().count() > 1 {
            format!("names {program}, which is not a file")
        } else {
            format!("names `{program}`, which is not in PATH; give its path")
        })
    })?;
    let path = std::path::absolute(&path).unwrap_or(path);
    let mut args = args.to_vec();
    if let Some((at, lib)) = zig_lib_dir(spec, &path, &args, timeout)? {
        if !args.iter().any(|a| a.starts_with("-resource-dir")) {
            args.splice(
                at..at,
                [
                    "-resource-dir".to_string(),
                    lib.to_string_lossy().into_owned(),
                ],
            );
        }
    }
    let version_text = version_output(Tool::Clang, &path, &args, timeout)?;
    let wrong = |found: String| ToolchainError::WrongClangCommand {
        command: spec.command.clone(),
        from: spec.from.clone(),
        found,
        major,
        wheel_dir: wheels::wheel_dir(),
    };
    let version = match parse_version(&version_text) {
        Some(version) if version.major == major => version,
        Some(version) => return Err(wrong(version.to_string())),
        None => return Err(wrong("of an unknown version".to_string())),
    };
    check_headers(&path, &args, timeout)?;
    Ok(ToolPath {
        tool: Tool::Clang,
        path,
        args,
        version,
        version_text,
    })
}

/// The clang of the wheel whose `zig` is at `zig`, with what its
/// `--version` prints; its version is parsed by the caller.
pub(super) fn wheel(zig: &Path, timeout: Duration) -> Result<ToolPath, ToolchainError> {
    let lib = wheels::lib_dir_of(zig);
    let args = vec![
        "clang".to_string(),
        "-resource-dir".to_string(),
        lib.to_string_lossy().into_owned(),
    ];
    if !lib.join("include").join("stdint.h").is_file() {
        return Err(ToolchainError::NoBuiltinHeaders {
            command: command_line(zig, &args),
            resource_dir: lib,
        });
    }
    let version_text = version_output(Tool::Clang, zig, &args, timeout)?;
    Ok(ToolPath {
        tool: Tool::Clang,
        path: zig.to_path_buf(),
        args,
        version: Version::default(),
        version_text,
    })
}

/// Where a command that runs zig's clang has to get `-resource-dir`
/// inserted (after `clang`), and zig's `lib` directory; `None` for any
/// other command.
fn zig_lib_dir(
    spec: &ClangSpec,
    program: &Path,
    args: &[String],
    timeout: Duration,
) -> Result<Option<(usize, PathBuf)>, ToolchainError> {
    let stem = program.file_stem().and_then(|s| s.to_str());
    if stem == Some("zig") && args.first().map(String::as_str) == Some("clang") {
        return Ok(Some((1, wheels::lib_dir_of(program))));
    }
    // Python running the wheel's module, perhaps behind `env VAR=...`.
    let Some(m) = args
        .windows(3)
        .position(|w| w == ["-m", "ziglang", "clang"])
    else {
        return Ok(None);
    };
    let dir = ziglang_dir(spec, program, &args[..m], timeout)?;
    Ok(Some((m + 3, dir.join("lib"))))
}

/// The directory of the `ziglang` module, as the Python that `program
/// args` runs imports it: the `zig` executable and its `lib` are there.
fn ziglang_dir(
    spec: &ClangSpec,
    program: &Path,
    args: &[String],
    timeout: Duration,
) -> Result<PathBuf, ToolchainError> {
    let mut command = Command::new(program);
    command.args(args).args([
        "-c",
        "import ziglang, os; print(os.path.dirname(ziglang.__file__))",
    ]);
    let output = run(
        Tool::Clang,
        program,
        &mut command,
        None,
        timeout,
        "locating the ziglang module",
    )?;
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || dir.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr
            .trim()
            .lines()
            .last()
            .unwrap_or("no answer")
            .to_string();
        return Err(spec.error(format!(
            "runs the ziglang module, but its Python cannot import it ({why}); \
             install it with that Python: `pip install ziglang==VERSION`"
        )));
    }
    Ok(PathBuf::from(dir))
}

/// An error unless the clang of `program args` finds `stdint.h` in its
/// resource directory.
fn check_headers(program: &Path, args: &[String], timeout: Duration) -> Result<(), ToolchainError> {
    let mut command = Command::new(program);
    command.args(args).arg("-print-resource-dir");
    let output = run(
        Tool::Clang,
        program,
        &mut command,
        None,
        timeout,
        "answering `-print-resource-dir`",
    )?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if output.status.success() && dir.join("include").join("stdint.h").is_file() {
        return Ok(());
    }
    Err(ToolchainError::NoBuiltinHeaders {
        command: command_line(program, args),
        resource_dir: dir,
    })
}

/// The words of a command line: split at white space, with `'...'` and
/// `"..."` grouping (backslashes are kept as they are, for Windows paths).
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_with(String::new).push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            None if c.is_whitespace() => words.extend(word.take()),
            None => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("has an unclosed {q}"));
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_white_space_and_quotes_group() {
        let words = |t: &str| split_words(t).unwrap();
        assert_eq!(words("zig clang"), ["zig", "clang"]);
        assert_eq!(
            words("  python3  -m ziglang\tclang "),
            ["python3", "-m", "ziglang", "clang"]
        );
        assert_eq!(
            words("'/opt/my tools/zig' clang \"-resource-dir=a b\""),
            ["/opt/my tools/zig", "clang", "-resource-dir=a b"]
        );
        assert_eq!(words(r"C:\zig\zig.exe clang"), [r"C:\zig\zig.exe", "clang"]);
        assert_eq!(words("a '' b"), ["a", "", "b"]);
        assert!(words("").is_empty());
        assert_eq!(split_words("zig 'clang").unwrap_err(), "has an unclosed '");
    }
}
