//! Identifiers that come from records, each its own type so one is never passed for another.
//! They are kept as the record wrote them (never parsed strictly: real records bend them) and
//! read as text through `Deref<Target = str>`.

use std::fmt;
use std::ops::Deref;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(text.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(text)
            }
        }
    };
}

identifier!(
    /// A secret as the caller named it: a name, a partial ARN or a full ARN.
    SecretId
);
identifier!(
    /// A CloudTrail event id (`eventID`), the same on every delivery of the same record.
    EventId
);
identifier!(
    /// An AWS account id as a record gives it.
    AccountId
);

impl AccountId {
    /// Whether it is the 12 digits AWS writes. Anything else was written by someone else,
    /// and the function never acts in (nor sends into) an account it cannot name.
    pub fn is_well_formed(&self) -> bool {
        is_account_id(&self.0)
    }
}

/// The 12 digits of an AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}
