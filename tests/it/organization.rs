//! Across an organization: one function in the account that holds the organization trail's
//! log group, looking up and restoring secrets of member accounts through `MEMBER_ROLE_NAME`.
//! First with plain fakes (which account each call went to), then against moto's server on
//! 127.0.0.1, whose STS hands out credentials that act in the role's account (the role need
//! not exist there), with a fake STS in front of it for the refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::types::Tag;
use common::fake_sts::FakeSts;
use common::moto::{at_endpoint, emulator, in_account, unique};
use common::{FakeSecrets, RecordingPublisher, options, pending};
use secret_deletion_alerts::aws::SecretsManager;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::{Base64Text, encode_records};
use secret_deletion_alerts::ports::NoEventHistory;
use secret_deletion_alerts::ports::{NoCopies, NoKeys};
use secret_deletion_alerts::ports::{NoWindows, SecretInspector, SecretRestorer};
use secret_deletion_alerts::restore::{LookupFailure, RestorePolicy, SecretState};

const MANAGEMENT: &str = "123456789012";
const MEMBER: &str = "111111111111";
const OTHER_MEMBER: &str = "222222222222";
const ROLE: &str = "secret-deletion-alerts-member";
const TAG: &str = "secret-deletion-alerts:restore-on-access";

/// A batch with one read per (account, secret name), as an organization trail records them:
/// the member account in `recipientAccountId`, the secret named by its name.
fn reads_in(reads: &[(&str, &str)]) -> Base64Text {
    let records: Vec<serde_json::Value> = reads
        .iter()
        .enumerate()
        .map(|(n, (account, secret))| {
            let mut record =
                common::hostile::pending_deletion_read(secret, "aws-sdk-go/1.55", "app");
            record["recipientAccountId"] = (*account).into();
            record["userIdentity"]["accountId"] = (*account).into();
            record["eventID"] = format!("{}-{n}", unique("org")).into();
            record
        })
        .collect();
    let records = serde_json::json!({ "Records": records }).to_string();
    encode_records(&records, "aws-cloudtrail-logs/o-abcdefghij")
        .unwrap()
        .awslogs
        .data
}

async fn run<'a, S: SecretInspector + SecretRestorer + Sync>(
    data: &Base64Text,
    publisher: &RecordingPublisher,
    secrets: &S,
    policy: &'a RestorePolicy,
    change: impl FnOnce(&mut BatchOptions<'a>),
) -> BatchSummary {
    let ports = Adapters::new(publisher, secrets);
    let mut options = options(policy);
    options.account_id = Some(MANAGEMENT);
    options.member_role = Some(ROLE);
    change(&mut options);
    handle_batch(data, &ports, &options).await.unwrap()
}

#[tokio::test]
async fn a_member_accounts_secret_is_looked_up_and_restored_in_that_account() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("org/db", pending("org/db", 6, &[]))]);
    let summary = run(
        &reads_in(&[(MEMBER, "org/db")]),
        &publisher,
        &secrets,
        &RestorePolicy::All,
        |_| {},
    )
    .await;
    assert_eq!(summary.restored, 1);
    assert_eq!(*secrets.accounts.lock().unwrap(), [Some(MEMBER.to_owned())]);
    let alert = &publisher.alerts()[0];
    assert_eq!(alert.document.secret.state, "pending_deletion");
    assert_eq!(alert.attributes["account"], MEMBER);
}

#[tokio::test]
async fn the_functions_own_account_needs_no_role() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("own/db", pending("own/db", 6, &[]))]);
    run(
        &reads_in(&[(MANAGEMENT, "own/db")]),
        &publisher,
        &secrets,
        &RestorePolicy::Off,
        |_| {},
    )
    .await;
    assert_eq!(*secrets.accounts.lock().unwrap(), [None]);
}

#[tokio::test]
async fn an_account_outside_the_allow_list_is_not_touched_and_the_alert_says_why() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("org/db", pending("org/db", 6, &[]))]);
    let allowed: BTreeSet<String> = [OTHER_MEMBER.to_owned()].into();
    run(
        &reads_in(&[(MEMBER, "org/db")]),
        &publisher,
        &secrets,
        &RestorePolicy::All,
        |o| {
            o.accounts = Some(&allowed);
        },
    )
    .await;
    assert!(secrets.lookups().is_empty());
    assert!(secrets.restores().is_empty());
    let detail = &publisher.alerts()[0].document.secret.state_detail;
    assert!(
        detail.contains("the account is not in ACCOUNTS"),
        "{detail}"
    );
}

#[tokio::test]
async fn without_a_member_role_another_account_is_reported_as_before() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    run(
        &reads_in(&[(MEMBER, "org/db")]),
        &publisher,
        &secrets,
        &RestorePolicy::All,
        |o| {
            o.member_role = None;
        },
    )
    .await;
    assert!(secrets.lookups().is_empty());
    let detail = &publisher.alerts()[0].document.secret.state_detail;
    assert!(detail.contains("set MEMBER_ROLE_NAME"), "{detail}");
}

/// Fails the member role of one account, as a missing role does; answers for the others.
struct RoleMissingIn(&'static str, FakeSecrets);

#[async_trait::async_trait]
impl SecretInspector for RoleMissingIn {
    async fn inspect(
        &self,
        secret_id: &str,
        at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> SecretState {
        if at.member_account.is_some_and(|a| a.as_str() == self.0) {
            self.1
                .lookups
                .lock()
                .unwrap()
                .push(format!("refused {secret_id}"));
            return SecretState::LookupFailed {
                reason: format!(
                    "could not assume the member role arn:aws:iam::{}:role/{ROLE}: AccessDenied",
                    self.0
                ),
                cause: LookupFailure::MemberRole,
            };
        }
        self.1.inspect(secret_id, at).await
    }
}

#[async_trait::async_trait]
impl SecretRestorer for RoleMissingIn {
    async fn restore(
        &self,
        arn: &str,
        at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> Result<(), secret_deletion_alerts::error::RestoreError> {
        self.1.restore(arn, at).await
    }
}

#[tokio::test]
async fn a_failed_role_skips_its_account_for_the_rest_of_the_batch_and_no_other() {
    let publisher = RecordingPublisher::default();
    let secrets = RoleMissingIn(
        MEMBER,
        FakeSecrets::with(&[("b/db", pending("b/db", 6, &[]))]),
    );
    let data = reads_in(&[(MEMBER, "a/one"), (MEMBER, "a/two"), (OTHER_MEMBER, "b/db")]);
    let summary = run(&data, &publisher, &secrets, &RestorePolicy::Off, |o| {
        o.concurrency = 1
    })
    .await;
    assert_eq!(
        summary.alerts_published, 3,
        "a failed role is an alert state, never a lost alert"
    );
    assert_eq!(secrets.1.lookups(), ["refused a/one", "b/db"]);
    let details: Vec<String> = publisher
        .alerts()
        .iter()
        .map(|a| a.document.secret.state_detail.clone())
        .collect();
    assert!(
        details[0].contains(&format!("arn:aws:iam::{MEMBER}:role/{ROLE}")),
        "{details:?}"
    );
    assert!(
        details[1].contains("could not be assumed earlier in this batch"),
        "{details:?}"
    );
    assert!(
        details[2].starts_with("scheduled for deletion on"),
        "{details:?}"
    );
}

// ---- against moto ----

/// A secret in `account`, scheduled for deletion in 7 days; its ARN.
async fn member_secret(sdk: &SdkConfig, account: &str, name: &str, tagged: bool) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&in_account(sdk, account).await);
    let mut create = client.create_secret().name(name).secret_string("s3cr3t");
    if tagged {
        create = create.tags(Tag::builder().key(TAG).value("true").build());
    }
    let arn = create.send().await.unwrap().arn().unwrap().to_owned();
    assert!(arn.contains(&format!(":{account}:secret:")), "{arn}");
    client
        .delete_secret()
        .secret_id(&arn)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    arn
}

async fn is_pending_deletion(sdk: &SdkConfig, account: &str, arn: &str) -> bool {
    let client = aws_sdk_secretsmanager::Client::new(&in_account(sdk, account).await);
    let described = client
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    described.deleted_date().is_some()
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn through_the_member_role_the_alert_has_the_purge_date_and_all_restores() {
    let sdk = emulator().await.unwrap();
    let name = unique("org/db");
    let arn = member_secret(&sdk, MEMBER, &name, false).await;
    let publisher = RecordingPublisher::default();
    let secrets = SecretsManager::new(&sdk).with_member_role(ROLE);
    let summary = run(
        &reads_in(&[(MEMBER, &name)]),
        &publisher,
        &secrets,
        &RestorePolicy::All,
        |o| {
            o.now = std::time::SystemTime::now();
        },
    )
    .await;
    let alert = &publisher.alerts()[0];
    let secret = &alert.document.secret;
    assert_eq!(secret.state, "pending_deletion", "{}", secret.state_detail);
    assert!(secret.deletion_date.is_some());
    assert!(secret.seconds_until_deletion.unwrap() > 6 * 86_400);
    assert_eq!(secret.arn.as_deref(), Some(arn.as_str()));
    assert_eq!(summary.restored, 1);
    assert_eq!(alert.document.restore.outcome, "restored");
    assert!(!is_pending_deletion(&sdk, MEMBER, &arn).await);
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn tagged_mode_leaves_an_untagged_member_secret_alone() {
    let sdk = emulator().await.unwrap();
    let (untagged, tagged) = (unique("org/untagged"), unique("org/tagged"));
    let untagged_arn = member_secret(&sdk, MEMBER, &untagged, false).await;
    let tagged_arn = member_secret(&sdk, MEMBER, &tagged, true).await;
    let publisher = RecordingPublisher::default();
    let secrets = SecretsManager::new(&sdk).with_member_role(ROLE);
    let policy = RestorePolicy::Tagged {
        tag_key: TAG.into(),
    };
    let summary = run(
        &reads_in(&[(MEMBER, &untagged), (MEMBER, &tagged)]),
        &publisher,
        &secrets,
        &policy,
        |o| {
            o.now = std::time::SystemTime::now();
        },
    )
    .await;
    assert_eq!(summary.restored, 1);
    assert!(is_pending_deletion(&sdk, MEMBER, &untagged_arn).await);
    assert!(!is_pending_deletion(&sdk, MEMBER, &tagged_arn).await);
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_refused_role_is_an_alert_that_names_it_and_other_accounts_still_work() {
    let sdk = emulator().await.unwrap();
    let name = unique("org/db");
    member_secret(&sdk, OTHER_MEMBER, &name, false).await;
    let moto = std::env::var("MOTO_ENDPOINT").unwrap();
    let sts = FakeSts::start(&moto, &[MEMBER]);
    let sts_config = at_endpoint(&sts.endpoint).await;
    let secrets = SecretsManager::new(&sdk).with_member_role_through(ROLE, &sts_config);
    let publisher = RecordingPublisher::default();
    let data = reads_in(&[(MEMBER, "a/one"), (MEMBER, "a/two"), (OTHER_MEMBER, &name)]);
    let summary = run(&data, &publisher, &secrets, &RestorePolicy::All, |o| {
        o.now = std::time::SystemTime::now();
        o.concurrency = 1;
        o.deadline_reserve = Duration::ZERO;
    })
    .await;
    assert_eq!(summary.alerts_published, 3);
    let alerts = publisher.alerts();
    let detail = |n: usize| alerts[n].document.secret.state_detail.clone();
    assert!(
        detail(0).contains(&format!(
            "could not assume the member role arn:aws:iam::{MEMBER}:role/{ROLE}"
        )),
        "{}",
        detail(0)
    );
    assert!(
        detail(1).contains("could not be assumed earlier in this batch"),
        "{}",
        detail(1)
    );
    assert_eq!(
        alerts[2].document.secret.state,
        "pending_deletion",
        "{}",
        detail(2)
    );
    assert_eq!(alerts[2].document.restore.outcome, "restored");
    assert!(!sts.refused().is_empty());
    assert!(
        sts.forwarded() >= 1,
        "the other account's role came through the same STS"
    );
}

#[tokio::test]
async fn both_accounts_copies_of_a_cross_account_read_are_one_attempt() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    let arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:shared/db-AbCdEf";
    let mut records = Vec::new();
    for (account, event_id) in [(MEMBER, "owner-copy"), (MANAGEMENT, "caller-copy")] {
        let mut record = common::hostile::pending_deletion_read(arn, "aws-sdk-go/1.55", "app");
        record["recipientAccountId"] = account.into();
        record["eventID"] = event_id.into();
        record["sharedEventID"] = "5f1c7a1e-0000-4000-8000-000000000001".into();
        records.push(record);
    }
    let records = serde_json::json!({ "Records": records }).to_string();
    let data = encode_records(&records, "org-trail").unwrap().awslogs.data;
    let summary = run(&data, &publisher, &secrets, &RestorePolicy::Off, |_| {}).await;
    assert_eq!((summary.matched, summary.duplicates), (1, 1));
    assert_eq!(summary.alerts_published, 1);
    assert_eq!(publisher.alerts()[0].document.attempts_total, 1);
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_member_accounts_alert_names_the_account() {
    use secret_deletion_alerts::aws::organizations::OrganizationAccounts;
    let sdk = emulator().await.unwrap();
    let organizations = aws_sdk_organizations::Client::new(&sdk);
    // moto keeps one organization per server: make it if no test did.
    let _ = organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await;
    let account_name = unique("payments-prod");
    let created = organizations
        .create_account()
        .account_name(&account_name)
        .email(format!("{account_name}@example.com"))
        .send()
        .await
        .unwrap();
    let account = created
        .create_account_status()
        .and_then(|s| s.account_id())
        .unwrap()
        .to_owned();
    let name = unique("org/db");
    member_secret(&sdk, &account, &name, false).await;
    let publisher = RecordingPublisher::default();
    let secrets = SecretsManager::new(&sdk).with_member_role(ROLE);
    let names = OrganizationAccounts::new(&sdk);
    let ports = Adapters {
        publisher: &publisher,
        inspector: &secrets,
        restorer: &secrets,
        windows: &NoWindows,
        history: &NoEventHistory,
        accounts: &names,
        copies: &NoCopies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    options.account_id = Some(MANAGEMENT);
    options.member_role = Some(ROLE);
    options.now = std::time::SystemTime::now();
    handle_batch(&reads_in(&[(&account, &name)]), &ports, &options)
        .await
        .unwrap();
    let alert = &publisher.alerts()[0];
    assert_eq!(
        alert.document.secret.account_name.as_deref(),
        Some(account_name.as_str())
    );
    assert!(
        alert
            .text
            .contains(&format!("Account:        {account} ({account_name})")),
        "{}",
        alert.text
    );
    assert_eq!(alert.attributes["account"], account.as_str());
}
