//! Ratings: one signed score (1-5) and optional review per rater key and
//! package, updatable, kept beside the package's file under `ratings/`.
//!
//! A rating line is signed like an index entry (canonical JSON without
//! `sig`, under the index's context string) and carries the rater's own
//! sequence number: the highest `seq` of each key is its rating, so a
//! replayed older line of that key changes nothing. A line whose signature
//! does not hold is counted as untrusted and ignored.

use std::collections::BTreeMap;

use rustchain_tools::manifest::canonical_json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{MarketError, MarketErrorKind};
use crate::sign::{self, PublicKey, SecretKey};

/// The lowest and highest score.
pub const SCORES: std::ops::RangeInclusive<u8> = 1..=5;

/// The longest review kept, in characters.
pub const MAX_REVIEW: usize = 2000;

/// One signed rating line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Always `rating`: a rating line is never an index entry.
    pub kind: String,
    /// The package rated.
    pub name: String,
    /// 1 (poor) to 5 (excellent).
    pub score: u8,
    /// What the rater says, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// The rater's own count: this key's rating is its line with the highest `seq`.
    pub seq: u64,
    /// The rater's public key.
    pub key: String,
    /// The signature of the line without `sig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Rating {
    /// A new rating, checked and signed.
    pub fn signed(
        name: &str,
        score: u8,
        review: Option<String>,
        seq: u64,
        key: &SecretKey,
    ) -> Result<Rating, MarketError> {
        if !SCORES.contains(&score) {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!("a score is 1 to 5, not {score}"),
            ));
        }
        if review
            .as_ref()
            .is_some_and(|text| text.chars().count() > MAX_REVIEW)
        {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!("a review is at most {MAX_REVIEW} characters"),
            ));
        }
        let mut rating = Rating {
            kind: "rating".into(),
            name: name.to_owned(),
            score,
            review,
            seq,
            key: PublicKey::of(key).to_string(),
            sig: None,
        };
        rating.sig = Some(sign::sign(key, &rating.signed_bytes()));
        Ok(rating)
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(object) = &mut value {
            object.shift_remove("sig");
        }
        canonical_json(&value).into_bytes()
    }

    /// The line as the file holds it.
    pub fn line(&self) -> String {
        canonical_json(&serde_json::to_value(self).unwrap_or(Value::Null))
    }

    fn holds(&self, name: &str) -> bool {
        let (Ok(key), Some(sig)) = (PublicKey::parse(&self.key), self.sig.as_deref()) else {
            return false;
        };
        self.kind == "rating"
            && self.name.eq_ignore_ascii_case(name)
            && SCORES.contains(&self.score)
            && key.verify(&self.signed_bytes(), sig)
    }
}

/// A package's ratings, verified: each rater's latest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ratings {
    /// The mean score, `None` with no rating.
    pub average: Option<f64>,
    /// How many raters.
    pub count: usize,
    /// Each rater's latest rating, by key.
    pub latest: Vec<Rating>,
    /// Lines that did not verify (ignored).
    pub untrusted: usize,
}

impl Ratings {
    /// Verifies a ratings file of package `name`.
    pub fn verify(name: &str, text: &str) -> Ratings {
        let mut latest: BTreeMap<String, Rating> = BTreeMap::new();
        let mut untrusted = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Rating>(line) {
                Ok(rating) if rating.holds(name) => {
                    if latest
                        .get(&rating.key)
                        .is_none_or(|old| rating.seq > old.seq)
                    {
                        latest.insert(rating.key.clone(), rating);
                    }
                }
                _ => untrusted += 1,
            }
        }
        let latest: Vec<Rating> = latest.into_values().collect();
        let count = latest.len();
        let average = (count > 0)
            .then(|| latest.iter().map(|r| f64::from(r.score)).sum::<f64>() / count as f64);
        Ratings {
            average,
            count,
            latest,
            untrusted,
        }
    }

    /// The next `seq` for `key`.
    pub(crate) fn next_seq(&self, key: &str) -> u64 {
        self.latest
            .iter()
            .find(|r| r.key == key)
            .map_or(1, |r| r.seq + 1)
    }
}
