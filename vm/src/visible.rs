//! Making invisible characters of source text visible in error messages: a
//! NUL, an escape or a zero-width space in a token would otherwise print as
//! nothing, or move the terminal's cursor.

/// `text` with every invisible character escaped: `\0`, `\r`, `\x1b`,
/// `\u{200b}`. Tabs stay, since they only indent.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    out
}

/// How many characters `c` takes once made visible.
pub fn visible_width(c: char) -> usize {
    let mut out = String::new();
    push_visible(&mut out, c);
    out.chars().count()
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\t' => out.push('\t'),
        '\0' => out.push_str("\\0"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if is_invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// Control characters, and Unicode characters that draw nothing: format
/// characters (zero-width spaces and joiners, direction marks and
/// overrides, the byte order mark), fillers, variation selectors, tags, and
/// the line and paragraph separators.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_escaped() {
        assert_eq!(visible("a\0b\x1b[2J\x7f"), "a\\0b\\x1b[2J\\x7f");
        assert_eq!(
            visible("1\u{200b}\u{feff}\u{85}"),
            "1\\u{200b}\\u{feff}\\u{85}"
        );
        assert_eq!(visible("\tpush_i64 é ∞ 你"), "\tpush_i64 é ∞ 你");
        assert_eq!(visible_width('\u{200b}'), 8);
        assert_eq!(visible_width('\0'), 2);
        assert_eq!(visible_width('x'), 1);
    }
}
