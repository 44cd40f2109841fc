use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A kata's id, cyber-dojo style: six ASCII letters or digits, optionally
/// followed by `-N` (an avatar's index, `0`..=`9999`), e.g. `34de2W` or `34de2W-7`.
///
/// Because only `[0-9A-Za-z-]` can occur, an id can be used as a path
/// component or a Docker label value as it is.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KataId(String);

/// Why a string is not a [`KataId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid kata id {id:?}: expected 6 letters or digits, optionally followed by -N")]
pub struct KataIdError {
    /// The offending input, cut to 64 characters.
    pub id: String,
}

impl KataId {
    /// Parses and validates an id.
    pub fn new(id: &str) -> Result<Self, KataIdError> {
        let bad = || KataIdError {
            id: id.chars().take(64).collect(),
        };
        let (base, suffix) = match id.split_once('-') {
            Some((base, n)) => (base, Some(n)),
            None => (id, None),
        };
        if base.len() != 6 || !base.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        if let Some(n) = suffix
            && (n.is_empty() || n.len() > 4 || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three 2-character directory levels cyber-dojo's saver stores a kata
    /// under (`34de2W-7` → `["34", "de", "2W-7"]`): it keeps directories small.
    pub fn shards(&self) -> [&str; 3] {
        [&self.0[0..2], &self.0[2..4], &self.0[4..]]
    }
}

impl FromStr for KataId {
    type Err = KataIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for KataId {
    type Error = KataIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<KataId> for String {
    fn from(id: KataId) -> String {
        id.0
    }
}

impl fmt::Display for KataId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KataId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KataId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_cyber_dojo_ids() {
        for ok in ["34de2W", "000000", "34de2W-7", "aBcDeF-1234"] {
            assert_eq!(KataId::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_everything_that_could_name_another_path() {
        for bad in [
            "",
            "34de2",
            "34de2W7",
            "../../x",
            "34/e2W",
            "34de2W-",
            "34de2W-x",
            "34de2W-12345",
            "..",
            "34de2W/..",
            "34de2\u{0}",
            "34dé2W",
            " 34de2",
        ] {
            assert!(KataId::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn shards_split_two_two_rest() {
        let id = KataId::new("34de2W-7").unwrap();
        assert_eq!(id.shards(), ["34", "de", "2W-7"]);
    }

    #[test]
    fn deserialising_validates() {
        let err = serde_json::from_str::<KataId>("\"../etc\"").unwrap_err();
        assert!(err.to_string().contains("invalid kata id"), "{err}");
    }
}
