//! The uop definition language: the parser, checks and diagnostics for
//! `.uop` files, and (in `defs/`) the stencil ABI and uops of the reference
//! VM.
//!
//! A defs directory declares the VM's stencil ABI in one `abi` item and
//! defines micro-ops ("uops"). Each uop has a stack effect, the values and
//! helpers it needs, and a body of C that the stencil generator compiles
//! into a stencil. [`parse`] reads one file, [`load_dir`] a directory of
//! them; both report every error they find, each pointing at
//! `file:line:col`.
//!
//! ```text
//! /// Adds two integers; deopts on signed overflow.
//! uop add_i64(a, b -- r) uses deopt_target {
//!     DEOPT_IF(__builtin_add_overflow(a, b, &r));
//! }
//! ```
//!
//! # `.uop` grammar
//!
//! ```text
//! file         := item*
//! item         := prelude | helper | uop | abi
//! prelude      := 'prelude' '{' C-TEXT '}'
//! helper       := 'helper' IDENT '(' [type (',' type)*] ')' '->' type ';'
//! uop          := DOC* 'uop' IDENT '(' stack-effect ')' clause* '{' C-TEXT '}'
//! stack-effect := values '--' values
//! values       := [value (',' value)*]
//! value        := IDENT [':' type]
//! type         := 'i64' | 'f64' | 'ptr'
//! clause       := 'uses' IDENT (',' IDENT)*
//!               | 'calls' IDENT (',' IDENT)*
//! abi          := DOC* 'abi' '{' (DOC* statement)* '}'
//! statement    := 'types' '{' C-TEXT '}'
//!               | 'entry' '(' [c-type IDENT (',' c-type IDENT)*] ')' '->' c-type ';'
//!               | 'arg' IDENT ':' c-type '=' C-EXPR ';'
//!               | 'stack' IDENT ':' c-type ';'
//!               | 'pointer' c-type ';'
//!               | 'cache' NUMBER ';'
//!               | 'value' IDENT ':' ('u32' | 'u64') ('per_op' | 'per_trace') ';'
//!               | 'exit' IDENT '(' [IDENT (',' IDENT)*] ')' ('keeps' | 'pops') 'inputs'
//!                 ['uses' IDENT (',' IDENT)*] '{' C-TEXT '}'
//! c-type       := IDENT (IDENT | '*')*
//! DOC          := '///' text to the end of the line
//! IDENT        := [A-Za-z_][A-Za-z0-9_]*
//! ```
//!
//! * **prelude**: C shared by every uop of the file (static inline
//!   functions, macros). Several preludes are concatenated.
//! * **helper**: a function the VM provides, called from bodies by name.
//! * **stack effect**: inputs, then `--`, then outputs, each list bottom of
//!   the stack first; either list may be empty, commas separate values. A
//!   value's type defaults to `i64`. Inputs and outputs share one namespace
//!   (`dup` is `(a -- a1, a2)`), and names may not be C keywords, start with
//!   `_JIT`, or be a name the ABI gives a meaning (an arg such as `sp`, an
//!   exit, a value's macro, `JUMP`, a macro `#define`d in `types`).
//! * **uses**: the values the body needs: values the ABI declares (`oparg`
//!   is read as `OPARG`) and the built-in `jump_target` (`JUMP`). A body
//!   identifier uses the macro `M` (a value's macro, an exit, `JUMP`) if it
//!   is `M` or starts with `M_`, the longest `M` winning: `OPERAND_F64` uses
//!   `operand`, `DEOPT_IF` uses the exit `DEOPT` and so every value in the
//!   exit's `uses`. Using a value without declaring it, or declaring one the
//!   body does not use, is an error.
//! * **calls**: the helpers of the same file the body calls; the same rule
//!   holds: every helper named in the body is listed, every listed helper is
//!   named in the body.
//! * **abi**: the stencil ABI, one per defs directory; its statements may
//!   come in any order, and `types`, `entry` and `stack` are required. See
//!   docs/stencil-abi.md for what each statement means. C-EXPR is C text up
//!   to the first `;` outside brackets; a C type's text is normalised to
//!   single spaces with `*` attached (`const char *`, `int64_t **`).
//! * **DOC**: `///` lines document the uop, abi or statement that follows.
//! * Comments: `//` to the end of the line and `/* ... */`, outside C text.
//! * Files are UTF-8; a line ends at `\n`, `\r\n` or a lone `\r`.
//!
//! [`load_dir`] reads every `*.uop` entry directly in a directory and
//! checks every uop against the directory's `abi`; one that is not a
//! regular file (or a link to one), and a directory without any `.uop`
//! file, any uop or an `abi` item, are errors. [`parse`] checks a file's
//! uses only against the file's own `abi` item, [`parse_with_abi`] against
//! a given one.
//!
//! C-TEXT is raw C with balanced braces; braces inside string and character
//! literals and comments do not count. A uop's body is exactly the text
//! between its outer braces. Identifiers in a body are found the same way,
//! skipping literals, comments and numbers.
//!
//! # Errors
//!
//! After a syntax error the parser skips to the next `uop`, `helper`,
//! `prelude`, `abi` or doc comment (inside an `abi`, to the end of the
//! statement), so one run reports every error of a file:
//!
//! ```text
//! error: expected `,` between stack values, found `b`
//!  --> int.uop:2:11
//!   |
//! 2 | uop add(a b -- r) {
//!   |           ^
//! ```

pub mod ast;
mod check;
mod check_abi;
mod ctext;
mod diagnostic;
mod lexer;
mod load;
mod names;
mod parser;
mod source;
mod uses;

use std::path::Path;

pub use ast::{
    Abi, CParam, CType, Entry, Exit, ExitStack, Helper, Span, StackDecl, StackValue, ThreadedArg,
    Uop, UopFile, ValueDecl, ValueSource, ValueType, ValueWidth,
};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use load::{load_dir, Defs};

use parser::ParsedFile;
use source::LineIndex;

/// Parses and checks one `.uop` file; `path` is only used in diagnostics
/// and stored in the result. What the uops use is checked against the
/// file's own `abi` item; a file without one gets every check but those
/// (see [`parse_with_abi`] and [`load_dir`]).
pub fn parse(path: &Path, src: &str) -> Result<UopFile, Diagnostics> {
    let index = LineIndex::new(src);
    let (parsed, mut errors) = parse_collecting(path, &index);
    if let Some(abi) = &parsed.file.abi {
        errors.extend(uses::check_uses(path, &index, &parsed, abi));
    }
    finish(parsed.file, errors)
}

/// Parses and checks one `.uop` file against an ABI declared elsewhere
/// (such as [`Defs::abi`]); the file may not declare its own.
pub fn parse_with_abi(path: &Path, src: &str, abi: &Abi) -> Result<UopFile, Diagnostics> {
    let index = LineIndex::new(src);
    let (parsed, mut errors) = parse_collecting(path, &index);
    if let Some(own) = &parsed.file.abi {
        let message = "this file declares an `abi` item, but it is checked against an ABI \
                       declared elsewhere; a defs directory declares one stencil ABI";
        errors.push(Diagnostic::located(
            path,
            &index,
            own.span.clone(),
            message.to_string(),
        ));
    }
    errors.extend(uses::check_uses(path, &index, &parsed, abi));
    finish(parsed.file, errors)
}

fn finish(file: UopFile, mut errors: Vec<Diagnostic>) -> Result<UopFile, Diagnostics> {
    if errors.is_empty() {
        Ok(file)
    } else {
        errors.sort_by_key(Diagnostic::sort_key);
        Err(Diagnostics::new(errors))
    }
}

/// The best-effort AST of a file and all its errors but those that need
/// the ABI, unsorted.
fn parse_collecting(path: &Path, index: &LineIndex<'_>) -> (ParsedFile, Vec<Diagnostic>) {
    let (parsed, mut errors) = parser::parse_file(path, index.src(), index);
    errors.extend(check::check_file(path, index, &parsed));
    (parsed, errors)
}
