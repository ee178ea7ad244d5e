//! `cargo xtask install-llvm`: installs the `ziglang` wheels whose clang
//! the search finds by LLVM version, each into its own directory under the
//! wheel directory, with pip.
//!
//! ```text
//! cargo xtask install-llvm --llvm 19           # ziglang 0.14.1: clang 19.1.7
//! cargo xtask install-llvm                     # every wheel the search knows
//! cargo xtask install-llvm --print             # the pip commands, run nothing
//! ```

use std::process::Command;

use stencil_gen::toolchain::wheels::{self, ZigWheel, WHEEL_DIR_ENV, ZIG_WHEELS};

/// Environment variable naming the Python to run pip with.
const PYTHON_ENV: &str = "STENCIL_PYTHON";

#[derive(clap::Args)]
pub struct Args {
    /// An LLVM major version whose wheel to install (default: every one); may be repeated.
    #[arg(long = "llvm", value_name = "MAJOR")]
    llvm: Vec<u32>,
    /// Print the pip commands instead of running them.
    #[arg(long)]
    print: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    let dir =
        wheels::wheel_dir().ok_or(format!("no wheel directory: set {WHEEL_DIR_ENV} or HOME"))?;
    let selected: Vec<&ZigWheel> = if args.llvm.is_empty() {
        ZIG_WHEELS.iter().collect()
    } else {
        args.llvm
            .iter()
            .map(|&major| {
                wheels::wheel_for(major).ok_or_else(|| {
                    let known: Vec<String> =
                        ZIG_WHEELS.iter().map(|w| w.major.to_string()).collect();
                    format!(
                        "no ziglang wheel carries LLVM {major} (they carry {}); install \
                         clang-{major} and llvm-{major} from your system's packages instead",
                        known.join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_string());
    for wheel in selected {
        let target = wheel.install_dir(&dir);
        let pip = [
            "-m".to_string(),
            "pip".to_string(),
            "install".to_string(),
            "--quiet".to_string(),
            "--target".to_string(),
            target.to_string_lossy().into_owned(),
            format!("ziglang=={}", wheel.zig),
        ];
        if args.print {
            outln!("{python} {}", pip.join(" "));
            continue;
        }
        if wheel.zig(&dir).is_file() {
            outln!(
                "LLVM {}: ziglang {} is in {}",
                wheel.major,
                wheel.zig,
                target.display()
            );
            continue;
        }
        errln!(
            "LLVM {}: installing ziglang {} (clang {}) into {}",
            wheel.major,
            wheel.zig,
            wheel.clang,
            target.display()
        );
        let status = Command::new(&python)
            .args(&pip)
            .status()
            .map_err(|e| format!("cannot run {python} (set {PYTHON_ENV} to another): {e}"))?;
        if !status.success() {
            return Err(format!("`{python} {}` failed ({status})", pip.join(" ")));
        }
        outln!(
            "LLVM {}: ziglang {} installed in {}",
            wheel.major,
            wheel.zig,
            target.display()
        );
    }
    Ok(())
}
