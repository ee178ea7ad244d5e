//! A stencil table read from a generated JSON manifest
//! (`generated/<module>.json`, or one `gen-stencils --out DIR` wrote) at
//! run time, as the `generated` crate holds it but for the emit functions:
//! the table-driven emitter patches its stencils. The table's data is
//! leaked, to be `'static` like the committed tables'.

#![allow(dead_code)]

use std::path::Path;

use runtime::{Arch, Hole, Stencil, StencilTable, UopInfo, ValueInfo};
use serde_json::Value as Json;

/// The stencil table of the manifest at `path`.
pub fn load(path: &Path) -> Result<&'static StencilTable, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let json: Json =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    table(&json).map_err(|e| format!("{}: {e}", path.display()))
}

/// The stencil table of a parsed manifest.
pub fn table(manifest: &Json) -> Result<&'static StencilTable, String> {
    let cache = u8::try_from(number(manifest, "cache")?)
        .map_err(|_| "`cache` is out of range".to_string())?;
    let per_uop = usize::from(cache) + 1;
    let entries = field(manifest, "uops")?
        .as_array()
        .ok_or("`uops` is not a list")?;
    if entries.len() % per_uop != 0 {
        return Err(format!(
            "{} stencils in `uops` is not a whole number of uops of {per_uop} variants",
            entries.len()
        ));
    }
    let stencils = entries
        .iter()
        .map(|u| stencil(field(u, "stencil")?))
        .collect::<Result<Vec<_>, String>>()?;
    // The variants of a uop are side by side; its information is in each.
    let info = entries
        .iter()
        .step_by(per_uop)
        .map(uop_info)
        .collect::<Result<Vec<_>, String>>()?;
    let arch: Arch = serde_json::from_value(field(manifest, "arch")?.clone())
        .map_err(|e| format!("`arch`: {e}"))?;
    Ok(Box::leak(Box::new(StencilTable {
        target: text(field(manifest, "target")?)?,
        arch,
        llvm_version: text(field(manifest, "llvm_version")?)?,
        code_align: u32::try_from(number(manifest, "code_align")?)
            .map_err(|_| "`code_align` is out of range".to_string())?,
        shim: stencil(field(manifest, "shim")?)?,
        cache,
        uops: leak(stencils),
        info: leak(info),
        symbols: texts(field(manifest, "symbols")?)?,
        op_values: values(field(manifest, "op_values")?)?,
        trace_values: values(field(manifest, "trace_values")?)?,
        emitters: None,
    })))
}

fn field<'a>(json: &'a Json, key: &str) -> Result<&'a Json, String> {
    json.get(key).ok_or_else(|| format!("no `{key}`"))
}

fn number(json: &Json, key: &str) -> Result<u64, String> {
    field(json, key)?
        .as_u64()
        .ok_or_else(|| format!("`{key}` is not a whole number"))
}

fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

fn text(json: &Json) -> Result<&'static str, String> {
    let s = json
        .as_str()
        .ok_or_else(|| format!("{json} is not a string"))?;
    Ok(Box::leak(s.to_string().into_boxed_str()))
}

fn texts(json: &Json) -> Result<&'static [&'static str], String> {
    let items = json
        .as_array()
        .ok_or_else(|| format!("{json} is not a list"))?;
    Ok(leak(items.iter().map(text).collect::<Result<_, _>>()?))
}

fn bytes(json: &Json) -> Result<&'static [u8], String> {
    let hex = json.as_str().ok_or("code or data is not a hex string")?;
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return Err(format!("`{hex}` is not hex bytes"));
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| format!("`{hex}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(leak(bytes))
}

fn holes(json: &Json, key: &str) -> Result<&'static [Hole], String> {
    let holes: Vec<Hole> =
        serde_json::from_value(field(json, key)?.clone()).map_err(|e| format!("`{key}`: {e}"))?;
    Ok(leak(holes))
}

fn stencil(json: &Json) -> Result<Stencil, String> {
    Ok(Stencil {
        code: bytes(field(json, "code")?)?,
        code_holes: holes(json, "code_holes")?,
        data: bytes(field(json, "data")?)?,
        data_holes: holes(json, "data_holes")?,
        data_align: u32::try_from(number(json, "data_align")?)
            .map_err(|_| "`data_align` is out of range".to_string())?,
    })
}

fn uop_info(json: &Json) -> Result<UopInfo, String> {
    let types = |key: &str| -> Result<_, String> {
        let types = serde_json::from_value(field(json, key)?.clone())
            .map_err(|e| format!("`{key}`: {e}"))?;
        Ok(leak(types))
    };
    Ok(UopInfo {
        name: text(field(json, "uop")?)?,
        inputs: types("inputs")?,
        outputs: types("outputs")?,
        uses: texts(field(json, "uses")?)?,
        helpers: texts(field(json, "helpers")?)?,
    })
}

fn values(json: &Json) -> Result<&'static [ValueInfo], String> {
    let items = json
        .as_array()
        .ok_or_else(|| format!("{json} is not a list"))?;
    let values = items
        .iter()
        .map(|v| {
            Ok(ValueInfo {
                name: text(field(v, "name")?)?,
                bits: u8::try_from(number(v, "bits")?)
                    .map_err(|_| "`bits` is out of range".to_string())?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(leak(values))
}
