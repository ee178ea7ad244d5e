//! The reference VM's uops in `defs/` parse and match the uop set.

use std::path::Path;

use uop_defs::{load_dir, Defs, ExitStack, UopFile, ValueSource, ValueType, ValueWidth};

fn load() -> Defs {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("defs");
    match load_dir(&dir) {
        Ok(defs) => defs,
        Err(e) => panic!("defs/ has errors:\n{e}"),
    }
}

fn defs() -> Vec<UopFile> {
    load().files
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
            "abi.uop",
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
    assert!(files[0].uops.is_empty());
    assert_eq!(
        names(&files[1]),
        [
            "jump",
            "branch_if_zero",
            "branch_if_nonzero",
            "branch_if_lt",
            "return"
        ]
    );
    assert_eq!(
        names(&files[2]),
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
        names(&files[3]),
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
        names(&files[4]),
        [
            "load_heap",
            "store_heap",
            "heap_ptr",
            "load_ptr",
            "store_ptr"
        ]
    );
    assert_eq!(
        names(&files[5]),
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
fn values_helpers_and_docs() {
    let files = defs();
    let all: Vec<_> = files.iter().flat_map(|f| &f.uops).collect();
    let uop = |name: &str| *all.iter().find(|u| u.name == name).unwrap();
    let expect: &[(&str, &[&str])] = &[
        ("nop", &[]),
        ("push_i64", &["operand"]),
        ("push_small", &["oparg"]),
        ("push_f64", &["operand"]),
        ("load_local", &["oparg"]),
        ("store_local", &["oparg"]),
        ("inc_local", &["oparg"]),
        ("add_i64", &["deopt_target"]),
        ("div_i64", &["deopt_target"]),
        ("add_imm", &["oparg"]),
        ("hash_i64", &[]),
        ("guard_nonneg", &["deopt_target"]),
        ("f64_to_i64", &["deopt_target"]),
        ("jump", &["jump_target"]),
        ("branch_if_lt", &["jump_target"]),
        ("return", &[]),
        ("store_ptr", &["deopt_target"]),
    ];
    for (name, uses) in expect {
        assert_eq!(uop(name).uses, *uses, "{name}");
    }
    assert_eq!(uop("hash_i64").calls, ["vm_hash"]);
    assert_eq!(uop("sqrt_f64").calls, ["vm_sqrt"]);
    assert!(all
        .iter()
        .filter(|u| !["hash_i64", "sqrt_f64"].contains(&u.name.as_str()))
        .all(|u| u.calls.is_empty()));
    assert!(all.iter().all(|u| !u.doc.is_empty()), "every uop has a doc");

    let int = &files[3];
    assert_eq!(int.helpers.len(), 1);
    assert_eq!(int.helpers[0].name, "vm_hash");
    assert_eq!(int.helpers[0].params, [ValueType::I64, ValueType::I64]);
    assert_eq!(int.helpers[0].ret, ValueType::I64);
    let float = &files[2];
    assert_eq!(float.helpers[0].name, "vm_sqrt");
    assert_eq!(float.helpers[0].params, [ValueType::F64]);
    assert_eq!(float.helpers[0].ret, ValueType::F64);
    assert!(files[4].prelude.contains("heap_index_ok"));
}

/// The reference ABI declares what the C templates used to hard-code.
#[test]
fn reference_abi() {
    let defs = load();
    assert_eq!(defs.abi_path.file_name().unwrap(), "abi.uop");
    let abi = &defs.abi;
    assert_eq!(abi.doc, "The reference VM's stencil ABI.");
    let params: Vec<_> = abi
        .entry
        .params
        .iter()
        .map(|p| (p.ty.text.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(params, [("vm_frame *", "frame"), ("int64_t *", "sp")]);
    assert_eq!(abi.entry.ret.text, "int64_t");
    let args: Vec<_> = abi
        .args
        .iter()
        .map(|a| (a.name.as_str(), a.ty.text.as_str(), a.init.as_str()))
        .collect();
    assert_eq!(
        args,
        [
            ("frame", "vm_frame *", "frame"),
            ("sp", "int64_t *", "sp"),
            ("locals", "int64_t *", "frame->locals")
        ]
    );
    assert_eq!(
        (abi.stack.arg.as_str(), abi.stack.slot.text.as_str()),
        ("sp", "int64_t")
    );
    assert_eq!(abi.pointer.text, "int64_t *");
    assert_eq!(abi.cache, 3);
    let values: Vec<_> = abi
        .values
        .iter()
        .map(|v| (v.name.as_str(), v.width, v.source))
        .collect();
    assert_eq!(
        values,
        [
            ("oparg", ValueWidth::U32, ValueSource::PerOp),
            ("operand", ValueWidth::U64, ValueSource::PerOp),
            ("deopt_target", ValueWidth::U64, ValueSource::PerOp),
        ]
    );
    let exits: Vec<_> = abi
        .exits
        .iter()
        .map(|e| (e.name.as_str(), e.params.clone(), e.stack, e.uses.clone()))
        .collect();
    assert_eq!(
        exits,
        [
            (
                "DEOPT",
                vec![],
                ExitStack::KeepsInputs,
                vec!["deopt_target".to_string()]
            ),
            (
                "RETURN",
                vec!["v".to_string()],
                ExitStack::PopsInputs,
                vec![]
            ),
        ]
    );
    for needed in [
        "typedef struct vm_frame",
        "#define AS_F64(i)",
        "#define AS_I64(d)",
        "#define FRAME frame",
        "#define OPERAND_F64 AS_F64(OPERAND)",
        "#define DEOPT_IF(c)",
    ] {
        assert!(abi.types.contains(needed), "{needed}");
    }
}
