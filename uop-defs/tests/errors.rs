//! The exact text of rendered errors.

mod common;

use std::path::Path;

use uop_defs::{parse, parse_with_abi};

/// The rendered errors of `src`, which must not parse.
fn errors(src: &str) -> String {
    match parse(Path::new("defs/t.uop"), src) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    }
}

/// The rendered errors of `src` checked against the test ABI.
fn abi_errors(src: &str) -> String {
    match parse_with_abi(Path::new("defs/t.uop"), src, &common::abi()) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn duplicate_uop() {
    let src = "uop nop( -- ) {}\n\nuop  nop( -- ) {}\n";
    assert_eq!(
        errors(src),
        "\
error: duplicate uop `nop` (first defined at defs/t.uop:1:5)
 --> defs/t.uop:3:6
  |
3 | uop  nop( -- ) {}
  |      ^^^"
    );
}

#[test]
fn undeclared_value_points_at_first_use() {
    let src =
        "/// Pushes the oparg.\nuop push_small( -- v) {\n    v = OPARG;\n    v += OPARG;\n}\n";
    assert_eq!(
        abi_errors(src),
        "\
error: `OPARG` is used, but the uop does not declare `uses oparg`
 --> defs/t.uop:3:9
  |
3 |     v = OPARG;
  |         ^^^^^"
    );
}

#[test]
fn declared_unused_value_points_at_its_name() {
    let src = "uop neg(a -- r) uses oparg, deopt_target {\n    r = -a + OPARG;\n}\n";
    assert_eq!(
        abi_errors(src),
        "\
error: `uses deopt_target` is declared, but the body never uses `DEOPT_TARGET` or exit `DEOPT` (nor a name that starts with `DEOPT_TARGET_` or `DEOPT_`)
 --> defs/t.uop:1:29
  |
1 | uop neg(a -- r) uses oparg, deopt_target {
  |                             ^^^^^^^^^^^^"
    );
}

#[test]
fn malformed_stack_effects() {
    let src = "\
uop a(x y -- r) { r = x + y; }
uop b(x -- r -- s) { r = x; s = x; }
uop c(x, r) { (void)x; (void)r; }
uop d(x: i32 -- r) { r = x; }
uop e(int, _JIT_x -- ) { }
uop f(x -- x) { }
";
    assert_eq!(
        errors(src),
        "\
error: expected `,` between stack values, found `y`
 --> defs/t.uop:1:9
  |
1 | uop a(x y -- r) { r = x + y; }
  |         ^

error: stack effect has more than one `--`
 --> defs/t.uop:2:14
  |
2 | uop b(x -- r -- s) { r = x; s = x; }
  |              ^^

error: stack effect has no `--` between inputs and outputs
 --> defs/t.uop:3:6
  |
3 | uop c(x, r) { (void)x; (void)r; }
  |      ^^^^^^

error: unknown type `i32`; expected `i64`, `f64` or `ptr`
 --> defs/t.uop:4:10
  |
4 | uop d(x: i32 -- r) { r = x; }
  |          ^^^

error: stack value name `int` is a C keyword
 --> defs/t.uop:5:7
  |
5 | uop e(int, _JIT_x -- ) { }
  |       ^^^

error: stack value name `_JIT_x` starts with `_JIT`, which is reserved for holes
 --> defs/t.uop:5:12
  |
5 | uop e(int, _JIT_x -- ) { }
  |            ^^^^^^

error: duplicate stack value `x` (inputs and outputs share one namespace)
 --> defs/t.uop:6:12
  |
6 | uop f(x -- x) { }
  |            ^"
    );
}

#[test]
fn unclosed_body() {
    let src = "uop ok( -- ) {}\n\nuop bad(a -- ) {\n    if (a) {\n}\n";
    assert_eq!(
        errors(src),
        "\
error: unclosed `{`: the body of uop `bad` has no matching `}`
 --> defs/t.uop:3:16
  |
3 | uop bad(a -- ) {
  |                ^"
    );
}

#[test]
fn stray_closing_brace() {
    let src = "uop a(x -- ) {\n    if (x) { (void)x; }}\n}\nuop b( -- ) {}\n";
    assert_eq!(
        errors(src),
        "\
error: unmatched `}`
 --> defs/t.uop:3:1
  |
3 | }
  | ^"
    );
}

#[test]
fn undeclared_helper() {
    let src = "\
helper vm_hash(i64, i64) -> i64;

uop hash(a, b -- r) calls vm_hsah {
    r = vm_hash(a, b);
}
";
    assert_eq!(
        errors(src),
        "\
error: `vm_hsah` is not a helper declared in this file
 --> defs/t.uop:3:27
  |
3 | uop hash(a, b -- r) calls vm_hsah {
  |                           ^^^^^^^

error: helper `vm_hash` is called, but the uop does not declare `calls vm_hash`
 --> defs/t.uop:4:9
  |
4 |     r = vm_hash(a, b);
  |         ^^^^^^^"
    );
}

#[test]
fn listed_helper_not_called_and_duplicate_helper() {
    let src = "helper h() -> i64;\nhelper h() -> f64;\nuop u( -- r) calls h { r = 0; }\n";
    assert_eq!(
        errors(src),
        "\
error: duplicate helper `h` (first declared at defs/t.uop:1:8)
 --> defs/t.uop:2:8
  |
2 | helper h() -> f64;
  |        ^

error: `calls h` is declared, but the body never uses `h`
 --> defs/t.uop:3:20
  |
3 | uop u( -- r) calls h { r = 0; }
  |                    ^"
    );
}

#[test]
fn three_errors_are_all_reported() {
    let src = "\
/// Three independent mistakes.
uop a(x y -- r) { r = x; }

uop b( -- ) uses opargs { }

uop c( -- r) {
    r = OPERAND;
}
";
    let rendered = abi_errors(src);
    assert_eq!(
        rendered,
        "\
error: expected `,` between stack values, found `y`
 --> defs/t.uop:2:9
  |
2 | uop a(x y -- r) { r = x; }
  |         ^

error: unknown value `opargs` in `uses`; the ABI declares `oparg`, `operand`, `deopt_target` (and the built-in `jump_target`)
 --> defs/t.uop:4:18
  |
4 | uop b( -- ) uses opargs { }
  |                  ^^^^^^

error: `OPERAND` is used, but the uop does not declare `uses operand`
 --> defs/t.uop:7:9
  |
7 |     r = OPERAND;
  |         ^^^^^^^"
    );
    let errors = parse_with_abi(Path::new("defs/t.uop"), src, &common::abi()).unwrap_err();
    assert_eq!(errors.len(), 3);
    let lines: Vec<_> = errors.iter().map(|d| d.span().unwrap().line).collect();
    assert_eq!(lines, [2, 4, 7]);
}

#[test]
fn syntax_errors_recover_at_the_next_item() {
    let src = "\
uop (a -- b) { b = a; }
helper h(i64) i64;
uop ok(a -- b) { b = a; }
garbage { uop inside_c_text( -- ) {} }
uop
";
    assert_eq!(
        errors(src),
        "\
error: expected uop name, found `(`
 --> defs/t.uop:1:5
  |
1 | uop (a -- b) { b = a; }
  |     ^

error: expected `->`, found `i64`
 --> defs/t.uop:2:15
  |
2 | helper h(i64) i64;
  |               ^^^

error: expected `uop`, `helper`, `prelude` or `abi`, found `garbage`
 --> defs/t.uop:4:1
  |
4 | garbage { uop inside_c_text( -- ) {} }
  | ^^^^^^^

error: expected uop name, found end of file
 --> defs/t.uop:6:1
  |
6 |
  | ^"
    );
}

#[test]
fn unterminated_literals_and_comments() {
    let src = "uop s( -- ) {\n    const char *p = \"open;\n}\n/* never closed\n";
    assert_eq!(
        errors(src),
        "\
error: unterminated string literal
 --> defs/t.uop:2:21
  |
2 |     const char *p = \"open;
  |                     ^

error: unterminated block comment
 --> defs/t.uop:4:1
  |
4 | /* never closed
  | ^^"
    );
}

#[test]
fn doc_comment_without_uop_and_tabs_keep_alignment() {
    let src = "/// Orphan.\nhelper h() -> i64;\n\tuop\t$";
    assert_eq!(
        errors(src),
        "\
error: doc comment is not followed by a uop or an `abi` item
 --> defs/t.uop:1:1
  |
1 | /// Orphan.
  | ^^^^^^^^^^^

error: expected uop name, found `$`
 --> defs/t.uop:3:6
  |
3 | \tuop\t$
  | \t   \t^"
    );
}

#[test]
fn wide_line_numbers_widen_the_gutter() {
    let src = format!("{}uop x(a -- b) uses oparg {{ b = a; }}\n", "\n".repeat(11));
    assert_eq!(
        abi_errors(&src),
        "\
error: `uses oparg` is declared, but the body never uses `OPARG` (nor a name that starts with `OPARG_`)
  --> defs/t.uop:12:20
   |
12 | uop x(a -- b) uses oparg { b = a; }
   |                    ^^^^^"
    );
}

#[test]
fn diagnostics_accessors_and_debug() {
    let errors = parse(Path::new("x.uop"), "uop").unwrap_err();
    assert_eq!(errors.len(), 1);
    let d = &errors.errors()[0];
    assert_eq!(d.path(), Path::new("x.uop"));
    assert_eq!(d.message(), "expected uop name, found end of file");
    let span = d.span().unwrap();
    assert_eq!((span.line, span.col, span.offset, span.len), (1, 4, 3, 0));
    // Debug shows the rendered text, so `unwrap` and `main` print it.
    assert_eq!(format!("{errors:?}"), errors.to_string());
    let boxed: Box<dyn std::error::Error> = Box::new(errors);
    assert!(boxed.to_string().starts_with("error: expected uop name"));
}

#[test]
fn carriage_return_only_lines_are_numbered_and_shown() {
    let src = "// Old Mac OS line endings.\r/// Doc.\ruop add(a b -- r) {\r    r = a + b;\r}\r";
    assert_eq!(
        errors(src),
        "\
error: expected `,` between stack values, found `b`
 --> defs/t.uop:3:11
  |
3 | uop add(a b -- r) {
  |           ^"
    );
}

#[test]
fn unterminated_literal_ends_at_a_lone_carriage_return() {
    let src = "uop s( -- ) {\r    const char *t = \"ab;\r}\r";
    assert_eq!(
        errors(src),
        "\
error: unterminated string literal
 --> defs/t.uop:2:21
  |
2 |     const char *t = \"ab;
  |                     ^"
    );
}
