//! The AST of valid `.uop` text.

mod common;

use std::path::{Path, PathBuf};

use uop_defs::{parse, parse_with_abi, UopFile, ValueType};

fn parse_ok(src: &str) -> UopFile {
    match parse(Path::new("t.uop"), src) {
        Ok(file) => file,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

#[test]
fn stack_effect_types_default_to_i64() {
    let file = parse_ok("uop f(a, b: f64, c: ptr, d: i64 -- r: f64, s) { r = b; s = a; }");
    let uop = &file.uops[0];
    let inputs: Vec<_> = uop.inputs.iter().map(|v| (v.name.as_str(), v.ty)).collect();
    assert_eq!(
        inputs,
        [
            ("a", ValueType::I64),
            ("b", ValueType::F64),
            ("c", ValueType::Ptr),
            ("d", ValueType::I64)
        ]
    );
    let outputs: Vec<_> = uop
        .outputs
        .iter()
        .map(|v| (v.name.as_str(), v.ty))
        .collect();
    assert_eq!(outputs, [("r", ValueType::F64), ("s", ValueType::I64)]);
}

#[test]
fn empty_stack_effects() {
    let file =
        parse_ok("uop a( -- ) {}\nuop b(--) {}\nuop c(x --) { (void)x; }\nuop d(-- y) { y = 1; }");
    let shapes: Vec<_> = file
        .uops
        .iter()
        .map(|u| (u.name.as_str(), u.inputs.len(), u.outputs.len()))
        .collect();
    assert_eq!(shapes, [("a", 0, 0), ("b", 0, 0), ("c", 1, 0), ("d", 0, 1)]);
}

#[test]
fn spans_point_at_names_and_body() {
    let src = "// lead\n\nuop  add(a, b -- r) {\n    r = a + b;\n}\n";
    let file = parse_ok(src);
    let uop = &file.uops[0];
    assert_eq!((uop.span.line, uop.span.col, uop.span.len), (3, 6, 3));
    assert_eq!(&src[uop.span.offset..uop.span.offset + uop.span.len], "add");
    let b = &uop.inputs[1];
    assert_eq!((b.span.line, b.span.col), (3, 13));
    assert_eq!(uop.body, "\n    r = a + b;\n");
    assert_eq!((uop.body_span.line, uop.body_span.col), (3, 22));
    assert_eq!(
        &src[uop.body_span.offset..uop.body_span.offset + uop.body_span.len],
        uop.body
    );
}

#[test]
fn docs_attach_to_the_next_uop() {
    let src = "/// First line.\n///   Indented.\n///\n// plain comment\nuop a( -- ) {}\n\nuop b( -- ) {}\n";
    let file = parse_ok(src);
    assert_eq!(file.uops[0].doc, "First line.\n  Indented.\n");
    assert_eq!(file.uops[1].doc, "");
}

fn parse_checked(src: &str) -> UopFile {
    match parse_with_abi(Path::new("t.uop"), src, &common::abi()) {
        Ok(file) => file,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

#[test]
fn clauses_keep_declaration_order_and_merge() {
    let src = "helper h1(i64) -> i64;\nhelper h2() -> f64;\n\
               uop u(a -- r) uses operand, deopt_target calls h2, h1 uses oparg jump_target_is_not_here {}";
    // `jump_target_is_not_here` is not a clause: the uop needs `{` there.
    assert!(parse(Path::new("t.uop"), src).is_err());

    let src = "helper h1(i64) -> i64;\nhelper h2() -> f64;\n\
               uop u(a -- r) uses operand, deopt_target calls h2, h1 uses oparg {\n\
               DEOPT_IF(a < 0); r = h1(a) + (int64_t)h2() + OPARG + (int64_t)OPERAND;\n}";
    let file = parse_checked(src);
    let uop = &file.uops[0];
    assert_eq!(uop.uses, ["operand", "deopt_target", "oparg"]);
    assert!(uop.uses("deopt_target"));
    assert!(!uop.uses("jump_target"));
    // Without an ABI the names are recorded, not checked.
    assert_eq!(parse_ok(src).uops[0].uses, uop.uses);
    assert_eq!(uop.calls, ["h2", "h1"]);
}

#[test]
fn every_usage_spelling_counts() {
    let src = "uop u( -- r: f64) uses operand, jump_target, deopt_target {\n\
               if (OPERAND_F64 > 0) { DEOPT(); } if (r) JUMP(); r = 0;\n}";
    let file = parse_checked(src);
    assert_eq!(
        file.uops[0].uses,
        ["operand", "jump_target", "deopt_target"]
    );
}

#[test]
fn helpers_and_preludes() {
    let src = "prelude {\nstatic inline int one(void) { return 1; }\n}\n\
               helper h(i64, f64, ptr) -> ptr;\n\
               helper g() -> i64;\n\
               prelude { #define TWO 2 }\n";
    let file = parse_ok(src);
    assert_eq!(file.path, PathBuf::from("t.uop"));
    assert_eq!(
        file.prelude,
        "\nstatic inline int one(void) { return 1; }\n #define TWO 2 \n"
    );
    assert_eq!(file.helpers.len(), 2);
    let h = &file.helpers[0];
    assert_eq!(h.name, "h");
    assert_eq!(h.params, [ValueType::I64, ValueType::F64, ValueType::Ptr]);
    assert_eq!(h.ret, ValueType::Ptr);
    assert_eq!((h.span.line, h.span.col), (4, 8));
    assert_eq!(file.helpers[1].params, []);
    assert_eq!(file.helpers[1].ret, ValueType::I64);
    assert!(file.uops.is_empty());
}

#[test]
fn body_is_exact_c_text() {
    let body = " /* } */ const char *s = \"{\\\"}\"; char c = '}'; // }\n if (1) { x(); } ";
    let src = format!("uop u( -- ) {{{body}}}\n/// next\nuop v( -- ) {{}}");
    let file = parse_ok(&src);
    assert_eq!(file.uops[0].body, body);
    assert_eq!(file.uops[1].name, "v");
    assert_eq!(file.uops[1].doc, "next");
}

#[test]
fn identifiers_in_literals_and_comments_are_not_usage() {
    // Neither the string nor the comments use an immediate or a helper.
    let src = "helper h() -> i64;\n\
               uop u( -- ) { const char *s = \"OPARG h\"; (void)s; /* DEOPT() */ // JUMP()\n}";
    let file = parse_checked(src);
    assert!(file.uops[0].uses.is_empty());
}

#[test]
fn return_is_a_valid_uop_name_and_keywords_are_contextual() {
    let file = parse_ok("uop return(v -- ) { RETURN(v); }\nuop uses( -- ) {}\nuop calls( -- ) {}");
    let names: Vec<_> = file.uops.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["return", "uses", "calls"]);
}

#[test]
fn crlf_line_endings() {
    let src = "/// Doc.\r\nuop u(a -- b) {\r\n    b = a;\r\n}\r\n";
    let file = parse_ok(src);
    assert_eq!(file.uops[0].doc, "Doc.");
    assert_eq!(file.uops[0].body, "\r\n    b = a;\r\n");
}
