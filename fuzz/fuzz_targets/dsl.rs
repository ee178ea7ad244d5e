//! The uop DSL: any bytes as a `.uop` file parse and check to a file or to
//! errors whose positions are right and whose rendering points at them;
//! bytes that are not UTF-8 are refused by the loader, naming the offset.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use uop_defs::{load_dir, parse, Diagnostic};

const NAME: &str = "fuzz.uop";

/// A directory of this process for the loader's one file.
fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("uop-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        dir
    })
}

/// Line and column (in characters) of byte `offset`, both from 1.
fn position(src: &str, offset: usize) -> (u32, u32) {
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..offset].chars().count() + 1;
    (line as u32, col as u32)
}

fn check_diagnostic(src: &str, d: &Diagnostic) {
    let span = d.span().expect("a parse error has a position");
    assert!(
        span.offset + span.len <= src.len(),
        "{span:?} outside the input"
    );
    assert!(
        src.is_char_boundary(span.offset),
        "{span:?} inside a character"
    );
    assert_eq!(
        (span.line, span.col),
        position(src, span.offset),
        "{span:?}"
    );
    let text = d.to_string();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], format!("error: {}", d.message()));
    assert!(
        lines[1].ends_with(&format!("--> {NAME}:{}:{}", span.line, span.col)),
        "{text}"
    );
    // The caret line: the gutter, then one blank (or tab) per character
    // before the column, then the carets.
    let carets = lines.last().unwrap();
    let (gutter, marker) = carets.split_once(" | ").expect("caret line");
    assert!(gutter.trim().is_empty(), "{text}");
    let indent = marker.trim_end_matches('^');
    assert!(indent.len() < marker.len(), "no caret: {text}");
    assert!(indent.chars().all(|c| c == ' ' || c == '\t'), "{text}");
    let line_start = src[..span.offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[line_start..]
        .find('\n')
        .map_or(src.len(), |i| line_start + i);
    let line_text = src[line_start..line_end].strip_suffix('\r');
    let line_text = line_text.unwrap_or(&src[line_start..line_end]);
    let before = (span.col as usize - 1).min(line_text.chars().count());
    assert_eq!(indent.chars().count(), before, "{text}");
}

fuzz_target!(|data: &[u8]| {
    let src = match std::str::from_utf8(data) {
        Ok(src) => src.to_string(),
        Err(error) => {
            let path = dir().join(NAME);
            std::fs::write(&path, data).expect("write the input");
            let errors = load_dir(dir()).expect_err("bytes that are not UTF-8 load");
            assert_eq!(
                errors.errors()[0].message(),
                format!(
                    "file is not valid UTF-8 (first invalid byte at offset {})",
                    error.valid_up_to()
                )
            );
            String::from_utf8_lossy(data).into_owned()
        }
    };
    match parse(Path::new(NAME), &src) {
        Ok(file) => {
            for uop in &file.uops {
                assert!(!uop.name.is_empty());
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for d in &errors {
                check_diagnostic(&src, d);
            }
            // In source order.
            let offsets: Vec<usize> = errors.iter().map(|d| d.span().unwrap().offset).collect();
            assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");
            let _ = errors.to_string();
        }
    }
});
