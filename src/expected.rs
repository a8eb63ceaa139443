//! Readers marked as expected (`EXPECTED_READERS`): a control left on for months needs a way
//! to say "this reader is known, and why" without turning the alerts off. Pure.
//!
//! A rule names a secret (a glob over its name or ARN) and at least one of: the caller (a
//! glob over the caller's ARN: the session's, or the role's), the workload (`kind:name`, as
//! the alert classifies it: `lambda:orders-*`, `github_actions:*`), the source address (a
//! CIDR). It must say why (`reason`), and may end (`until`, RFC 3339 in UTC). A read that a
//! live rule matches is counted and logged, never alerted, never restored for; a rule past
//! its `until` matches nothing, so a forgotten exception cannot outlive its reason.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use glob::Pattern;
use ipnet::IpNet;
use serde::Deserialize;

use crate::caller::CallerKey;
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::error::ConfigError;
use crate::workload::{Workload, classify};

/// Rules a JSON list may hold: each is matched against every read of a batch.
pub const MAX_RULES: usize = 100;

/// The rules, in the order given; an empty list marks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedReaders {
    rules: Vec<ExpectedRule>,
}

/// No rules: what a configuration without `EXPECTED_READERS` lends a batch.
pub static NO_EXPECTED_READERS: ExpectedReaders = ExpectedReaders { rules: Vec::new() };

/// One rule, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRule {
    /// Its place in the list, from 1, as the messages name it.
    pub number: usize,
    secret: Pattern,
    caller: Option<Pattern>,
    workload: Option<Pattern>,
    source_ip: Option<IpNet>,
    pub reason: String,
    pub until: Option<SystemTime>,
    expiry_logged: ExpiryLogged,
}

/// The rule as written: exactly these fields, nothing else (a misspelt `calller` must stop
/// the function, not widen the rule).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleAsWritten {
    secret: String,
    caller: Option<String>,
    workload: Option<String>,
    source_ip: Option<String>,
    reason: String,
    until: Option<String>,
}

/// The secret a batch's reads name, in every form a rule may match: as named, the name an
/// ARN holds, and (once looked up) its name and ARN.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretNames<'a> {
    pub as_named: Option<&'a str>,
    pub name_held: Option<&'a str>,
    pub name: Option<&'a str>,
    pub arn: Option<&'a str>,
}

impl<'a> SecretNames<'a> {
    pub fn of(target: &'a SecretTarget, name: Option<&'a str>, arn: Option<&'a str>) -> Self {
        SecretNames {
            as_named: target.secret_id.as_deref(),
            name_held: target.name_held(),
            name,
            arn,
        }
    }

    fn any(&self, pattern: &Pattern) -> bool {
        [self.as_named, self.name_held, self.name, self.arn]
            .into_iter()
            .flatten()
            .any(|id| pattern.matches(id))
    }
}

impl ExpectedReaders {
    /// `EXPECTED_READERS`: a JSON list of rules. A rule that cannot be checked is named by its
    /// number and what is wrong with it.
    pub fn parse(json: &str) -> Result<Self, ConfigError> {
        let invalid = |number: usize, rule: String, problem: String| ConfigError::Rule {
            variable: "EXPECTED_READERS",
            number,
            rule,
            problem,
        };
        let list: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
            invalid(
                0,
                json.chars().take(200).collect(),
                format!("not a JSON list of rules: {e}"),
            )
        })?;
        if list.len() > MAX_RULES {
            return Err(invalid(
                0,
                format!("{} rules", list.len()),
                format!("at most {MAX_RULES} rules"),
            ));
        }
        let rules = list
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let number = index + 1;
                let text = value.to_string();
                ExpectedRule::check(number, value).map_err(|problem| invalid(number, text, problem))
            })
            .collect::<Result<_, _>>()?;
        Ok(ExpectedReaders { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[ExpectedRule] {
        &self.rules
    }

    /// The first live rule that marks `access` (of the secret `secret`) as expected.
    pub fn matching(
        &self,
        secret: &SecretNames<'_>,
        access: &PendingDeletionAccess,
        now: SystemTime,
    ) -> Option<&ExpectedRule> {
        let mut rules = self
            .rules
            .iter()
            .filter(|rule| secret.any(&rule.secret) && rule.is_live(now))
            .peekable();
        // The reader is classified only when a rule could mark it.
        rules.peek()?;
        let reader = Reader::of(access);
        rules.find(|rule| rule.marks(&reader))
    }

    /// The rules past their `until` at `now`, each once per process: what a cold start logs.
    pub fn newly_expired(&self, now: SystemTime) -> Vec<&ExpectedRule> {
        self.rules
            .iter()
            .filter(|rule| !rule.is_live(now) && rule.expiry_logged.first_time())
            .collect()
    }
}

/// What of a read a rule looks at.
struct Reader {
    arns: [Option<String>; 2],
    workload: Workload,
    source_ip: Option<IpAddr>,
}

impl Reader {
    fn of(access: &PendingDeletionAccess) -> Self {
        Reader {
            arns: [
                access.who.arn().map(str::to_owned),
                Some(CallerKey::of(&access.who).as_str().to_owned()),
            ],
            workload: classify(access),
            source_ip: access
                .source_ip_address
                .as_deref()
                .and_then(|ip| ip.trim().parse().ok()),
        }
    }

    /// `kind:name`, the kind as the alert's JSON spells it (`ecs_task`).
    fn workload_key(&self) -> String {
        let kind = serde_json::to_value(self.workload.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{kind}:{}", self.workload.name)
    }
}

impl ExpectedRule {
    fn check(number: usize, value: serde_json::Value) -> Result<Self, String> {
        let written: RuleAsWritten = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let glob = |field: &str, text: &str| {
            Pattern::new(text).map_err(|e| format!("`{field}` is not a glob: {e}"))
        };
        if written.caller.is_none() && written.workload.is_none() && written.source_ip.is_none() {
            return Err(
                "a rule needs at least one of `caller`, `workload` or `source_ip`: a secret alone would mark every reader".into(),
            );
        }
        if written.secret.trim().is_empty() || written.secret.trim() == "*" {
            return Err("`secret` must name secrets: `*` alone would mark every secret".into());
        }
        if written.reason.trim().is_empty() {
            return Err("`reason` must say why the reader is expected".into());
        }
        let source_ip = written
            .source_ip
            .as_deref()
            .map(|cidr| {
                let cidr = cidr.trim();
                cidr.parse::<IpNet>()
                    .or_else(|_| cidr.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`source_ip` {cidr:?} is not a CIDR such as 10.0.0.0/8"))
            })
            .transpose()?;
        let until = written
            .until
            .as_deref()
            .map(|until| {
                humantime::parse_rfc3339(until.trim()).map_err(|e| {
                    format!("`until` {until:?} is not an RFC 3339 time in UTC such as 2027-01-31T00:00:00Z: {e}")
                })
            })
            .transpose()?;
        Ok(ExpectedRule {
            number,
            secret: glob("secret", written.secret.trim())?,
            caller: written
                .caller
                .as_deref()
                .map(|c| glob("caller", c.trim()))
                .transpose()?,
            workload: written
                .workload
                .as_deref()
                .map(|w| glob("workload", w.trim()))
                .transpose()?,
            source_ip,
            reason: written.reason.trim().to_owned(),
            until,
            expiry_logged: ExpiryLogged::default(),
        })
    }

    fn is_live(&self, now: SystemTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }

    /// Every condition the rule has holds for the reader.
    fn marks(&self, reader: &Reader) -> bool {
        let caller = self
            .caller
            .as_ref()
            .is_none_or(|pattern| reader.arns.iter().flatten().any(|arn| pattern.matches(arn)));
        let workload = self
            .workload
            .as_ref()
            .is_none_or(|pattern| pattern.matches(&reader.workload_key()));
        let source_ip = self
            .source_ip
            .as_ref()
            .is_none_or(|net| reader.source_ip.is_some_and(|ip| net.contains(&ip)));
        caller && workload && source_ip
    }

    /// "rule 2 (nightly ETL reads until cut-over)".
    pub fn describe(&self) -> String {
        format!("rule {} ({})", self.number, self.reason)
    }
}

/// Whether a rule's expiry was logged: shared by the clones of one configuration, and never
/// part of what makes two rules equal.
#[derive(Debug, Clone, Default)]
struct ExpiryLogged(Arc<AtomicBool>);

impl ExpiryLogged {
    fn first_time(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

impl PartialEq for ExpiryLogged {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for ExpiryLogged {}

#[cfg(test)]
#[path = "expected/tests.rs"]
mod tests;
