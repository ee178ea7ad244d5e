//! Reading a target's JSON manifest (`generated/<module>.json`) back into
//! typed values, with hole values resolved to names, for comparing two
//! manifests.
//!
//! Fields this reader does not interpret are kept as JSON in `other` /
//! `info`, so a change to any of them is still seen.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value as Json;

/// A target's manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The target triple.
    pub target: String,
    /// The full LLVM version that built it, e.g. `19.1.7`.
    pub llvm_version: String,
    /// Input name to its digest (see `digest::InputDigests`).
    pub input_digests: BTreeMap<String, String>,
    /// External symbols, indexed by `HoleValue::Symbol`.
    pub symbols: Vec<String>,
    pub shim: Stencil,
    /// In uop id order.
    pub uops: Vec<Uop>,
    /// Every other top-level field (`arch`, `code_align`, `inputs_digest`,
    /// the `@generated` marker).
    pub other: BTreeMap<String, Json>,
}

/// A uop's entry in a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Uop {
    pub name: String,
    pub stencil: Stencil,
    /// Every other field: `id`, `location`, `doc`, `inputs`, `outputs`, the
    /// `uses_*` flags, `helpers`.
    pub info: BTreeMap<String, Json>,
}

/// A stencil's code, data and holes.
#[derive(Clone, Debug, PartialEq)]
pub struct Stencil {
    pub code: Vec<u8>,
    pub code_holes: Vec<Hole>,
    pub data: Vec<u8>,
    pub data_holes: Vec<Hole>,
    /// The tidied llvm-objdump listing of the code.
    pub disassembly: Vec<String>,
    /// Every other field (`data_align`, `trailing_jump_removed`).
    pub other: BTreeMap<String, Json>,
}

impl Stencil {
    /// Whether the bytes the runtime copies and patches are the same:
    /// code, data, holes, and their layout fields. The disassembly is not
    /// compared: it only describes the code.
    pub fn same_machine_code(&self, other: &Stencil) -> bool {
        self.code == other.code
            && self.data == other.data
            && self.code_holes == other.code_holes
            && self.data_holes == other.data_holes
            && self.other == other.other
    }

    /// Every hole, code holes first.
    pub fn holes(&self) -> impl Iterator<Item = &Hole> {
        self.code_holes.iter().chain(&self.data_holes)
    }
}

/// A hole with its kind and value spelled out, as the manifest spells them
/// (`pc_rel32`, `aarch64_page_offset12(scale=3)`, `continue`,
/// `symbol:vm_hash`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hole {
    pub offset: u64,
    pub kind: String,
    pub value: String,
    pub addend: i64,
}

impl fmt::Display for Hole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {:+}",
            self.offset, self.kind, self.value, self.addend
        )
    }
}

/// A manifest that does not parse.
#[derive(Debug)]
pub struct ManifestError(String);

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ManifestError {}

/// Parse a manifest's text.
pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
    let raw: RawManifest =
        serde_json::from_str(text).map_err(|e| ManifestError(format!("not a manifest: {e}")))?;
    let symbols = raw.symbols;
    let stencil = |raw: RawStencil, owner: &str| -> Result<Stencil, ManifestError> {
        let bad_hex = |field: &str| ManifestError(format!("{owner}: `{field}` is not hex bytes"));
        Ok(Stencil {
            code: from_hex(&raw.code).ok_or_else(|| bad_hex("code"))?,
            code_holes: raw.code_holes.iter().map(|h| hole(h, &symbols)).collect(),
            data: from_hex(&raw.data).ok_or_else(|| bad_hex("data"))?,
            data_holes: raw.data_holes.iter().map(|h| hole(h, &symbols)).collect(),
            disassembly: raw.disassembly,
            other: raw.other,
        })
    };
    let shim = stencil(raw.shim, "the shim")?;
    let uops = raw
        .uops
        .into_iter()
        .map(|u| {
            let owner = format!("uop `{}`", u.name);
            Ok(Uop {
                stencil: stencil(u.stencil, &owner)?,
                name: u.name,
                info: u.info,
            })
        })
        .collect::<Result<Vec<_>, ManifestError>>()?;
    Ok(Manifest {
        target: raw.target,
        llvm_version: raw.llvm_version,
        input_digests: raw.input_digests,
        symbols,
        shim,
        uops,
        other: raw.other,
    })
}

/// The name of a hole kind: a unit variant's name, or `name(field=value)`
/// for a variant with fields.
pub fn kind_name(kind: &Json) -> String {
    match kind {
        Json::String(name) => name.clone(),
        Json::Object(map) => map
            .iter()
            .map(|(name, fields)| match fields {
                Json::Object(fields) => {
                    let fields: Vec<String> =
                        fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{name}({})", fields.join(","))
                }
                other => format!("{name}({other})"),
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// A hole value's name; an external symbol by its name when the symbol
/// list has it.
fn value_name(value: &Json, symbols: &[String]) -> String {
    if let Some(index) = value.get("symbol").and_then(Json::as_u64) {
        return match usize::try_from(index).ok().and_then(|i| symbols.get(i)) {
            Some(name) => format!("symbol:{name}"),
            None => format!("symbol:#{index}"),
        };
    }
    kind_name(value)
}

fn hole(raw: &RawHole, symbols: &[String]) -> Hole {
    Hole {
        offset: raw.offset,
        kind: kind_name(&raw.kind),
        value: value_name(&raw.value, symbols),
        addend: raw.addend,
    }
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Deserialize)]
struct RawManifest {
    target: String,
    llvm_version: String,
    #[serde(default)]
    input_digests: BTreeMap<String, String>,
    #[serde(default)]
    symbols: Vec<String>,
    shim: RawStencil,
    uops: Vec<RawUop>,
    #[serde(flatten)]
    other: BTreeMap<String, Json>,
}

#[derive(Deserialize)]
struct RawUop {
    name: String,
    stencil: RawStencil,
    #[serde(flatten)]
    info: BTreeMap<String, Json>,
}

#[derive(Deserialize)]
struct RawStencil {
    code: String,
    #[serde(default)]
    code_holes: Vec<RawHole>,
    #[serde(default)]
    data: String,
    #[serde(default)]
    data_holes: Vec<RawHole>,
    #[serde(default)]
    disassembly: Vec<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Json>,
}

#[derive(Deserialize)]
struct RawHole {
    offset: u64,
    kind: Json,
    value: Json,
    addend: i64,
}
