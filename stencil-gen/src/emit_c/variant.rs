//! Stencil variants: where a uop's inputs come from and its outputs go
//! when the top `k` stack values arrive in registers.
//!
//! The registers are the threaded arguments `jit_c0..jit_c{N-1}` after the
//! ABI's own, `jit_c{k-1}` the top of the stack. A uop takes its inputs
//! from the registers first and the rest from memory; what stays in
//! registers below its inputs, then its outputs, are passed on in
//! registers as far as the `N` of them reach, the deepest going to memory.

use uop_defs::ast::{StackValue, ValueType};

use super::abi::CAbi;

/// The name of a cache register argument.
pub fn register(i: u32) -> String {
    format!("jit_c{i}")
}

/// One variant of one uop: its cache state in and out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Values in registers on entry.
    pub k_in: u32,
    /// Values in registers on exit.
    pub k_out: u32,
}

impl Variant {
    /// The variant of a uop with `inputs` and `outputs` entered with
    /// `k_in` values in registers, with `cache` registers.
    pub fn of(k_in: u32, inputs: usize, outputs: usize, cache: u32) -> Variant {
        let left = (k_in as usize).saturating_sub(inputs);
        Variant {
            k_in,
            k_out: (left + outputs).min(cache as usize) as u32,
        }
    }

    /// `r21`: two values in, one out.
    pub fn name(self) -> String {
        format!("r{}{}", self.k_in, self.k_out)
    }
}

/// The C of one variant: loads before the body, stores and the stack
/// adjustment after it, and the register arguments passed on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub loads: Vec<String>,
    pub stores: Vec<String>,
    pub sp_adjust: Option<String>,
    /// One expression per cache register, in order.
    pub registers_out: Vec<String>,
    /// Inputs read from memory (popped from the stack argument).
    pub from_memory: usize,
    /// Registers left below the inputs.
    pub left: u32,
}

/// The plan of `variant` for a uop with `inputs` and `outputs`.
pub fn plan(abi: &CAbi, variant: Variant, inputs: &[StackValue], outputs: &[StackValue]) -> Plan {
    let sp = &abi.stack;
    let i = inputs.len();
    let in_registers = (variant.k_in as usize).min(i);
    let from_memory = i - in_registers;
    let left = variant.k_in as usize - in_registers;
    let loads = inputs
        .iter()
        .enumerate()
        .map(|(j, input)| {
            let bits = if j < from_memory {
                format!("{sp}[{}]", j as i64 - from_memory as i64)
            } else {
                register((left + j - from_memory) as u32)
            };
            load(abi, input, &bits)
        })
        .collect();
    // What is on top of the memory stack after the uop, deepest first.
    let candidates: Vec<String> = (0..left)
        .map(|q| register(q as u32))
        .chain(outputs.iter().map(|out| bits_of(abi, out)))
        .collect();
    let spilled = candidates.len() - variant.k_out as usize;
    let stores = candidates[..spilled]
        .iter()
        .enumerate()
        .map(|(q, bits)| format!("{sp}[{}] = {bits};", q as i64 - from_memory as i64))
        .collect();
    let delta = spilled as i64 - from_memory as i64;
    let registers_out = (0..abi.cache)
        .map(|p| match candidates.get(spilled + p as usize) {
            Some(bits) if p < variant.k_out => bits.clone(),
            _ => register(p),
        })
        .collect();
    Plan {
        loads,
        stores,
        sp_adjust: (delta != 0).then(|| format!("{sp} += {delta};")),
        registers_out,
        from_memory,
        left: left as u32,
    }
}

/// The C type a stack value of type `ty` has in a body.
pub fn c_type(abi: &CAbi, ty: ValueType) -> String {
    match ty {
        ValueType::I64 => "int64_t".to_string(),
        ValueType::F64 => "double".to_string(),
        ValueType::Ptr => abi.pointer.clone(),
    }
}

/// The typed load of an input from a slot's `bits`.
fn load(abi: &CAbi, value: &StackValue, bits: &str) -> String {
    let ty = c_type(abi, value.ty);
    let init = match value.ty {
        ValueType::I64 => format!("(int64_t){bits}"),
        ValueType::F64 => format!("jit_slot_to_f64({bits})"),
        ValueType::Ptr => format!("({ty})(intptr_t){bits}"),
    };
    format!("{} = {init};", super::declarator(&ty, &value.name))
}

/// An output's value as a slot's bits.
fn bits_of(abi: &CAbi, value: &StackValue) -> String {
    match value.ty {
        ValueType::I64 => format!("({}){}", abi.slot, value.name),
        ValueType::F64 => format!("jit_f64_to_slot({})", value.name),
        ValueType::Ptr => format!("({})(intptr_t){}", abi.slot, value.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_stay_in_registers_as_far_as_they_reach() {
        // add(a, b -- r) with three registers.
        let out = |k| Variant::of(k, 2, 1, 3).k_out;
        assert_eq!([out(0), out(1), out(2), out(3)], [1, 1, 1, 2]);
        // push( -- x): the deepest register goes to memory once all hold values.
        let out = |k| Variant::of(k, 0, 1, 3).k_out;
        assert_eq!([out(0), out(1), out(2), out(3)], [1, 2, 3, 3]);
        // No cache: everything in memory.
        assert_eq!(Variant::of(0, 2, 1, 0).k_out, 0);
        assert_eq!(Variant::of(2, 2, 1, 3).name(), "r21");
    }
}
