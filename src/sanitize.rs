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
/// (line breaks, escape sequences), line and paragraph separators, and the Unicode format
/// characters (general category `Cf`: bidirectional overrides and isolates, zero-width marks,
/// the soft hyphen, interlinear annotations, tag characters), which move, hide or smuggle
/// text; and the variation selectors, which change how the character before them looks.
fn is_hostile(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode's `Cf` (format) characters, as of Unicode 16, and the variation selectors.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

/// A caller's text with its links disarmed, for the email: `https://evil.example/x` becomes
/// `hxxps[://]evil[.]example/x` and `www.evil.example` becomes `www[.]evil[.]example`, so no
/// mail client turns them into something to click.
pub fn defang(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            if !word.contains("://") && !lower.starts_with("www.") {
                return word.to_owned();
            }
            // `http` is found in the word itself (ASCII lowercasing keeps every byte where it
            // is), before the dots grow it: found in the grown word, its place could fall
            // inside a character.
            let word = match lower.find("http") {
                Some(at) => format!("{}hxxp{}", &word[..at], &word[at + 4..]),
                None => word.to_owned(),
            };
            word.replace("://", "[://]").replace('.', "[.]")
        })
        .collect::<Vec<_>>()
        .join(" ")
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

/// For chat (Slack and Teams through AWS Chatbot, which renders markdown): the text cleaned
/// as [`clean_text`], links disarmed as [`defang`], and every character that chat markdown
/// gives a meaning replaced by a look-alike that has none: `<` and `>` (Slack's `<!channel>`,
/// `<!here>`, `<@U123>` and `<http://x|label>`, Teams' `<at>`), `@` (`@everyone`, `@here`,
/// `@channel`), the backtick (code spans a caller could close), and `[` and `]` (markdown
/// links). A session named `<!channel>` never pings a channel. Emphasis (`*`, `_`) is left:
/// it can only restyle a word, and `_` is in every other role name. A dot before a letter
/// becomes a look-alike too: Slack makes a link of any bare host name, so a session named
/// `reauth-at.aws-sso-verify.com` would otherwise arrive as one.
pub fn for_chat(text: &str, max_chars: usize) -> String {
    hide_host_names(&for_chat_code(text, max_chars))
}

/// [`for_chat`] for text inside a code span of ours (a command to copy), where nothing is a
/// link and a look-alike dot would break the command.
pub fn for_chat_code(text: &str, max_chars: usize) -> String {
    let neutral: String = clean_text(text, max_chars)
        .chars()
        .map(|c| match c {
            '<' => '\u{2039}',
            '>' => '\u{203A}',
            '@' => '\u{FF20}',
            '`' => '\u{02CB}',
            '[' => '\u{FF3B}',
            ']' => '\u{FF3D}',
            other => other,
        })
        .collect();
    defang(&neutral)
}

/// Every `.` before an ASCII letter as U+2024 (one dot leader): no host name is left for a
/// chat client to make a link of, and addresses and versions (`10.0.0.1`, `2.15`) stay as
/// they are.
fn hide_host_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let before_letter = chars.peek().is_some_and(char::is_ascii_alphabetic);
        out.push(if c == '.' && before_letter {
            '\u{2024}'
        } else {
            c
        });
    }
    out
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

    #[test]
    fn format_characters_and_variation_selectors_are_neutralised_exactly() {
        for hidden in [
            '\u{00AD}',
            '\u{180E}',
            '\u{200B}',
            '\u{2066}',
            '\u{FFF9}',
            '\u{FFFA}',
            '\u{FFFB}',
            '\u{FE0F}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{E0100}',
        ] {
            assert_eq!(
                clean_text(&format!("a{hidden}b"), 10),
                "a\u{FFFD}b",
                "U+{:04X}",
                hidden as u32
            );
        }
        assert_eq!(
            clean_text("caf\u{e9} \u{2019}ok", 10),
            "caf\u{e9} \u{2019}ok"
        );
    }

    #[test]
    fn links_in_a_callers_text_are_disarmed() {
        assert_eq!(
            defang("Mozilla/5.0 (see https://evil.example/x) www.evil.example aws-cli/2.15.30"),
            "Mozilla/5.0 (see hxxps[://]evil[.]example/x) www[.]evil[.]example aws-cli/2.15.30"
        );
        assert_eq!(defang("HTTP://A.B"), "hxxp[://]A[.]B");
        assert_eq!(defang("ftp://a.b"), "ftp[://]a[.]b");
        assert_eq!(
            defang(".\u{2039}\u{2039}http://a.b"),
            "[.]\u{2039}\u{2039}hxxp[://]a[.]b",
            "dots before a link never move its place inside a character"
        );
    }

    #[test]
    fn chat_markdown_and_mentions_are_neutralised_exactly() {
        for (hostile, shown) in [
            ("<!channel>", "\u{2039}!channel\u{203A}"),
            ("<!here>", "\u{2039}!here\u{203A}"),
            ("<!everyone>", "\u{2039}!everyone\u{203A}"),
            ("@everyone", "\u{FF20}everyone"),
            ("@here @channel", "\u{FF20}here \u{FF20}channel"),
            ("<@U123ABC>", "\u{2039}\u{FF20}U123ABC\u{203A}"),
            (
                "<at>Alice</at>",
                "\u{2039}at\u{203A}Alice\u{2039}/at\u{203A}",
            ),
            (
                "`code` ```block```",
                "\u{02CB}code\u{02CB} \u{02CB}\u{02CB}\u{02CB}block\u{02CB}\u{02CB}\u{02CB}",
            ),
            (
                "[click](https://evil.example)",
                "\u{FF3B}click\u{FF3D}(hxxps[://]evil[.]example)",
            ),
            (
                "<https://evil.example|docs>",
                "\u{2039}hxxps[://]evil[.]example|docs\u{203A}",
            ),
            ("AWSReservedSSO_Admin_1a2b", "AWSReservedSSO_Admin_1a2b"),
            ("line\nbreak", "line\u{FFFD}break"),
            ("ci-deploy-42", "ci-deploy-42"),
            (
                "reauth-at.aws-sso-verify.com",
                "reauth-at\u{2024}aws-sso-verify\u{2024}com",
            ),
            ("10.0.0.1 aws-cli/2.15.30", "10.0.0.1 aws-cli/2.15.30"),
        ] {
            assert_eq!(for_chat(hostile, 100), shown, "{hostile}");
        }
        assert_eq!(for_chat("abcdef", 4), "abc…");
        assert_eq!(
            for_chat_code("restore-secret --secret-id=db.example", 100),
            "restore-secret --secret-id=db.example"
        );
    }
}
