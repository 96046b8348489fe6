//! The mood of a post: the closed set of sentiment labels stored with every idea and comment and
//! sent on the wire. Spelled as the lowercase name in the database and in JSON, mapped here once.

use std::fmt;

#[cfg(feature = "sea-orm")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};

/// A post's sentiment label, from its score in [-1, 1] (`jam-pulse`'s `mood`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::None)")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "negative"))]
    Negative,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "neutral"))]
    Neutral,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "positive"))]
    Positive,
}

impl Sentiment {
    pub const ALL: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];

    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|label| label.as_str() == s)
    }
}

impl fmt::Display for Sentiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_parses_back_from_its_spelling() {
        for label in Sentiment::ALL {
            assert_eq!(Sentiment::parse(label.as_str()), Some(label));
            assert_eq!(serde_json::to_string(&label).ok(), Some(format!("\"{label}\"")));
        }
        assert_eq!(Sentiment::parse("angry"), None);
    }
}
