//! Region names that may choose an endpoint. A record's `awsRegion` and the region field of an
//! ARN are caller-controlled text: anyone who can write to the trail's log group can put any
//! string there. An SDK client builds its endpoint URL from its region, so only a well-formed
//! region name ever reaches one. Pure.

use std::fmt;

/// A region name of AWS's form: two letters, one or more words, a number
/// (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`). The only way to make one is
/// [`RegionName::parse`], so a client can never be built from an unchecked string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionName(String);

/// Longer than any region AWS has; a bound on what a record can make us keep.
const MAX_REGION_CHARS: usize = 32;

impl RegionName {
    /// `^[a-z]{2}(-[a-z]+)+-\d+$`, at most 32 characters; `None` for anything else.
    pub fn parse(text: &str) -> Option<RegionName> {
        if text.len() > MAX_REGION_CHARS {
            return None;
        }
        let parts: Vec<&str> = text.split('-').collect();
        let [country, words @ .., number] = parts.as_slice() else {
            return None;
        };
        let lower = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
        let well_formed = country.len() == 2
            && lower(country)
            && !words.is_empty()
            && words.iter().all(|word| lower(word))
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit());
        well_formed.then(|| RegionName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_regions_aws_names() {
        for region in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
            "cn-northwest-1",
            "il-central-1",
        ] {
            assert_eq!(
                RegionName::parse(region).map(|r| r.to_string()),
                Some(region.to_owned())
            );
        }
    }

    #[test]
    fn refuses_anything_that_could_steer_an_endpoint() {
        for text in [
            "",
            "us-east",
            "us-1",
            "US-EAST-1",
            "us-east-1.evil.example",
            "evil.example/us-east-1",
            "us-east-1#",
            "127.0.0.1",
            "us--east-1",
            "u-east-1",
            "use-east-1",
            "us-east-1 ",
            "us-east-x",
            "secretsmanager.amazonaws.com",
            "aa-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-1",
        ] {
            assert_eq!(RegionName::parse(text), None, "{text:?}");
        }
    }
}
