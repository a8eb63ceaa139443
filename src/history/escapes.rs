//! A record's text with its JSON escapes decoded, for the pre-check alone: a record that
//! holds an escape may spell any anchor with it (`\u0062ecause`), so the byte search on its raw
//! text cannot turn it away; on its decoded text it can. Every string's contents come out as
//! the characters they stand for, and the structure between them is unchanged (JSON has no
//! escapes outside strings), so a record a question keeps shows its anchors literally in the
//! decoded text, as a record without escapes does in its raw text. The result is not JSON
//! and is never parsed: it is only searched.

/// `raw` with every escape decoded. `None` when an escape is not one JSON allows (the record
/// is then parsed, and the parse says what is wrong).
pub fn decoded(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..at]);
        let escape = rest.get(at + 1)?;
        rest = &rest[at + 2..];
        let short = match escape {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (character, after) = unicode_escape(rest)?;
                rest = after;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(character.encode_utf8(&mut utf8).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(short);
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// The character of a `\u` escape whose four hex digits start `text` (with its low half when
/// it is a surrogate pair), and what follows it. A lone surrogate stands for U+FFFD, as in
/// `serde_json`'s lossy reading: it can spell no anchor.
fn unicode_escape(text: &[u8]) -> Option<(char, &[u8])> {
    let unit = hex4(text)?;
    let rest = &text[4..];
    if (0xD800..0xDC00).contains(&unit)
        && let Some(low_escape) = rest.strip_prefix(b"\\u")
        && let Some(low) = hex4(low_escape).filter(|low| (0xDC00..0xE000).contains(low))
    {
        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        return Some((char::from_u32(code)?, &low_escape[4..]));
    }
    Some((char::from_u32(unit).unwrap_or('\u{FFFD}'), rest))
}

fn hex4(text: &[u8]) -> Option<u32> {
    let digits = std::str::from_utf8(text.get(..4)?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_escape_json_allows_is_decoded() {
        let raw = br#"{"m":"a \u0062ecause \"q\" \\u \/ \n \ud83d\ude00 \ud800x"}"#;
        assert_eq!(
            String::from_utf8(decoded(raw).unwrap()).unwrap(),
            "{\"m\":\"a because \"q\" \\u / \n \u{1F600} \u{FFFD}x\"}"
        );
        assert_eq!(decoded(br#""\x""#), None);
        assert_eq!(decoded(br#""\u12""#), None);
        assert_eq!(decoded(b"\"\\"), None);
    }

    proptest! {
        /// Decoding the text of any JSON string gives the string serde_json reads.
        #[test]
        fn decoding_a_strings_text_gives_the_string(text in any::<String>(), escape_all in any::<bool>()) {
            let json = if escape_all {
                text.chars().map(|c| {
                    let mut units = [0u16; 2];
                    c.encode_utf16(&mut units).iter().map(|u| format!("\\u{u:04x}")).collect::<String>()
                }).collect::<String>()
            } else {
                let quoted = serde_json::to_string(&text).unwrap();
                quoted[1..quoted.len() - 1].to_owned()
            };
            prop_assert_eq!(decoded(json.as_bytes()).unwrap(), text.into_bytes());
        }
    }
}
