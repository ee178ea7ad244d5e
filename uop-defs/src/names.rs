//! Names a `.uop` file may not give to stack values, helpers or ABI
//! declarations, because they would break the C a stencil is compiled from.

use crate::ast::Abi;

/// Keywords of C11 and of the later standards clang accepts.
const C_KEYWORDS: &[&str] = &[
    "_Alignas",
    "_Alignof",
    "_Atomic",
    "_BitInt",
    "_Bool",
    "_Complex",
    "_Generic",
    "_Imaginary",
    "_Noreturn",
    "_Static_assert",
    "_Thread_local",
    "alignas",
    "alignof",
    "auto",
    "bool",
    "break",
    "case",
    "char",
    "const",
    "constexpr",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "false",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "nullptr",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "struct",
    "switch",
    "thread_local",
    "true",
    "typedef",
    "typeof",
    "typeof_unqual",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
];

/// The hole values every ABI has without declaring them.
pub(crate) const BUILTIN_VALUES: &[&str] = &["code", "continue", "data", "jump_target", "zero"];

/// The built-in value a body jumps with, and its macro.
pub(crate) const JUMP_TARGET: &str = "jump_target";
pub(crate) const JUMP: &str = "JUMP";

/// Why `name` cannot name anything the C of a stencil declares, if it
/// cannot: C keywords, and the `_JIT` prefix of holes.
pub(crate) fn reserved(name: &str) -> Option<&'static str> {
    if C_KEYWORDS.contains(&name) {
        Some("is a C keyword")
    } else if name.starts_with("_JIT") {
        Some("starts with `_JIT`, which is reserved for holes")
    } else {
        None
    }
}

/// Why `name` cannot name a stack value or helper under `abi`, if it
/// cannot: the ABI already gives it a meaning in every body.
pub(crate) fn taken_by_abi(abi: &Abi, name: &str) -> Option<String> {
    if abi.arg(name).is_some() {
        Some("is a threaded argument of the ABI".to_string())
    } else if abi.exit(name).is_some() {
        Some("is an exit of the ABI".to_string())
    } else if let Some(value) = abi.values.iter().find(|v| v.macro_name() == name) {
        Some(format!("is the macro of value `{}`", value.name))
    } else if name == JUMP {
        Some(format!("is the built-in macro of `{JUMP_TARGET}`"))
    } else if defined_macros(&abi.types).any(|m| m == name) {
        Some("is a macro defined in the ABI's `types`".to_string())
    } else {
        None
    }
}

/// The names `#define`d in C text (directives at the start of a line).
pub(crate) fn defined_macros(c_text: &str) -> impl Iterator<Item = &str> {
    c_text.split(['\n', '\r']).filter_map(|line| {
        let rest = line.trim_start().strip_prefix('#')?.trim_start();
        let rest = rest.strip_prefix("define")?;
        let name = rest.trim_start();
        if name.len() == rest.len() {
            return None; // `#defined`, not `#define NAME`
        }
        let end = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        (end > 0).then(|| &name[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_list_is_sorted_for_review() {
        assert!(C_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(BUILTIN_VALUES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn reserved_names() {
        assert_eq!(reserved("int"), Some("is a C keyword"));
        assert!(reserved("_JIT_OPARG").is_some());
        assert_eq!(reserved("OPARG"), None);
        assert_eq!(reserved("value"), None);
        assert_eq!(reserved("_JITTER"), reserved("_JIT"));
    }

    #[test]
    fn defined_macros_are_found_at_line_starts() {
        let text =
            "#define A 1\n  #  define B(x) x\r#defined C\nint D; // #define E\n#define\n#define F";
        assert_eq!(defined_macros(text).collect::<Vec<_>>(), ["A", "B", "F"]);
    }
}
