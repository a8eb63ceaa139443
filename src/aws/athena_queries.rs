//! `check --source athena:DATABASE.TABLE`: the question run where the history is, for years of
//! it that no single machine should download. StartQueryExecution, then GetQueryExecution
//! until it ends, then GetQueryResults page by page through the SDK's paginator.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use aws_smithy_types::error::display::DisplayErrorContext;

/// How often a running query is asked about.
const POLL: Duration = Duration::from_millis(500);
/// Rows asked per GetQueryResults page (Athena's most).
const PAGE_ROWS: i32 = 1000;

/// Why a query gave no (or not all of its) rows.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    #[error("StartQueryExecution failed: {0}")]
    Start(String),
    #[error("GetQueryExecution failed: {0}")]
    Status(String),
    #[error("the query {id} ended {state}: {reason}")]
    Ended {
        id: String,
        state: String,
        reason: String,
    },
    #[error("the query {id} did not end within {waited:?}")]
    TooLong { id: String, waited: Duration },
    #[error("GetQueryResults of {id} failed after {rows} rows: {reason}")]
    Results {
        id: String,
        rows: u64,
        reason: String,
    },
}

/// What a query that ran to its end read.
#[derive(Debug, Clone, Default)]
pub struct QueryRun {
    pub id: String,
    pub rows: u64,
    pub pages: u64,
    pub bytes_scanned: Option<i64>,
}

/// Athena, as the configured account and region reach it.
pub struct AthenaQueries {
    client: aws_sdk_athena::Client,
}

impl AthenaQueries {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        AthenaQueries {
            client: aws_sdk_athena::Client::new(sdk_config),
        }
    }

    /// Runs `sql` in `workgroup` (results to `output`, when given: else the workgroup's own
    /// location) against `database`, waits at most `wait`, and hands each page of rows to
    /// `each_page(columns, rows)`, the header row left out.
    pub async fn run(
        &self,
        sql: &str,
        database: &str,
        workgroup: &str,
        output: Option<&str>,
        wait: Duration,
        mut each_page: impl FnMut(&[String], Vec<Vec<Option<String>>>),
    ) -> Result<QueryRun, AthenaError> {
        let mut start = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(workgroup)
            .query_execution_context(QueryExecutionContext::builder().database(database).build());
        if let Some(output) = output {
            start = start.result_configuration(
                ResultConfiguration::builder()
                    .output_location(output)
                    .build(),
            );
        }
        let started = start
            .send()
            .await
            .map_err(|e| AthenaError::Start(DisplayErrorContext(&e).to_string()))?;
        let Some(id) = started
            .query_execution_id()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            return Err(AthenaError::Start(
                "Athena gave no query execution id".into(),
            ));
        };
        let mut run = QueryRun {
            id: id.clone(),
            ..QueryRun::default()
        };
        let begun = tokio::time::Instant::now();
        loop {
            let status = self
                .client
                .get_query_execution()
                .query_execution_id(&id)
                .send()
                .await
                .map_err(|e| AthenaError::Status(DisplayErrorContext(&e).to_string()))?;
            let execution = status.query_execution();
            run.bytes_scanned = execution
                .and_then(|e| e.statistics())
                .and_then(|s| s.data_scanned_in_bytes());
            let state = execution.and_then(|e| e.status());
            match state.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => break,
                Some(QueryExecutionState::Queued | QueryExecutionState::Running) => {}
                None => {
                    return Err(AthenaError::Status(format!(
                        "Athena gave no state for the query {id}"
                    )));
                }
                Some(other) => {
                    return Err(AthenaError::Ended {
                        id,
                        state: other.as_str().to_owned(),
                        reason: state
                            .and_then(|s| s.state_change_reason())
                            .unwrap_or("no reason given")
                            .to_owned(),
                    });
                }
            }
            if begun.elapsed() > wait {
                return Err(AthenaError::TooLong { id, waited: wait });
            }
            tokio::time::sleep(POLL).await;
        }
        let mut pages = self
            .client
            .get_query_results()
            .query_execution_id(&id)
            .max_results(PAGE_ROWS)
            .into_paginator()
            .send();
        let mut columns: Vec<String> = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AthenaError::Results {
                id: id.clone(),
                rows: run.rows,
                reason: DisplayErrorContext(&e).to_string(),
            })?;
            let Some(results) = page.result_set() else {
                continue;
            };
            if columns.is_empty() {
                columns = results
                    .result_set_metadata()
                    .map(|m| m.column_info())
                    .unwrap_or_default()
                    .iter()
                    .map(|c| c.label().unwrap_or(c.name()).to_owned())
                    .collect();
            }
            let mut rows: Vec<Vec<Option<String>>> = results
                .rows()
                .iter()
                .map(|row| {
                    row.data()
                        .iter()
                        .map(|d| d.var_char_value().map(str::to_owned))
                        .collect()
                })
                .collect();
            // A SELECT's first page starts with the column names.
            if run.pages == 0
                && rows.first().is_some_and(|first| {
                    first
                        .iter()
                        .map(|v| v.as_deref().unwrap_or(""))
                        .eq(columns.iter().map(String::as_str))
                })
            {
                rows.remove(0);
            }
            run.pages += 1;
            run.rows += rows.len() as u64;
            each_page(&columns, rows);
        }
        Ok(run)
    }
}
