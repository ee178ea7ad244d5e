//! Target selection on the command line.

use stencil_gen::target::{self, Target};

/// The targets named by `--target` values: short names, triples or `all`.
pub fn select(names: &[String]) -> Result<Vec<&'static Target>, String> {
    let mut selected: Vec<&'static Target> = Vec::new();
    for name in names {
        let found: Vec<&'static Target> = if name == "all" {
            target::ALL.iter().collect()
        } else {
            vec![lookup(name)?]
        };
        for t in found {
            if !selected.iter().any(|s| s.triple == t.triple) {
                selected.push(t);
            }
        }
    }
    // Output order follows `target::ALL`, whatever the order on the command line.
    selected.sort_by_key(|t| target::ALL.iter().position(|a| a.triple == t.triple));
    Ok(selected)
}

/// One target by short name or triple.
pub fn lookup(name: &str) -> Result<&'static Target, String> {
    Target::find(name).ok_or_else(|| {
        let known: Vec<String> = target::ALL
            .iter()
            .map(|t| format!("{} ({})", t.short, t.triple))
            .collect();
        format!(
            "unknown target `{name}`; known targets: {}, or `all`",
            known.join(", ")
        )
    })
}
