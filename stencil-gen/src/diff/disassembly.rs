//! The disassembly of a stencil, as the manifest holds it, reduced to what
//! a reader compares: instructions and relocations without their offsets
//! and raw bytes.
//!
//! A manifest line is one of (see `toolchain::disassembly::tidy`):
//!
//! ```text
//! <_JIT_ENTRY>:                                       a label
//!    f: 0f 8d 00 00 00 00  jge     0x15 <_JIT_ENTRY+0x15>   an instruction
//!       0011: R_X86_64_PLT32 _JIT_CONTINUE-0x4        a relocation
//! ```
//!
//! Normalised, they read:
//!
//! ```text
//! <_JIT_ENTRY>:
//! jge     <_JIT_ENTRY+0x15>
//!     R_X86_64_PLT32 _JIT_CONTINUE-0x4
//! ```
//!
//! The offset column and the raw bytes go, since one inserted instruction
//! would otherwise change every later line; the absolute branch target
//! before a `<symbol+offset>` goes too, being the same number twice. The
//! `<symbol+offset>` itself stays: where a branch lands is part of the code.
//! The disassembler's comments go (` # xmm0 = mem[0],zero` on x86-64,
//! ` // =16` on AArch64): their presence depends on the llvm-objdump
//! version, not on the code.

use similar::TextDiff;

/// One line of a tidied listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line<'a> {
    Label(&'a str),
    /// The mnemonic and operands.
    Instruction(&'a str),
    /// The relocation type and its target.
    Relocation(&'a str),
    Other(&'a str),
}

/// Relocation lines are indented by six spaces; instruction lines by at
/// most three (their offset is right-aligned in four columns).
const RELOCATION_INDENT: &str = "      ";

fn classify(line: &str) -> Line<'_> {
    let trimmed = line.trim();
    if trimmed.starts_with('<') && trimmed.ends_with(">:") {
        return Line::Label(trimmed);
    }
    let Some((offset, rest)) = trimmed.split_once(": ") else {
        return Line::Other(trimmed);
    };
    if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Line::Other(trimmed);
    }
    if line.starts_with(RELOCATION_INDENT) {
        return Line::Relocation(rest.trim());
    }
    // Raw bytes, two spaces, then the instruction text.
    match rest.split_once("  ") {
        Some((_bytes, text)) => Line::Instruction(text.trim()),
        None => Line::Instruction(""),
    }
}

/// The number of instructions in a listing.
pub fn instruction_count(listing: &[String]) -> u64 {
    listing
        .iter()
        .filter(|l| matches!(classify(l), Line::Instruction(_)))
        .count() as u64
}

/// The listing without offsets and raw bytes (see the module
/// documentation).
pub fn normalize(listing: &[String]) -> Vec<String> {
    listing
        .iter()
        .map(|line| match classify(line) {
            Line::Label(label) => label.to_string(),
            Line::Instruction("") => "(no instruction text)".to_string(),
            Line::Instruction(text) => drop_absolute_targets(drop_comment(text)),
            Line::Relocation(text) => format!("    {text}"),
            Line::Other(text) => text.to_string(),
        })
        .collect()
}

/// The instruction without a trailing disassembler comment. An AArch64
/// immediate (`#0x10`) has no space after its `#`, a comment does.
fn drop_comment(text: &str) -> &str {
    let cut = [" # ", " // "]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min();
    match cut {
        Some(at) => text[..at].trim_end(),
        None => text,
    }
}

/// `jge     0x15 <_JIT_ENTRY+0x15>` as `jge     <_JIT_ENTRY+0x15>`.
fn drop_absolute_targets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("0x") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let digits = from[2..].bytes().take_while(u8::is_ascii_hexdigit).count();
        let after = &from[2 + digits..];
        if digits > 0 && after.starts_with(" <") && is_word_start(before) {
            rest = &after[1..];
        } else {
            out.push_str(&from[..2 + digits]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Whether a number starting right after `before` is a word of its own.
fn is_word_start(before: &str) -> bool {
    matches!(before.chars().next_back(), None | Some(' ' | ',' | '\t'))
}

/// A unified diff (three lines of context) of the normalised listings `a`
/// and `b`, headed `--- header_a` / `+++ header_b`; when the normalised
/// listings are the same, of the listings as they are (the change is then in
/// the raw bytes). `None` when the listings are identical.
pub fn unified_diff(a: &[String], b: &[String], header_a: &str, header_b: &str) -> Option<String> {
    let (norm_a, norm_b) = (normalize(a), normalize(b));
    let (a, b) = if norm_a != norm_b {
        (norm_a, norm_b)
    } else if a != b {
        (a.to_vec(), b.to_vec())
    } else {
        return None;
    };
    let text = |lines: &[String]| -> String { lines.iter().map(|l| format!("{l}\n")).collect() };
    let (text_a, text_b) = (text(&a), text(&b));
    let diff = TextDiff::from_lines(&text_a, &text_b)
        .unified_diff()
        .context_radius(3)
        .header(header_a, header_b)
        .to_string();
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn normalises_every_kind_of_line() {
        let listing = lines(&[
            "<_JIT_ENTRY>:",
            "   f: 0f 8d 00 00 00 00  jge     0x15 <_JIT_ENTRY+0x15>",
            "      0011: R_X86_64_PLT32 _JIT_CONTINUE-0x4",
            "  15: e9 00 00 00 00     jmp     0x1a <_JIT_ENTRY+0x1a>",
            "   0: a9ff2428  ldp     x8, x9, [x1, #-0x10]!",
            "  1d: c3              retq",
            "   3: 49 83 c5 f0        addq    $-0x10, %r13",
            "   4: f2 0f 10 46 f0     movsd   -0x10(%rsi), %xmm0 # xmm0 = mem[0],zero",
            "   8: d2800200  mov     x0, #0x10 // =16",
        ]);
        assert_eq!(
            normalize(&listing),
            lines(&[
                "<_JIT_ENTRY>:",
                "jge     <_JIT_ENTRY+0x15>",
                "    R_X86_64_PLT32 _JIT_CONTINUE-0x4",
                "jmp     <_JIT_ENTRY+0x1a>",
                "ldp     x8, x9, [x1, #-0x10]!",
                "retq",
                "addq    $-0x10, %r13",
                "movsd   -0x10(%rsi), %xmm0",
                "mov     x0, #0x10",
            ])
        );
        assert_eq!(instruction_count(&listing), 7);
    }

    #[test]
    fn a_moved_instruction_changes_only_its_lines() {
        let a = lines(&[
            "   0: 48 89 f0        movq    %rsi, %rax",
            "   3: 48 83 c6 f0     addq    $-0x10, %rsi",
            "   7: c3              retq",
        ]);
        let b = lines(&[
            "   0: 4c 89 e8           movq    %r13, %rax",
            "   3: 48 83 c6 f0        addq    $-0x10, %rsi",
            "   7: c3                 retq",
        ]);
        let diff = unified_diff(&a, &b, "a", "b").unwrap();
        assert!(diff.starts_with("--- a\n+++ b\n@@"), "{diff}");
        assert!(diff.contains("\n-movq    %rsi, %rax\n"), "{diff}");
        assert!(diff.contains("\n+movq    %r13, %rax\n"), "{diff}");
        assert!(diff.contains("\n addq    $-0x10, %rsi\n"), "{diff}");
        assert_eq!(unified_diff(&a, &a, "a", "b"), None);
    }

    #[test]
    fn same_instructions_with_other_bytes_diff_the_raw_listing() {
        let a = lines(&["   0: e9 00 00 00 00  jmp     0x5 <_JIT_ENTRY+0x5>"]);
        let b = lines(&["   0: e9 01 00 00 00  jmp     0x5 <_JIT_ENTRY+0x5>"]);
        let diff = unified_diff(&a, &b, "a", "b").unwrap();
        assert!(diff.contains("-   0: e9 00 00 00 00"), "{diff}");
        assert!(diff.contains("+   0: e9 01 00 00 00"), "{diff}");
    }
}
