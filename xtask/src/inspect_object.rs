//! `cargo xtask inspect-object`: show how an object file lowers.

use std::path::PathBuf;

use crate::targets;

#[derive(clap::Args)]
pub struct Args {
    /// The relocatable object file.
    #[arg(value_name = "FILE.o")]
    object: PathBuf,
    /// Target short name or triple the object was built for.
    #[arg(long, value_name = "TRIPLE")]
    target: String,
}

pub fn run(args: &Args) -> Result<(), String> {
    let target = targets::lookup(&args.target)?;
    let object = std::fs::read(&args.object)
        .map_err(|e| format!("cannot read {}: {e}", args.object.display()))?;
    let name = args
        .object
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "object".to_string());
    let text = stencil_gen::inspect::inspect(&object, target, &name).map_err(|e| e.to_string())?;
    out!("{text}");
    Ok(())
}
