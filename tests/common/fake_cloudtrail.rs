//! A fake CloudTrail on 127.0.0.1 that answers the real SDK's `LookupEvents` (AWS JSON 1.1)
//! from events given to it: one lookup attribute per call (`EventId`, `EventName` or `ResourceName`), the time
//! range, pages of `MaxResults` with `NextToken`, and throttling on demand. moto has no
//! `LookupEvents`; the function reaches this through its own endpoint setting, as it would
//! reach CloudTrail through `AWS_ENDPOINT_URL_CLOUDTRAIL`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::http::read_request;

/// One event as Event history holds it.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    /// Seconds since the epoch.
    pub event_time: f64,
    /// The record, as `CloudTrailEvent` carries it (a JSON string).
    pub record: serde_json::Value,
}

impl HistoryEvent {
    /// An event from its record, reading the id, name, source and time from it.
    pub fn of(record: serde_json::Value) -> Self {
        let time = record["eventTime"]
            .as_str()
            .unwrap_or("2026-11-20T14:03:12Z");
        let event_time = humantime::parse_rfc3339(time)
            .map(|t| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
            })
            .unwrap_or(0.0);
        HistoryEvent {
            event_id: record["eventID"].as_str().unwrap_or("").to_owned(),
            event_name: record["eventName"].as_str().unwrap_or("").to_owned(),
            event_source: record["eventSource"].as_str().unwrap_or("").to_owned(),
            event_time,
            record,
        }
    }
}

#[derive(Default)]
struct State {
    events: Vec<HistoryEvent>,
    /// The next this many requests are answered with `ThrottlingException`.
    throttle_next: usize,
    /// Requests whose answer is an empty page until this many have been made (Event history
    /// lagging CloudWatch Logs).
    lag_requests: usize,
    requests: Vec<serde_json::Value>,
}

#[derive(Clone)]
pub struct FakeCloudTrail {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    served: Arc<AtomicUsize>,
}

impl FakeCloudTrail {
    pub fn start(events: Vec<HistoryEvent>) -> FakeCloudTrail {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            events,
            ..State::default()
        }));
        let served = Arc::new(AtomicUsize::new(0));
        let fake = FakeCloudTrail {
            endpoint,
            state,
            served,
        };
        let server = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || server.serve(stream));
            }
        });
        fake
    }

    pub fn throttle_next(&self, requests: usize) {
        self.state.lock().unwrap().throttle_next = requests;
    }

    /// The first `requests` requests find nothing, as when Event history has not caught up.
    pub fn lag(&self, requests: usize) {
        self.state.lock().unwrap().lag_requests = requests;
    }

    pub fn add(&self, event: HistoryEvent) {
        self.state.lock().unwrap().events.push(event);
    }

    /// The request bodies, in order.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.state.lock().unwrap().requests.clone()
    }

    fn serve(&self, stream: TcpStream) {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        while let Some(request) = read_request(&mut reader) {
            let target = request
                .header("x-amz-target")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let body = request.body;
            let request: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let (status, answer) = if target.ends_with(".lookupevents") {
                self.lookup_events(request)
            } else {
                (
                    400,
                    serde_json::json!({"__type": "UnknownOperationException", "message": target}),
                )
            };
            self.served.fetch_add(1, Ordering::Relaxed);
            let text = answer.to_string();
            let reason = if status == 200 { "OK" } else { "Bad Request" };
            let head = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: fake\r\nContent-Length: {}\r\n\r\n",
                text.len()
            );
            if writer.write_all(head.as_bytes()).is_err()
                || writer.write_all(text.as_bytes()).is_err()
            {
                return;
            }
        }
    }

    fn lookup_events(&self, request: serde_json::Value) -> (u16, serde_json::Value) {
        let mut state = self.state.lock().unwrap();
        state.requests.push(request.clone());
        if state.throttle_next > 0 {
            state.throttle_next -= 1;
            return (
                400,
                serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
            );
        }
        if state.requests.len() <= state.lag_requests {
            return (200, serde_json::json!({"Events": []}));
        }
        let attribute = &request["LookupAttributes"][0];
        let (key, value) = (
            attribute["AttributeKey"].as_str().unwrap_or(""),
            attribute["AttributeValue"].as_str().unwrap_or(""),
        );
        let start = request["StartTime"].as_f64().unwrap_or(f64::MIN);
        let end = request["EndTime"].as_f64().unwrap_or(f64::MAX);
        let mut found: Vec<&HistoryEvent> = state
            .events
            .iter()
            .filter(|e| match key {
                "EventId" => e.event_id == value,
                "EventName" => e.event_name == value,
                // Event history indexes a record under the ARNs of its `resources`.
                "ResourceName" => e.record["resources"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["ARN"] == value)),
                "" => true,
                _ => false,
            })
            .filter(|e| e.event_time >= start && e.event_time <= end)
            .collect();
        // Newest first, as Event history answers.
        found.sort_by(|a, b| b.event_time.total_cmp(&a.event_time));
        let page = request["MaxResults"].as_u64().unwrap_or(50).clamp(1, 50) as usize;
        let from: usize = request["NextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let events: Vec<serde_json::Value> = found
            .iter()
            .skip(from)
            .take(page)
            .map(|e| {
                serde_json::json!({
                    "EventId": e.event_id,
                    "EventName": e.event_name,
                    "EventSource": e.event_source,
                    "EventTime": e.event_time,
                    "ReadOnly": "false",
                    "CloudTrailEvent": e.record.to_string(),
                })
            })
            .collect();
        let mut answer = serde_json::json!({ "Events": events });
        if from + page < found.len() {
            answer["NextToken"] = (from + page).to_string().into();
        }
        (200, answer)
    }
}
