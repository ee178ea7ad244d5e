//! Any input gives `Ok` or errors that point inside the input; never a
//! panic.

use std::path::Path;

use uop_defs::{parse, Diagnostics};

const VALID: &str = r#"// A file touching every construct.
prelude {
static inline int64_t twice(int64_t x) { return x * 2; } /* } */
}

helper vm_hash(i64, i64) -> i64;

/// Doc line one.
/// Doc line two.
uop first(a, b: f64 -- r: ptr, s) uses oparg, deopt_target calls vm_hash {
    const char *brace = "}{";
    DEOPT_IF(b != b);
    r = (int64_t *)0;
    s = vm_hash(a, OPARG) + twice(1) + '}';
}

uop second( -- ) uses jump_target {
    JUMP();
}
"#;

/// Errors must name real positions of the source they came from.
fn assert_sane(src: &str, errors: &Diagnostics) {
    assert!(!errors.is_empty());
    for d in errors {
        let span = d.span().expect("parse errors have a span");
        assert!(
            span.offset + span.len <= src.len(),
            "{span:?} outside input"
        );
        assert!(span.line >= 1 && span.col >= 1);
        // `\n`, `\r\n` and a lone `\r` each end a line.
        let lines = src.replace("\r\n", "\n").split(['\n', '\r']).count() as u32;
        assert!(span.line <= lines, "{span:?} past the last line");
        assert!(d.to_string().starts_with("error: "));
    }
}

#[test]
fn valid_file_parses() {
    let file = parse(Path::new("v.uop"), VALID).unwrap();
    assert_eq!(file.uops.len(), 2);
}

#[test]
fn every_truncation_is_ok_or_sane_errors() {
    let ends_of_items = [VALID.find("\nhelper").unwrap() - 1, VALID.len()];
    for end in (0..=VALID.len()).filter(|&i| VALID.is_char_boundary(i)) {
        let src = &VALID[..end];
        match parse(Path::new("v.uop"), src) {
            Ok(file) => assert!(file.uops.len() <= 2),
            Err(errors) => {
                assert!(!ends_of_items.contains(&end), "cut at {end} should parse");
                assert_sane(src, &errors);
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn check_any(src: &str) {
    if let Err(errors) = parse(Path::new("r.uop"), src) {
        assert_sane(src, &errors);
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_any(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_token_soup() {
    let pieces = [
        "uop", "helper", "prelude", "uses", "calls", "oparg", "deopt", "x", "i64", "f64", "ptr",
        "(", ")", "{", "}", ",", ":", ";", "--", "->", "-", "///d\n", "//c\n", "/*", "*/", "\"",
        "'", "\\", "\n", " ", "\t", "OPARG", "DEOPT_IF", "é", "\r\n", "\r", "0x1p-3",
    ];
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let n = rng.below(40);
        let src: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        check_any(&src);
    }
}

#[test]
fn random_edits_of_a_valid_file() {
    let mut rng = Rng(7);
    let chars: Vec<char> = VALID.chars().collect();
    for _ in 0..2000 {
        let mut text = chars.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(text.len());
            match rng.below(3) {
                0 => {
                    text.remove(at);
                }
                1 => text.insert(at, ['{', '}', '"', '\'', ',', '-', '/', '*'][rng.below(8)]),
                _ => {
                    let other = rng.below(text.len());
                    text.swap(at, other);
                }
            }
        }
        check_any(&text.into_iter().collect::<String>());
    }
}

/// An abi item touching every statement, and a uop checked against it.
const VALID_ABI: &str = r#"/// The ABI.
abi {
    /// Types.
    types {
        #define OPERAND_F64 ((double)OPERAND) /* } */
        typedef struct f { int64_t *sp; } f;
    }
    entry(struct f *frame, int64_t **sp) -> int64_t;
    /// The frame.
    arg frame: struct f * = frame;
    arg sp: int64_t * = *sp + (";" [0] - ';');
    stack sp: int64_t;
    pointer const int64_t *;
    cache 2;
    value oparg: u32 per_op;
    value table: u64 per_trace;
    exit DEOPT(a, b) keeps inputs uses oparg { return (a) + (b) + OPARG; }
    exit RETURN(v) pops inputs { return v; }
}

uop u(a -- r) uses table {
    r = a + (int64_t)TABLE;
    if (r) RETURN(r);
}
"#;

#[test]
fn valid_abi_parses() {
    let file = parse(Path::new("a.uop"), VALID_ABI).unwrap();
    assert_eq!(file.abi.unwrap().exits.len(), 2);
}

#[test]
fn every_truncation_of_an_abi_is_ok_or_sane_errors() {
    for end in (0..=VALID_ABI.len()).filter(|&i| VALID_ABI.is_char_boundary(i)) {
        let src = &VALID_ABI[..end];
        if let Err(errors) = parse(Path::new("a.uop"), src) {
            assert_sane(src, &errors);
        }
    }
}

#[test]
fn random_abi_token_soup() {
    let pieces = [
        "abi",
        "types",
        "entry",
        "arg",
        "stack",
        "pointer",
        "cache",
        "value",
        "exit",
        "keeps",
        "pops",
        "inputs",
        "uses",
        "u32",
        "u64",
        "per_op",
        "per_trace",
        "X",
        "x",
        "int",
        "*",
        "=",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        ";",
        "->",
        "9",
        "99999999999",
        "///d\n",
        "//c\n",
        "/*",
        "*/",
        "\"",
        "'",
        "\n",
        " ",
        "uop",
        "--",
        "X_Y",
        "é",
        "\r",
    ];
    let mut rng = Rng(1234);
    for _ in 0..3000 {
        let n = rng.below(50);
        let src: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        check_any(&format!("abi {{ {src}"));
        check_any(&src);
    }
}

#[test]
fn random_edits_of_an_abi() {
    let mut rng = Rng(99);
    let chars: Vec<char> = VALID_ABI.chars().collect();
    for _ in 0..2000 {
        let mut text = chars.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(text.len());
            match rng.below(3) {
                0 => {
                    text.remove(at);
                }
                1 => text.insert(at, ['{', '}', '(', ')', ';', '=', '*', ':'][rng.below(8)]),
                _ => {
                    let other = rng.below(text.len());
                    text.swap(at, other);
                }
            }
        }
        check_any(&text.into_iter().collect::<String>());
    }
}
