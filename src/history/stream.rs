//! History too large to hold whole, read as a stream: the same formats, one record at a time,
//! so a file of any size is scanned in the memory of its largest record.

use std::io::{BufRead, Cursor, Read};

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{FileAnswer, Format, Question};
use crate::error::HistoryError;

/// What a stream's bytes are before they are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    /// The stream is a gzip decoder's output: its read errors are gzip's.
    Gzip,
}

/// The bytes read to tell the format before the stream is parsed.
const HEAD_BYTES: u64 = 4096;
/// A line of JSON lines longer than this is not a record.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Reads history from a stream for `question`; `name` says where it came from in findings
/// and errors.
pub fn scan_stream<Q: Question>(
    question: &Q,
    mut reader: impl BufRead,
    name: &str,
    encoding: Encoding,
) -> Result<FileAnswer<Q::Answer>, HistoryError> {
    let read_error = |error: std::io::Error| match encoding {
        Encoding::Plain => HistoryError::Read(error),
        Encoding::Gzip => HistoryError::Gzip(error),
    };
    let mut head = Vec::new();
    (&mut reader)
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(read_error)?;
    let mut part = FileAnswer::default();
    let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        // Nothing but white space so far: read on as JSON lines, which skips blank lines.
        scan_lines(
            question,
            Cursor::new(head).chain(reader),
            name,
            &mut part.answer,
            read_error,
        )?;
        return Ok(part);
    };
    let format = Format::of(&head[start..]);
    let mut whole = Cursor::new(head).chain(reader);
    let json_error = |error: serde_json::Error, wrap: fn(serde_json::Error) -> HistoryError| {
        if error.is_io() {
            read_error(std::io::Error::from(error))
        } else {
            wrap(error)
        }
    };
    match format {
        Format::TrailFile | Format::LookupEvents => {
            let (key, element, wrap): (_, _, fn(_) -> _) = if format == Format::TrailFile {
                ("Records", Element::Record, HistoryError::TrailFile)
            } else {
                ("Events", Element::LookupEvent, HistoryError::LookupEvents)
            };
            let mut deserializer = serde_json::Deserializer::from_reader(&mut whole);
            let visitor = TopLevel {
                key,
                each: EachRecord {
                    element,
                    question,
                    answer: &mut part.answer,
                    name,
                },
            };
            serde::Deserializer::deserialize_map(&mut deserializer, visitor)
                .and_then(|()| deserializer.end())
                .map_err(|e| json_error(e, wrap))?;
        }
        Format::RecordArray => {
            let mut deserializer = serde_json::Deserializer::from_reader(&mut whole);
            EachRecord {
                element: Element::Record,
                question,
                answer: &mut part.answer,
                name,
            }
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|e| json_error(e, HistoryError::RecordArray))?;
        }
        Format::Subscription | Format::Envelope => return Err(HistoryError::TooLargeToStream),
        Format::JsonLines => scan_lines(question, whole, name, &mut part.answer, read_error)?,
    }
    Ok(part)
}

fn scan_lines<Q: Question>(
    question: &Q,
    mut reader: impl BufRead,
    name: &str,
    answer: &mut Q::Answer,
    read_error: impl Fn(std::io::Error) -> HistoryError,
) -> Result<(), HistoryError> {
    let mut line = Vec::new();
    let mut index = 0;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(&read_error)?;
        if read == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(HistoryError::LineTooLong {
                limit: MAX_LINE_BYTES,
            });
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match std::str::from_utf8(text) {
            Ok(record) => question.examine(answer, record, name, index),
            Err(_) => question.unreadable(answer, name, index, "not UTF-8 text"),
        }
        index += 1;
    }
}

/// What the records' array holds.
#[derive(Debug, Clone, Copy)]
enum Element {
    /// A record.
    Record,
    /// An `aws cloudtrail lookup-events` event, the record as a string in `CloudTrailEvent`.
    LookupEvent,
}

/// The file's object: the array under `key` is read record by record, every other member
/// is skipped.
struct TopLevel<'f, Q: Question> {
    key: &'static str,
    each: EachRecord<'f, Q>,
}

impl<'de, Q: Question> Visitor<'de> for TopLevel<'_, Q> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with {:?}", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut each = Some(self.each);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match each.take() {
                Some(records) if key == self.key => map.next_value_seed(records)?,
                other => {
                    each = other;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if each.is_some() {
            return Err(serde::de::Error::missing_field(self.key));
        }
        Ok(())
    }
}

struct EachRecord<'f, Q: Question> {
    element: Element,
    question: &'f Q,
    answer: &'f mut Q::Answer,
    name: &'f str,
}

impl<'de, Q: Question> DeserializeSeed<'de> for EachRecord<'_, Q> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, Q: Question> Visitor<'de> for EachRecord<'_, Q> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        #[derive(Deserialize)]
        struct LookupEvent {
            #[serde(rename = "CloudTrailEvent")]
            cloudtrail_event: String,
        }
        let mut index = 0;
        loop {
            match self.element {
                Element::Record => match seq.next_element::<Box<RawValue>>()? {
                    Some(record) => {
                        self.question
                            .examine(self.answer, record.get(), self.name, index);
                    }
                    None => return Ok(()),
                },
                Element::LookupEvent => match seq.next_element::<LookupEvent>()? {
                    Some(event) => {
                        self.question.examine(
                            self.answer,
                            &event.cloudtrail_event,
                            self.name,
                            index,
                        );
                    }
                    None => return Ok(()),
                },
            }
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::history::{PendingReads, scan_content};

    const SCAN: PendingReads = PendingReads {
        range: crate::history::TimeRange {
            since: None,
            until: None,
        },
    };

    const READ: &str = r#"{"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","eventID":"e-1","errorCode":"InvalidRequestException","errorMessage":"You can't perform this operation on the secret because it was marked for deletion.","requestParameters":{"secretId":"prod/db"}}"#;
    const OTHER: &str =
        r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"e-0"}"#;

    fn every_format() -> Vec<String> {
        let escaped = serde_json::to_string(READ).unwrap();
        vec![
            format!(r#"{{"Records":[{OTHER},{READ},{OTHER}]}}"#),
            format!(r#"  {{"Records":[{READ}],"More":[1,{{"a":2}}]}}"#),
            format!(r#"{{"Events":[{{"EventId":"e-1","CloudTrailEvent":{escaped}}}]}}"#),
            format!("[{OTHER},{READ}]"),
            format!("{OTHER}\n\n{READ}\r\nnot json\n"),
            format!("{}{READ}\n", " ".repeat(5000)),
        ]
    }

    #[test]
    fn a_stream_reads_what_the_whole_file_reads_in_every_format() {
        for content in every_format() {
            let whole = scan_content(&SCAN, content.as_bytes(), "f").unwrap().answer;
            let streamed = scan_stream(&SCAN, content.as_bytes(), "f", Encoding::Plain)
                .unwrap()
                .answer;
            assert_eq!(
                (streamed.records, streamed.matched, streamed.malformed.len()),
                (whole.records, whole.matched, whole.malformed.len()),
                "{content}"
            );
            assert_eq!(streamed.matched, 1, "{content}");
            let (mine, theirs): (Vec<_>, Vec<_>) = (
                streamed
                    .by_secret
                    .values()
                    .flatten()
                    .map(|a| a.origin.location())
                    .collect(),
                whole
                    .by_secret
                    .values()
                    .flatten()
                    .map(|a| a.origin.location())
                    .collect(),
            );
            assert_eq!(mine, theirs, "the same record index: {content}");
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error() {
        let truncated = format!(r#"{{"Records":[{READ},{OTHER}"#);
        assert!(matches!(
            scan_stream(&SCAN, truncated.as_bytes(), "f", Encoding::Plain),
            Err(HistoryError::TrailFile(_))
        ));
        let not_an_array = r#"{"Records":3}"#;
        assert!(matches!(
            scan_stream(&SCAN, not_an_array.as_bytes(), "f", Encoding::Plain),
            Err(HistoryError::TrailFile(_))
        ));
    }

    #[test]
    fn a_subscription_event_is_not_streamed() {
        assert!(matches!(
            scan_stream(
                &SCAN,
                &br#"{"awslogs":{"data":"H4sI"}}"#[..],
                "f",
                Encoding::Plain
            ),
            Err(HistoryError::TooLargeToStream)
        ));
    }
}
