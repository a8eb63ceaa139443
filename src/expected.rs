//! Readers marked as expected (`EXPECTED_READERS`): a control left on for months needs a way
//! to say "this reader is known, and why" without turning the alerts off. Pure.
//!
//! A rule names a secret (a glob over its name or ARN) and at least one of: the caller (a
//! glob over the role's or user's ARN, never the session's), the workload (`kind:name`, as
//! the alert classifies it: `lambda:orders-*`, `github_actions:*`), the VPC endpoint the read
//! came through; and, beside a caller or a VPC endpoint, the source address (a CIDR). It must
//! say why (`reason`), and may end (`until`, RFC 3339 in UTC). A read that a live rule
//! matches is counted and logged, never alerted, never restored for; a rule past its `until`
//! matches nothing, so a forgotten exception cannot outlive its reason.
//!
//! A rule matches only what the reader cannot choose: the people this control watches pick
//! their session names, user agents and (inside a private network) addresses. So the
//! caller is the role or user ARN ([`CallerKey`]); a workload condition holds only for a
//! classification that is `certain` and whose name AWS set (an assumed role named by its
//! session is not); and an address alone, which anyone in an overlapping private range can
//! have, is refused when the rules are read.

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
use crate::workload::{Confidence, Workload, WorkloadKind, classify};

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
    vpc_endpoint: Option<Pattern>,
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
    vpc_endpoint: Option<String>,
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

/// What of a read a rule looks at: only what AWS wrote, never what the reader chose.
struct Reader {
    /// The caller key, and for an Identity Center person the role alone too.
    callers: [Option<String>; 2],
    /// `kind:name` of a `certain` classification whose name AWS set, else nothing.
    workload: Option<String>,
    vpc_endpoint: Option<String>,
    source_ip: Option<IpAddr>,
}

impl Reader {
    fn of(access: &PendingDeletionAccess) -> Self {
        let key = CallerKey::of(&access.who).as_str().to_owned();
        let role = key.split_once(" as ").map(|(role, _)| role.to_owned());
        Reader {
            callers: [Some(key), role],
            workload: workload_key(&classify(access)),
            vpc_endpoint: access
                .vpc_endpoint_id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            source_ip: access
                .source_ip_address
                .as_deref()
                .and_then(|ip| ip.trim().parse().ok()),
        }
    }
}

/// `kind:name`, the kind as the alert's JSON spells it (`ecs_task`), for a workload a rule
/// may match: one AWS vouches for (`certain`), and not an assumed role known only by the
/// session name its caller gave it, nor a console or CloudShell session named likewise.
fn workload_key(workload: &Workload) -> Option<String> {
    let named_by_caller = matches!(
        workload.kind,
        WorkloadKind::Role | WorkloadKind::Console | WorkloadKind::Cloudshell
    );
    if workload.confidence != Confidence::Certain || named_by_caller {
        return None;
    }
    let kind = serde_json::to_value(workload.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))?;
    Some(format!("{kind}:{}", workload.name))
}

impl ExpectedRule {
    fn check(number: usize, value: serde_json::Value) -> Result<Self, String> {
        let written: RuleAsWritten = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let glob = |field: &str, text: &str| {
            Pattern::new(text).map_err(|e| format!("`{field}` is not a glob: {e}"))
        };
        if written.caller.is_none() && written.workload.is_none() && written.vpc_endpoint.is_none()
        {
            return Err(if written.source_ip.is_some() {
                "`source_ip` needs a `caller` or a `vpc_endpoint` beside it: anyone in an overlapping private range has such an address".into()
            } else {
                "a rule needs at least one of `caller`, `workload` or `vpc_endpoint`: a secret alone would mark every reader".into()
            });
        }
        let names_someone = |glob: &Option<String>| {
            glob.as_deref()
                .is_some_and(|g| g.trim().chars().any(|c| c != '*'))
        };
        if written.source_ip.is_some()
            && !names_someone(&written.caller)
            && !names_someone(&written.vpc_endpoint)
        {
            return Err(
                "`source_ip` needs a `caller` or a `vpc_endpoint` that names one (not `*`): an address alone is the reader's to choose".into(),
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
            vpc_endpoint: written
                .vpc_endpoint
                .as_deref()
                .map(|v| glob("vpc_endpoint", v.trim()))
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
        let caller = self.caller.as_ref().is_none_or(|pattern| {
            reader
                .callers
                .iter()
                .flatten()
                .any(|arn| pattern.matches(arn))
        });
        let workload = self.workload.as_ref().is_none_or(|pattern| {
            reader
                .workload
                .as_deref()
                .is_some_and(|key| pattern.matches(key))
        });
        let vpc_endpoint = self.vpc_endpoint.as_ref().is_none_or(|pattern| {
            reader
                .vpc_endpoint
                .as_deref()
                .is_some_and(|id| pattern.matches(id))
        });
        let source_ip = self
            .source_ip
            .as_ref()
            .is_none_or(|net| reader.source_ip.is_some_and(|ip| net.contains(&ip)));
        caller && workload && vpc_endpoint && source_ip
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
