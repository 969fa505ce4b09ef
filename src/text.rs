//! Cleaning of untrusted text (titles, summaries, names) before it enters the store.
//!
//! White space (including CR, LF and tabs) collapses to one space; other control characters
//! (NUL …), bidirectional overrides and invisible characters are removed; the result is cut to a
//! maximum length at a character boundary. Escaping for HTML and headers happens later, at render time; this only makes
//! sure no stored text can break a line-oriented format or spoof its own direction.

/// Returns `s` on one line: control and bidi-override characters dropped, white space collapsed,
/// trimmed, and cut to at most `max_chars` characters (an ellipsis marks a cut).
pub fn one_line(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(4 * max_chars + 4));
    let mut count = 0;
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = count > 0;
            continue;
        }
        if c.is_control() || is_bidi_control(c) || is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
        if count > max_chars {
            truncate_with_ellipsis(&mut out, max_chars);
            break;
        }
    }
    out
}

/// Cuts `s` to `max_chars` characters, ending in "…", preferring the last word boundary.
fn truncate_with_ellipsis(s: &mut String, max_chars: usize) {
    let keep = max_chars.saturating_sub(1);
    let byte_end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    s.truncate(byte_end);
    if let Some(space) = s.rfind(' ')
        && space > byte_end / 2
    {
        s.truncate(space);
    }
    s.push('…');
}

/// Unicode bidirectional embedding, override and isolate controls (used in "Trojan Source" spoofs).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Zero-width and other invisible characters that only serve to hide text.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_nul_become_spaces_or_vanish() {
        assert_eq!(one_line("Hello\r\nBcc: x@y\0z", 100), "Hello Bcc: x@yz");
        assert_eq!(one_line("  a \t\n b  ", 100), "a b");
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(one_line("abc\u{202E}fed\u{2066}x", 100), "abcfedx");
    }

    #[test]
    fn long_text_is_cut_at_a_word_with_ellipsis() {
        let cut = one_line("alpha beta gamma delta", 12);
        assert_eq!(cut, "alpha beta…");
        assert!(cut.chars().count() <= 12);
        assert_eq!(one_line("short", 12), "short");
        assert_eq!(one_line("exactly twelve", 14), "exactly twelve");
    }

    #[test]
    fn emoji_and_accents_survive() {
        assert_eq!(one_line("exo 📱💻 café", 100), "exo 📱💻 café");
    }
}
