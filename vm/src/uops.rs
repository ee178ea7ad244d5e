//! The uops the interpreter implements, with the stack effect and immediates
//! it expects of each. A stencil table is checked against this list before
//! its code runs a program, so a drifted uop definition is an error instead
//! of a silently wrong stack.

use runtime::{UopInfo, ValueType};

use ValueType::{Ptr, F64, I64};

macro_rules! uops {
    ($($variant:ident = $name:literal ($($input:ident),*) -> ($($output:ident),*)
        $(oparg $oparg:tt)? $(operand $operand:tt)? $(jump $jump:tt)? $(deopt $deopt:tt)?
        $(helper $helper:literal)?;)*) => {
        /// A uop as the interpreter knows it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $($variant,)*
        }

        impl Op {
            /// Every uop, in declaration order.
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            /// The uop's name in the DSL, the stencil table and assembly.
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$variant => $name,)*
                }
            }

            /// The uop's stack effect and immediates.
            pub fn info(self) -> &'static UopInfo {
                &UOPS[self as usize]
            }
        }

        /// Stack effects and immediates of every uop, indexed by `Op as usize`.
        pub static UOPS: &[UopInfo] = &[$(UopInfo {
            name: $name,
            inputs: &[$($input),*],
            outputs: &[$($output),*],
            uses: &[$(uops!(@use oparg $oparg),)? $(uops!(@use operand $operand),)?
                $(uops!(@use jump_target $jump),)? $(uops!(@use deopt_target $deopt),)?],
            helpers: &[$($helper)?],
        },)*];
    };
    (@use $name:ident true) => { stringify!($name) };
}

uops! {
    Nop = "nop" () -> ();
    PushI64 = "push_i64" () -> (I64) operand true;
    PushSmall = "push_small" () -> (I64) oparg true;
    PushF64 = "push_f64" () -> (F64) operand true;
    Dup = "dup" (I64) -> (I64, I64);
    Drop = "drop" (I64) -> ();
    Swap = "swap" (I64, I64) -> (I64, I64);
    Over = "over" (I64, I64) -> (I64, I64, I64);
    LoadLocal = "load_local" () -> (I64) oparg true;
    StoreLocal = "store_local" (I64) -> () oparg true;
    IncLocal = "inc_local" () -> () oparg true;

    AddI64 = "add_i64" (I64, I64) -> (I64) deopt true;
    SubI64 = "sub_i64" (I64, I64) -> (I64) deopt true;
    MulI64 = "mul_i64" (I64, I64) -> (I64) deopt true;
    DivI64 = "div_i64" (I64, I64) -> (I64) deopt true;
    RemI64 = "rem_i64" (I64, I64) -> (I64) deopt true;
    NegI64 = "neg_i64" (I64) -> (I64);
    AddImm = "add_imm" (I64) -> (I64) oparg true;
    AndI64 = "and_i64" (I64, I64) -> (I64);
    OrI64 = "or_i64" (I64, I64) -> (I64);
    XorI64 = "xor_i64" (I64, I64) -> (I64);
    ShlI64 = "shl_i64" (I64, I64) -> (I64);
    ShrI64 = "shr_i64" (I64, I64) -> (I64);
    LtI64 = "lt_i64" (I64, I64) -> (I64);
    LeI64 = "le_i64" (I64, I64) -> (I64);
    GtI64 = "gt_i64" (I64, I64) -> (I64);
    GeI64 = "ge_i64" (I64, I64) -> (I64);
    EqI64 = "eq_i64" (I64, I64) -> (I64);
    NeI64 = "ne_i64" (I64, I64) -> (I64);
    HashI64 = "hash_i64" (I64, I64) -> (I64) helper "vm_hash";
    GuardNonneg = "guard_nonneg" (I64) -> (I64) deopt true;

    AddF64 = "add_f64" (F64, F64) -> (F64);
    SubF64 = "sub_f64" (F64, F64) -> (F64);
    MulF64 = "mul_f64" (F64, F64) -> (F64);
    DivF64 = "div_f64" (F64, F64) -> (F64);
    NegF64 = "neg_f64" (F64) -> (F64);
    LtF64 = "lt_f64" (F64, F64) -> (I64);
    I64ToF64 = "i64_to_f64" (I64) -> (F64);
    F64ToI64 = "f64_to_i64" (F64) -> (I64) deopt true;
    SqrtF64 = "sqrt_f64" (F64) -> (F64) helper "vm_sqrt";

    Jump = "jump" () -> () jump true;
    BranchIfZero = "branch_if_zero" (I64) -> () jump true;
    BranchIfNonzero = "branch_if_nonzero" (I64) -> () jump true;
    BranchIfLt = "branch_if_lt" (I64, I64) -> () jump true;
    Return = "return" (I64) -> ();

    LoadHeap = "load_heap" (I64) -> (I64) deopt true;
    StoreHeap = "store_heap" (I64, I64) -> () deopt true;
    HeapPtr = "heap_ptr" (I64) -> (Ptr) deopt true;
    LoadPtr = "load_ptr" (Ptr, I64) -> (I64) deopt true;
    StorePtr = "store_ptr" (I64, Ptr, I64) -> () deopt true;
}

impl Op {
    /// The uop with this name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Control never reaches the next instruction.
    pub fn is_terminator(self) -> bool {
        matches!(self, Op::Jump | Op::Return)
    }

    /// The oparg names a local slot.
    pub fn uses_local(self) -> bool {
        matches!(self, Op::LoadLocal | Op::StoreLocal | Op::IncLocal)
    }
}

/// The values a uop of the interpreter may use: the per-op values of the
/// VM's ABI and the built-in jump target.
pub const VALUES: [&str; 4] = ["oparg", "operand", "jump_target", "deopt_target"];

/// How a stencil table's uop differs from the interpreter's.
pub fn signature_mismatch(table: &UopInfo, op: Op) -> Option<String> {
    let own = op.info();
    let mut diffs = Vec::new();
    if table.inputs.len() != own.inputs.len() || table.outputs.len() != own.outputs.len() {
        diffs.push(format!(
            "stack effect ({} -- {}) instead of ({} -- {})",
            table.inputs.len(),
            table.outputs.len(),
            own.inputs.len(),
            own.outputs.len()
        ));
    }
    for value in VALUES {
        let (theirs, ours) = (table.uses.contains(&value), own.uses.contains(&value));
        if theirs != ours {
            let verb = if theirs { "uses" } else { "does not use" };
            diffs.push(format!("{verb} `{value}`"));
        }
    }
    if diffs.is_empty() {
        None
    } else {
        Some(diffs.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_index_their_info() {
        assert_eq!(Op::ALL.len(), UOPS.len());
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(op.info().name, op.name());
            assert_eq!(Op::from_name(op.name()), Some(*op));
        }
        assert_eq!(Op::from_name("no_such_uop"), None);
    }

    #[test]
    fn mismatch_names_each_difference() {
        let mut info = *Op::AddImm.info();
        assert_eq!(signature_mismatch(&info, Op::AddImm), None);
        assert_eq!(info.uses, ["oparg"]);
        info.uses = &["operand"];
        info.inputs = &[I64, I64];
        assert_eq!(
            signature_mismatch(&info, Op::AddImm).as_deref(),
            Some("stack effect (2 -- 1) instead of (1 -- 1), does not use `oparg`, uses `operand`")
        );
    }
}
