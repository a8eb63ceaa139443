//! A secret (or a KMS key, #45) `check` was asked about, and whether a record's `secretId`
//! names it.

use std::time::SystemTime;

use crate::cloudtrail::arn_parts;
use crate::detection::SecretTarget;
use crate::ids::SecretId;
use crate::key_use::key_arn;

/// Why an argument is not a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("an empty secret id")]
    Empty,
    #[error("{0:?} is an ARN, but not of a Secrets Manager secret")]
    NotASecretArn(String),
    #[error("{0:?} is an ARN, but not of a KMS key (arn:PARTITION:kms:REGION:ACCOUNT:key/ID)")]
    NotAKeyArn(String),
}

/// What DescribeSecret (or ListSecrets) says of a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretDescription {
    pub arn: String,
    pub name: String,
    /// When it is purged, if it is scheduled for deletion.
    pub deletion_date: Option<SystemTime>,
    /// `LastAccessedDate`: the day (no time) it was last retrieved in its region.
    pub last_accessed_date: Option<SystemTime>,
}

/// A secret asked about: as the person named it, and as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretQuery {
    /// As given: a name, a partial ARN or a full ARN.
    pub as_named: String,
    /// The full ARN: given, or from the lookup.
    pub arn: Option<String>,
    /// Its name: as given, or an ARN's name (without the six random characters of a full
    /// ARN).
    pub name: String,
    /// When an ARN was given whose name ends like a full ARN's suffix and no lookup told
    /// which it is: the name with those characters kept.
    pub unsuffixed_name: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub deletion_date: Option<SystemTime>,
    pub last_accessed_date: Option<SystemTime>,
    /// Set when the lookup was asked and failed (or found nothing): said in the answer.
    pub lookup_note: Option<String>,
    /// Secrets Manager described it: its deletion facts are known, not assumed.
    pub looked_up: bool,
    /// What was asked about: a secret, or a KMS key (its uses are every KMS call naming it).
    pub subject: Subject,
    /// For a key: the secrets `ListSecrets` shows under it, or why they could not be listed.
    pub secrets_under_key: Option<Result<Vec<String>, String>>,
}

/// What a [`SecretQuery`] asks about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Subject {
    #[default]
    Secret,
    /// A KMS key: `arn` is its key ARN once known, `name` its key id (or, until resolved, an
    /// alias or id as given).
    KmsKey,
}

impl SecretQuery {
    /// A secret as a person names it on the command line.
    pub fn parse(as_named: &str) -> Result<Self, QueryError> {
        let as_named = as_named.trim();
        if as_named.is_empty() {
            return Err(QueryError::Empty);
        }
        let target = SecretTarget {
            account_id: None,
            region: None,
            secret_id: Some(SecretId::from(as_named)),
        };
        let mut query = SecretQuery::named(as_named, target.name_held().unwrap_or(as_named));
        if as_named.starts_with("arn:") {
            let (region, account) = arn_place(as_named)
                .ok_or_else(|| QueryError::NotASecretArn(as_named.to_owned()))?;
            query.region = Some(region.to_owned()).filter(|r| !r.is_empty());
            query.account_id = Some(account.to_owned()).filter(|a| !a.is_empty());
            let full_name = target.display_name().unwrap_or(as_named);
            if full_name != query.name {
                // `prod/db-AbCdEf`: a full ARN, or the partial ARN of a name that ends so.
                query.arn = Some(as_named.to_owned());
                query.unsuffixed_name = Some(full_name.to_owned());
            }
        }
        Ok(query)
    }

    /// A secret asked as `as_named`, known by `name`, nothing else known of it yet.
    pub fn named(as_named: &str, name: &str) -> Self {
        SecretQuery {
            as_named: as_named.to_owned(),
            arn: None,
            name: name.to_owned(),
            unsuffixed_name: None,
            account_id: None,
            region: None,
            deletion_date: None,
            last_accessed_date: None,
            lookup_note: None,
            looked_up: false,
            subject: Subject::Secret,
            secrets_under_key: None,
        }
    }

    /// A KMS key as a person names it: its key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`,
    /// the exact name, offline too), or an id or `alias/...` for a lookup to resolve.
    pub fn key(as_named: &str) -> Result<Self, QueryError> {
        let as_named = as_named.trim();
        if as_named.is_empty() {
            return Err(QueryError::Empty);
        }
        let mut query = SecretQuery::named(as_named, as_named);
        query.subject = Subject::KmsKey;
        if as_named.starts_with("arn:") {
            let (region, account, key_id) = key_arn_parts(as_named)
                .ok_or_else(|| QueryError::NotAKeyArn(as_named.to_owned()))?;
            query.arn = Some(as_named.to_owned());
            query.name = key_id.to_owned();
            query.region = Some(region.to_owned());
            query.account_id = Some(account.to_owned());
        }
        Ok(query)
    }

    /// Whether `text` is a KMS key's ARN (a positional argument of `check` that is one asks
    /// about the key).
    pub fn is_key_arn(text: &str) -> bool {
        key_arn_parts(text.trim()).is_some()
    }

    /// What a lookup said of the key: its ARN and id, from now on its exact name.
    pub fn key_described(&mut self, arn: &str, key_id: &str, deletion_date: Option<SystemTime>) {
        if let Some((region, account, _)) = key_arn_parts(arn) {
            self.region = Some(region.to_owned());
            self.account_id = Some(account.to_owned());
        }
        self.arn = Some(arn.to_owned());
        self.name = key_id.to_owned();
        self.deletion_date = deletion_date;
        self.lookup_note = None;
        self.looked_up = true;
    }

    /// A secret as ListSecrets found it (`--pending`).
    pub fn listed(description: SecretDescription, region: &str) -> Self {
        let mut query = SecretQuery::parse(&description.arn).unwrap_or_else(|_| SecretQuery {
            region: Some(region.to_owned()),
            ..SecretQuery::named(&description.arn, &description.name)
        });
        query.as_named = description.name.clone();
        query.looked_up(description);
        query
    }

    /// What the lookup found: from now on the secret is known by its ARN and its name.
    pub fn looked_up(&mut self, description: SecretDescription) {
        if let Some((region, account)) = arn_place(&description.arn) {
            self.region = Some(region.to_owned()).filter(|r| !r.is_empty());
            self.account_id = Some(account.to_owned()).filter(|a| !a.is_empty());
        }
        self.arn = Some(description.arn).filter(|a| !a.is_empty());
        if !description.name.is_empty() {
            self.name = description.name;
        }
        self.unsuffixed_name = None;
        self.deletion_date = description.deletion_date;
        self.last_accessed_date = description.last_accessed_date;
        self.lookup_note = None;
        self.looked_up = true;
    }

    /// Whether a read that named `secret_id`, logged in `account` and `region`, is a read
    /// of this secret. An ARN names the secret whose name it holds (a full ARN's name
    /// without its six random characters), in the account and region it gives; once the
    /// secret's full ARN is known, a full ARN must be that one (another is an earlier secret
    /// of the same name). A name names the secret of that name in the account and region
    /// the read was logged in.
    pub fn names(&self, secret_id: &str, account: Option<&str>, region: Option<&str>) -> bool {
        let secret_id = secret_id.trim();
        let (account, region) = match arn_place(secret_id) {
            Some((arn_region, arn_account)) => (Some(arn_account), Some(arn_region)),
            None if secret_id.starts_with("arn:") => return false,
            None => (account, region),
        };
        let differs = |ours: &Option<String>, theirs: Option<&str>| matches!((ours.as_deref(), theirs), (Some(a), Some(b)) if !b.is_empty() && a != b);
        if differs(&self.account_id, account) || differs(&self.region, region) {
            return false;
        }
        let target = SecretTarget {
            account_id: None,
            region: None,
            secret_id: Some(SecretId::from(secret_id)),
        };
        let named = |name: &str| name == self.name || self.unsuffixed_name.as_deref() == Some(name);
        match target.naming() {
            crate::detection::Naming::FullArn => {
                // A full ARN names one secret: another suffix is another secret of the same
                // name (deleted and made again). Asked by a full ARN, or once looked up, only
                // its own counts; should the asked ARN end in a name that only looks like a
                // suffix, the secret's own ARN is it plus its suffix.
                if let Some(arn) = &self.arn {
                    let suffixed = self.unsuffixed_name.is_some()
                        && secret_id
                            .strip_prefix(arn.as_str())
                            .is_some_and(|rest| rest.len() == 7 && rest.starts_with('-'));
                    return arn == secret_id || suffixed;
                }
                target.name_held().is_some_and(named) || target.display_name().is_some_and(named)
            }
            crate::detection::Naming::PartialArn => target.display_name().is_some_and(named),
            crate::detection::Naming::Name => named(secret_id),
            crate::detection::Naming::Unnamed => false,
        }
    }

    /// The texts a record that names this secret must hold literally (unless escaped):
    /// its name, and the name with a suffix-like ending kept.
    pub fn needles(&self) -> Vec<String> {
        // A key's calls name it by its ARN (in `resources[]`), which holds its id.
        let mut needles = vec![self.name.clone()];
        needles.extend(self.unsuffixed_name.clone());
        needles
    }
}

/// `(region, account)` of a Secrets Manager secret's ARN; `None` for anything else.
fn arn_place(arn: &str) -> Option<(&str, &str)> {
    arn_parts(arn)
        .filter(|arn| arn.service == "secretsmanager")
        .filter(|arn| {
            arn.resource
                .and_then(|r| r.strip_prefix("secret:"))
                .is_some_and(|name| !name.is_empty())
        })
        .map(|arn| (arn.region, arn.account))
}

/// `(region, account, key id)` of a KMS key's ARN; `None` for anything else.
fn key_arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    key_arn(arn)?;
    let parts = arn_parts(arn)?;
    Some((
        parts.region,
        parts.account,
        parts.resource?.strip_prefix("key/")?,
    ))
}
