//! Identifier newtypes, so a case id is never passed where a device id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new identifier from caller-supplied randomness (this crate reads no RNG
            /// of its own except through `Uuid::new_v4`, which callers may avoid).
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// A new random (v4) identifier.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A case (one household's file): the id of its Automerge document.
    CaseId
);
uuid_id!(
    /// A household member within a case.
    MemberId
);
uuid_id!(
    /// An item of a case's collections other than members (an income item, a neighbour
    /// visit): the key of its map entry.
    ItemId
);
uuid_id!(
    /// An enrolled device (phone, tablet, desktop).
    DeviceId
);
uuid_id!(
    /// A user account on the server.
    UserId
);

/// A unit of the district: the bureau, or a street/town office. A short lowercase
/// ASCII code (e.g. `chaoyang`), stable across renames of the unit's display name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitId(String);

/// A unit code that is empty, too long or not lowercase ASCII letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid unit code {0:?}: expected 1-32 characters of a-z, 0-9 and '-'")]
pub struct InvalidUnitId(pub String);

impl UnitId {
    pub fn new(code: impl Into<String>) -> Result<Self, InvalidUnitId> {
        let code = code.into();
        let ok = !code.is_empty()
            && code.len() <= 32
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(code))
        } else {
            Err(InvalidUnitId(code))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UnitId {
    type Error = InvalidUnitId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<UnitId> for String {
    fn from(u: UnitId) -> String {
        u.0
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UnitId {
    type Err = InvalidUnitId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_are_validated() {
        assert!(UnitId::new("chaoyang").is_ok());
        assert!(UnitId::new("bureau-2").is_ok());
        assert!(UnitId::new("").is_err());
        assert!(UnitId::new("ChaoYang").is_err());
        assert!(UnitId::new("朝阳").is_err());
        assert!(serde_json::from_str::<UnitId>("\"a b\"").is_err());
    }

    #[test]
    fn ids_round_trip_through_text() {
        let id = CaseId::from_random_bytes([7; 16]);
        assert_eq!(id.to_string().parse::<CaseId>().unwrap(), id);
        assert_eq!(id.0.get_version_num(), 4);
    }
}
