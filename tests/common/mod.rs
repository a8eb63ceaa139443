//! Plain fakes for the ports, and the sample events.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secret_deletion_alerts::alert::Alert;
use secret_deletion_alerts::error::{PublishError, PublishFailure, RestoreError};
use secret_deletion_alerts::handler::BatchOptions;
use secret_deletion_alerts::logs::{Base64Text, SubscriptionEvent};
use secret_deletion_alerts::ports::{AlertPublisher, SecretAt, SecretInspector, SecretRestorer};
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};

/// 2026-11-21T00:00:00Z: a day after the sample events.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_219_200)
}

pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// The base64 `awslogs.data` of a sample event in `events/`.
pub fn sample(name: &str) -> Base64Text {
    let bytes = std::fs::read(events_dir().join(name)).unwrap();
    SubscriptionEvent::from_json(&bytes).unwrap().awslogs.data
}

/// The function's options for the tests of the handler. Reads are not confirmed with
/// CloudTrail here (`VERIFY_READS=off`): the fakes have no Event history, and
/// `tests/it/event_history.rs` is where confirmation is specified.
pub fn options(policy: &RestorePolicy) -> BatchOptions<'_> {
    BatchOptions {
        account_id: Some("123456789012"),
        deadline_reserve: Duration::from_secs(30),
        verify_reads: secret_deletion_alerts::verification::VerifyReads::Off,
        ..BatchOptions::with_defaults(policy, now())
    }
}

/// Keeps what it is given; fails for the secrets named in `fail_for`.
#[derive(Default)]
pub struct RecordingPublisher {
    pub alerts: Mutex<Vec<Alert>>,
    pub scheduled: Mutex<Vec<secret_deletion_alerts::scheduled::ScheduledAlert>>,
    pub key_alerts: Mutex<Vec<secret_deletion_alerts::key_alert::KeyAlert>>,
    pub fail_for: Vec<String>,
}

impl RecordingPublisher {
    pub fn failing_for(secrets: &[&str]) -> Self {
        RecordingPublisher {
            alerts: Mutex::default(),
            scheduled: Mutex::default(),
            key_alerts: Mutex::default(),
            fail_for: secrets.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.lock().unwrap().clone()
    }

    pub fn scheduled(&self) -> Vec<secret_deletion_alerts::scheduled::ScheduledAlert> {
        self.scheduled.lock().unwrap().clone()
    }

    pub fn key_alerts(&self) -> Vec<secret_deletion_alerts::key_alert::KeyAlert> {
        self.key_alerts.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl AlertPublisher for RecordingPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        if self.fail_for.contains(&alert.document.secret.display_name) {
            return Err(PublishError {
                secret: alert.document.secret.display_name.clone(),
                event_ids: alert.event_ids(),
                cause: PublishFailure::Rejected {
                    code: "InternalError".into(),
                    message: "SNS is down".into(),
                },
            });
        }
        self.alerts.lock().unwrap().push(alert.clone());
        Ok(())
    }

    async fn publish_scheduled(
        &self,
        alert: &secret_deletion_alerts::scheduled::ScheduledAlert,
    ) -> Result<(), PublishError> {
        if self.fail_for.contains(&alert.document.secret.name) {
            return Err(PublishError {
                secret: alert.document.secret.name.clone(),
                event_ids: alert.document.deletion.event_id.clone().unwrap_or_default(),
                cause: PublishFailure::Rejected {
                    code: "InternalError".into(),
                    message: "SNS is down".into(),
                },
            });
        }
        self.scheduled.lock().unwrap().push(alert.clone());
        Ok(())
    }

    /// Fails for a key named (its first alias, id, or what was passed) in `fail_for`.
    async fn publish_key_use(
        &self,
        alert: &secret_deletion_alerts::key_alert::KeyAlert,
    ) -> Result<(), PublishError> {
        if self.fail_for.iter().any(|name| name == alert.key_name()) {
            return Err(PublishError {
                secret: alert.key_name().to_owned(),
                event_ids: alert.event_ids(),
                cause: PublishFailure::Rejected {
                    code: "InternalError".into(),
                    message: "SNS is down".into(),
                },
            });
        }
        self.key_alerts.lock().unwrap().push(alert.clone());
        Ok(())
    }
}

/// Answers lookups from a table (secret id -> state) and records restores.
#[derive(Default)]
pub struct FakeSecrets {
    pub states: Mutex<HashMap<String, SecretState>>,
    pub lookups: Mutex<Vec<String>>,
    pub restores: Mutex<Vec<String>>,
    /// The regions lookups were sent to (`None`: the client's own).
    pub regions: Mutex<Vec<Option<String>>>,
    /// The member accounts lookups were sent to (`None`: the function's own).
    pub accounts: Mutex<Vec<Option<String>>>,
    pub restore_error: Option<RestoreError>,
}

impl FakeSecrets {
    pub fn with(states: &[(&str, SecretState)]) -> Self {
        FakeSecrets {
            states: Mutex::new(
                states
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            ..FakeSecrets::default()
        }
    }

    pub fn restores(&self) -> Vec<String> {
        self.restores.lock().unwrap().clone()
    }

    pub fn lookups(&self) -> Vec<String> {
        self.lookups.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl SecretInspector for FakeSecrets {
    async fn inspect(&self, secret_id: &str, at: SecretAt<'_>) -> SecretState {
        self.lookups.lock().unwrap().push(secret_id.to_owned());
        self.regions
            .lock()
            .unwrap()
            .push(at.region.map(|r| r.to_string()));
        self.accounts
            .lock()
            .unwrap()
            .push(at.member_account.map(|a| a.to_string()));
        self.states
            .lock()
            .unwrap()
            .get(secret_id)
            .cloned()
            .unwrap_or(SecretState::Purged)
    }
}

#[async_trait::async_trait]
impl SecretRestorer for FakeSecrets {
    async fn restore(&self, arn: &str, _at: SecretAt<'_>) -> Result<(), RestoreError> {
        self.restores.lock().unwrap().push(arn.to_owned());
        if let Some(error) = &self.restore_error {
            return Err(error.clone());
        }
        // A restored secret is no longer pending deletion: a retry must see that.
        let mut states = self.states.lock().unwrap();
        for state in states.values_mut() {
            if let SecretState::PendingDeletion {
                arn: a, name, tags, ..
            } = state.clone()
                && a == arn
            {
                *state = SecretState::NotPendingDeletion { arn: a, name, tags };
            }
        }
        Ok(())
    }
}

pub fn pending(secret_id: &str, days: u64, tags: &[(&str, &str)]) -> SecretState {
    SecretState::PendingDeletion {
        arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret_id}-AbCdEf"),
        name: secret_id.to_owned(),
        deletion_date: now() + Duration::from_secs(days * 86_400),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}
pub mod fake_athena;
pub mod fake_cloudtrail;
pub mod fake_sts;
pub mod hostile;
pub mod http;
pub mod moto;
pub mod windows;
