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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rust_stemmers::{Algorithm, Stemmer};

use crate::{Registry, Tool, ToolMatch, ToolQuery};

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

/// The index of one registry's tools, built once per set of tools.
#[derive(Debug)]
pub struct SearchIndex {
    /// Per tool (in registry order): its weighted term frequencies and length.
    docs: Vec<Doc>,
    /// For each term, how many tools have it (for its IDF).
    doc_freq: HashMap<String, u32>,
    average_len: f32,
    /// How many tools the registry held when this was built.
    built_for: usize,
}

#[derive(Debug, Default)]
struct Doc {
    terms: HashMap<String, f32>,
    len: f32,
}

impl SearchIndex {
    /// Indexes every tool of `registry`.
    pub fn build(registry: &Registry) -> SearchIndex {
        let stemmer = Stemmer::create(Algorithm::English);
        let docs: Vec<Doc> = registry.tools().map(|tool| doc(&tool, &stemmer)).collect();
        let mut doc_freq: HashMap<String, u32> = HashMap::new();
        for doc in &docs {
            for term in doc.terms.keys() {
                *doc_freq.entry(term.clone()).or_default() += 1;
            }
        }
        let total: f32 = docs.iter().map(|doc| doc.len).sum();
        SearchIndex {
            average_len: if docs.is_empty() {
                1.0
            } else {
                total / docs.len() as f32
            },
            built_for: docs.len(),
            docs,
            doc_freq,
        }
    }

    /// The tools of `registry` (the one this index was built for) matching
    /// `query`, best first, ties by name. Without query text every tool that
    /// passes the filters is returned, score 0.
    pub fn search<'r>(&self, registry: &'r Registry, query: &ToolQuery) -> Vec<ToolMatch<'r>> {
        let stemmer = Stemmer::create(Algorithm::English);
        let words = query_terms(&query.text, &stemmer);
        let wanted = self.expand(&words);
        let exact_name = query.text.trim().to_lowercase();
        let mut found: Vec<(f32, ToolMatch<'r>)> = registry
            .tools()
            .zip(&self.docs)
            .filter(|(tool, _)| passes_filters(tool, query))
            .filter_map(|(tool, doc)| {
                let mut score = self.score(doc, &wanted);
                if !exact_name.is_empty() && tool.name() == exact_name {
                    score += 10.0;
                }
                if words.is_empty() {
                    return Some((0.0, ToolMatch { tool, score: 0 }));
                }
                (score > 0.0).then(|| {
                    // Scores are reported in thousandths, so ties are ties.
                    let points = (score * 1000.0).round() as u32;
                    (
                        score,
                        ToolMatch {
                            tool,
                            score: points,
                        },
                    )
                })
            })
            .collect();
        // `tools()` is in name order and the sort is stable.
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut found: Vec<ToolMatch<'r>> = found.into_iter().map(|(_, found)| found).collect();
        if let Some(limit) = query.limit {
            found.truncate(limit);
        }
        found
    }

    /// Each query term, with the weight it carries: itself when indexed,
    /// else the indexed terms it shares a prefix of four or more letters
    /// with, or a typo away from (at half weight).
    fn expand(&self, words: &[(String, usize)]) -> Vec<(String, f32)> {
        let mut wanted = Vec::new();
        for (word, letters) in words {
            if self.doc_freq.contains_key(word) {
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
            for term in self.doc_freq.keys() {
                let prefix = term.chars().count() >= 4
                    && (word.starts_with(term.as_str()) || term.starts_with(word.as_str()));
                if prefix || strsim::damerau_levenshtein(word, term) <= allowed {
                    wanted.push((term.clone(), 0.5));
                }
            }
        }
        wanted
    }

    fn score(&self, doc: &Doc, wanted: &[(String, f32)]) -> f32 {
        let n = self.docs.len() as f32;
        wanted
            .iter()
            .filter_map(|(term, weight)| {
                let tf = *doc.terms.get(term)?;
                let df = *self.doc_freq.get(term)? as f32;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                let norm = K1 * (1.0 - B + B * doc.len / self.average_len);
                Some(weight * idf * tf * (K1 + 1.0) / (tf + norm))
            })
            .sum()
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

fn doc(tool: &Tool<'_>, stemmer: &Stemmer) -> Doc {
    let d = tool.descriptor();
    let mut doc = Doc::default();
    let mut add = |text: &str, weight: f32| {
        for term in terms(text, stemmer) {
            *doc.terms.entry(term).or_default() += weight;
            doc.len += weight;
        }
    };
    add(&split_name(d.name), NAME);
    add(d.title.unwrap_or_default(), TITLE);
    add(&d.tags.join(" "), TAGS);
    add(d.description, DESCRIPTION);
    for param in d.params {
        add(&split_name(param.name), PARAMS);
        add(param.description, PARAMS);
    }
    doc
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

/// A query's terms, each with the length of the word as typed.
fn query_terms(text: &str, stemmer: &Stemmer) -> Vec<(String, usize)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .map(|word| (stemmer.stem(&word).into_owned(), word.chars().count()))
        .collect()
}

/// The indexed terms of `text`: lower-cased words, stop words dropped, stemmed.
fn terms(text: &str, stemmer: &Stemmer) -> Vec<String> {
    query_terms(text, stemmer)
        .into_iter()
        .map(|(term, _)| term)
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
        assert_eq!(terms("Downloads the pages", &stemmer), ["download", "page"]);
        assert_eq!(terms("statistics", &stemmer), terms("statistic", &stemmer));
    }
}
