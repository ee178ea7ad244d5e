//! `cargo xtask inspect-object`: show how an object file lowers, as text
//! or as JSON (`docs/json-output.md`).

use std::path::PathBuf;

use stencil_gen::emit_c::CAbi;
use stencil_gen::inspect;
use stencil_gen::model::DeclaredValues;
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
    /// The uop definitions whose `abi` item declares the hole values
    /// (`_JIT_*` symbols) the object may use; others are shown as
    /// undeclared. Default: the reference VM's, `uop-defs/defs`.
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
    /// Declare no hole values: show every `_JIT_*` symbol but the
    /// continuation and the jump target as undeclared.
    #[arg(long, conflicts_with = "defs")]
    no_defs: bool,
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
    let values = if args.no_defs {
        DeclaredValues::default()
    } else {
        let dir = match &args.defs {
            Some(dir) => dir.clone(),
            None => crate::workspace_root().join("uop-defs/defs"),
        };
        let defs = uop_defs::load_dir(&dir).map_err(|d| {
            format!(
                "cannot read the hole values the ABI declares from {}: {d}\n\
                 pass --defs DIR with the VM's uop definitions, or --no-defs",
                dir.display()
            )
        })?;
        CAbi::declared_values(&defs.abi)
    };
    let output = render(&object, target, &name, &values).map_err(|e| e.to_string())?;
    out!("{output}");
    Ok(())
}
