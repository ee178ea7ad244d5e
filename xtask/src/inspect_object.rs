//! `cargo xtask inspect-object`: show how an object file lowers, as text
//! or as JSON (`docs/json-output.md`).

use std::path::PathBuf;

use stencil_gen::inspect;
use stencil_gen::obj::file::read_file;

use crate::targets;

#[derive(clap::Args)]
pub struct Args {
    /// The relocatable object file.
    #[arg(value_name = "FILE.o")]
    object: PathBuf,
    /// Target short name or triple the object was built for.
    #[arg(long, value_name = "TRIPLE")]
    target: String,
    /// Output format: `text` for reading, `json` for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: &Args) -> Result<(), String> {
    let target = targets::lookup(&args.target)?;
    let object = read_file(&args.object).map_err(|e| e.to_string())?;
    let name = args
        .object
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "object".to_string());
    let render = match args.format {
        Format::Text => inspect::inspect,
        Format::Json => inspect::inspect_json,
    };
    let output = render(&object, target, &name).map_err(|e| e.to_string())?;
    out!("{output}");
    Ok(())
}
