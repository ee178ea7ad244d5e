//! An oracle for trace emission: emits a trace with the runtime, then reads
//! every byte back with decoders written apart from the patcher, and checks
//! it against what the trace and its layout say each byte should be.
//!
//! * [`decode`]: per hole kind, which bits patching may change and what the
//!   patched bits say about the hole's `S` (the inverse of
//!   `runtime::patch`).
//! * [`reach`]: which `S` a hole can encode, so that a refusal is checked
//!   too: emission fails only when a value has no encoding.
//! * [`got`]: x86-64 GOT loads rewritten into direct forms do what the load
//!   through the slot did.
//! * [`trampoline`]: a trampoline's instructions, followed to the address
//!   they jump to.
//! * [`case`]: random traces described by byte strings (fuzzer inputs or a
//!   seeded generator's output).
//! * [`check`]: the oracle. A case either fails for a reason that holds, or
//!   every hole decodes to its intended value (continuation, jump target,
//!   oparg, operand, deopt target, symbol, code or data address), or to a
//!   trampoline that jumps to its symbol when the symbol is out of reach;
//!   every other byte of each stencil is the stencil's, except in a
//!   relaxed GOT load; padding is traps in code and zeros in data; and
//!   nothing past the layout's length is written.

pub mod case;
pub mod check;
pub mod decode;
pub mod got;
mod intended;
mod layout;
pub mod reach;
pub mod trampoline;

pub use case::Case;
pub use check::{check, Outcome, Stats};
