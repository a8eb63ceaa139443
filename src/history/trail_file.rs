//! A trail's log file read by its candidates alone. CloudTrail writes its S3 files as
//! `{"Records":[{"eventVersion":...},{"eventVersion":...}]}`, and exports and re-written
//! files spell the same with white space (`{"Records": [{"eventVersion": ...}, {...`, as
//! Python's `json.dumps` writes it, or indented). When the question can say where its records
//! may be ([`Question::anchors`]), only the records around those places are cut out and
//! judged, and the rest of the file is never parsed at all. That keeps a look-back at the
//! speed of inflate when every file holds a few candidates.
//!
//! Why it is sound. `"eventVersion"` cannot occur inside a JSON string (its quotes would
//! have to be escaped), so it is a string token; after a `{` (white space aside) it is the
//! first key of an object: a record, or (rarely) an object nested in one. The record around
//! an anchor is taken from the last such start before it to the next start after it that
//! follows a comma, and must then parse as exactly one JSON object. If a nested object had
//! been taken for a start or an end, the braces of the slice would not balance and it would
//! not parse: then the file is read whole, as any other. The file's own frame
//! (`{"Records":[` ... `]}`) is checked too, so a file cut short is read whole and fails as it
//! would.
//!
//! A slice the question's pre-check turns away ([`Question::may_concern`], on its raw text,
//! and on its decoded text when it holds an escape: [`escapes::decoded`]) is not parsed at
//! all, only counted: an anchor can sit in many records the question never keeps (a secret's
//! name is in the encryption context of every KMS `Decrypt` Secrets Manager makes for it, and
//! a record with any `\u` escape may spell anything), and parsing each one to check its cut
//! cost more than inflating the file. Only a slice that starts as a record of the list does
//! is passed so, after a comma (or first): one that starts after a `:` is an object nested in
//! a record's value, and is parsed, fails, and has the file read whole as before. What is
//! left is an object nested in an array, after a comma, whose first key is `eventVersion`: a
//! slice is cut wrong only inside a record that holds one, and CloudTrail's `GetSecretValue`
//! records, the only records the questions keep, hold none (their request parameters are the
//! secret id, version id and stage, their resources start with `accountId`, their response
//! elements are null). So a kept record is always cut exactly, and a slice cut wrong lies in
//! a record no question keeps.

use memchr::memmem;
use serde_json::value::RawValue;

use super::{Question, escapes};

/// The first key of every record CloudTrail writes, as a JSON string token.
const RECORD_KEY: &[u8] = b"\"eventVersion\"";
/// The file's key, before its list of records.
const RECORDS_KEY: &[u8] = b"\"Records\"";

/// What reading a trail file by its candidates came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// No anchor anywhere in the file: no record in it can concern the question (passed
    /// over unparsed, its records not counted, as the pre-check passes a file over).
    NoCandidates,
    /// The records around the anchors were examined, and the rest counted.
    Examined,
}

/// The last byte before `at` that is not JSON white space, and where it is.
fn before(text: &[u8], at: usize) -> Option<(usize, u8)> {
    text[..at]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|place| (place, text[place]))
}

/// Where the object whose first key is the `"eventVersion"` at `key` opens (its `{`), if
/// that key is an object's first.
fn object_start(text: &[u8], key: usize) -> Option<usize> {
    match before(text, key) {
        Some((brace, b'{')) => Some(brace),
        _ => None,
    }
}

/// The comma before a record that opens at `start`, when it follows one (a record of the
/// list after the first, or an object nested in an array).
fn comma_before(text: &[u8], start: usize) -> Option<usize> {
    match before(text, start) {
        Some((comma, b',')) => Some(comma),
        _ => None,
    }
}

/// The frame of a trail file: where its first record opens and where the list closes (its
/// `]`). `None` when `text` is not `{"Records":[{"eventVersion"...}...]}`, white space
/// aside.
fn frame(text: &[u8]) -> Option<(usize, usize)> {
    let rest = text.strip_prefix(b"{")?.trim_ascii_start();
    let rest = rest.strip_prefix(RECORDS_KEY)?.trim_ascii_start();
    let rest = rest.strip_prefix(b":")?.trim_ascii_start();
    let rest = rest.strip_prefix(b"[")?.trim_ascii_start();
    let first = text.len() - rest.len();
    let key = rest.strip_prefix(b"{")?.trim_ascii_start();
    if !key.starts_with(RECORD_KEY) {
        return None;
    }
    let end = text.strip_suffix(b"}")?.trim_ascii_end();
    let close = end.len().checked_sub(1)?;
    (end.last() == Some(&b']') && close > first).then_some((first, close))
}

/// Examines the records of `text` that hold one of the question's anchors. `None`: the file
/// is not shaped for it, or the question has no anchors; read it whole. The anchors are
/// looked for once: a file with none is not searched again by the pre-check.
pub(super) fn scan_candidates<Q: Question>(
    question: &Q,
    text: &[u8],
    name: &str,
    answer: &mut Q::Answer,
) -> Option<Cut> {
    let text = text.trim_ascii();
    let (first, last) = frame(text)?;
    let anchors = question.anchors(text)?;
    if anchors.is_empty() {
        return Some(Cut::NoCandidates);
    }
    let keys_before = memmem::FinderRev::new(RECORD_KEY);
    let keys = memmem::Finder::new(RECORD_KEY);
    // The starts of the records of the list after the first in `range` (a start is counted
    // where its key is): the objects whose first key is `eventVersion`, after a comma.
    let listed_starts = |range: std::ops::Range<usize>| {
        keys.find_iter(&text[range.clone()])
            .map(|offset| range.start + offset)
            .filter(|&key| {
                object_start(text, key)
                    .and_then(|s| comma_before(text, s))
                    .is_some()
            })
            .count()
    };
    // A record's index is the number of listed starts before it, outside the records cut
    // out (an object nested in a record and starting like one after a comma shifts it: the
    // index is where to look, the event id is who read).
    let (mut commas, mut scanned) = (0usize, first);
    let mut examined = 0usize;
    for anchor in anchors {
        if anchor < scanned {
            continue;
        }
        let anchor = anchor.min(last);
        // The last object start at or before the anchor, at or after `scanned`.
        let mut search_end = anchor;
        let (start, start_key) = loop {
            let key = keys_before.rfind(&text[scanned..search_end])? + scanned;
            if let Some(start) = object_start(text, key).filter(|&s| s >= scanned) {
                break (start, key);
            }
            search_end = key;
        };
        // The next listed start after the anchor: this record ends at its comma.
        let end = keys
            .find_iter(&text[anchor..last])
            .map(|offset| anchor + offset)
            .find_map(|key| object_start(text, key).and_then(|s| comma_before(text, s)))
            .unwrap_or(last);
        let record = text[start..end].trim_ascii_end();
        // The comma before this record's own start is counted: its key is inside it.
        commas += listed_starts(scanned..start_key + RECORD_KEY.len());
        // A record the pre-check turns away (a name in a KMS record's encryption context, the
        // wording in another API's text, an escape that spells nothing asked) is counted with
        // the rest, unparsed, when it starts as a record of the list does (after a comma, or
        // first): see the top.
        let listed_start = start == first || comma_before(text, start).is_some();
        if listed_start && !worth_parsing(question, record) {
            scanned = end;
            continue;
        }
        serde_json::from_slice::<&RawValue>(record).ok()?;
        match std::str::from_utf8(record) {
            Ok(record) => question.examine(answer, record, name, commas),
            Err(_) => question.unreadable(answer, name, commas, "not UTF-8 text"),
        }
        examined += 1;
        scanned = end;
    }
    let counted = commas + listed_starts(scanned..last) + 1;
    question.passed_over(answer, counted.saturating_sub(examined));
    Some(Cut::Examined)
}

/// Whether one record's text may hold what the question keeps: the pre-check on its raw text,
/// and, when that holds an escape, on its decoded text (only then is an escape a reason to
/// parse: most records with one spell nothing the question asks).
pub(super) fn worth_parsing<Q: Question>(question: &Q, record: &[u8]) -> bool {
    if !question.may_concern(record) {
        return false;
    }
    if memchr::memchr(b'\\', record).is_none() {
        return true;
    }
    escapes::decoded(record).is_none_or(|decoded| question.may_concern(&decoded))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use proptest::prelude::*;

    use super::*;
    use crate::history::{PendingReads, scan_content};

    const PENDING: &str =
        "You can't perform this operation on the secret because it was marked for deletion.";

    fn record(n: usize, kind: u8) -> String {
        let base = format!(
            r#"{{"eventVersion":"1.09","eventTime":"2026-11-20T14:00:{:02}Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","awsRegion":"us-east-1","recipientAccountId":"123456789012","eventID":"e-{n}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/u{n}","accountId":"123456789012"}}"#,
            n % 60
        );
        match kind {
            // A read pending deletion.
            0 => format!(
                r#"{base},"requestParameters":{{"secretId":"prod/db"}},"errorCode":"InvalidRequestException","errorMessage":"{PENDING}"}}"#
            ),
            // The same, its wording escaped.
            1 => format!(
                r#"{base},"requestParameters":{{"secretId":"prod/db"}},"errorMessage":"secret \u0062ecause it was marked for deletion"}}"#
            ),
            // A nested object that starts like a record, before the wording.
            2 => format!(
                r#"{base},"requestParameters":{{"secretId":"prod/db","x":[1,{{"eventVersion":"9"}}]}},"errorMessage":"{PENDING}"}}"#
            ),
            // The same nested object in a record that is not a read.
            3 => {
                format!(r#"{base},"responseElements":{{"item":{{"eventVersion":{{"S":"x"}}}}}}}}"#)
            }
            _ => format!(r#"{base},"requestParameters":{{"secretId":"staging/api"}}}}"#),
        }
    }

    fn locations(findings: &crate::detection::Findings) -> Vec<String> {
        findings
            .by_secret
            .values()
            .flatten()
            .map(|a| a.origin.location())
            .collect()
    }

    fn event_ids(findings: &crate::detection::Findings) -> Vec<String> {
        findings
            .by_secret
            .values()
            .flatten()
            .map(|a| a.event_id.as_deref().unwrap_or("").to_owned())
            .collect()
    }

    /// The trail file, and the same records as a JSON array (which is always parsed whole).
    fn both(kinds: &[u8]) -> (String, String) {
        let records: Vec<String> = kinds
            .iter()
            .enumerate()
            .map(|(n, k)| record(n, *k))
            .collect();
        (
            format!(r#"{{"Records":[{}]}}"#, records.join(",")),
            format!("[{}]", records.join(",")),
        )
    }

    /// How a file's JSON is spelt: as CloudTrail writes it, as Python's `json.dumps` writes
    /// it (`", "` and `": "`), or indented with new lines.
    #[derive(Debug, Clone, Copy)]
    enum Spelling {
        Minified,
        Python,
        Indented,
    }

    /// `minified` JSON in `spelling`: white space added between tokens, never in strings.
    fn respell(minified: &str, spelling: Spelling) -> String {
        let mut out = String::with_capacity(minified.len() * 2);
        let (mut in_string, mut escaped, mut depth) = (false, false, 0usize);
        for c in minified.chars() {
            if in_string {
                out.push(c);
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            let newline = |out: &mut String, depth: usize| {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            };
            match (spelling, c) {
                (_, '"') => {
                    in_string = true;
                    out.push(c);
                }
                (Spelling::Python, ',') => out.push_str(", "),
                (Spelling::Python, ':') => out.push_str(": "),
                (Spelling::Indented, '{' | '[') => {
                    depth += 1;
                    out.push(c);
                    newline(&mut out, depth);
                }
                (Spelling::Indented, '}' | ']') => {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                    out.push(c);
                }
                (Spelling::Indented, ',') => {
                    out.push(c);
                    newline(&mut out, depth);
                }
                (Spelling::Indented, ':') => out.push_str(": "),
                _ => out.push(c),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn read_by_its_candidates_a_trail_file_gives_what_the_whole_read_gives(
            kinds in proptest::collection::vec(0u8..6, 0..40),
            spelling in proptest::sample::select(vec![Spelling::Minified, Spelling::Python, Spelling::Indented]),
        ) {
            let (file, array) = both(&kinds);
            let (file, array) = (respell(&file, spelling), respell(&array, spelling));
            let question = PendingReads::default();
            let fast = scan_content(&question, file.as_bytes(), "f").unwrap().answer;
            let whole = scan_content(&question, array.as_bytes(), "f").unwrap().answer;
            prop_assert_eq!(fast.matched, whole.matched);
            prop_assert_eq!(event_ids(&fast), event_ids(&whole));
            prop_assert_eq!(fast.malformed.len(), whole.malformed.len());
            // Where no object nested in a record follows a comma, the indexes are the same.
            if !kinds.contains(&2) {
                prop_assert_eq!(locations(&fast), locations(&whole));
                prop_assert_eq!(fast.records, whole.records);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever lies inside the frame, the cut never panics, and what it keeps agrees with
        /// the whole read whenever the whole read succeeds.
        #[test]
        fn any_text_in_the_frame_is_cut_safely(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "\"", ",", ":", "[", "]", "\\", "\\u0062", "1", " ",
                    "{\"eventVersion\":", ",{\"eventVersion\":", "\"x\"", "é",
                    " because it was ", "secret because it was marked for deletion",
                    "\"eventSource\":\"secretsmanager.amazonaws.com\"",
                    "\"eventName\":\"GetSecretValue\"", "\"errorMessage\":",
                ]),
                0..60,
            )
        ) {
            let file = format!("{{\"Records\":[{{\"eventVersion\":{}]}}", pieces.concat());
            let question = PendingReads::default();
            let mut answer = crate::detection::Findings::default();
            let cut = scan_candidates(&question, file.as_bytes(), "f", &mut answer);
            if cut.is_some()
                && let Ok(whole) = scan_content(&question, format!("[{}", &file[12..file.len() - 1]).as_bytes(), "f")
            {
                prop_assert_eq!(answer.matched, whole.answer.matched);
            }
        }
    }

    #[test]
    fn a_file_in_any_spelling_is_read_by_its_candidates_and_an_escape_that_spells_nothing_is_not_parsed()
     {
        let question = PendingReads::default();
        // Record 1 holds a `\u` that spells no wording: pre-checked out on its decoded text.
        let mut kinds = vec![4, 4, 0, 4];
        let (file, _) = both(&kinds);
        let file = file.replacen("u1\"", "\\u00e9\"", 1);
        kinds[1] = 4;
        for spelling in [Spelling::Minified, Spelling::Python, Spelling::Indented] {
            let file = respell(&file, spelling);
            let mut answer = crate::detection::Findings::default();
            assert_eq!(
                scan_candidates(&question, file.as_bytes(), "f", &mut answer),
                Some(Cut::Examined),
                "{spelling:?}"
            );
            assert_eq!(
                (answer.records, answer.parsed, answer.matched),
                (4, 1, 1),
                "{spelling:?}"
            );
            assert_eq!(locations(&answer), ["f#2"], "{spelling:?}");
        }
        // The wording spelt with an escape is decoded, found, and the record parsed.
        let (file, _) = both(&[4, 1, 4]);
        for spelling in [Spelling::Minified, Spelling::Python] {
            let mut answer = crate::detection::Findings::default();
            let file = respell(&file, spelling);
            assert!(scan_candidates(&question, file.as_bytes(), "f", &mut answer).is_some());
            assert_eq!((answer.records, answer.matched), (3, 1), "{spelling:?}");
        }
    }

    #[test]
    fn a_file_out_of_its_frame_or_a_record_cut_wrong_is_read_whole() {
        let question = PendingReads::default();
        let mut answer = Default::default();
        // Cut short: no closing frame.
        let (file, _) = both(&[0, 4]);
        assert!(
            scan_candidates(
                &question,
                &file.as_bytes()[..file.len() - 2],
                "f",
                &mut answer
            )
            .is_none()
        );
        // A nested start before the anchor: the slice does not balance.
        let (file, _) = both(&[4, 2, 4]);
        assert!(scan_candidates(&question, file.as_bytes(), "f", &mut answer).is_none());
        let whole = scan_content(&question, file.as_bytes(), "f")
            .unwrap()
            .answer;
        assert_eq!(whole.matched, 1, "and the whole read finds it");
        // Records counted though never parsed.
        let (file, _) = both(&[4, 4, 0, 4]);
        let mut answer = crate::detection::Findings::default();
        assert!(scan_candidates(&question, file.as_bytes(), "f", &mut answer).is_some());
        assert_eq!((answer.records, answer.parsed, answer.matched), (4, 1, 1));
        assert_eq!(locations(&answer), ["f#2"]);
    }
}
