//! The VM's declared stencil ABI as C text: the pieces the templates put
//! together, computed once per generation. Nothing here knows a VM; every
//! name and type comes from the `abi` item.

use uop_defs::ast::{Abi, CType, Exit, ExitStack, Uop, ValueDecl, ValueSource, ValueWidth};

use super::variant::{register, Plan};
use crate::model::{DeclaredValue, DeclaredValues};

/// The ABI, ready for the C templates.
#[derive(Clone, Debug)]
pub struct CAbi {
    /// The `types` block and where it is in the defs.
    pub types: String,
    pub types_line: u32,
    /// The `.uop` file of the `abi` item, as written into `#line`.
    pub abi_path: String,
    /// Return type of the shim and of every stencil.
    pub ret: String,
    /// `vm_frame *frame, int64_t *sp, int64_t jit_c0`: the threaded
    /// arguments declared, the cache registers last.
    pub params: String,
    /// `frame, sp`: the ABI's threaded arguments passed on (the cache
    /// registers follow, per variant).
    pub args: String,
    /// How many top-of-stack values variants may keep in registers.
    pub cache: u32,
    /// The shim's own parameters, declared.
    pub entry_params: String,
    /// The shim's continuation call arguments: each threaded argument's
    /// initialiser.
    pub inits: String,
    /// The operand stack pointer argument and its type.
    pub stack: String,
    pub stack_type: String,
    /// The C type of one stack slot and of `ptr` values.
    pub slot: String,
    pub pointer: String,
    values: Vec<ValueDecl>,
    exits: Vec<Exit>,
}

impl CAbi {
    /// `abi`, whose item is in the file written as `abi_path`.
    pub fn new(abi: &Abi, abi_path: String) -> CAbi {
        let stack_type = abi
            .arg(&abi.stack.arg)
            .map_or_else(|| pointer_to(&abi.stack.slot), |a| a.ty.text.clone());
        // `#line` numbers the first line kept: the text starts after the
        // blank lines that follow `types {`.
        let kept = abi.types.trim_start_matches(['\n', '\r']);
        let skipped = abi.types[..abi.types.len() - kept.len()]
            .matches('\n')
            .count();
        CAbi {
            types: kept.trim_end().to_string(),
            types_line: abi.types_span.line + skipped as u32,
            abi_path,
            ret: abi.entry.ret.text.clone(),
            params: abi
                .args
                .iter()
                .map(|a| declarator(&a.ty.text, &a.name))
                .chain((0..abi.cache).map(|i| declarator(&abi.stack.slot.text, &register(i))))
                .collect::<Vec<_>>()
                .join(", "),
            cache: abi.cache,
            args: names(abi.args.iter().map(|a| a.name.as_str())),
            entry_params: if abi.entry.params.is_empty() {
                "void".to_string()
            } else {
                abi.entry
                    .params
                    .iter()
                    .map(|p| declarator(&p.ty.text, &p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            // A trace is entered with nothing in registers.
            inits: abi
                .args
                .iter()
                .map(|a| parenthesised(&a.init))
                .chain((0..abi.cache).map(|_| "0".to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            stack: abi.stack.arg.clone(),
            stack_type,
            slot: abi.stack.slot.text.clone(),
            pointer: abi.pointer.text.clone(),
            values: abi.values.clone(),
            exits: abi.exits.clone(),
        }
    }

    /// The declared values as lowering and the stencil table see them.
    pub fn declared_values(abi: &Abi) -> DeclaredValues {
        let of = |source: ValueSource| {
            abi.values
                .iter()
                .filter(|v| v.source == source)
                .map(|v| DeclaredValue {
                    name: v.name.clone(),
                    bits: match v.width {
                        ValueWidth::U32 => 32,
                        ValueWidth::U64 => 64,
                    },
                })
                .collect()
        };
        DeclaredValues {
            per_op: of(ValueSource::PerOp),
            per_trace: of(ValueSource::PerTrace),
        }
    }

    /// The C declarations of the values `uop` uses: the weak symbol whose
    /// address is the value, and the body macro that reads it.
    pub fn value_decls(&self, uop: &Uop) -> Vec<String> {
        self.values
            .iter()
            .filter(|v| uop.uses(&v.name))
            .map(value_decl)
            .collect()
    }

    /// The exit macros `uop` may use: those whose values it uses. Every
    /// value in registers is stored to the memory stack first; an exit that
    /// keeps the inputs sees the stack argument as it was before the uop,
    /// one that pops them sees it past them.
    pub fn exit_macros(&self, uop: &Uop, k_in: u32, plan: &Plan) -> Vec<String> {
        self.exits
            .iter()
            .filter(|e| e.uses.iter().all(|v| uop.uses(v)))
            .map(|exit| {
                let body = exit.body.trim().replace('\n', " \\\n    ");
                let (popped, spilled) = match exit.stack {
                    ExitStack::KeepsInputs => (0, k_in),
                    ExitStack::PopsInputs => (plan.from_memory, plan.left),
                };
                let stack = if popped == 0 && spilled == 0 {
                    format!("{{ {body} }}")
                } else {
                    let stores: String = (0..spilled)
                        .map(|q| format!("jit_exit_stack[{q}] = {}; ", register(q)))
                        .collect();
                    format!(
                        "{ty}jit_exit_stack = {sp} - {popped}; {stores}\
                         {{ {ty}{sp} = jit_exit_stack + {spilled}; {body} }}",
                        ty = type_prefix(&self.stack_type),
                        sp = self.stack,
                    )
                };
                format!(
                    "#define {}({}) do {{ {stack} }} while (0)",
                    exit.name,
                    exit.params.join(", ")
                )
            })
            .collect()
    }
}

/// `int64_t *p`, `vm_frame *frame`, `double x`.
pub fn declarator(ty: &str, name: &str) -> String {
    format!("{}{name}", type_prefix(ty))
}

/// A type as written before a declared name: a pointer's `*` touches it.
fn type_prefix(ty: &str) -> String {
    if ty.ends_with('*') {
        ty.to_string()
    } else {
        format!("{ty} ")
    }
}

fn pointer_to(ty: &CType) -> String {
    format!("{} *", ty.text)
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// An initialiser as a call argument: a bare name as is, anything else in
/// parentheses so no comma or operator leaks.
fn parenthesised(expr: &str) -> String {
    let expr = expr.trim();
    if expr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        expr.to_string()
    } else {
        format!("({expr})")
    }
}

/// The weak symbol `_JIT_NAME` and the macro `NAME` that reads it. A 32-bit
/// value is the address's low 32 bits, zero-extended; a 64-bit value needs
/// 64-bit addresses, or on 32-bit Windows the import slot `__imp__JIT_NAME`,
/// which lowering turns into a GOT slot holding the whole value.
fn value_decl(value: &ValueDecl) -> String {
    let name = value.macro_name();
    let symbol = DeclaredValues::symbol(&value.name);
    let weak = format!("extern const char {symbol}[] __attribute__((weak));");
    match value.width {
        ValueWidth::U32 => {
            format!("{weak}\n#define {name} ((int64_t)(uint32_t)(uintptr_t){symbol})")
        }
        ValueWidth::U64 => format!(
            "{weak}\n\
             #if __SIZEOF_POINTER__ >= 8\n\
             #define {name} ((uint64_t)(uintptr_t){symbol})\n\
             #elif defined(_WIN32)\n\
             extern const uint64_t jit_{lower}_slot __asm__(\"__imp_\" JIT_NAME(__USER_LABEL_PREFIX__) \"{symbol}\");\n\
             #define {name} jit_{lower}_slot\n\
             #else\n\
             #error \"no way to read the 64-bit value `{lower}` with 32-bit addresses on this target\"\n\
             #endif",
            lower = value.name,
        ),
    }
}
