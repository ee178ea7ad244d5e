//! The LLVM toolchain driver: finds clang, llvm-objdump and llvm-readelf of
//! one LLVM major version, compiles translation units and disassembles
//! objects.
//!
//! clang of LLVM `N` is the first of these that reports major version `N`:
//!
//! 1. the command given by `--clang CMD`, else by the environment variable
//!    `STENCIL_CLANG_N` (`zig clang`, `python3 -m ziglang clang`, a
//!    wrapper script; see [`clang_command`]); when one is given, no other
//!    clang is considered;
//! 2. the explicit bin directory (`--llvm-bin-dir DIR`, else the environment
//!    variable `STENCIL_LLVM_BIN_DIR`); when one is given, nothing else is
//!    searched;
//! 3. `clang-N` in `PATH`;
//! 4. `/usr/lib/llvm-N/bin` (Debian, Ubuntu);
//! 5. `/opt/homebrew/opt/llvm@N/bin`, `/usr/local/opt/llvm@N/bin` (Homebrew);
//! 6. the `ziglang` wheel of LLVM `N` in the wheel directory
//!    (`STENCIL_ZIG_DIR`, else `~/.cache/stencil-llvm`; see [`wheels`]);
//! 7. `clang` in `PATH`.
//!
//! llvm-objdump and llvm-readelf are looked for in the places 2 to 5 and 7,
//! of LLVM `N`, and failing that of the pinned LLVM ([`PINNED_LLVM_MAJOR`]),
//! whose tools read the objects of the other versions: zig carries no
//! llvm-objdump. The output records an llvm-objdump of another version
//! than clang's (see `writer`).
//!
//! A tool found nowhere gives an error of this form:
//!
//! ```text
//! clang of LLVM 22 not found; looked for clang-22, clang in /opt/llvm/bin
//! install it: Debian/Ubuntu: `apt-get install clang-22 llvm-22`; macOS: `brew install llvm@22`, then pass `--llvm-bin-dir $(brew --prefix llvm@22)/bin`; any OS with Python: `pip install --target /home/me/.cache/stencil-llvm/zig-0.17.0 ziglang==0.17.0` (clang 22.1.8)
//! ```
//!
//! and one of the wrong version:
//!
//! ```text
//! clang at /opt/llvm/bin/clang is LLVM 18.1.8, but LLVM 19 is needed
//! ```
//!
//! Every tool run has a deadline ([`DEFAULT_TIMEOUT`], else
//! `--tool-timeout SECS` or `STENCIL_TOOL_TIMEOUT`): a tool still running
//! then is killed, and the error names the tool, the uop and the target.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::emit_c::CSource;
use crate::optimize;
use crate::target::{Format, Target};

/// The LLVM major version that produces the committed output.
pub const PINNED_LLVM_MAJOR: u32 = 19;

/// Environment variable giving the tool timeout in seconds.
pub const TIMEOUT_ENV: &str = "STENCIL_TOOL_TIMEOUT";

/// How long one tool run may take, unless told otherwise: far more than
/// any stencil needs, so only a hung tool reaches it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The longest file name given to clang: uop names have no length limit,
/// file names do (255 bytes on most file systems).
const MAX_FILE_NAME: usize = 128;

/// clang flags every target shares; a target adds `Target::clang_flags`.
pub const COMMON_FLAGS: &[&str] = &[
    "-c",
    "-O3",
    // No hosted library: every triple builds on any host with no SDK.
    "-ffreestanding",
    "-nostdlibinc",
    // Stencils are spliced together; unwind tables would describe nothing.
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-stack-protector",
    // No calls to memcpy and friends the VM does not provide.
    "-fno-builtin",
    // Jump tables would need relocations into read-only data for little gain.
    "-fno-jump-tables",
    "-fno-common",
    "-fomit-frame-pointer",
    "-std=c11",
    "-Wall",
    "-Werror=implicit-function-declaration",
];

/// One of the LLVM tools the driver needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Clang,
    Objdump,
    Readelf,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::Clang, Tool::Objdump, Tool::Readelf];

    /// The unversioned program name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Clang => "clang",
            Tool::Objdump => "llvm-objdump",
            Tool::Readelf => "llvm-readelf",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A full LLVM version, e.g. `19.1.7`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The LLVM version in a tool's `--version` output: the first
/// `MAJOR.MINOR[.PATCH]` after the word `version` (`Debian clang version
/// 19.1.7 (3~deb12u1)`, `Homebrew LLVM version 19.1.7`, `clang version
/// 19.1.0-rc3`).
pub fn parse_version(output: &str) -> Option<Version> {
    output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            if word == "version" {
                if let Some(version) = words.next().and_then(parse_version_number) {
                    return Some(version);
                }
            }
        }
        None
    })
}

fn parse_version_number(word: &str) -> Option<Version> {
    let numeric: &str = word
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?;
    let mut parts = numeric.split('.').filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some(Version {
        major,
        minor,
        patch,
    })
}

/// A located tool and the version it reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolPath {
    pub tool: Tool,
    /// The program to run.
    pub path: PathBuf,
    /// Arguments that come before the tool's own: `clang -resource-dir
    /// DIR` when `path` is zig; none for a tool run by name.
    pub args: Vec<String>,
    pub version: Version,
    /// What `--version` printed, exactly: it tells builds of one version
    /// apart, for the stencil cache's keys.
    pub version_text: String,
}

impl ToolPath {
    /// A command that runs the tool, its leading arguments given.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command.args(&self.args);
        command
    }

    /// The program and its leading arguments, as one might type them.
    pub fn command_line(&self) -> String {
        command_line(&self.path, &self.args)
    }
}

/// A whole number of seconds, at least 1.
fn parse_timeout(text: &str) -> Option<Duration> {
    match text.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
        _ => None,
    }
}

/// A duration as the timeout error shows it: `120 s`, `0.5 s`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// How to install `tool` of LLVM `major`, for error messages; a clang of a
/// version a `ziglang` wheel carries can also come from pip, into
/// `wheel_dir`.
fn install_hint(tool: Tool, major: u32, wheel_dir: Option<&Path>) -> String {
    let mut hint = format!(
        "install it: Debian/Ubuntu: `apt-get install clang-{major} llvm-{major}`; \
         macOS: `brew install llvm@{major}`, then pass \
         `--llvm-bin-dir $(brew --prefix llvm@{major})/bin`"
    );
    let wheel = wheels::wheel_for(major).zip(wheel_dir);
    if let (Tool::Clang, Some((wheel, dir))) = (tool, wheel) {
        hint.push_str(&format!(
            "; any OS with Python: `{}` (clang {})",
            wheel.pip_command(dir),
            wheel.clang
        ));
    }
    hint
}

/// Everything that can go wrong in the driver.
#[derive(Debug)]
pub enum ToolchainError {
    /// The explicit bin directory is a file (the tool itself, likely).
    BinDirIsFile { path: PathBuf, major: u32 },
    /// `STENCIL_TOOL_TIMEOUT` is not a whole number of seconds.
    BadTimeout { value: String },
    /// No candidate exists.
    Missing {
        tool: Tool,
        major: u32,
        looked_in: Vec<String>,
        /// The wheel directory, for the hint.
        wheel_dir: Option<PathBuf>,
    },
    /// Candidates exist, but none has the wanted version; the first found
    /// is reported.
    WrongVersion {
        tool: Tool,
        path: PathBuf,
        found: String,
        major: u32,
        wheel_dir: Option<PathBuf>,
    },
    /// The clang command (`--clang`, `STENCIL_CLANG_<MAJOR>`) cannot be
    /// used as given.
    ClangCommand {
        command: String,
        /// Where it was given.
        from: String,
        problem: String,
    },
    /// The clang command is of another LLVM version.
    WrongClangCommand {
        command: String,
        from: String,
        found: String,
        major: u32,
        wheel_dir: Option<PathBuf>,
    },
    /// A clang whose resource directory has no `stdint.h`.
    NoBuiltinHeaders {
        /// The command as it was run.
        command: String,
        resource_dir: PathBuf,
    },
    /// A tool could not be run.
    Run {
        tool: Tool,
        path: PathBuf,
        error: io::Error,
    },
    /// A temporary file or directory for compiling a unit could not be
    /// made or read.
    Temp {
        name: String,
        target: &'static str,
        error: io::Error,
    },
    /// A tool ran past the timeout and was killed.
    Timeout {
        tool: Tool,
        path: PathBuf,
        /// What it was doing: `compiling uop `add` for x86_64-...`.
        task: String,
        after: Duration,
    },
    /// clang rejected a translation unit.
    Compile {
        name: String,
        location: Option<String>,
        target: &'static str,
        stderr: String,
    },
    /// llvm-objdump or llvm-readelf failed on an object.
    ToolFailed {
        tool: Tool,
        name: String,
        target: &'static str,
        stderr: String,
    },
}

impl fmt::Display for ToolchainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolchainError::BinDirIsFile { path, major } => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                write!(
                    f,
                    "the LLVM bin directory {} (--llvm-bin-dir or {BIN_DIR_ENV}) is a file, not a directory; \
                     pass the directory that holds clang-{major}, llvm-objdump-{major} and llvm-readelf-{major}",
                    path.display()
                )?;
                match dir {
                    Some(dir) => write!(f, ", e.g. `--llvm-bin-dir {}`", dir.display()),
                    None => Ok(()),
                }
            }
            ToolchainError::BadTimeout { value } => write!(
                f,
                "{TIMEOUT_ENV}={value:?} is not a whole number of seconds; set it to one, e.g. {TIMEOUT_ENV}={}",
                DEFAULT_TIMEOUT.as_secs()
            ),
            ToolchainError::Missing {
                tool,
                major,
                looked_in,
                wheel_dir,
            } => write!(
                f,
                "{tool} of LLVM {major} not found; looked for {}\n{}",
                looked_in.join("; "),
                install_hint(*tool, *major, wheel_dir.as_deref())
            ),
            ToolchainError::WrongVersion {
                tool,
                path,
                found,
                major,
                wheel_dir,
            } => write!(
                f,
                "{tool} at {} is LLVM {found}, but LLVM {major} is needed\n{}",
                path.display(),
                install_hint(*tool, *major, wheel_dir.as_deref())
            ),
            ToolchainError::ClangCommand {
                command,
                from,
                problem,
            } => write!(f, "the clang command `{command}` ({from}) {problem}"),
            ToolchainError::WrongClangCommand {
                command,
                from,
                found,
                major,
                wheel_dir,
            } => write!(
                f,
                "clang `{command}` ({from}) is LLVM {found}, but LLVM {major} is needed; \
                 give {from} a clang of LLVM {major}, or unset it to search the usual places\n{}",
                install_hint(Tool::Clang, *major, wheel_dir.as_deref())
            ),
            ToolchainError::NoBuiltinHeaders {
                command,
                resource_dir,
            } => write!(
                f,
                "clang `{command}` finds no stdint.h of its own: its resource directory {} \
                 has no include/stdint.h; pass `-resource-dir DIR` in the command (for zig's \
                 clang, DIR is the `lib` directory beside the zig executable)",
                resource_dir.display()
            ),
            ToolchainError::Run { tool, path, error } => {
                write!(f, "cannot run {tool} at {}: {error}", path.display())
            }
            ToolchainError::Temp {
                name,
                target,
                error,
            } => write!(
                f,
                "cannot compile `{name}` for {target}: cannot use a temporary directory: {error}"
            ),
            ToolchainError::Timeout {
                tool,
                path,
                task,
                after,
            } => write!(
                f,
                "{tool} ({}) did not finish {task} within {} and was stopped; \
                 if it needs longer, pass `--tool-timeout SECS` or set {TIMEOUT_ENV}",
                path.display(),
                seconds(*after)
            ),
            ToolchainError::Compile {
                name,
                location,
                target,
                stderr,
            } => {
                let (uop, variant) = crate::emit_c::split_unit_name(name);
                match (location, variant) {
                    (Some(location), Some(variant)) => write!(
                        f,
                        "clang failed on uop `{uop}` ({location}) in variant {variant} for {target}"
                    )?,
                    (Some(location), None) => {
                        write!(f, "clang failed on uop `{uop}` ({location}) for {target}")?
                    }
                    (None, _) => write!(f, "clang failed on the {name} for {target}")?,
                }
                write!(f, ":\n{}", stderr.trim_end())
            }
            ToolchainError::ToolFailed {
                tool,
                name,
                target,
                stderr,
            } => write!(
                f,
                "{tool} failed on the object of `{name}` for {target}:\n{}",
                stderr.trim_end()
            ),
        }
    }
}

impl std::error::Error for ToolchainError {}

/// A compiled translation unit.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The relocatable object file.
    pub object: Vec<u8>,
    /// clang's warnings, if any.
    pub warnings: String,
    /// Wall time clang took.
    pub clang_time: Duration,
}

/// One object to disassemble, with the uop it belongs to (for errors) and
/// the length of its code after lowering.
#[derive(Clone, Copy, Debug)]
pub struct ObjectCode<'a> {
    pub name: &'a str,
    pub object: &'a [u8],
    pub code_len: usize,
}

/// The located tools of one LLVM version.
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub clang: ToolPath,
    pub objdump: ToolPath,
    pub readelf: ToolPath,
    /// How long one tool run may take before it is killed.
    pub timeout: Duration,
}

impl Toolchain {
    /// Find the tools of LLVM `major` the standard way (see the module
    /// documentation).
    pub fn find(bin_dir: Option<&Path>, major: u32) -> Result<Toolchain, ToolchainError> {
        Toolchain::find_with(&Search::standard(bin_dir.map(Path::to_path_buf), major))
    }

    /// Find the tools along an explicit search.
    pub fn find_with(search: &Search) -> Result<Toolchain, ToolchainError> {
        let timeout = search.timeout()?;
        if let Some(dir) = search.bin_dir.as_ref().filter(|d| d.is_file()) {
            return Err(ToolchainError::BinDirIsFile {
                path: dir.clone(),
                major: search.major,
            });
        }
        // Each probe starts a process that loads all of LLVM; probing the
        // tools side by side keeps that off the critical path. Errors are
        // still reported in tool order.
        let [clang, objdump, readelf] = std::thread::scope(|scope| {
            let probes =
                Tool::ALL.map(|tool| scope.spawn(move || search::find(search, tool, timeout)));
            probes.map(|probe| {
                probe
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        });
        Ok(Toolchain {
            clang: clang?,
            objdump: objdump?,
            readelf: readelf?,
            timeout,
        })
    }

    /// The LLVM version of clang, which decides the generated code.
    pub fn llvm_version(&self) -> Version {
        self.clang.version
    }

    /// The version of llvm-objdump when it is not clang's: the pinned
    /// LLVM's, disassembling another clang's objects.
    pub fn other_objdump_version(&self) -> Option<Version> {
        (self.objdump.version != self.clang.version).then_some(self.objdump.version)
    }

    /// Compile one translation unit for `target`: clang writes its
    /// assembly, the stencil optimizer rewrites it, clang assembles it.
    pub fn compile(&self, target: &Target, unit: &CSource) -> Result<Compiled, ToolchainError> {
        let temp_error = |error| ToolchainError::Temp {
            name: unit.name.clone(),
            target: target.triple,
            error,
        };
        let dir = tempfile::tempdir().map_err(temp_error)?;
        std::fs::write(dir.path().join(source_name(unit)), &unit.text).map_err(temp_error)?;
        let start = Instant::now();
        let stderr = self.run_clang(target, unit, dir.path(), &unit_args(target, unit))?;
        let assembly_path = dir.path().join(assembly_name(unit));
        let assembly = std::fs::read_to_string(&assembly_path).map_err(temp_error)?;
        let optimized = optimize::optimize(target, &assembly);
        std::fs::write(&assembly_path, optimized.text).map_err(temp_error)?;
        let mut warnings =
            self.run_clang(target, unit, dir.path(), &assemble_args(target, unit))?;
        warnings.insert_str(0, &stderr);
        let clang_time = start.elapsed();
        let object = std::fs::read(dir.path().join(object_name(unit))).map_err(temp_error)?;
        Ok(Compiled {
            object,
            warnings,
            clang_time,
        })
    }

    /// Run clang with `args` in `dir`; its diagnostics, the directory's
    /// path taken out.
    fn run_clang(
        &self,
        target: &Target,
        unit: &CSource,
        dir: &Path,
        args: &[String],
    ) -> Result<String, ToolchainError> {
        let mut command = self.clang.command();
        // Relative names in the temporary directory keep its path out of
        // diagnostics and out of the object file.
        command.current_dir(dir).args(args);
        let task = match &unit.location {
            Some(_) => match crate::emit_c::split_unit_name(&unit.name) {
                (uop, Some(variant)) => format!(
                    "compiling uop `{uop}` in variant {variant} for {}",
                    target.triple
                ),
                (uop, None) => format!("compiling uop `{uop}` for {}", target.triple),
            },
            None => format!("compiling the {} for {}", unit.name, target.triple),
        };
        let output = run(
            Tool::Clang,
            &self.clang.path,
            &mut command,
            None,
            self.timeout,
            &task,
        )?;
        let stderr = strip_path(&String::from_utf8_lossy(&output.stderr), dir);
        if !output.status.success() {
            return Err(ToolchainError::Compile {
                name: unit.name.clone(),
                location: unit.location.clone(),
                target: target.triple,
                stderr,
            });
        }
        Ok(stderr)
    }

    /// The disassembly of the code of `object` (uop `name`), one instruction
    /// or relocation per line, limited to the first `code_len` bytes (the
    /// length after lowering, which may drop a trailing jump).
    pub fn disassemble(
        &self,
        target: &Target,
        name: &str,
        object: &[u8],
        code_len: usize,
    ) -> Result<Vec<String>, ToolchainError> {
        let mut disassembler = self.start_disassembler(target)?;
        disassembler.add(ObjectCode {
            name,
            object,
            code_len,
        });
        Ok(disassembler.finish()?.pop().unwrap_or_default())
    }

    /// clang's command line for `unit`, as [`Toolchain::compile`] runs it
    /// in a temporary directory.
    pub fn compile_command_line(&self, target: &Target, unit: &CSource) -> String {
        let with_leading = |args: Vec<String>| [self.clang.args.clone(), args].concat();
        format!(
            "{} && {}",
            command_line(&self.clang.path, &with_leading(unit_args(target, unit))),
            command_line(&self.clang.path, &with_leading(assemble_args(target, unit)))
        )
    }

    /// llvm-objdump's command line, as a [`Disassembler`] runs it.
    pub fn disassembler_command_line(&self) -> String {
        let args: Vec<String> = OBJDUMP_ARGS.iter().map(|a| a.to_string()).collect();
        command_line(
            &self.objdump.path,
            &[self.objdump.args.clone(), args].concat(),
        )
    }

    /// Start llvm-objdump for objects of `target`, to be given to it with
    /// [`Disassembler::add`] as they are built.
    pub fn start_disassembler(&self, target: &Target) -> Result<Disassembler, ToolchainError> {
        let running =
            Running::spawn(self.objdump.command().args(OBJDUMP_ARGS), true).map_err(|error| {
                ToolchainError::Run {
                    tool: Tool::Objdump,
                    path: self.objdump.path.clone(),
                    error,
                }
            })?;
        running.write(archive::MAGIC.to_vec());
        Ok(Disassembler {
            objdump: self.objdump.clone(),
            target: target.triple,
            section: code_section(target),
            running: Some(running),
            timeout: self.timeout,
            added: Vec::new(),
        })
    }

    /// llvm-readelf's view of `object` (sections, symbols, relocations), for
    /// looking into a stencil by hand.
    pub fn readelf(
        &self,
        target: &Target,
        name: &str,
        object: &[u8],
    ) -> Result<String, ToolchainError> {
        let mut command = self.readelf.command();
        command.args(["--sections", "--symbols", "--relocations", "-"]);
        let task = format!("reading the object of `{name}` for {}", target.triple);
        let output = run(
            Tool::Readelf,
            &self.readelf.path,
            &mut command,
            Some(object),
            self.timeout,
            &task,
        )?;
        if !output.status.success() {
            return Err(ToolchainError::ToolFailed {
                tool: Tool::Readelf,
                name: name.to_string(),
                target: target.triple,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// A running llvm-objdump for one target, given objects one by one.
///
/// The objects reach its stdin as the members of one `ar` archive, so the
/// tool starts, which costs far more than disassembling a stencil, while
/// clang still runs; it disassembles them all once the archive is closed
/// by [`Disassembler::finish`], within the toolchain's timeout from then.
/// A disassembler dropped unfinished kills its llvm-objdump.
#[derive(Debug)]
pub struct Disassembler {
    objdump: ToolPath,
    target: &'static str,
    section: &'static str,
    /// `None` once finished.
    running: Option<Running>,
    timeout: Duration,
    /// Every object added, in order, to find one objdump rejects.
    added: Vec<Added>,
}

#[derive(Debug)]
struct Added {
    name: String,
    object: Vec<u8>,
    code_len: usize,
}

impl Disassembler {
    /// Hand objdump one more object. A failure to do so is reported by
    /// [`Disassembler::finish`], with the object objdump failed on.
    pub fn add(&mut self, input: ObjectCode<'_>) {
        let member = archive::member(&member_name(self.added.len()), input.object);
        if let Some(running) = &self.running {
            running.write(member);
        }
        self.added.push(Added {
            name: input.name.to_string(),
            object: input.object.to_vec(),
            code_len: input.code_len,
        });
    }

    /// Hand objdump one more object, whose listing is wanted whole (see
    /// [`Disassembler::finish_listings`]).
    pub fn add_object(&mut self, name: &str, object: &[u8]) {
        self.add(ObjectCode {
            name,
            object,
            code_len: object.len(),
        });
    }

    /// The disassembly of every object added, in the order they were
    /// added, each as [`Toolchain::disassemble`] gives it.
    pub fn finish(self) -> Result<Vec<Vec<String>>, ToolchainError> {
        let section = self.section;
        let code_lens: Vec<usize> = self.added.iter().map(|a| a.code_len).collect();
        let listings = self.finish_listings()?;
        Ok(listings
            .iter()
            .zip(code_lens)
            .map(|(listing, code_len)| disassembly::tidy(listing, section, code_len))
            .collect())
    }

    /// objdump's listing of every object added, in the order they were
    /// added, whole and untidied but for the line naming the archive
    /// member (which depends on the order); [`tidy_listing`] makes one the
    /// disassembly of a stencil.
    pub fn finish_listings(mut self) -> Result<Vec<String>, ToolchainError> {
        // Closing stdin ends the archive.
        let Some(running) = self.running.take() else {
            return Ok(Vec::new());
        };
        let output = running.finish(self.timeout).map_err(|error| {
            let names: Vec<&str> = self.added.iter().map(|a| a.name.as_str()).collect();
            let task = format!(
                "disassembling the objects of {} for {}",
                name_list(&names),
                self.target
            );
            run_error(
                Tool::Objdump,
                &self.objdump.path,
                error,
                &task,
                self.timeout,
            )
        })?;
        if self.added.is_empty() {
            return Ok(Vec::new());
        }
        let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if let Some(error) = &output.write_error {
            stderr.push_str(&format!("\ncannot give llvm-objdump the objects: {error}"));
        }
        if !output.status.success() || output.write_error.is_some() {
            return Err(self.failure(stderr));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        // objdump names a member of its stdin `<stdin>(MEMBER)`.
        let names: Vec<String> = (0..self.added.len())
            .map(|i| format!("<stdin>({})", member_name(i)))
            .collect();
        let parts = disassembly::split(&text, &names);
        if let Some(missing) = self.added.get(parts.len()) {
            return Err(ToolchainError::ToolFailed {
                tool: Tool::Objdump,
                name: missing.name.clone(),
                target: self.target,
                stderr: "llvm-objdump printed nothing for this object".to_string(),
            });
        }
        Ok(parts
            .into_iter()
            .map(|part| {
                let body = part.split_once('\n').map_or("", |(_, body)| body);
                body.to_string()
            })
            .collect())
    }

    /// The error for a failed run: objdump run on each object alone names
    /// the first one it rejects; failing that, every object is named.
    fn failure(&self, stderr: String) -> ToolchainError {
        let failed = |name: String, stderr: String| ToolchainError::ToolFailed {
            tool: Tool::Objdump,
            name,
            target: self.target,
            stderr,
        };
        for added in &self.added {
            let mut command = self.objdump.command();
            command.args(OBJDUMP_ARGS);
            let task = format!(
                "disassembling the object of `{}` for {}",
                added.name, self.target
            );
            let input = Some(added.object.as_slice());
            let path = &self.objdump.path;
            match run(
                Tool::Objdump,
                path,
                &mut command,
                input,
                self.timeout,
                &task,
            ) {
                Ok(output) if !output.status.success() => {
                    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                    return failed(added.name.clone(), stderr);
                }
                Ok(_) => {}
                Err(error) => return error,
            }
        }
        let names: Vec<&str> = self.added.iter().map(|a| a.name.as_str()).collect();
        failed(names.join("`, `"), stderr)
    }
}

/// The archive member name of the `index`th object.
fn member_name(index: usize) -> String {
    format!("{index}.o")
}

/// `` `a`, `b` `` and so on, at most a few names, for an error message.
fn name_list(names: &[&str]) -> String {
    const SHOWN: usize = 4;
    let mut list: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    if names.len() > SHOWN {
        list.push(format!("{} more", names.len() - SHOWN));
    }
    list.join(", ")
}

/// Every clang argument for `target`, input and output aside.
pub fn compile_args(target: &Target) -> Vec<String> {
    let mut args = vec![format!("--target={}", target.clang_triple)];
    args.extend(COMMON_FLAGS.iter().map(|f| f.to_string()));
    args.extend(target.clang_flags.iter().map(|f| f.to_string()));
    args
}

/// Every clang argument for compiling `unit` for `target` to assembly,
/// input and output names included: [`Toolchain::compile`] runs exactly
/// these, then the optimizer, then [`assemble_args`].
pub fn unit_args(target: &Target, unit: &CSource) -> Vec<String> {
    let mut args: Vec<String> = compile_args(target)
        .into_iter()
        .map(|a| if a == "-c" { "-S".to_string() } else { a })
        .collect();
    args.extend([
        "-x".to_string(),
        "c".to_string(),
        source_name(unit),
        "-o".to_string(),
        assembly_name(unit),
    ]);
    args
}

/// Every clang argument for assembling `unit`'s optimized assembly: the
/// target's own flags (the code model, `-mno-relax`) still apply.
pub fn assemble_args(target: &Target, unit: &CSource) -> Vec<String> {
    let mut args = vec![format!("--target={}", target.clang_triple)];
    args.extend(target.clang_flags.iter().map(|f| f.to_string()));
    args.extend([
        // The C-only flags of the target mean nothing to the assembler.
        "-Wno-unused-command-line-argument".to_string(),
        "-c".to_string(),
        "-x".to_string(),
        "assembler".to_string(),
        assembly_name(unit),
        "-o".to_string(),
        object_name(unit),
    ]);
    args
}

/// The name of `unit`'s C file on disk: its own name, or for a very long
/// uop name a shortened one that the file system accepts, kept apart from
/// every other by a digest of the whole name.
fn source_name(unit: &CSource) -> String {
    bounded_name(&unit.file_name, &unit.name, "c")
}

/// The name of `unit`'s assembly file on disk, bounded like [`source_name`].
fn assembly_name(unit: &CSource) -> String {
    bounded_name(&format!("{}.s", unit.name), &unit.name, "s")
}

/// The name of `unit`'s object file on disk, bounded like [`source_name`].
fn object_name(unit: &CSource) -> String {
    bounded_name(&format!("{}.o", unit.name), &unit.name, "o")
}

fn bounded_name(name: &str, stem: &str, extension: &str) -> String {
    if name.len() <= MAX_FILE_NAME {
        return name.to_string();
    }
    let digest = Sha256::digest(stem.as_bytes());
    let digest: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut end = MAX_FILE_NAME / 2;
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{digest}.{extension}", &stem[..end])
}

/// llvm-objdump's arguments: an archive of objects on stdin.
const OBJDUMP_ARGS: [&str; 3] = ["--disassemble", "--reloc", "-"];

/// A command line as one might type it, for `--verbose` output.
fn command_line(program: &Path, args: &[String]) -> String {
    let mut line = quote(&program.to_string_lossy());
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line
}

/// `word` quoted for a POSIX shell when it needs to be.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The section that holds a stencil's code.
pub fn code_section(target: &Target) -> &'static str {
    match target.format {
        Format::Elf | Format::Coff => ".text",
        Format::MachO => "__TEXT,__text",
    }
}

/// The disassembly of a stencil of `target` from objdump's `listing` of
/// its object (see [`Disassembler::finish_listings`]): the code section's
/// instructions and relocations below `code_len`, the length after
/// lowering.
pub fn tidy_listing(target: &Target, listing: &str, code_len: usize) -> Vec<String> {
    disassembly::tidy(listing, code_section(target), code_len)
}

/// What `path args --version` prints.
fn version_output(
    tool: Tool,
    path: &Path,
    args: &[String],
    timeout: Duration,
) -> Result<String, ToolchainError> {
    let mut command = Command::new(path);
    command.args(args).arg("--version");
    let output = run(
        tool,
        path,
        &mut command,
        None,
        timeout,
        "answering `--version`",
    )?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Run a tool to its end within `timeout`, with `input` on its stdin when
/// given (the tools read `-` as stdin); `task` says what it was doing, for
/// the timeout error.
fn run(
    tool: Tool,
    path: &Path,
    command: &mut Command,
    input: Option<&[u8]>,
    timeout: Duration,
    task: &str,
) -> Result<Finished, ToolchainError> {
    run::run(command, input, timeout).map_err(|error| run_error(tool, path, error, task, timeout))
}

fn run_error(
    tool: Tool,
    path: &Path,
    error: RunError,
    task: &str,
    timeout: Duration,
) -> ToolchainError {
    match error {
        RunError::Io(error) => ToolchainError::Run {
            tool,
            path: path.to_path_buf(),
            error,
        },
        RunError::TimedOut => ToolchainError::Timeout {
            tool,
            path: path.to_path_buf(),
            task: task.to_string(),
            after: timeout,
        },
    }
}

/// Remove a temporary directory's path (with its separator) from tool
/// output.
fn strip_path(text: &str, dir: &Path) -> String {
    let dir = dir.as_os_str();
    let mut out = text.to_string();
    for form in [dir.to_os_string(), canonical(dir)] {
        let form = form.to_string_lossy().into_owned();
        if form.is_empty() {
            continue;
        }
        out = out.replace(&format!("{form}{}", std::path::MAIN_SEPARATOR), "");
        out = out.replace(&form, "");
    }
    out
}

fn canonical(path: &OsStr) -> OsString {
    std::fs::canonicalize(path)
        .map(PathBuf::into_os_string)
        .unwrap_or_default()
}

mod archive;
pub mod clang_command;
pub mod disassembly;
mod run;
mod search;
pub mod wheels;

pub use clang_command::ClangSpec;
pub use search::{Search, BIN_DIR_ENV};

use run::{Finished, RunError, Running};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_only_what_a_shell_would_split() {
        let args: Vec<String> = ["--target=x86_64-unknown-linux-gnu", "-x", "it's a.c", ""]
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            command_line(Path::new("/usr/bin/clang-19"), &args),
            "/usr/bin/clang-19 --target=x86_64-unknown-linux-gnu -x 'it'\\''s a.c' ''"
        );
    }
}
