//! A VM whose interpreter looks nothing like the reference one: its own
//! state struct, threaded arguments of other names, a 32-bit per-op value,
//! a per-trace value and an exit of its own. Its stencils go through the
//! same pipeline (real clang 19) and run natively, which shows that
//! nothing of the reference VM is assumed.

use std::path::Path;

use runtime::{Hole, Stencil, StencilTable, TraceOp, UopInfo, ValueInfo};
use serde_json::Value as Json;
use stencil_gen::pipeline::{self, GenOptions};
use stencil_gen::target::X86_64_LINUX;

const ABI: &str = r#"
/// A register machine's state, entered with a separate value stack.
abi {
    types {
typedef struct machine {
    uint64_t flags;
    int64_t acc;
    int64_t *top;
} machine;
    }
    entry(machine *m, int64_t *stack) -> int64_t;
    arg m: machine * = m;
    arg top: int64_t * = stack;
    stack top: int64_t;
    cache 2;
    value imm: u32 per_op;
    value bias: u64 per_trace;
    exit HALT(v) pops inputs { m->acc = (v); m->top = top; return 7; }
}
"#;

const OPS: &str = r#"
/// Pushes the op's immediate.
uop push( -- x) uses imm { x = IMM; }
/// Adds the trace's bias.
uop add_bias(a -- r) uses bias { r = a + (int64_t)BIAS; }
uop add(a, b -- r) { r = a + b; }
/// Stops with v in the accumulator.
uop halt(v -- ) { HALT(v); }
"#;

/// Generates x86-64 Linux stencils for the ABI above and `ops`.
fn generate(ops: &str) -> Result<pipeline::Generation, pipeline::GenError> {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("defs")).unwrap();
    std::fs::write(root.path().join("defs/abi.uop"), ABI).unwrap();
    std::fs::write(root.path().join("defs/ops.uop"), ops).unwrap();
    let mut opts = GenOptions::new(root.path(), "defs");
    opts.targets = vec![&X86_64_LINUX];
    opts.cache_dir = None;
    pipeline::generate(&opts)
}

/// The generated manifest of x86-64 Linux for the defs above.
fn manifest() -> Json {
    let generation = generate(OPS).unwrap_or_else(|e| panic!("{e}"));
    let file = generation
        .files
        .iter()
        .find(|f| f.path == Path::new("x86_64_unknown_linux_gnu.json"))
        .expect("the manifest");
    serde_json::from_slice(&file.bytes).unwrap()
}

fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

fn bytes(hex: &Json) -> &'static [u8] {
    let hex = hex.as_str().unwrap();
    leak(
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect(),
    )
}

fn stencil(json: &Json) -> Stencil {
    let holes =
        |key: &str| -> &'static [Hole] { leak(serde_json::from_value(json[key].clone()).unwrap()) };
    Stencil {
        code: bytes(&json["code"]),
        code_holes: holes("code_holes"),
        data: bytes(&json["data"]),
        data_holes: holes("data_holes"),
        data_align: json["data_align"].as_u64().unwrap() as u32,
    }
}

fn names(json: &Json) -> &'static [&'static str] {
    leak(
        json.as_array()
            .unwrap()
            .iter()
            .map(|s| &*Box::leak(s.as_str().unwrap().to_string().into_boxed_str()))
            .collect(),
    )
}

fn values(json: &Json) -> &'static [ValueInfo] {
    leak(
        json.as_array()
            .unwrap()
            .iter()
            .map(|v| ValueInfo {
                name: names(&Json::Array(vec![v["name"].clone()]))[0],
                bits: v["bits"].as_u64().unwrap() as u8,
            })
            .collect(),
    )
}

/// The stencil table the manifest describes, as `generated` would hold it.
fn table(manifest: &Json) -> StencilTable {
    let uops = manifest["uops"].as_array().unwrap();
    let per_uop = manifest["cache"].as_u64().unwrap() as usize + 1;
    // One entry per variant; the uop's own information once.
    let firsts: Vec<&Json> = uops.iter().step_by(per_uop).collect();
    StencilTable {
        target: "x86_64-unknown-linux-gnu",
        arch: runtime::Arch::X86_64,
        llvm_version: "from the manifest",
        code_align: manifest["code_align"].as_u64().unwrap() as u32,
        shim: stencil(&manifest["shim"]),
        uops: leak(uops.iter().map(|u| stencil(&u["stencil"])).collect()),
        cache: (per_uop - 1) as u8,
        info: leak(
            firsts
                .iter()
                .map(|u| UopInfo {
                    name: names(&Json::Array(vec![u["uop"].clone()]))[0],
                    inputs: leak(serde_json::from_value(u["inputs"].clone()).unwrap()),
                    outputs: leak(serde_json::from_value(u["outputs"].clone()).unwrap()),
                    uses: names(&u["uses"]),
                    helpers: &[],
                })
                .collect(),
        ),
        symbols: names(&manifest["symbols"]),
        op_values: values(&manifest["op_values"]),
        trace_values: values(&manifest["trace_values"]),
        emitters: None,
    }
}

#[test]
fn the_manifest_lists_the_declared_values() {
    let manifest = manifest();
    assert_eq!(
        manifest["op_values"],
        serde_json::json!([{ "name": "imm", "bits": 32 }])
    );
    assert_eq!(
        manifest["trace_values"],
        serde_json::json!([{ "name": "bias", "bits": 64 }])
    );
    // The per-trace value is resolved by name, like a helper.
    assert_eq!(manifest["symbols"], serde_json::json!(["bias"]));
    // Three variants of each uop, then the spill's.
    let entries = manifest["uops"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &names[..4],
        ["push.r01", "push.r12", "push.r22", "add_bias.r01"]
    );
    assert_eq!(
        &names[names.len() - 3..],
        ["cache_spill.r00", "cache_spill.r10", "cache_spill.r20"]
    );
    let uses: Vec<&Json> = entries
        .iter()
        .step_by(3)
        .take(4)
        .map(|u| &u["uses"])
        .collect();
    assert_eq!(
        uses,
        [
            &serde_json::json!(["imm"]),
            &serde_json::json!(["bias"]),
            &serde_json::json!([]),
            &serde_json::json!([]),
        ]
    );
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[repr(C)]
struct Machine {
    flags: u64,
    acc: i64,
    top: *mut i64,
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn a_trace_of_the_second_abi_runs() {
    use runtime::{ExecPool, PoolConfig};

    let table = table(&manifest());
    let id = |name: &str| table.uop_id(name).unwrap();
    let imm = table.op_value("imm").unwrap();
    let push = |value: u32| {
        let mut op = TraceOp::new(id("push"));
        op.values[imm] = u64::from(value);
        op
    };
    // Each op entered in the cache state the one before leaves: the two
    // pushes and the add never touch memory.
    let mut ops = vec![
        push(40),
        push(2),
        TraceOp::new(id("add")),
        TraceOp::new(id("add_bias")),
        TraceOp::new(id("halt")),
    ];
    let mut state = 0;
    for op in &mut ops {
        op.variant = state;
        state = table.variant_out(op.uop, state).unwrap();
    }
    let variants: Vec<u8> = ops.iter().map(|op| op.variant).collect();
    assert_eq!(variants, [0, 1, 2, 1, 1]);
    let bias = 1_000_000_000_000u64;
    let pool = ExecPool::new(PoolConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let trace = pool
        .compile(&table, &ops, &[bias])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stack = [0i64; 8];
    let mut machine = Machine {
        flags: 0,
        acc: 0,
        top: std::ptr::null_mut(),
    };
    // SAFETY: the shim has the declared entry signature with the C ABI, and
    // the trace stays mapped while it runs; it writes at most two slots.
    let entry: extern "C" fn(*mut Machine, *mut i64) -> i64 =
        unsafe { std::mem::transmute(trace.entry()) };
    let status = entry(&mut machine, stack.as_mut_ptr());
    assert_eq!(status, 7);
    assert_eq!(machine.acc, 42 + bias as i64);
    // `halt` popped its input: the stack is empty again.
    assert_eq!(machine.top, stack.as_mut_ptr());
    assert_eq!(machine.flags, 0);
}

#[test]
fn a_value_symbol_the_abi_does_not_declare_is_an_error_not_a_helper() {
    let ops = "uop peek( -- x) {\n    extern const char _JIT_EXECUTOR[];\n    x = (int64_t)(uintptr_t)_JIT_EXECUTOR;\n}\n";
    let Err(error) = generate(ops) else {
        panic!("generation must fail");
    };
    let error = error.to_string();
    assert!(
        error.contains(
            "uop `peek.r01` (x86_64-unknown-linux-gnu): `_JIT_EXECUTOR` is not a hole value the ABI \
             declares; declare it in the `abi` item (`value executor: u64 per_op;` or `per_trace`), \
             or give the symbol another name"
        ),
        "{error}"
    );
}
