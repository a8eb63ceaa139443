//! A trail's log file read by its candidates alone. CloudTrail writes its S3 files as
//! `{"Records":[{"eventVersion":...},{"eventVersion":...}]}`; when the question can say where
//! its records may be ([`Question::anchors`]), only the records around those places are cut
//! out and parsed, and the rest of the file is never parsed at all. That keeps a look-back
//! at the speed of inflate when every file holds a few candidates.
//!
//! Why it is sound. `{"eventVersion":` cannot occur inside a JSON string (its quote would have
//! to be escaped), so outside strings it starts an object whose first key is `eventVersion`:
//! a record, or (rarely) an object nested in one. The record around an anchor is taken from
//! the last such start before it to the next `,{"eventVersion":` after it, and must then
//! parse as exactly one JSON object. If a nested object had been taken for a start or an end,
//! the braces of the slice would not balance and it would not parse: then the file is read
//! whole, as any other. The file's own frame (`{"Records":[` ... `]}`) is checked too, so a
//! file cut short is read whole and fails as it would.
//!
//! A slice the question's pre-check turns away ([`Question::may_concern`]) is not parsed at
//! all, only counted: an anchor can sit in many records the question never keeps (a
//! secret's name is in the encryption context of every KMS `Decrypt` Secrets Manager makes
//! for it), and parsing each one to check its cut cost more than inflating the file. Only a
//! slice that starts as a record of the list does is passed so, after a comma (or first):
//! one that starts after a `:` is an object nested in a record's value, and is parsed, fails,
//! and has the file read whole as before. What is left is an object nested in an array,
//! after a comma, whose first key is `eventVersion`: a slice is cut wrong only inside a
//! record that holds one, and CloudTrail's `GetSecretValue` records, the only records the
//! questions keep, hold none (their request parameters are the secret id, version id and
//! stage, their resources start with `accountId`, their response elements are null). So a
//! kept record is always cut exactly, and a slice cut wrong lies in a record no question
//! keeps.

use memchr::memmem;
use serde_json::value::RawValue;

use super::Question;

/// The file's frame, before its first record.
const FRAME_OPENING: &[u8] = b"{\"Records\":[";
const FIRST_RECORD: &[u8] = b"{\"Records\":[{\"eventVersion\":";
const RECORD_START: &[u8] = b"{\"eventVersion\":";
const NEXT_RECORD: &[u8] = b",{\"eventVersion\":";

/// What reading a trail file by its candidates came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// No anchor anywhere in the file: no record in it can concern the question (passed
    /// over unparsed, its records not counted, as the pre-check passes a file over).
    NoCandidates,
    /// The records around the anchors were examined, and the rest counted.
    Examined,
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
    if !text.starts_with(FIRST_RECORD) || !text.ends_with(b"]}") {
        return None;
    }
    let last = text.len() - 2;
    let anchors = question.anchors(text)?;
    if anchors.is_empty() {
        return Some(Cut::NoCandidates);
    }
    let starts_before = memmem::FinderRev::new(RECORD_START);
    let next = memmem::Finder::new(NEXT_RECORD);
    // A record's index is the number of `,{"eventVersion":` before it, outside the records
    // cut out (an object nested in a record and starting like one after a comma shifts it:
    // the index is where to look, the event id is who read).
    let (mut commas, mut scanned) = (0usize, 0usize);
    let mut examined = 0usize;
    for anchor in anchors {
        if anchor < scanned {
            continue;
        }
        let anchor = anchor.min(last);
        let start = starts_before.rfind(&text[scanned..=anchor])? + scanned;
        let end = next
            .find(&text[anchor..last])
            .map_or(last, |offset| anchor + offset);
        let record = &text[start..end];
        // The comma before this record's own start is counted: its marker ends inside it.
        commas += next
            .find_iter(&text[scanned..start + RECORD_START.len()])
            .count();
        // A record the pre-check turns away (a name in a KMS record's encryption context, the
        // wording in another API's text) is counted with the rest, unparsed, when it starts
        // as a record of the list does (after a comma, or first): see the top.
        let listed_start = start == FRAME_OPENING.len()
            || start.checked_sub(1).and_then(|before| text.get(before)) == Some(&b',');
        if listed_start && !question.may_concern(record) {
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
    let counted = commas + next.find_iter(&text[scanned..last]).count() + 1;
    question.passed_over(answer, counted.saturating_sub(examined));
    Some(Cut::Examined)
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn read_by_its_candidates_a_trail_file_gives_what_the_whole_read_gives(
            kinds in proptest::collection::vec(0u8..6, 0..40)
        ) {
            let (file, array) = both(&kinds);
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
