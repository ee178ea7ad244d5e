//! Names a `.uop` file may not give to stack values or helpers, because
//! they would break the C a stencil is compiled from.

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

/// The body macros of the stencil ABI.
const BODY_MACROS: &[&str] = &[
    "AS_F64",
    "AS_I64",
    "DEOPT",
    "DEOPT_IF",
    "FRAME",
    "JUMP",
    "OPARG",
    "OPERAND",
    "OPERAND_F64",
    "RETURN",
];

/// The parameters of every stencil function (`frame`, `sp`).
const STENCIL_PARAMETERS: &[&str] = &["frame", "sp"];

/// Why `name` cannot name a stack value or helper, if it cannot.
pub(crate) fn reserved(name: &str) -> Option<&'static str> {
    if C_KEYWORDS.contains(&name) {
        Some("is a C keyword")
    } else if name.starts_with("_JIT") {
        Some("starts with `_JIT`, which is reserved for holes")
    } else if BODY_MACROS.contains(&name) {
        Some("is a body macro")
    } else if STENCIL_PARAMETERS.contains(&name) {
        Some("is a parameter of every stencil")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_list_is_sorted_for_review() {
        assert!(C_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(BODY_MACROS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn reserved_names() {
        assert_eq!(reserved("int"), Some("is a C keyword"));
        assert!(reserved("_JIT_OPARG").is_some());
        assert!(reserved("OPARG").is_some());
        assert!(reserved("sp").is_some());
        assert_eq!(reserved("value"), None);
        assert_eq!(reserved("_JITTER"), reserved("_JIT"));
    }
}
