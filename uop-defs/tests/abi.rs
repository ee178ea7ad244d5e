//! The `abi` item: its AST, its errors, and the checks of uops against it.

mod common;

use std::fs;
use std::path::Path;

use uop_defs::{load_dir, parse, parse_with_abi, Abi, ExitStack, Span, ValueSource, ValueWidth};

/// The example of the ABI specification, verbatim.
const EXAMPLE: &str = r#"/// The reference VM's stencil ABI.
abi {
    /// C declarations every stencil sees: the types the VM shares with its stencils,
    /// and any macros over them. Freestanding C; stdint.h is already included.
    types {
        #define JIT_SLOT __attribute__((aligned(8)))
        typedef struct vm_frame { int64_t *locals JIT_SLOT; ... } vm_frame;
    }
    /// The C signature of the shim, the entry the VM calls (return type must be given).
    entry(vm_frame *frame, int64_t *sp) -> int64_t;
    /// Threaded arguments, in order: every stencil receives them and passes them on.
    /// `= EXPR` is the C expression (over the entry parameters) the shim computes it with.
    arg frame: vm_frame * = frame;
    arg sp: int64_t * = sp;
    arg locals: int64_t * = frame->locals;
    /// Which threaded argument is the operand stack pointer; the stack grows upwards,
    /// the pointer points one past the top slot; SLOT-TYPE is the C type of one slot.
    stack sp: int64_t;
    /// The C type stack values declared `ptr` have.
    pointer int64_t *;
    /// How many top-of-stack values may be kept in registers (stencil variants); default 0.
    cache 3;
    /// Hole values the VM declares beyond the built-in ones (continue, jump_target, code,
    /// data, zero). NAME: WIDTH SOURCE; WIDTH is `u32` or `u64`; SOURCE is `per_op` (an
    /// immediate of each trace op) or `per_trace` (one value for the whole trace, which the
    /// VM supplies by name when it emits a trace, like a helper's address).
    value oparg: u32 per_op;
    value operand: u64 per_op;
    value deopt_target: u64 per_op;
    /// Exits: macros a uop body may use to leave the trace. `keeps inputs` means the stack
    /// argument (and memory) holds the stack as it was before the uop (nothing popped);
    /// `pops inputs` means it holds the stack after the uop's inputs are popped. `uses`
    /// lists declared values the exit's body uses. The body is C text; params are macro
    /// parameters.
    exit DEOPT() keeps inputs uses deopt_target { frame->sp = sp; return (int64_t)DEOPT_TARGET; }
    exit RETURN(v) pops inputs { frame->result = (v); frame->sp = sp; return -1; }
}
"#;

fn parse_abi(src: &str) -> Abi {
    match parse(Path::new("defs/abi.uop"), src) {
        Ok(file) => file.abi.expect("an abi item"),
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

/// The source text a span covers.
fn text<'a>(src: &'a str, span: &Span) -> &'a str {
    &src[span.offset..span.offset + span.len]
}

fn at(span: &Span) -> (u32, u32) {
    (span.line, span.col)
}

#[test]
fn the_example_parses_into_every_field() {
    let src = EXAMPLE;
    let abi = parse_abi(src);
    assert_eq!(abi.doc, "The reference VM's stencil ABI.");
    assert_eq!((text(src, &abi.span), at(&abi.span)), ("abi", (2, 1)));

    assert_eq!(
        abi.types,
        "\n        #define JIT_SLOT __attribute__((aligned(8)))\n        \
         typedef struct vm_frame { int64_t *locals JIT_SLOT; ... } vm_frame;\n    "
    );
    assert_eq!(text(src, &abi.types_span), abi.types);
    assert_eq!(at(&abi.types_span), (5, 12));

    let entry = &abi.entry;
    assert_eq!(
        (text(src, &entry.span), at(&entry.span)),
        ("entry", (10, 5))
    );
    let params: Vec<_> = entry
        .params
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.ty.text.as_str(),
                text(src, &p.ty.span),
                at(&p.span),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("frame", "vm_frame *", "vm_frame *", (10, 21)),
            ("sp", "int64_t *", "int64_t *", (10, 37))
        ]
    );
    assert_eq!(
        (entry.ret.text.as_str(), at(&entry.ret.span)),
        ("int64_t", (10, 44))
    );

    let args: Vec<_> = abi
        .args
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.ty.text.as_str(),
                a.init.as_str(),
                text(src, &a.init_span),
                at(&a.span),
            )
        })
        .collect();
    assert_eq!(
        args,
        [
            ("frame", "vm_frame *", "frame", "frame", (13, 9)),
            ("sp", "int64_t *", "sp", "sp", (14, 9)),
            (
                "locals",
                "int64_t *",
                "frame->locals",
                "frame->locals",
                (15, 9)
            ),
        ]
    );
    assert_eq!(
        abi.args[0].doc,
        "Threaded arguments, in order: every stencil receives them and passes them on.\n\
         `= EXPR` is the C expression (over the entry parameters) the shim computes it with."
    );
    assert_eq!(abi.args[1].doc, "");

    assert_eq!(abi.stack.arg, "sp");
    assert_eq!(abi.stack.slot.text, "int64_t");
    assert_eq!(
        (text(src, &abi.stack.span), at(&abi.stack.span)),
        ("sp", (18, 11))
    );
    assert_eq!(abi.pointer.text, "int64_t *");
    assert_eq!(at(&abi.pointer.span), (20, 13));
    assert_eq!(abi.cache, 3);

    let values: Vec<_> = abi
        .values
        .iter()
        .map(|v| (v.name.as_str(), v.width, v.source, at(&v.span)))
        .collect();
    assert_eq!(
        values,
        [
            ("oparg", ValueWidth::U32, ValueSource::PerOp, (27, 11)),
            ("operand", ValueWidth::U64, ValueSource::PerOp, (28, 11)),
            (
                "deopt_target",
                ValueWidth::U64,
                ValueSource::PerOp,
                (29, 11)
            ),
        ]
    );
    assert!(abi.values[0].doc.starts_with("Hole values the VM declares"));
    assert_eq!(abi.values[0].doc.lines().count(), 4);
    assert_eq!(abi.values[2].macro_name(), "DEOPT_TARGET");

    let deopt = &abi.exits[0];
    assert_eq!(deopt.name, "DEOPT");
    assert!(deopt.params.is_empty());
    assert_eq!(deopt.stack, ExitStack::KeepsInputs);
    assert_eq!(deopt.uses, ["deopt_target"]);
    assert_eq!(
        deopt.body,
        " frame->sp = sp; return (int64_t)DEOPT_TARGET; "
    );
    assert_eq!(text(src, &deopt.body_span), deopt.body);
    assert_eq!(at(&deopt.span), (35, 10));
    assert!(deopt.doc.starts_with("Exits: macros a uop body may use"));
    let ret = &abi.exits[1];
    assert_eq!(ret.name, "RETURN");
    assert_eq!(ret.params, ["v"]);
    assert_eq!(ret.stack, ExitStack::PopsInputs);
    assert!(ret.uses.is_empty());
    assert_eq!(
        ret.body,
        " frame->result = (v); frame->sp = sp; return -1; "
    );
    assert_eq!(ret.doc, "");
    assert_eq!(abi.exit("RETURN"), Some(ret));
    assert_eq!(abi.value("operand").map(|v| v.width), Some(ValueWidth::U64));
    assert_eq!(
        abi.arg("locals").map(|a| a.init.as_str()),
        Some("frame->locals")
    );
}

#[test]
fn pointer_and_cache_have_defaults_and_statements_any_order() {
    let src = "abi {\n    stack s: int64_t;\n    arg s: int64_t * = base + 1;\n    \
               entry(int64_t *base) -> void;\n    types { }\n}\n";
    let abi = parse_abi(src);
    assert_eq!(abi.pointer.text, "void *");
    assert_eq!(abi.pointer.span, abi.span);
    assert_eq!(abi.cache, 0);
    assert_eq!(abi.types, " ");
    assert_eq!(abi.entry.ret.text, "void");
    assert_eq!(abi.args[0].init, "base + 1");
    assert!(abi.values.is_empty() && abi.exits.is_empty());
}

#[test]
fn c_types_are_normalised() {
    let src = "abi {\n    types {}\n    \
               entry(const   struct x**p, unsigned long n, char * const /* c */ *q) -> unsigned   long;\n    \
               arg s: int64_t*  * = (int64_t **)p;\n    stack s: int64_t *;\n    pointer const char*;\n}\n";
    let abi = parse_abi(src);
    let types: Vec<_> = abi
        .entry
        .params
        .iter()
        .map(|p| (p.ty.text.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("const struct x **", "p"),
            ("unsigned long", "n"),
            ("char * const *", "q")
        ]
    );
    assert_eq!(abi.entry.ret.text, "unsigned long");
    assert_eq!(abi.args[0].ty.text, "int64_t **");
    assert_eq!(abi.args[0].init, "(int64_t **)p");
    assert_eq!(abi.stack.slot.text, "int64_t *");
    assert_eq!(abi.pointer.text, "const char *");
    // The span covers the type as written.
    assert_eq!(text(src, &abi.args[0].ty.span), "int64_t*  *");
}

#[test]
fn initialisers_are_c_text_up_to_the_outer_semicolon() {
    let src = "abi {\n    types {}\n    entry(struct f *f) -> int;\n    \
               arg a: int * = f->m[g(1; 2)] /* ; */ + \";\" [0];\n    \
               arg s: int * = (int *){ 0 };\n    stack s: int;\n}\n";
    let abi = parse_abi(src);
    assert_eq!(abi.args[0].init, "f->m[g(1; 2)] /* ; */ + \";\" [0]");
    assert_eq!(abi.args[1].init, "(int *){ 0 }");
}

#[test]
fn entry_may_have_no_parameters_and_docs_before_any_statement() {
    let src = "abi {\n    /// Dropped.\n    types {}\n    /// Dropped.\n    entry() -> int;\n    \
               /// Kept.\n    arg s: int * = 0;\n    /// Dropped.\n    stack s: int;\n    \
               /// Kept too.\n    value v: u64 per_trace;\n}\n";
    let abi = parse_abi(src);
    assert!(abi.entry.params.is_empty());
    assert_eq!(abi.args[0].doc, "Kept.");
    assert_eq!(abi.values[0].doc, "Kept too.");
    assert_eq!(abi.values[0].source, ValueSource::PerTrace);
}

// ---- Errors in the abi item --------------------------------------------

/// The rendered errors of `src` as `defs/abi.uop`, which must not parse.
fn errors(src: &str) -> String {
    match parse(Path::new("defs/abi.uop"), src) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    }
}

/// A valid abi with `extra` lines added before its closing brace.
fn abi_with(extra: &str) -> String {
    format!(
        "abi {{\n    types {{}}\n    entry(vm_frame *frame, int64_t *sp) -> int64_t;\n    \
         arg frame: vm_frame * = frame;\n    arg sp: int64_t * = sp;\n    stack sp: int64_t;\n\
         {extra}}}\n"
    )
}

#[test]
fn the_helper_abi_is_valid() {
    parse_abi(&abi_with(""));
}

#[test]
fn missing_required_statements_are_reported_at_the_keyword() {
    assert_eq!(
        errors("/// Empty.\nabi {\n}\n"),
        "\
error: the abi has no `types` statement: declare the C types every stencil sees with `types { ... }`
 --> defs/abi.uop:2:1
  |
2 | abi {
  | ^^^

error: the abi has no `entry` statement: declare the shim's C signature with `entry(PARAMS) -> TYPE;`
 --> defs/abi.uop:2:1
  |
2 | abi {
  | ^^^

error: the abi has no `stack` statement: name the operand stack pointer with `stack ARG: SLOT-TYPE;`
 --> defs/abi.uop:2:1
  |
2 | abi {
  | ^^^"
    );
}

#[test]
fn duplicate_statements_are_reported_at_the_second() {
    let src = abi_with(
        "    pointer void *;\n    cache 1;\n    types { }\n    entry() -> int;\n    \
         stack frame: int64_t;\n    pointer int *;\n    cache 2;\n",
    );
    assert_eq!(
        errors(&src),
        "\
error: duplicate `types` in the abi (first declared at defs/abi.uop:2:5)
 --> defs/abi.uop:9:5
  |
9 |     types { }
  |     ^^^^^

error: duplicate `entry` in the abi (first declared at defs/abi.uop:3:5)
  --> defs/abi.uop:10:5
   |
10 |     entry() -> int;
   |     ^^^^^

error: duplicate `stack` in the abi (first declared at defs/abi.uop:6:5)
  --> defs/abi.uop:11:5
   |
11 |     stack frame: int64_t;
   |     ^^^^^

error: duplicate `pointer` in the abi (first declared at defs/abi.uop:7:5)
  --> defs/abi.uop:12:5
   |
12 |     pointer int *;
   |     ^^^^^^^

error: duplicate `cache` in the abi (first declared at defs/abi.uop:8:5)
  --> defs/abi.uop:13:5
   |
13 |     cache 2;
   |     ^^^^^"
    );
}

#[test]
fn two_abi_items_in_one_file() {
    let src = format!("{}\n{}", abi_with(""), abi_with(""));
    assert_eq!(
        errors(&src),
        "\
error: duplicate `abi` item (first declared at defs/abi.uop:1:1); a defs directory declares one stencil ABI
 --> defs/abi.uop:9:1
  |
9 | abi {
  | ^^^"
    );
}

#[test]
fn stack_must_name_a_declared_arg() {
    let src = "abi {\n    types {}\n    entry() -> int;\n    arg frame: int * = 0;\n    \
               arg top: int * = 0;\n    stack sp: int;\n}\n";
    assert_eq!(
        errors(src),
        "\
error: `stack` names `sp`, which is not a declared arg; the ABI declares args `frame`, `top`
 --> defs/abi.uop:6:11
  |
6 |     stack sp: int;
  |           ^^"
    );
}

#[test]
fn the_stack_arg_must_point_to_a_slot() {
    let src = "abi {\n    types {}\n    entry() -> int;\n    arg sp: int64_t = 0;\n    \
               stack sp: int64_t;\n}\n";
    assert_eq!(
        errors(src),
        "\
error: the stack arg `sp` has type `int64_t`, but `stack sp: int64_t` needs `int64_t *` (a pointer to one stack slot)
 --> defs/abi.uop:4:13
  |
4 |     arg sp: int64_t = 0;
  |             ^^^^^^^"
    );
    // A slot that is itself a pointer.
    let src = "abi {\n    types {}\n    entry() -> int;\n    arg sp: void * * = 0;\n    \
               stack sp: void *;\n}\n";
    assert_eq!(parse_abi(src).args[0].ty.text, "void **");
}

#[test]
fn duplicate_names() {
    let src = "abi {\n    types {}\n    entry(int a, int a) -> int;\n    arg sp: int * = 0;\n    \
               arg sp: int * = 0;\n    stack sp: int;\n    value v: u32 per_op;\n    \
               value v: u64 per_op;\n    exit E() keeps inputs {}\n    exit E() pops inputs {}\n    \
               exit F(x, x) pops inputs {}\n}\n";
    assert_eq!(
        errors(src),
        "\
error: duplicate entry parameter `a` (first declared at defs/abi.uop:3:15)
 --> defs/abi.uop:3:22
  |
3 |     entry(int a, int a) -> int;
  |                      ^

error: duplicate arg `sp` (first declared at defs/abi.uop:4:9)
 --> defs/abi.uop:5:9
  |
5 |     arg sp: int * = 0;
  |         ^^

error: duplicate value `v` (first declared at defs/abi.uop:7:11)
 --> defs/abi.uop:8:11
  |
8 |     value v: u64 per_op;
  |           ^

error: duplicate exit `E` (first declared at defs/abi.uop:9:10)
  --> defs/abi.uop:10:10
   |
10 |     exit E() pops inputs {}
   |          ^

error: duplicate parameter `x` of exit `F`
  --> defs/abi.uop:11:15
   |
11 |     exit F(x, x) pops inputs {}
   |               ^"
    );
}

#[test]
fn reserved_and_built_in_names() {
    let src = abi_with(
        "    arg code: int * = 0;\n    value _JIT_x: u32 per_op;\n    value zero: u64 per_op;\n    \
         exit _JIT_E() keeps inputs {}\n",
    );
    let src = src.replace("entry(vm_frame *frame", "entry(vm_frame *int");
    assert_eq!(
        errors(&src),
        "\
error: entry parameter name `int` is a C keyword
 --> defs/abi.uop:3:21
  |
3 |     entry(vm_frame *int, int64_t *sp) -> int64_t;
  |                     ^^^

error: arg name `code` is also a built-in hole value; choose another name
 --> defs/abi.uop:7:9
  |
7 |     arg code: int * = 0;
  |         ^^^^

error: value name `_JIT_x` starts with `_JIT`, which is reserved for holes
 --> defs/abi.uop:8:11
  |
8 |     value _JIT_x: u32 per_op;
  |           ^^^^^^

error: value name `zero` is a built-in hole value, which needs no declaration
 --> defs/abi.uop:9:11
  |
9 |     value zero: u64 per_op;
  |           ^^^^

error: exit name `_JIT_E` starts with `_JIT`, which is reserved for holes
  --> defs/abi.uop:10:10
   |
10 |     exit _JIT_E() keeps inputs {}
   |          ^^^^^^"
    );
    let src = abi_with("    arg int: int * = 0;\n");
    assert_eq!(
        errors(&src),
        "\
error: arg name `int` is a C keyword
 --> defs/abi.uop:7:9
  |
7 |     arg int: int * = 0;
  |         ^^^"
    );
}

#[test]
fn value_macros_must_not_collide() {
    let src = abi_with(
        "    exit STOP() keeps inputs {}\n    value stop: u32 per_op;\n    value jump: u32 per_op;\n    \
         value oparg: u32 per_op;\n    value OPARG: u64 per_op;\n",
    );
    assert_eq!(
        errors(&src),
        "\
error: the macro `STOP` of value `stop` is also the name of an exit (declared at defs/abi.uop:7:10)
 --> defs/abi.uop:8:11
  |
8 |     value stop: u32 per_op;
  |           ^^^^

error: the macro `JUMP` of value `jump` is the built-in macro of `jump_target`
 --> defs/abi.uop:9:11
  |
9 |     value jump: u32 per_op;
  |           ^^^^

error: the macro `OPARG` of value `OPARG` is also the macro of value `oparg` (declared at defs/abi.uop:10:11)
  --> defs/abi.uop:11:11
   |
11 |     value OPARG: u64 per_op;
   |           ^^^^^"
    );
}

#[test]
fn cache_is_at_most_eight() {
    assert_eq!(parse_abi(&abi_with("    cache 8;\n")).cache, 8);
    assert_eq!(
        errors(&abi_with("    cache 9;\n")),
        "\
error: cache 9 is too large: at most 8 top-of-stack values may be kept in registers
 --> defs/abi.uop:7:11
  |
7 |     cache 9;
  |           ^"
    );
    assert_eq!(
        errors(&abi_with("    cache 99999999999;\n")).lines().next(),
        Some(
            "error: cache 99999999999 is too large: at most 8 top-of-stack values may be kept \
             in registers"
        )
    );
    assert_eq!(
        errors(&abi_with("    cache three;\n")).lines().next(),
        Some("error: expected the number of stack values kept in registers, found `three`")
    );
}

#[test]
fn an_arg_needs_an_initialiser() {
    assert_eq!(
        errors(&abi_with("    arg locals: int64_t *;\n")),
        "\
error: expected `=` and the initialiser of arg `locals` (the C expression over the entry parameters that the shim computes it with), found `;`
 --> defs/abi.uop:7:26
  |
7 |     arg locals: int64_t *;
  |                          ^"
    );
}

#[test]
fn an_empty_initialiser_is_an_error() {
    assert_eq!(
        errors(&abi_with("    arg locals: int64_t * = /* nothing */ ;\n")),
        "\
error: arg `locals` has an empty initialiser; write the C expression the shim computes it with between `=` and `;`
 --> defs/abi.uop:7:27
  |
7 |     arg locals: int64_t * = /* nothing */ ;
  |                           ^"
    );
}

#[test]
fn an_initialiser_ends_with_a_semicolon() {
    assert_eq!(
        errors(&abi_with("    arg locals: int64_t * = frame->locals\n")),
        "\
error: expected `;` after the initialiser of arg `locals`, found `}`
 --> defs/abi.uop:8:1
  |
8 | }
  | ^"
    );
    assert_eq!(
        errors(&abi_with(
            "    arg locals: int64_t * = f(frame));\n    cache 1;\n"
        )),
        "\
error: unmatched `)` in the initialiser of arg `locals`
 --> defs/abi.uop:7:37
  |
7 |     arg locals: int64_t * = f(frame));
  |                                     ^"
    );
}

#[test]
fn unknown_width_and_source_list_the_choices() {
    assert_eq!(
        errors(&abi_with("    value v: u16 per_call;\n")),
        "\
error: unknown width `u16` of value `v`; expected `u32` or `u64`
 --> defs/abi.uop:7:14
  |
7 |     value v: u16 per_call;
  |              ^^^

error: unknown source `per_call` of value `v`; expected `per_op` (an immediate of each trace op) or `per_trace` (one value per trace)
 --> defs/abi.uop:7:18
  |
7 |     value v: u16 per_call;
  |                  ^^^^^^^^"
    );
}

#[test]
fn exit_names_are_uppercase_and_exit_uses_name_declared_values() {
    let src = abi_with(
        "    value oparg: u32 per_op;\n    exit Deopt() keeps inputs uses oparg, target { }\n    \
         exit JUMP() keeps inputs { }\n",
    );
    assert_eq!(
        errors(&src),
        "\
error: exit name `Deopt` must be an uppercase identifier, such as `DEOPT`: an exit is a macro
 --> defs/abi.uop:8:10
  |
8 |     exit Deopt() keeps inputs uses oparg, target { }
  |          ^^^^^

error: exit `Deopt` uses `target`, which is not a declared value; the ABI declares `oparg`
 --> defs/abi.uop:8:43
  |
8 |     exit Deopt() keeps inputs uses oparg, target { }
  |                                           ^^^^^^

error: exit name `JUMP` is the built-in macro of `jump_target`
 --> defs/abi.uop:9:10
  |
9 |     exit JUMP() keeps inputs { }
  |          ^^^^"
    );
}

#[test]
fn exit_syntax_errors() {
    assert_eq!(
        errors(&abi_with(
            "    exit STOP() leaves inputs {}\n    cache 1;\n"
        )),
        "\
error: expected `keeps inputs` or `pops inputs`, found `leaves`
 --> defs/abi.uop:7:17
  |
7 |     exit STOP() leaves inputs {}
  |                 ^^^^^^"
    );
}

#[test]
fn entry_syntax_errors() {
    let src = "abi {\n    types {}\n    entry(frame) -> int;\n    entry(int *) -> int;\n    \
               entry(void);\n    entry(void) -> int;\n    arg sp: int * = 0;\n    stack sp: int;\n}\n";
    assert_eq!(
        errors(src),
        "\
error: the abi has no `entry` statement: declare the shim's C signature with `entry(PARAMS) -> TYPE;`
 --> defs/abi.uop:1:1
  |
1 | abi {
  | ^^^

error: parameter `frame` has no C type; write it as `TYPE frame`
 --> defs/abi.uop:3:11
  |
3 |     entry(frame) -> int;
  |           ^^^^^

error: expected parameter name, found `)`
 --> defs/abi.uop:4:16
  |
4 |     entry(int *) -> int;
  |                ^

error: write `entry()` for an entry without parameters
 --> defs/abi.uop:5:11
  |
5 |     entry(void);
  |           ^^^^

error: write `entry()` for an entry without parameters
 --> defs/abi.uop:6:11
  |
6 |     entry(void) -> int;
  |           ^^^^"
    );
    assert_eq!(
        errors(&abi_with("    entry(int a);\n")).lines().next(),
        Some("error: expected `->` and the entry's C return type, found `;`")
    );
}

#[test]
fn unknown_statement_and_unclosed_abi() {
    assert_eq!(
        errors(&abi_with("    registers 3;\n    cache 1;\n")),
        "\
error: expected `types`, `entry`, `arg`, `stack`, `pointer`, `cache`, `value`, `exit` or `}`, found `registers`
 --> defs/abi.uop:7:5
  |
7 |     registers 3;
  |     ^^^^^^^^^"
    );
    let src = abi_with("");
    let src = src.trim_end().strip_suffix('}').unwrap();
    assert_eq!(
        errors(src),
        "\
error: unclosed `{`: the abi has no matching `}`
 --> defs/abi.uop:1:5
  |
1 | abi {
  |     ^"
    );
}

// ---- The ABI in a defs directory -----------------------------------------

/// A directory with the test ABI in `abi.uop` and `uops` in `ops.uop`.
fn defs_dir(uops: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("abi.uop"), common::ABI_SRC).unwrap();
    fs::write(dir.path().join("ops.uop"), uops).unwrap();
    dir
}

/// The rendered errors of loading `dir`, with its path shown as `DIR`.
fn load_errors(dir: &Path) -> String {
    match load_dir(dir) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string().replace(&dir.display().to_string(), "DIR"),
    }
}

#[test]
fn a_directory_without_an_abi_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ops.uop"), "uop nop( -- ) {}\n").unwrap();
    assert_eq!(
        load_errors(dir.path()),
        "error: no `abi` item in DIR: declare the stencil ABI (see docs/stencil-abi.md)\n --> DIR"
    );
    // An abi item that does not parse has its own error, not this one.
    fs::write(dir.path().join("abi.uop"), "abi {\n    types {\n}\n").unwrap();
    let rendered = load_errors(dir.path());
    assert!(
        rendered.starts_with("error: unclosed `{`: the abi has no matching `}`"),
        "{rendered}"
    );
    assert!(!rendered.contains("no `abi` item"), "{rendered}");
}

#[test]
fn two_abi_items_across_files() {
    let dir = defs_dir(&format!("uop nop( -- ) {{}}\n{}", common::ABI_SRC));
    assert_eq!(
        load_errors(dir.path()),
        "\
error: duplicate `abi` item (first declared at DIR/abi.uop:1:1); a defs directory declares one stencil ABI
 --> DIR/ops.uop:2:1
  |
2 | abi {
  | ^^^"
    );
}

#[test]
fn a_file_with_only_the_abi_is_loaded_with_the_others() {
    let dir = defs_dir("uop nop( -- ) {}\n");
    let defs = load_dir(dir.path()).unwrap();
    assert_eq!(defs.abi_path, dir.path().join("abi.uop"));
    assert_eq!(defs.abi, common::abi());
    let uops: Vec<_> = defs.files.iter().map(|f| f.uops.len()).collect();
    assert_eq!(uops, [0, 1]);
    assert!(defs.files[1].abi.is_none());
}

#[test]
fn unknown_value_in_uses() {
    let dir = defs_dir("uop nop( -- ) uses opargs {}\n");
    assert_eq!(
        load_errors(dir.path()),
        "\
error: unknown value `opargs` in `uses`; the ABI declares `oparg`, `operand`, `deopt_target` (and the built-in `jump_target`)
 --> DIR/ops.uop:1:20
  |
1 | uop nop( -- ) uses opargs {}
  |                    ^^^^^^"
    );
}

#[test]
fn a_uses_name_is_checked_against_an_abi_without_values() {
    let src = "abi {\n    types {}\n    entry() -> int;\n    arg sp: int * = 0;\n    \
               stack sp: int;\n}\nuop nop( -- ) uses oparg {}\n";
    assert_eq!(
        errors(src),
        "\
error: unknown value `oparg` in `uses`; the ABI declares no value (only the built-in `jump_target`)
 --> defs/abi.uop:7:20
  |
7 | uop nop( -- ) uses oparg {}
  |                    ^^^^^"
    );
}

#[test]
fn names_with_a_value_macro_prefix_use_the_value() {
    // `OPERAND_F64` (a macro of `types`) uses `operand`.
    let dir = defs_dir("uop f( -- r: f64) {\n    r = OPERAND_F64;\n}\n");
    assert_eq!(
        load_errors(dir.path()),
        "\
error: `OPERAND_F64` is used, but the uop does not declare `uses operand`
 --> DIR/ops.uop:2:9
  |
2 |     r = OPERAND_F64;
  |         ^^^^^^^^^^^"
    );
    let dir = defs_dir("uop f( -- r: f64) uses operand {\n    r = OPERAND_F64;\n}\n");
    assert_eq!(
        load_dir(dir.path()).unwrap().files[1].uops[0].uses,
        ["operand"]
    );
}

#[test]
fn an_exit_needs_the_values_it_uses() {
    let dir = defs_dir("uop guard(a -- a2) {\n    DEOPT_IF(a < 0);\n    a2 = a;\n}\n");
    assert_eq!(
        load_errors(dir.path()),
        "\
error: `DEOPT_IF` uses exit `DEOPT`, but the uop does not declare `uses deopt_target`, which the exit needs
 --> DIR/ops.uop:2:5
  |
2 |     DEOPT_IF(a < 0);
  |     ^^^^^^^^"
    );
    let dir = defs_dir("uop guard(a -- a2) {\n    if (a < 0) DEOPT();\n    a2 = a;\n}\n");
    assert_eq!(
        load_errors(dir.path()),
        "\
error: exit `DEOPT` is used, but the uop does not declare `uses deopt_target`, which the exit needs
 --> DIR/ops.uop:2:16
  |
2 |     if (a < 0) DEOPT();
  |                ^^^^^"
    );
}

#[test]
fn a_value_used_only_through_an_exit_may_be_declared() {
    let dir = defs_dir(
        "uop guard(a -- a2) uses deopt_target {\n    if (a < 0) DEOPT();\n    a2 = a;\n}\n\
         uop ret(v -- ) {\n    RETURN(v);\n}\n",
    );
    let defs = load_dir(dir.path()).unwrap();
    assert_eq!(defs.files[1].uops[0].uses, ["deopt_target"]);
}

#[test]
fn the_longest_macro_wins() {
    // `DEOPT_TARGET` is the value's macro, not a use of exit `DEOPT`.
    let dir = defs_dir("uop t( -- r) uses deopt_target {\n    r = (int64_t)DEOPT_TARGET;\n}\n");
    assert!(load_dir(dir.path()).is_ok());
    let dir = defs_dir("uop t( -- r) {\n    r = (int64_t)DEOPT_TARGET;\n}\n");
    assert_eq!(
        load_errors(dir.path()).lines().next(),
        Some("error: `DEOPT_TARGET` is used, but the uop does not declare `uses deopt_target`")
    );
}

#[test]
fn a_declared_value_the_body_never_uses() {
    let dir = defs_dir("uop t( -- r) uses operand {\n    r = 0;\n}\n");
    assert_eq!(
        load_errors(dir.path()),
        "\
error: `uses operand` is declared, but the body never uses `OPERAND` (nor a name that starts with `OPERAND_`)
 --> DIR/ops.uop:1:19
  |
1 | uop t( -- r) uses operand {
  |                   ^^^^^^^"
    );
}

#[test]
fn jump_needs_jump_target() {
    let dir = defs_dir("uop j( -- ) {\n    JUMP();\n}\nuop k( -- ) uses jump_target {}\n");
    assert_eq!(
        load_errors(dir.path()),
        "\
error: `JUMP` is used, but the uop does not declare `uses jump_target`
 --> DIR/ops.uop:2:5
  |
2 |     JUMP();
  |     ^^^^

error: `uses jump_target` is declared, but the body never uses `JUMP` (nor a name that starts with `JUMP_`)
 --> DIR/ops.uop:4:18
  |
4 | uop k( -- ) uses jump_target {}
  |                  ^^^^^^^^^^^"
    );
}

#[test]
fn stack_values_and_helpers_may_not_take_abi_names() {
    let dir = defs_dir(
        "helper FRAME() -> i64;\nuop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }\n",
    );
    assert_eq!(
        load_errors(dir.path()),
        "\
error: helper name `FRAME` is a macro defined in the ABI's `types`
 --> DIR/ops.uop:1:8
  |
1 | helper FRAME() -> i64;
  |        ^^^^^

error: stack value name `sp` is a threaded argument of the ABI
 --> DIR/ops.uop:2:7
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |       ^^

error: stack value name `DEOPT` is an exit of the ABI
 --> DIR/ops.uop:2:11
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |           ^^^^^

error: stack value name `OPARG` is the macro of value `oparg`
 --> DIR/ops.uop:2:18
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |                  ^^^^^

error: stack value name `JUMP` is the built-in macro of `jump_target`
 --> DIR/ops.uop:2:27
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |                           ^^^^

error: `JUMP` is used, but the uop does not declare `uses jump_target`
 --> DIR/ops.uop:2:35
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |                                   ^^^^

error: exit `DEOPT` is used, but the uop does not declare `uses deopt_target`, which the exit needs
 --> DIR/ops.uop:2:47
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |                                               ^^^^^

error: `OPARG` is used, but the uop does not declare `uses oparg`
 --> DIR/ops.uop:2:55
  |
2 | uop a(sp, DEOPT, OPARG -- JUMP) { JUMP = sp + DEOPT + OPARG; }
  |                                                       ^^^^^"
    );
}

#[test]
fn a_file_checked_against_another_abi_may_not_declare_one() {
    let src = format!("uop nop( -- ) {{}}\n{}", common::ABI_SRC);
    let errors = parse_with_abi(Path::new("defs/ops.uop"), &src, &common::abi()).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "\
error: this file declares an `abi` item, but it is checked against an ABI declared elsewhere; a defs directory declares one stencil ABI
 --> defs/ops.uop:2:1
  |
2 | abi {
  | ^^^"
    );
}

#[test]
fn a_doc_comment_needs_a_statement_after_it() {
    assert_eq!(
        errors(&abi_with("    /// Nothing follows.\n")),
        "\
error: doc comment is not followed by an abi statement
 --> defs/abi.uop:7:5
  |
7 |     /// Nothing follows.
  |     ^^^^^^^^^^^^^^^^^^^^"
    );
}
