//! The email text a person reads and acts on, written through `fmt::Write`.

use std::fmt::Write as _;

use std::time::SystemTime;

use super::AlertContext;
use super::document::{AlertDocument, CallerDocument};
use crate::cloudtrail::AccessKeyKind;
use crate::restore::RestoreOutcome;
use crate::sanitize::shell_quote;
use crate::window::WindowNote;

pub(super) fn email_text(
    document: &AlertDocument,
    outcome: &RestoreOutcome,
    window: Option<&WindowNote>,
    context: &AlertContext<'_>,
) -> String {
    let mut text = String::with_capacity(4096);
    match write_email(&mut text, document, outcome, window, context) {
        Ok(()) => text,
        // Writing to a String cannot fail; if it ever did, the document still carries it all.
        Err(std::fmt::Error) => format!("{}\n(the text could not be written)", document.subject),
    }
}

fn write_email(
    text: &mut String,
    document: &AlertDocument,
    outcome: &RestoreOutcome,
    window: Option<&WindowNote>,
    context: &AlertContext<'_>,
) -> std::fmt::Result {
    let secret = &document.secret;
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
    let times = match document.attempts_total {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    };
    let by = match document.callers.len() {
        0 | 1 => String::new(),
        n => format!(" by {n} callers"),
    };
    writeln!(
        text,
        "A secret that is scheduled for deletion was read {times}{by}.\n\n\
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
    match &secret.account_name {
        Some(name) => writeln!(
            text,
            "Account:        {} ({name})",
            or_unknown(&secret.account_id)
        )?,
        None => writeln!(text, "Account:        {}", or_unknown(&secret.account_id))?,
    }
    writeln!(text, "Region:         {}", or_unknown(&secret.region))?;
    writeln!(text, "State:          {}", secret.state_detail)?;
    if let Some(detail) = &document.deletion_scheduled.detail {
        writeln!(text, "Scheduled:      {detail}")?;
    }
    writeln!(text, "Deletion:       {}", document.restore.summary)?;
    writeln!(text, "Reads:          {}", document.verification.detail)?;
    if let Some(expected) = &document.expected_reads {
        writeln!(
            text,
            "Expected:       {} more {} of this secret left out, marked expected by {}",
            expected.left_out,
            if expected.left_out == 1 {
                "read"
            } else {
                "reads"
            },
            expected.rules.join(", ")
        )?;
    }
    let mut unreadable: Vec<&str> = Vec::new();
    for field in document.attempts.iter().flat_map(|a| &a.unreadable_fields) {
        if !unreadable.contains(&field.as_str()) {
            unreadable.push(field);
        }
    }
    if !unreadable.is_empty() {
        writeln!(
            text,
            "Not read:       {} (not of the type CloudTrail documents; the rest of the record was read)",
            unreadable.join(", ")
        )?;
    }
    if let (Some(first), Some(last)) = (&document.first_seen, &document.last_seen) {
        if first == last {
            writeln!(text, "When:           {first}")?;
        } else {
            writeln!(text, "When:           {first} to {last}")?;
        }
    }
    let old = document.attempts.iter().filter(|a| a.old).count();
    if old > 0 {
        writeln!(
            text,
            "Old reads:      {old} of the reads listed happened more than a day ago (a late delivery, or an old record posted again)"
        )?;
    }
    if let Some(note) = window {
        write_window(text, note)?;
    }
    writeln!(text)?;
    writeln!(text, "Callers ({}):", document.callers.len())?;
    for (number, caller) in document.callers.iter().enumerate() {
        write_caller(text, number + 1, caller)?;
    }
    let unlisted = document
        .attempts_total
        .saturating_sub(document.callers.iter().map(|c| c.reads).sum());
    if unlisted > 0 {
        writeln!(
            text,
            "     ... and {unlisted} more read{} by callers not listed here.",
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
    if !document.next_steps.find_the_workload.is_empty() {
        writeln!(text, "{}. Go to the workload:", next())?;
        for step in &document.next_steps.find_the_workload {
            writeln!(text, "   {step}")?;
        }
    }
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
             aws secretsmanager delete-secret --secret-id={} --recovery-window-in-days 7",
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

/// What the quiet window did: reads held back before this alert, and what happens to repeats.
fn write_window(text: &mut String, note: &WindowNote) -> std::fmt::Result {
    let window = humantime::format_duration(note.window);
    if let Some(reason) = &note.unavailable {
        return writeln!(
            text,
            "Quiet window:   not applied: the alert state table could not be used ({reason}).\n                \
             Every batch's reads are emailed until it is back."
        );
    }
    let reads = |n: u64| format!("{n} more read{}", if n == 1 { "" } else { "s" });
    match (note.carried.suppressed, note.carried.last_alert_at) {
        (0, _) => {}
        (n, Some(last)) => writeln!(
            text,
            "Held back:      {} since {} (not emailed: one alert per caller per ALERT_WINDOW of {window})",
            reads(n),
            clock(last)
        )?,
        (n, None) => writeln!(
            text,
            "Held back:      {} since the last alert attempt, which was not delivered (not emailed: one alert per caller per ALERT_WINDOW of {window})",
            reads(n)
        )?,
    }
    if let Some(because) = note.opened.early_because() {
        writeln!(
            text,
            "Sent early:     before the window ended, because {because}."
        )?;
    }
    if let Some(ends) = note.ends_at {
        writeln!(
            text,
            "Quiet window:   further reads by this caller are counted, not emailed, until {}\n                \
             (ALERT_WINDOW={window}); the next alert says how many.",
            clock(ends)
        )?;
    }
    Ok(())
}

/// `14:03 UTC on 2026-11-20`: the clock a person compares with their inbox, and the day.
fn clock(time: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(time).to_string();
    // 2026-11-20T14:03:12Z -> 2026-11-20 14:03 UTC
    match (stamp.get(..10), stamp.get(11..16)) {
        (Some(day), Some(hh_mm)) => format!("{hh_mm} UTC on {day}"),
        _ => stamp,
    }
}

/// One caller's block: who, how often and when, then the keys, addresses and agents seen.
fn write_caller(text: &mut String, number: usize, caller: &CallerDocument) -> std::fmt::Result {
    writeln!(text, "{number:>3}. {}", caller.description)?;
    let workload = &caller.workload;
    match workload.evidence.first() {
        // Nothing was classified, so there is no confidence to state: only what was seen.
        Some(evidence) if workload.kind == crate::workload::WorkloadKind::Unknown => {
            writeln!(text, "     workload: {} ({evidence})", workload.description)?
        }
        Some(evidence) => writeln!(
            text,
            "     workload: {} ({}: {evidence})",
            workload.description,
            match workload.confidence {
                crate::workload::Confidence::Certain => "certain",
                crate::workload::Confidence::Likely => "likely",
            }
        )?,
        None => writeln!(text, "     workload: {}", workload.description)?,
    }
    let reads = match caller.reads {
        1 => "1 read".to_owned(),
        n => format!("{n} reads"),
    };
    match (&caller.first_seen, &caller.last_seen) {
        (Some(first), Some(last)) if first != last => {
            writeln!(text, "     {reads}, {first} to {last}")?
        }
        (Some(first), _) => writeln!(text, "     {reads}, {first}")?,
        _ => writeln!(text, "     {reads}")?,
    }
    if caller.session_names.len() > 1 {
        writeln!(text, "     sessions {}", caller.session_names.join(", "))?;
    }
    for key in &caller.access_keys {
        let kind = key
            .kind
            .map_or("unrecognised kind", AccessKeyKind::describe);
        let mfa = match key.mfa_authenticated {
            Some(true) => ", MFA: yes",
            Some(false) => ", MFA: no",
            None => "",
        };
        writeln!(text, "     access key {} ({kind}){mfa}", key.id)?;
    }
    for service in &caller.invoked_by {
        writeln!(text, "     invoked by {service}")?;
    }
    if caller.source_ip_addresses.is_empty() {
        writeln!(text, "     from unknown")?;
    } else {
        writeln!(text, "     from {}", caller.source_ip_addresses.join(", "))?;
    }
    for endpoint in &caller.vpc_endpoint_ids {
        writeln!(text, "     through VPC endpoint {endpoint}")?;
    }
    if caller.user_agents.is_empty() {
        writeln!(text, "     user agent unknown")?;
    }
    for agent in &caller.user_agents {
        let shown = crate::sanitize::defang(agent);
        // Said as it is: a defanged agent is not what the caller sent.
        let how = if shown == *agent {
            "as the caller sent it"
        } else {
            "as the caller sent it, links disarmed"
        };
        writeln!(text, "     user agent {shown} ({how})")?;
    }
    let more = caller.reads.saturating_sub(caller.example_event_ids.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    writeln!(
        text,
        "     event id{} {}{more}",
        if caller.reads == 1 { "" } else { "s" },
        caller.example_event_ids.join(", ")
    )
}
