//! The email text a person reads and acts on, written through `fmt::Write`.

use std::fmt::Write as _;

use super::AlertContext;
use super::document::AlertDocument;
use crate::cloudtrail::AccessKeyKind;
use crate::restore::RestoreOutcome;
use crate::sanitize::shell_quote;

pub(super) fn email_text(
    document: &AlertDocument,
    outcome: &RestoreOutcome,
    context: &AlertContext<'_>,
) -> String {
    let mut text = String::with_capacity(4096);
    match write_email(&mut text, document, outcome, context) {
        Ok(()) => text,
        // Writing to a String cannot fail; if it ever did, the document still carries it all.
        Err(std::fmt::Error) => format!("{}\n(the text could not be written)", document.subject),
    }
}

fn write_email(
    text: &mut String,
    document: &AlertDocument,
    outcome: &RestoreOutcome,
    context: &AlertContext<'_>,
) -> std::fmt::Result {
    let secret = &document.secret;
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
    let times = match document.attempts_total {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    };
    writeln!(
        text,
        "A secret that is scheduled for deletion was read {times}.\n\n\
         Something still uses this secret. Secrets Manager refused the reads because the secret is\n\
         pending deletion; once the recovery window ends the secret is gone for good and whatever\n\
         reads it breaks. Decide now whether the deletion is a mistake.\n"
    )?;
    writeln!(
        text,
        "Severity:       {}",
        document.severity.as_str().to_uppercase()
    )?;
    writeln!(text, "Secret:         {}", secret.display_name)?;
    if let Some(named) = &secret.id_as_named
        && *named != secret.display_name
    {
        writeln!(text, "Named as:       {named}")?;
    }
    if let Some(arn) = &secret.arn {
        writeln!(text, "ARN:            {arn}")?;
    }
    writeln!(text, "Account:        {}", or_unknown(&secret.account_id))?;
    writeln!(text, "Region:         {}", or_unknown(&secret.region))?;
    writeln!(text, "State:          {}", secret.state_detail)?;
    writeln!(text, "Deletion:       {}", document.restore.summary)?;
    if let (Some(first), Some(last)) = (&document.first_seen, &document.last_seen) {
        if first == last {
            writeln!(text, "When:           {first}")?;
        } else {
            writeln!(text, "When:           {first} to {last}")?;
        }
    }
    writeln!(text)?;
    writeln!(text, "Attempts ({}):", document.attempts_total)?;
    for (number, attempt) in document.attempts.iter().enumerate() {
        let identity = &attempt.identity;
        writeln!(
            text,
            "{:>3}. {}  {}",
            number + 1,
            or_unknown(&attempt.event_time),
            identity.description
        )?;
        if let Some(key) = &identity.access_key_id {
            let kind = identity
                .access_key_kind
                .map_or("unrecognised kind", AccessKeyKind::describe);
            let mfa = match identity.mfa_authenticated {
                Some(true) => ", MFA: yes",
                Some(false) => ", MFA: no",
                None => "",
            };
            writeln!(text, "     access key {key} ({kind}){mfa}")?;
        }
        if let Some(service) = &identity.invoked_by {
            writeln!(text, "     invoked by {service}")?;
        }
        writeln!(text, "     from {}", or_unknown(&attempt.source_ip_address))?;
        if let Some(endpoint) = &attempt.vpc_endpoint_id {
            writeln!(text, "     through VPC endpoint {endpoint}")?;
        }
        writeln!(text, "     user agent {}", or_unknown(&attempt.user_agent))?;
        writeln!(
            text,
            "     event id {}, request id {}",
            or_unknown(&attempt.event_id),
            or_unknown(&attempt.request_id)
        )?;
    }
    let unlisted = document.attempts_total - document.attempts_listed;
    if unlisted > 0 {
        writeln!(
            text,
            "     ... and {unlisted} more attempt{} not listed here.",
            if unlisted == 1 { "" } else { "s" }
        )?;
    }
    writeln!(text)?;
    writeln!(text, "What to do next")?;
    let mut step = 0;
    let mut next = || {
        step += 1;
        step
    };
    writeln!(
        text,
        "{}. Find the reader: the identity, address and user agent above name the application,\n   \
         host or person that still uses the secret. Point it at the replacement secret, or keep this one.",
        next()
    )?;
    if !document.next_steps.find_the_secret.is_empty() {
        writeln!(
            text,
            "{}. Find which secret was read. CloudTrail recorded these reads without naming the secret\n   \
             (no requestParameters.secretId, no secret in resources[]), so it was not looked up and\n   \
             nothing was restored. Search CloudTrail for the same calls, by event id or by the caller's key:",
            next()
        )?;
        for command in &document.next_steps.find_the_secret {
            writeln!(text, "   {command}")?;
        }
    }
    match (outcome, &document.next_steps.restore_command) {
        (RestoreOutcome::Restored, _) => writeln!(
            text,
            "{}. The deletion was cancelled for you (restore policy: {}). If the deletion was\n   \
             intended, fix the reader first, then schedule it again with\n   \
             aws secretsmanager delete-secret --secret-id {} --recovery-window-in-days 7",
            next(),
            context.restore_policy.name(),
            shell_quote(
                secret
                    .arn
                    .as_deref()
                    .or(secret.id_as_named.as_deref())
                    .unwrap_or_default()
            )
        )?,
        (RestoreOutcome::NoLongerPending, _) => writeln!(
            text,
            "{}. The secret is no longer scheduled for deletion: the deletion was cancelled after these\n   \
             reads, by an earlier try of this function or by someone else. If that was not you, see\n   \
             who called RestoreSecret in CloudTrail. Fix the reader before scheduling the deletion again.",
            next()
        )?,
        (RestoreOutcome::AlreadyPurged, _) => writeln!(
            text,
            "{}. The secret is already purged and cannot be restored. Create a new secret for the\n   \
             reader, or retire the reader.",
            next()
        )?,
        (_, Some(command)) => writeln!(
            text,
            "{}. If the secret is still needed, cancel the deletion before it completes:\n   {command}",
            next()
        )?,
        (_, None) => {}
    }
    for investigation in &document.next_steps.investigate {
        writeln!(
            text,
            "{}. See everything else {} did:",
            next(),
            investigation.identity
        )?;
        if let Some(url) = &investigation.cloudtrail_event_history_url {
            writeln!(
                text,
                "   CloudTrail Event history (last 90 days):\n   {url}"
            )?;
        }
        writeln!(
            text,
            "   CloudWatch Logs Insights on log group {}:\n{}",
            document.log_group,
            indent(&investigation.logs_insights_query, "     ")
        )?;
        writeln!(
            text,
            "   Athena, over your CloudTrail table:\n{}",
            indent(&investigation.athena_sql, "     ")
        )?;
    }
    writeln!(text)?;
    writeln!(
        text,
        "Alert {} (de-duplication key; a retried delivery repeats it). Sent by secret-deletion-alerts.",
        document.dedup_key
    )
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
