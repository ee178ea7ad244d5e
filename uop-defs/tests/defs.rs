//! The reference VM's uops in `defs/` parse and match the uop set.

use std::path::Path;

use uop_defs::{load_dir, Immediate, UopFile, ValueType};

fn defs() -> Vec<UopFile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("defs");
    match load_dir(&dir) {
        Ok(files) => files,
        Err(e) => panic!("defs/ has errors:\n{e}"),
    }
}

fn names(file: &UopFile) -> Vec<&str> {
    file.uops.iter().map(|u| u.name.as_str()).collect()
}

#[test]
fn files_in_name_order() {
    let files = defs();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "control.uop",
            "float.uop",
            "int.uop",
            "memory.uop",
            "stack.uop"
        ]
    );
    let total: usize = files.iter().map(|f| f.uops.len()).sum();
    assert!(total >= 30, "{total} uops");
    assert_eq!(total, 50);
}

#[test]
fn uop_names_and_order() {
    let files = defs();
    assert_eq!(
        names(&files[0]),
        [
            "jump",
            "branch_if_zero",
            "branch_if_nonzero",
            "branch_if_lt",
            "return"
        ]
    );
    assert_eq!(
        names(&files[1]),
        [
            "add_f64",
            "sub_f64",
            "mul_f64",
            "div_f64",
            "neg_f64",
            "lt_f64",
            "i64_to_f64",
            "f64_to_i64",
            "sqrt_f64"
        ]
    );
    assert_eq!(
        names(&files[2]),
        [
            "add_i64",
            "sub_i64",
            "mul_i64",
            "div_i64",
            "rem_i64",
            "neg_i64",
            "add_imm",
            "and_i64",
            "or_i64",
            "xor_i64",
            "shl_i64",
            "shr_i64",
            "lt_i64",
            "le_i64",
            "gt_i64",
            "ge_i64",
            "eq_i64",
            "ne_i64",
            "hash_i64",
            "guard_nonneg"
        ]
    );
    assert_eq!(
        names(&files[3]),
        [
            "load_heap",
            "store_heap",
            "heap_ptr",
            "load_ptr",
            "store_ptr"
        ]
    );
    assert_eq!(
        names(&files[4]),
        [
            "nop",
            "push_i64",
            "push_small",
            "push_f64",
            "dup",
            "drop",
            "swap",
            "over",
            "load_local",
            "store_local",
            "inc_local"
        ]
    );
}

/// `name (inputs -- outputs)` with types, as in the uop set, for every uop.
#[test]
fn stack_effects_match_the_uop_set() {
    let expected: &[(&str, &str)] = &[
        ("jump", "-- "),
        ("branch_if_zero", "i64 -- "),
        ("branch_if_nonzero", "i64 -- "),
        ("branch_if_lt", "i64 i64 -- "),
        ("return", "i64 -- "),
        ("add_f64", "f64 f64 -- f64"),
        ("sub_f64", "f64 f64 -- f64"),
        ("mul_f64", "f64 f64 -- f64"),
        ("div_f64", "f64 f64 -- f64"),
        ("neg_f64", "f64 -- f64"),
        ("lt_f64", "f64 f64 -- i64"),
        ("i64_to_f64", "i64 -- f64"),
        ("f64_to_i64", "f64 -- i64"),
        ("sqrt_f64", "f64 -- f64"),
        ("neg_i64", "i64 -- i64"),
        ("add_imm", "i64 -- i64"),
        ("guard_nonneg", "i64 -- i64"),
        ("load_heap", "i64 -- i64"),
        ("store_heap", "i64 i64 -- "),
        ("heap_ptr", "i64 -- ptr"),
        ("load_ptr", "ptr i64 -- i64"),
        ("store_ptr", "i64 ptr i64 -- "),
        ("nop", "-- "),
        ("push_i64", "-- i64"),
        ("push_small", "-- i64"),
        ("push_f64", "-- f64"),
        ("dup", "i64 -- i64 i64"),
        ("drop", "i64 -- "),
        ("swap", "i64 i64 -- i64 i64"),
        ("over", "i64 i64 -- i64 i64 i64"),
        ("load_local", "-- i64"),
        ("store_local", "i64 -- "),
        ("inc_local", "-- "),
    ];
    let files = defs();
    let all: Vec<_> = files.iter().flat_map(|f| &f.uops).collect();
    let effect = |name: &str| {
        let uop = all.iter().find(|u| u.name == name).unwrap();
        let types = |vs: &[uop_defs::StackValue]| {
            vs.iter().map(|v| v.ty.name()).collect::<Vec<_>>().join(" ")
        };
        let inputs = types(&uop.inputs);
        let sep = if inputs.is_empty() { "" } else { " " };
        format!("{inputs}{sep}-- {}", types(&uop.outputs))
    };
    for (name, want) in expected {
        assert_eq!(effect(name), *want, "{name}");
    }
    for uop in all
        .iter()
        .filter(|u| u.name.ends_with("_i64") && u.name != "f64_to_i64")
    {
        if uop.name != "neg_i64" && uop.name != "hash_i64" && !uop.name.starts_with("push") {
            assert_eq!(effect(&uop.name), "i64 i64 -- i64", "{}", uop.name);
        }
    }
    assert_eq!(effect("hash_i64"), "i64 i64 -- i64");
}

#[test]
fn immediates_helpers_and_docs() {
    let files = defs();
    let all: Vec<_> = files.iter().flat_map(|f| &f.uops).collect();
    let uop = |name: &str| *all.iter().find(|u| u.name == name).unwrap();
    use Immediate::*;
    let expect: &[(&str, &[Immediate])] = &[
        ("nop", &[]),
        ("push_i64", &[Operand]),
        ("push_small", &[Oparg]),
        ("push_f64", &[Operand]),
        ("load_local", &[Oparg]),
        ("store_local", &[Oparg]),
        ("inc_local", &[Oparg]),
        ("add_i64", &[Deopt]),
        ("div_i64", &[Deopt]),
        ("add_imm", &[Oparg]),
        ("hash_i64", &[]),
        ("guard_nonneg", &[Deopt]),
        ("f64_to_i64", &[Deopt]),
        ("jump", &[JumpTarget]),
        ("branch_if_lt", &[JumpTarget]),
        ("return", &[]),
        ("store_ptr", &[Deopt]),
    ];
    for (name, imms) in expect {
        assert_eq!(uop(name).immediates, *imms, "{name}");
    }
    assert_eq!(uop("hash_i64").calls, ["vm_hash"]);
    assert_eq!(uop("sqrt_f64").calls, ["vm_sqrt"]);
    assert!(all
        .iter()
        .filter(|u| !["hash_i64", "sqrt_f64"].contains(&u.name.as_str()))
        .all(|u| u.calls.is_empty()));
    assert!(all.iter().all(|u| !u.doc.is_empty()), "every uop has a doc");

    let int = &files[2];
    assert_eq!(int.helpers.len(), 1);
    assert_eq!(int.helpers[0].name, "vm_hash");
    assert_eq!(int.helpers[0].params, [ValueType::I64, ValueType::I64]);
    assert_eq!(int.helpers[0].ret, ValueType::I64);
    let float = &files[1];
    assert_eq!(float.helpers[0].name, "vm_sqrt");
    assert_eq!(float.helpers[0].params, [ValueType::F64]);
    assert_eq!(float.helpers[0].ret, ValueType::F64);
    assert!(files[3].prelude.contains("heap_index_ok"));
}
