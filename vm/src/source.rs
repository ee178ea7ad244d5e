//! A program's source as text: `.uasm` files are UTF-8, and a byte that is
//! not is an error at its line and column, like any other assembly error.

use crate::diag::{Diagnostic, Diagnostics};
use crate::program::Span;

/// `bytes`, read from `file`, as text; else an error at the first byte
/// that is not UTF-8, with its line shown (each bad sequence as U+FFFD).
pub fn decode(file: &str, bytes: Vec<u8>) -> Result<String, Diagnostics> {
    let error = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(error) => error,
    };
    let at = error.utf8_error().valid_up_to();
    let byte = error.as_bytes()[at];
    // The prefix is valid, so `at` is where the first U+FFFD starts.
    let source = String::from_utf8_lossy(error.as_bytes()).into_owned();
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let span = Span {
        line: source[..at].matches('\n').count() as u32 + 1,
        col: source[line_start..at].chars().count() as u32 + 1,
        len: 1,
    };
    Err(Diagnostics {
        file: file.to_string(),
        source,
        errors: vec![Diagnostic {
            span,
            message: format!(
                "byte {byte:#04x} is not valid UTF-8; `.uasm` files must be UTF-8 text: \
                 save the file as UTF-8"
            ),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line and column of the error in `bytes`.
    fn place(bytes: &[u8]) -> (u32, u32) {
        let span = decode("p.uasm", bytes.to_vec()).unwrap_err().errors[0].span;
        assert_eq!(span.len, 1);
        (span.line, span.col)
    }

    #[test]
    fn utf8_passes_through() {
        assert_eq!(decode("p.uasm", "é\r\n∞".into()).unwrap(), "é\r\n∞");
    }

    #[test]
    fn columns_count_characters_and_lines_end_at_newlines() {
        assert_eq!(place(b"\xff"), (1, 1));
        assert_eq!(
            place(&["a\r\n; é∞ \u{200b}".as_bytes(), b"\xc3("].concat()),
            (2, 7)
        );
        // A truncated sequence at the very end.
        assert_eq!(place(b"nop\n\nre\xe2\x88"), (3, 3));
    }
}
