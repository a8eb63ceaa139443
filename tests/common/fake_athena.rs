//! A fake Athena on 127.0.0.1 that answers the real SDK (AWS JSON 1.1): StartQueryExecution,
//! GetQueryExecution (running for a few polls, then done or failed), and GetQueryResults in
//! pages of `MaxResults` with `NextToken`, the first page led by the column names, as Athena
//! answers a SELECT. moto's Athena returns every row in one page, so it cannot show paging.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use super::http::read_request;

#[derive(Default)]
struct State {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    /// GetQueryExecution answers RUNNING this many times first.
    running_polls: usize,
    /// The query ends FAILED with this reason.
    failure: Option<String>,
    queries: Vec<String>,
    result_pages: usize,
}

#[derive(Clone)]
pub struct FakeAthena {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FakeAthena {
    pub fn start(columns: Vec<String>, rows: Vec<Vec<Option<String>>>) -> FakeAthena {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let fake = FakeAthena {
            endpoint: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::new(Mutex::new(State {
                columns,
                rows,
                running_polls: 2,
                ..State::default()
            })),
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

    pub fn fail_with(&self, reason: &str) {
        self.state.lock().unwrap().failure = Some(reason.to_owned());
    }

    /// The SQL of every query started.
    pub fn queries(&self) -> Vec<String> {
        self.state.lock().unwrap().queries.clone()
    }

    pub fn result_pages(&self) -> usize {
        self.state.lock().unwrap().result_pages
    }

    fn serve(&self, stream: TcpStream) {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        while let Some(request) = read_request(&mut reader) {
            // The header's value comes lowercased (`common::http`).
            let target = request.header("x-amz-target").unwrap_or_default();
            let body: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);
            let answer = self.answer(target.rsplit('.').next().unwrap_or(""), &body);
            let text = answer.to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: fake\r\nContent-Length: {}\r\n\r\n",
                text.len()
            );
            if writer.write_all(head.as_bytes()).is_err()
                || writer.write_all(text.as_bytes()).is_err()
            {
                return;
            }
        }
    }

    fn answer(&self, operation: &str, request: &serde_json::Value) -> serde_json::Value {
        let mut state = self.state.lock().unwrap();
        match operation {
            "startqueryexecution" => {
                state
                    .queries
                    .push(request["QueryString"].as_str().unwrap_or("").to_owned());
                serde_json::json!({ "QueryExecutionId": format!("q-{}", state.queries.len()) })
            }
            "getqueryexecution" => {
                let (status, reason) = if state.running_polls > 0 {
                    state.running_polls -= 1;
                    ("RUNNING", None)
                } else if let Some(reason) = &state.failure {
                    ("FAILED", Some(reason.clone()))
                } else {
                    ("SUCCEEDED", None)
                };
                serde_json::json!({ "QueryExecution": {
                    "QueryExecutionId": request["QueryExecutionId"],
                    "Status": { "State": status, "StateChangeReason": reason },
                    "Statistics": { "DataScannedInBytes": 52_428_800 }
                }})
            }
            "getqueryresults" => {
                state.result_pages += 1;
                let page = request["MaxResults"].as_u64().unwrap_or(1000) as usize;
                let from: usize = request["NextToken"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                // Row 0 is the header: the column names.
                let header: Vec<Option<String>> = state.columns.iter().cloned().map(Some).collect();
                let all = std::iter::once(&header).chain(state.rows.iter());
                let rows: Vec<serde_json::Value> = all
                    .skip(from)
                    .take(page)
                    .map(|row| {
                        let data: Vec<serde_json::Value> = row
                            .iter()
                            .map(|v| match v {
                                Some(v) => serde_json::json!({ "VarCharValue": v }),
                                None => serde_json::json!({}),
                            })
                            .collect();
                        serde_json::json!({ "Data": data })
                    })
                    .collect();
                let columns: Vec<serde_json::Value> = state
                    .columns
                    .iter()
                    .map(|c| serde_json::json!({ "Name": c, "Label": c, "Type": "varchar" }))
                    .collect();
                let mut answer = serde_json::json!({ "ResultSet": {
                    "Rows": rows,
                    "ResultSetMetadata": { "ColumnInfo": columns }
                }});
                if from + page < state.rows.len() + 1 {
                    answer["NextToken"] = (from + page).to_string().into();
                }
                answer
            }
            other => serde_json::json!({ "__type": "UnknownOperationException", "message": other }),
        }
    }
}

/// The columns `check`'s and `scan`'s SQL select, in their order.
pub fn record_columns() -> Vec<String> {
    secret_deletion_alerts::athena::CHECK_COLUMNS
        .iter()
        .map(|(_, alias)| (*alias).to_owned())
        .collect()
}

/// One result row of those columns for `record`, as Athena returns it (`None`: NULL).
pub fn athena_row(record: &serde_json::Value) -> Vec<Option<String>> {
    secret_deletion_alerts::athena::CHECK_COLUMNS
        .iter()
        .map(|(_, alias)| {
            let mut value = record;
            for part in alias.split('.') {
                value = &value[part];
            }
            match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(text) => Some(text.clone()),
                other => Some(other.to_string()),
            }
        })
        .collect()
}
