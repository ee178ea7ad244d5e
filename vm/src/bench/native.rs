//! Native baselines: each benchmark program's algorithm written in C
//! (`vm/programs/NAME.c`, beside `NAME.uasm`), with the checks its uops
//! make, built by clang 19 at `-O0` and `-O2` and run as a process that
//! times its own kernel (see `vm/programs/native.h`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::program::{Program, ValueKind};

/// The LLVM major version of the clang that builds the baselines: the one
/// that builds the stencils.
pub const CLANG_MAJOR: u32 = 19;

/// The environment variable naming the LLVM bin directory, as for
/// generation.
const BIN_DIR_ENV: &str = "STENCIL_LLVM_BIN_DIR";

/// clang flags of every baseline besides the optimization level: no fused
/// multiply-add (the VM rounds each operation), and warnings are errors.
const FLAGS: &[&str] = &[
    "-std=c11",
    "-ffp-contract=off",
    "-Wall",
    "-Wextra",
    "-Werror",
];

/// An optimization level a baseline is built at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptLevel {
    O0,
    O2,
}

impl OptLevel {
    pub const ALL: [OptLevel; 2] = [OptLevel::O0, OptLevel::O2];

    /// The clang flag, `-O0` or `-O2`.
    pub fn flag(self) -> &'static str {
        match self {
            OptLevel::O0 => "-O0",
            OptLevel::O2 => "-O2",
        }
    }
}

/// A clang of [`CLANG_MAJOR`].
#[derive(Clone, Debug)]
pub struct Clang {
    pub path: PathBuf,
    /// As `--version` reports it, e.g. `19.1.7`.
    pub version: String,
}

impl Clang {
    /// `explicit` if given; else the first clang 19 of:
    /// `$STENCIL_LLVM_BIN_DIR/clang-19` or `clang` (only there, when the
    /// variable is set); `clang-19` in `PATH`; `clang` in
    /// `/usr/lib/llvm-19/bin` (Debian, Ubuntu) or Homebrew's `llvm@19`;
    /// `clang` in `PATH`.
    pub fn find(explicit: Option<&Path>) -> Result<Clang, String> {
        if let Some(path) = explicit {
            return match probe(path) {
                Some(version) => Clang::of_version(path.to_path_buf(), version),
                None => Err(format!(
                    "cannot run `{} --version`; give the path of clang {CLANG_MAJOR}",
                    path.display()
                )),
            };
        }
        let (candidates, places) = candidates(std::env::var_os(BIN_DIR_ENV));
        let mut wrong = None;
        for path in candidates {
            if let Some(version) = probe(&path) {
                match Clang::of_version(path, version) {
                    Ok(clang) => return Ok(clang),
                    Err(e) => {
                        wrong.get_or_insert(e);
                    }
                }
            }
        }
        Err(wrong.unwrap_or_else(|| {
            format!(
                "clang {CLANG_MAJOR} not found; looked for {}; install it \
                 (Debian/Ubuntu: `apt-get install clang-{CLANG_MAJOR}`)",
                places.join(", ")
            )
        }))
    }

    fn of_version(path: PathBuf, version: String) -> Result<Clang, String> {
        if version.split('.').next() == Some(&CLANG_MAJOR.to_string()) {
            Ok(Clang { path, version })
        } else {
            Err(format!(
                "clang at {} is version {version}, but the native baselines are built with \
                 clang {CLANG_MAJOR}",
                path.display()
            ))
        }
    }
}

/// Where to look, in order, and how to name those places in an error.
fn candidates(bin_dir: Option<OsString>) -> (Vec<PathBuf>, Vec<String>) {
    let versioned = format!("clang-{CLANG_MAJOR}");
    if let Some(dir) = bin_dir.filter(|d| !d.is_empty()).map(PathBuf::from) {
        let place = format!("{versioned}, clang in {} (${BIN_DIR_ENV})", dir.display());
        return (vec![dir.join(&versioned), dir.join("clang")], vec![place]);
    }
    let dirs = [
        format!("/usr/lib/llvm-{CLANG_MAJOR}/bin"),
        format!("/opt/homebrew/opt/llvm@{CLANG_MAJOR}/bin"),
        format!("/usr/local/opt/llvm@{CLANG_MAJOR}/bin"),
    ];
    let mut paths = vec![PathBuf::from(&versioned)];
    let mut places = vec![format!("{versioned} in PATH")];
    for dir in &dirs {
        paths.push(Path::new(dir).join("clang"));
        places.push(format!("clang in {dir}"));
    }
    paths.push(PathBuf::from("clang"));
    places.push("clang in PATH".to_string());
    (paths, places)
}

/// The version `path --version` reports, if it runs and names one.
fn probe(path: &Path) -> Option<String> {
    let output = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let rest = &text[text.find("clang version ")? + "clang version ".len()..];
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!version.is_empty()).then_some(version)
}

/// The C source of program `name` in `dir`.
pub fn source(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.c"))
}

/// Builds `dir/NAME.c` at `opt` into `out_dir/NAME-O0` (or `-O2`).
pub fn build(
    clang: &Clang,
    dir: &Path,
    name: &str,
    opt: OptLevel,
    out_dir: &Path,
) -> Result<PathBuf, String> {
    let source = source(dir, name);
    if !source.is_file() {
        return Err(format!(
            "{}: no native baseline for `{name}`; write its algorithm in C beside {name}.uasm",
            source.display()
        ));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let exe = out_dir.join(format!(
        "{name}{}{}",
        opt.flag(),
        std::env::consts::EXE_SUFFIX
    ));
    let output = Command::new(&clang.path)
        .args(FLAGS)
        .arg(opt.flag())
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .arg("-lm")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", clang.path.display()))?;
    if !output.status.success() {
        return Err(format!(
            "clang {} failed to build {} ({}):\n{}",
            opt.flag(),
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    Ok(exe)
}

/// The parameters `values` (bits, in `.arg` order) as a baseline reads
/// them: integers in decimal, doubles in the shortest text that reads back
/// as the same bits.
pub fn params(program: &Program, values: &[i64]) -> Vec<String> {
    program
        .args
        .iter()
        .zip(values)
        .map(|(arg, &bits)| match arg.kind {
            ValueKind::I64 => bits.to_string(),
            ValueKind::F64 => format!("{:?}", f64::from_bits(bits as u64)),
        })
        .collect()
}

/// What one run of a baseline reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeRun {
    /// The result's 64 bits.
    pub result: i64,
    /// The kernel's time, as the baseline measured it.
    pub time: Duration,
}

/// Runs the baseline `exe` with `params` and reads its report.
pub fn run(exe: &Path, params: &[String]) -> Result<NativeRun, String> {
    let shown = || format!("{} {}", exe.display(), params.join(" "));
    let output = Command::new(exe)
        .args(params)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", shown()))?;
    if !output.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            shown(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
            .ok_or_else(|| format!("`{}` printed no `{key}` line:\n{stdout}", shown()))
    };
    let result = field("result")?;
    let result = result
        .parse::<i64>()
        .map_err(|_| format!("`{}` printed a bad result `{result}`", shown()))?;
    let ns = field("time_ns")?;
    let ns = ns
        .parse::<u64>()
        .map_err(|_| format!("`{}` printed a bad time `{ns}`", shown()))?;
    Ok(NativeRun {
        result,
        time: Duration::from_nanos(ns),
    })
}

/// The median time of the baseline of program `name` at `opt` over `runs`
/// runs; each must give `expected`, the VM's result.
pub fn median_time(
    name: &str,
    opt: OptLevel,
    exe: &Path,
    params: &[String],
    expected: i64,
    runs: usize,
) -> Result<Duration, String> {
    let times = (0..runs.max(1))
        .map(|_| {
            let run = run(exe, params)?;
            if run.result != expected {
                return Err(format!(
                    "{name}: the clang {} baseline gave {}, the VM {expected}; \
                     {name}.c must compute what {name}.uasm computes",
                    opt.flag(),
                    run.result,
                ));
            }
            Ok(run.time)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(super::median(times))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_bin_dir_is_the_only_place_searched() {
        let (paths, places) = candidates(Some("/x/bin".into()));
        assert_eq!(
            paths,
            [
                PathBuf::from("/x/bin/clang-19"),
                PathBuf::from("/x/bin/clang")
            ]
        );
        assert_eq!(
            places,
            ["clang-19, clang in /x/bin ($STENCIL_LLVM_BIN_DIR)"]
        );
        let (paths, _) = candidates(None);
        assert_eq!(paths.first(), Some(&PathBuf::from("clang-19")));
        assert_eq!(paths.last(), Some(&PathBuf::from("clang")));
    }

    #[test]
    fn only_clang_19_is_accepted() {
        let clang = Clang::of_version("/c".into(), "19.1.7".into()).unwrap();
        assert_eq!(clang.version, "19.1.7");
        assert_eq!(
            Clang::of_version("/usr/bin/clang".into(), "16.0.6".into()).unwrap_err(),
            "clang at /usr/bin/clang is version 16.0.6, but the native baselines are built \
             with clang 19"
        );
        assert!(Clang::of_version("/c".into(), "190.1".into()).is_err());
    }
}
