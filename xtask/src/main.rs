//! The project's command line, run as `cargo xtask <command>`.
//!
//! One module per subcommand; each returns its error as text, which `main`
//! prints before exiting with status 1. They print through [`output`], so a
//! reader that stops early (`| head`) ends no command with a panic.

// First, so that its macros are in scope in every module below.
#[macro_use]
mod output;

mod bench;
mod diff_stencils;
mod gen_stencils;
mod inspect_object;
mod install_llvm;
mod llvm_matrix;
mod targets;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "Builds and inspects the stencils of the copy-and-patch JIT."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the stencils of the uop definitions into `generated/`.
    GenStencils(gen_stencils::Args),
    /// Compare the stencils of two LLVM versions, or of a git revision and the working tree.
    DiffStencils(diff_stencils::Args),
    /// Generate and run the stencils with each LLVM version; write docs/llvm-matrix.md.
    LlvmMatrix(llvm_matrix::Args),
    /// Install the ziglang wheels that carry clang of the given LLVM versions.
    InstallLlvm(install_llvm::Args),
    /// Show how an object file lowers into a stencil.
    InspectObject(inspect_object::Args),
    /// Measure emission, the JIT against the interpreter and clang -O0/-O2, and generation vs clang.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::GenStencils(args) => gen_stencils::run(&args),
        Command::DiffStencils(args) => diff_stencils::run(&args),
        Command::LlvmMatrix(args) => llvm_matrix::run(&args),
        Command::InstallLlvm(args) => install_llvm::run(&args),
        Command::InspectObject(args) => inspect_object::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result.and_then(|()| output::finish()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let message = message.trim_end();
            // `.uop` diagnostics come with their own `error: ` heading.
            if message.starts_with("error: ") {
                errln!("{message}");
            } else {
                errln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
