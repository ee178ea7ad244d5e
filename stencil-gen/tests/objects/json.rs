//! `inspect-object --format json` (`docs/json-output.md`): parsed back with
//! serde_json, its fields hold the stencil lowering makes of real uops.

#[allow(unused_imports)]
use crate::abi_support::{reference_abi, reference_values};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use stencil_gen::inspect::{inspect_json, Inspection};
use stencil_gen::lower::lower;
use stencil_gen::model::{Hole, Value};
use stencil_gen::obj::{self, SectionKind};
use stencil_gen::target::{Target, AARCH64_APPLE, ALL, X86_64_LINUX};

use crate::real::uop_object;

fn parse(object: &[u8], target: &Target, name: &str) -> Json {
    let text =
        inspect_json(object, target, name, reference_values()).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

fn keys(value: &Json) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn add_imm_on_x86_64_linux() {
    // movl oparg@GOTPCREL(%rip), %eax; addq %rax, -8(%r13); then the jump
    // to the continuation, removed.
    let object = uop_object(&X86_64_LINUX, "int.uop", "add_imm");
    let output = parse(&object, &X86_64_LINUX, "add_imm");
    assert_eq!(keys(&output), ["object", "schema", "stencil", "target"]);
    assert_eq!(output["schema"], 1);
    assert_eq!(
        output["target"],
        json!({
            "triple": "x86_64-unknown-linux-gnu",
            "short": "x86_64",
            "format": "ELF",
            "arch": "x86-64",
        })
    );
    assert_eq!(
        output["object"],
        json!({
            "size": object.len(),
            "sha256": hex(&Sha256::digest(&object)),
        })
    );
    let stencil = &output["stencil"];
    assert_eq!(
        keys(stencil),
        [
            "code",
            "code_holes",
            "data",
            "data_align",
            "data_holes",
            "got",
            "name",
            "removed",
            "sections",
        ]
    );
    assert_eq!(stencil["name"], "add_imm");
    assert_eq!(stencil["code"], "8b0500000000490145f8");
    assert_eq!(
        stencil["code_holes"],
        json!([{
            "offset": 2,
            "kind": "x86_64_got_load_no_rex",
            "value": "data",
            "symbol": null,
            "addend": -4,
        }])
    );
    let oparg_slot = json!({
        "offset": 0,
        "kind": "abs64",
        "value": "op_value",
        "symbol": "oparg",
        "addend": 0,
    });
    assert_eq!(stencil["data"], "0000000000000000");
    assert_eq!(stencil["data_align"], 8);
    assert_eq!(stencil["data_holes"], json!([oparg_slot]));
    assert_eq!(
        stencil["got"],
        json!({ "offset": 0, "slots": [oparg_slot] })
    );
    assert_eq!(
        stencil["sections"],
        json!([{ "name": ".text", "part": "code", "offset": 0, "size": 15 }])
    );
    assert_eq!(
        stencil["removed"],
        json!({ "trailing_jump": { "offset": 10, "bytes": "e900000000" } })
    );
}

#[test]
fn hash_i64_on_aarch64_macos() {
    // A call to the helper `vm_hash` (a symbol hole), no data, no GOT.
    let object = uop_object(&AARCH64_APPLE, "int.uop", "hash_i64");
    let stencil = &parse(&object, &AARCH64_APPLE, "hash_i64")["stencil"];
    assert_eq!(
        stencil["code_holes"],
        json!([{
            "offset": 12,
            "kind": "aarch64_branch26",
            "value": "symbol",
            "symbol": "vm_hash",
            "addend": 0,
        }])
    );
    assert_eq!(stencil["data"], "");
    assert_eq!(stencil["data_holes"], json!([]));
    assert_eq!(stencil["got"]["slots"], json!([]));
    // `b _JIT_CONTINUE`, its immediate left to the relocation.
    assert_eq!(
        stencil["removed"]["trailing_jump"],
        json!({ "offset": 24, "bytes": "00000014" })
    );
    let object = uop_object(&AARCH64_APPLE, "int.uop", "add_imm");
    let stencil = &parse(&object, &AARCH64_APPLE, "add_imm")["stencil"];
    let kinds: Vec<&Json> = stencil["code_holes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["kind"])
        .collect();
    assert_eq!(
        kinds,
        ["aarch64_adrp_page21", "aarch64_page_offset12(scale=3)"]
    );
}

#[test]
fn nothing_removed_is_null() {
    // `return` ends by returning to the VM: there is no jump to remove.
    let object = uop_object(&X86_64_LINUX, "control.uop", "return");
    let stencil = &parse(&object, &X86_64_LINUX, "return")["stencil"];
    assert_eq!(stencil["removed"], json!({ "trailing_jump": null }));
}

/// A hole as the JSON spells it.
fn hole_json(hole: &Hole, kind: &str) -> Json {
    let (value, symbol) = match &hole.value {
        Value::Code => ("code", None),
        Value::Data => ("data", None),
        Value::Continue => ("continue", None),
        Value::JumpTarget => ("jump_target", None),
        Value::Zero => ("zero", None),
        Value::OpValue(name) => ("op_value", Some(name.as_str())),
        Value::Symbol(name) => ("symbol", Some(name.as_str())),
        Value::Undeclared(name) => ("undeclared", Some(name.as_str())),
    };
    json!({
        "offset": hole.offset,
        "kind": kind,
        "value": value,
        "symbol": symbol,
        "addend": hole.addend,
    })
}

#[test]
fn json_holds_the_lowered_stencil_on_every_target() {
    for target in ALL {
        for (file, name) in [("float.uop", "sqrt_f64"), ("memory.uop", "load_heap")] {
            let object = uop_object(target, file, name);
            let group =
                lower(&object, target, name, reference_values()).unwrap_or_else(|e| panic!("{e}"));
            let inspection = Inspection::new(&object, target, name, reference_values()).unwrap();
            let stencil = &parse(&object, target, name)["stencil"];
            assert_eq!(stencil["code"], hex(&group.code));
            assert_eq!(stencil["data"], hex(&group.data));
            assert_eq!(stencil["data_align"], group.data_align);
            for (holes, field) in [
                (&group.code_holes, "code_holes"),
                (&group.data_holes, "data_holes"),
            ] {
                let listed = stencil[field].as_array().unwrap();
                assert_eq!(listed.len(), holes.len(), "{name} {}", target.triple);
                for (hole, json) in holes.iter().zip(listed) {
                    let kind = json["kind"].as_str().unwrap();
                    assert_eq!(*json, hole_json(hole, kind), "{name} {}", target.triple);
                }
            }
            // GOT slots are the data holes from the GOT's offset on, one
            // per 8 bytes.
            let got = &stencil["got"];
            let start = got["offset"].as_u64().unwrap();
            for (index, slot) in got["slots"].as_array().unwrap().iter().enumerate() {
                assert_eq!(slot["offset"], start + 8 * index as u64);
                assert_eq!(slot["kind"], "abs64");
            }
            assert_eq!(
                got["slots"].as_array().unwrap().len(),
                inspection.layout.got_slots
            );
            // A removed jump starts where the code now ends.
            let jump = &stencil["removed"]["trailing_jump"];
            assert_eq!(jump.is_null(), !group.trailing_jump_removed);
            if !jump.is_null() {
                assert_eq!(jump["offset"], group.code.len());
                // The code section is the code with the jump put back.
                let file = obj::read(&object).unwrap();
                let code: Vec<&obj::Section> = file
                    .sections
                    .iter()
                    .filter(|s| s.kind == SectionKind::Code)
                    .collect();
                assert_eq!(code.len(), 1);
                assert_eq!(
                    format!("{}{}", hex(&group.code), jump["bytes"].as_str().unwrap()),
                    hex(&code[0].data)
                );
            }
        }
    }
}
