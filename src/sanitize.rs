//! The boundary every caller-controlled string crosses before a person sees it or pastes it.
//!
//! Anyone who can call `GetSecretValue` chooses the user agent, the secret id and session
//! names; anyone who can write to the trail's log group chooses every field. So nothing from a
//! record reaches the subject, the text, the document or a shell command without passing one
//! of these: no input can forge lines, reorder or hide text, run a command when pasted, or
//! grow the message past SNS's limit.

/// Quotes for a POSIX shell so a secret id can never run anything when pasted.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@:-".contains(&b))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Characters that must never reach a person's screen as themselves: control characters
/// (line breaks, escape sequences), and the Unicode ones that move or hide text
/// (bidirectional overrides and isolates, line and paragraph separators, zero-width marks).
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{061C}'
            | '\u{FEFF}')
}

/// For the text and the document: each hostile character becomes U+FFFD, and text longer
/// than `max_chars` is cut and ends with "…".
pub fn clean_text(text: &str, max_chars: usize) -> String {
    let mut cleaned = String::with_capacity(text.len().min(max_chars * 4));
    for (count, c) in text.chars().enumerate() {
        if count + 1 > max_chars {
            cleaned.pop();
            cleaned.push('…');
            break;
        }
        cleaned.push(if is_hostile(c) { '\u{FFFD}' } else { c });
    }
    cleaned
}

/// For the email subject, which SNS wants as printable ASCII: anything else becomes '?', and
/// text longer than `max_chars` is cut and ends with "...".
pub fn clean_ascii(text: &str, max_chars: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if cleaned.len() <= max_chars {
        return cleaned;
    }
    let keep = max_chars.saturating_sub(3);
    format!("{}...", &cleaned[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_are_neutralised_exactly() {
        assert_eq!(
            clean_text("curl/8\r\nX-Injected: 1\u{1b}[2J\u{202E}txt.exe", 100),
            "curl/8\u{FFFD}\u{FFFD}X-Injected: 1\u{FFFD}[2J\u{FFFD}txt.exe"
        );
        assert_eq!(clean_text("<b>bold</b>", 100), "<b>bold</b>");
        assert_eq!(clean_text("abcdef", 4), "abc…");
        assert_eq!(clean_ascii("caf\u{e9}\tbar", 100), "caf??bar");
        assert_eq!(clean_ascii("abcdefghij", 8), "abcde...");
        assert_eq!(shell_quote("prod/db"), "prod/db");
        assert_eq!(shell_quote("a'b $(rm -rf /)"), "'a'\\''b $(rm -rf /)'");
    }
}
