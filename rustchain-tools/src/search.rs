//! Ranked tool search: the tool a request needs, among thousands, by
//! relevance rather than by every word matching.
//!
//! A BM25F ranker (Okapi BM25 over weighted fields) indexes each tool's
//! name (split at `_`, `-`, `.` and case changes), title, tags, description
//! and parameters (names and descriptions). Words are lower-cased, stop words
//! dropped and stemmed with the Snowball English stemmer (`downloads` meets
//! `download`); a query word found nowhere in the index matches the indexed
//! words it starts with or that start with it (`statistics` finds `stats`)
//! and those one typo away (from five letters; two from nine), at half weight. Tags and
//! hints stay filters.
//!
//! ```
//! use rustchain_tools::search::discover;
//! use rustchain_tools::{Registry, ToolQuery};
//!
//! // Any query over the linked tools; the best match comes first.
//! let found = discover(Registry::global(), &ToolQuery::text("count the words in a text"));
//! assert!(found.windows(2).all(|pair| pair[0].score >= pair[1].score));
//! ```

mod found;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rust_stemmers::{Algorithm, Stemmer};

use crate::{Registry, Tool, ToolMatch, ToolQuery};

pub use found::{DEFAULT_RESULTS, FoundTool, MAX_RESULTS, TOOL_SEARCH, find_tools, search_tool};

/// How much a word counts in each field: a name says most about a tool.
const NAME: f32 = 3.0;
const TITLE: f32 = 2.0;
const TAGS: f32 = 2.0;
const DESCRIPTION: f32 = 1.0;
const PARAMS: f32 = 0.6;

/// Okapi BM25's term-frequency saturation and length normalisation.
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Words too common in requests and descriptions to tell tools apart.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "any", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for",
    "from", "get", "give", "how", "i", "in", "into", "is", "it", "its", "me", "my", "of", "on",
    "or", "please", "should", "some", "that", "the", "their", "them", "then", "there", "these",
    "this", "to", "use", "was", "we", "what", "when", "which", "will", "with", "would", "you",
    "your",
];

/// The index of one registry's tools, built once per set of tools: an
/// inverted index, so a query touches only the tools that share a term.
#[derive(Debug)]
pub struct SearchIndex {
    /// For each term, the tools (by registry position) that have it and
    /// its field-weighted frequency there.
    postings: HashMap<String, Vec<(u32, f32)>>,
    /// Each tool's field-weighted length.
    doc_len: Vec<f32>,
    average_len: f32,
    /// How many tools the registry held when this was built.
    built_for: usize,
}

impl SearchIndex {
    /// Indexes every tool of `registry`.
    pub fn build(registry: &Registry) -> SearchIndex {
        let stemmer = Stemmer::create(Algorithm::English);
        // Tool descriptions repeat their words: stem each word once.
        let mut stems: HashMap<String, Option<String>> = HashMap::new();
        let mut postings: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(registry.len());
        let mut counts: HashMap<String, f32> = HashMap::new();
        for (position, tool) in registry.tools().enumerate() {
            counts.clear();
            let mut len = 0.0;
            for (text, weight) in fields(&tool) {
                for word in words(&text) {
                    let stem = stems
                        .entry(word)
                        .or_insert_with_key(|word| stem(word, &stemmer));
                    if let Some(stem) = stem {
                        *counts.entry(stem.clone()).or_default() += weight;
                        len += weight;
                    }
                }
            }
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            for (term, tf) in counts.drain() {
                postings.entry(term).or_default().push((position, tf));
            }
            doc_len.push(len);
        }
        let total: f32 = doc_len.iter().sum();
        SearchIndex {
            average_len: if doc_len.is_empty() {
                1.0
            } else {
                total / doc_len.len() as f32
            },
            built_for: doc_len.len(),
            doc_len,
            postings,
        }
    }

    /// The tools of `registry` (the one this index was built for) matching
    /// `query`, best first, ties by name. Without query text every tool that
    /// passes the filters is returned, score 0.
    pub fn search<'r>(&self, registry: &'r Registry, query: &ToolQuery) -> Vec<ToolMatch<'r>> {
        let stemmer = Stemmer::create(Algorithm::English);
        let words = query_terms(&query.text, &stemmer);
        let tools: Vec<Tool<'r>> = registry.tools().collect();
        // (score, registry position): the registry is in name order, so the
        // position breaks ties by name without comparing names.
        let mut ranked: Vec<(f32, usize)> = if words.is_empty() {
            (0..tools.len())
                .filter(|&doc| passes_filters(&tools[doc], query))
                .map(|doc| (0.0, doc))
                .collect()
        } else {
            let mut scores = vec![0.0f32; tools.len()];
            let mut touched: Vec<usize> = Vec::new();
            for (term, weight) in self.expand(&words) {
                let Some(list) = self.postings.get(&term) else {
                    continue;
                };
                let n = self.doc_len.len() as f32;
                let df = list.len() as f32;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                for &(doc, tf) in list {
                    let doc = doc as usize;
                    let (Some(len), Some(score)) = (self.doc_len.get(doc), scores.get_mut(doc))
                    else {
                        continue;
                    };
                    let norm = K1 * (1.0 - B + B * len / self.average_len);
                    if *score == 0.0 {
                        touched.push(doc);
                    }
                    *score += weight * idf * tf * (K1 + 1.0) / (tf + norm);
                }
            }
            let exact = query.text.trim().to_lowercase();
            if let Some(doc) = tools.iter().position(|tool| tool.name() == exact) {
                if scores[doc] == 0.0 {
                    touched.push(doc);
                }
                scores[doc] += 10.0;
            }
            touched
                .into_iter()
                .filter(|&doc| scores[doc] > 0.0 && passes_filters(&tools[doc], query))
                .map(|doc| (scores[doc], doc))
                .collect()
        };
        let best_first =
            |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        // Only the best `limit` need ordering: select them first.
        if let Some(limit) = query
            .limit
            .filter(|&limit| limit > 0 && limit < ranked.len())
        {
            ranked.select_nth_unstable_by(limit - 1, best_first);
            ranked.truncate(limit);
        } else if query.limit == Some(0) {
            ranked.clear();
        }
        ranked.sort_unstable_by(best_first);
        ranked
            .into_iter()
            .map(|(score, doc)| ToolMatch {
                tool: tools[doc],
                // Reported in thousandths, so ties are ties.
                score: (score * 1000.0).round() as u32,
            })
            .collect()
    }

    /// Each query term, with the weight it carries: itself when indexed,
    /// else the indexed terms it shares a prefix of four or more letters
    /// with, or a typo away from (at half weight).
    fn expand(&self, words: &[(String, usize)]) -> Vec<(String, f32)> {
        let mut wanted = Vec::new();
        for (word, letters) in words {
            if self.postings.contains_key(word) {
                wanted.push((word.clone(), 1.0));
                continue;
            }
            // Short words are one typo away from too many others; the
            // word as typed counts, not its stem.
            let allowed = match letters {
                0..=3 => continue,
                4 => 0,
                5..=8 => 1,
                _ => 2,
            };
            for term in self.postings.keys() {
                let prefix = term.chars().count() >= 4
                    && (word.starts_with(term.as_str()) || term.starts_with(word.as_str()));
                if prefix || strsim::damerau_levenshtein(word, term) <= allowed {
                    wanted.push((term.clone(), 0.5));
                }
            }
        }
        wanted
    }
}

/// Tools of `registry` matching `query`, best first, through an index built
/// once per registry and rebuilt when run-time tools join it.
pub fn discover<'r>(registry: &'r Registry, query: &ToolQuery) -> Vec<ToolMatch<'r>> {
    type Cache = Mutex<HashMap<usize, Arc<SearchIndex>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = std::ptr::from_ref(registry) as usize;
    let cache = CACHE.get_or_init(Cache::default);
    let index = {
        let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(&key) {
            Some(index) if index.built_for == registry.len() => Arc::clone(index),
            _ => {
                let index = Arc::new(SearchIndex::build(registry));
                cache.insert(key, Arc::clone(&index));
                index
            }
        }
    };
    index.search(registry, query)
}

fn passes_filters(tool: &Tool<'_>, query: &ToolQuery) -> bool {
    let d = tool.descriptor();
    let hint =
        |wanted: Option<bool>, actual: Option<bool>| wanted.is_none_or(|w| actual == Some(w));
    query
        .tags
        .iter()
        .all(|tag| d.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
        && hint(query.read_only, d.annotations.read_only)
        && hint(query.destructive, d.annotations.destructive)
        && hint(query.idempotent, d.annotations.idempotent)
        && hint(query.open_world, d.annotations.open_world)
}

/// A tool's indexed text, field by field, with each field's weight.
fn fields(tool: &Tool<'_>) -> Vec<(String, f32)> {
    let d = tool.descriptor();
    let mut fields = vec![
        (split_name(d.name), NAME),
        (d.title.unwrap_or_default().to_owned(), TITLE),
        (d.tags.join(" "), TAGS),
        (d.description.to_owned(), DESCRIPTION),
    ];
    for param in d.params {
        fields.push((split_name(param.name), PARAMS));
        fields.push((param.description.to_owned(), PARAMS));
    }
    fields
}

/// `text_stats` and `readFile` as words: `text stats`, `read File`.
fn split_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' {
            out.push(' ');
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            out.push(' ');
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// The lower-cased words of `text`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// A word's indexed term: its stem, `None` for a stop word.
fn stem(word: &str, stemmer: &Stemmer) -> Option<String> {
    (!STOP_WORDS.contains(&word)).then(|| stemmer.stem(word).into_owned())
}

/// A query's terms, each with the length of the word as typed.
fn query_terms(text: &str, stemmer: &Stemmer) -> Vec<(String, usize)> {
    words(text)
        .filter_map(|word| Some((stem(&word, stemmer)?, word.chars().count())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_separators_and_case_changes() {
        assert_eq!(split_name("text_stats"), "text stats");
        assert_eq!(split_name("readFile"), "read File");
        assert_eq!(split_name("fs-read.v2"), "fs read v2");
    }

    #[test]
    fn words_are_stemmed_and_stop_words_dropped() {
        let stemmer = Stemmer::create(Algorithm::English);
        let terms = |text| {
            query_terms(text, &stemmer)
                .into_iter()
                .map(|(term, _)| term)
                .collect::<Vec<_>>()
        };
        assert_eq!(terms("Downloads the pages"), ["download", "page"]);
        assert_eq!(terms("statistics"), terms("statistic"));
    }
}
