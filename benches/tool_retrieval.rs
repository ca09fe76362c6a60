//! Tool retrieval quality on a labelled public set: recall@1, recall@5 and
//! MRR of the ranked search (`rustchain::search::discover`) next to a plain
//! Okapi BM25 over the same text, in the same run. Not timed, not in CI.
//!
//! The set is BFCL v4 "live" (simple and multiple): queries contributed by
//! real users of the Berkeley Function Calling Leaderboard, each with the
//! function that answers it. Every function of every entry joins one
//! catalogue (deduplicated by name), registered as run-time tools, and each
//! query is searched against the whole catalogue.
//!
//! ```sh
//! benches/tool-retrieval/fetch-bfcl.sh target/bfcl
//! cargo bench --bench tool_retrieval -- target/bfcl
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rustchain::registered::{FnTool, ToolSpec};
use rustchain::search::discover;
use rustchain::{Registry, ToolQuery};
use serde_json::{Value, json};

const SETS: [&str; 2] = ["BFCL_v4_live_simple.json", "BFCL_v4_live_multiple.json"];

/// One catalogue entry: its text as a tool's fields.
struct Function {
    name: String,
    description: String,
    /// (parameter name, its description).
    params: Vec<(String, String)>,
}

/// One labelled query: what a person asked, and the tool that answers it.
struct Query {
    text: String,
    answer: String,
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .map_or_else(|| PathBuf::from("target/bfcl"), PathBuf::from);
    let (catalogue, queries) = load(&dir);
    let registry = register(&catalogue);
    let baseline = Bm25::new(&catalogue);
    let mut ours = Scores::default();
    let mut plain = Scores::default();
    for query in &queries {
        let ranked: Vec<String> = discover(registry, &ToolQuery::text(query.text.clone()))
            .into_iter()
            .map(|found| found.tool.name().to_owned())
            .collect();
        ours.add(&ranked, &query.answer);
        plain.add(&baseline.rank(&query.text), &query.answer);
    }
    println!(
        "BFCL v4 live (simple + multiple): {} queries, {} tools",
        queries.len(),
        catalogue.len()
    );
    println!("| ranker | recall@1 | recall@5 | MRR |");
    println!("| --- | --- | --- | --- |");
    for (label, scores) in [
        ("rustchain search (BM25F, stems, typos)", &ours),
        ("plain Okapi BM25 (same text)", &plain),
    ] {
        println!(
            "| {label} | {:.3} | {:.3} | {:.3} |",
            scores.recall(1),
            scores.recall(5),
            scores.mrr()
        );
    }
}

/// The catalogue and the queries of every set in `dir`.
fn load(dir: &Path) -> (Vec<Function>, Vec<Query>) {
    let mut catalogue: BTreeMap<String, Function> = BTreeMap::new();
    let mut queries = Vec::new();
    for set in SETS {
        let entries = read_lines(&dir.join(format!("queries-{set}")));
        let answers: HashMap<String, Value> = read_lines(&dir.join(format!("answers-{set}")))
            .into_iter()
            .filter_map(|answer| Some((answer["id"].as_str()?.to_owned(), answer)))
            .collect();
        for entry in entries {
            for function in entry["function"].as_array().into_iter().flatten() {
                let function = function_of(function);
                catalogue.entry(function.name.clone()).or_insert(function);
            }
            let Some(answer) = entry["id"].as_str().and_then(|id| answers.get(id)) else {
                continue;
            };
            // One function answers each query of these sets.
            let Some(name) = answer["ground_truth"][0]
                .as_object()
                .and_then(|call| call.keys().next())
            else {
                continue;
            };
            queries.push(Query {
                text: user_text(&entry["question"]),
                answer: portable(name),
            });
        }
    }
    (catalogue.into_values().collect(), queries)
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| {
        panic!(
            "cannot read {} ({err}); fetch the set first: benches/tool-retrieval/fetch-bfcl.sh",
            path.display()
        )
    });
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect()
}

/// Everything the user said in the conversation.
fn user_text(question: &Value) -> String {
    let mut text = String::new();
    for turn in question.as_array().into_iter().flatten() {
        for message in turn.as_array().into_iter().flatten() {
            if message["role"] == "user"
                && let Some(content) = message["content"].as_str()
            {
                text.push_str(content);
                text.push('\n');
            }
        }
    }
    text
}

fn function_of(function: &Value) -> Function {
    let params = function["parameters"]["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| {
                    let description = property["description"].as_str().unwrap_or_default();
                    (name.clone(), description.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    Function {
        name: portable(function["name"].as_str().unwrap_or("unnamed")),
        description: function["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        params,
    }
}

/// BFCL names may hold dots (`uber.ride`); tool names may not.
fn portable(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 'f');
        out.truncate(64);
    }
    out
}

/// The catalogue as run-time tools of a registry of their own.
fn register(catalogue: &[Function]) -> &'static Registry {
    let registry: &'static Registry =
        Box::leak(Box::new(Registry::build([]).expect("an empty registry")));
    for function in catalogue {
        let properties: serde_json::Map<String, Value> = function
            .params
            .iter()
            .map(|(name, description)| (name.clone(), json!({"description": description})))
            .collect();
        let description = if function.description.trim().is_empty() {
            function.name.clone()
        } else {
            function.description.clone()
        };
        let spec = ToolSpec::new(function.name.clone(), description)
            .input_schema(json!({"type": "object", "properties": properties}))
            .expect("an object schema");
        let tool = FnTool::new(spec, |_ctx: &rustchain::ToolContext, _args: Value| {
            Ok::<_, rustchain::ToolError>(Value::Null)
        });
        if let Err(err) = registry.register_tool(Box::new(tool)) {
            eprintln!("skipped {}: {err}", function.name);
        }
    }
    registry
}

/// Where the answer ranked, per query.
#[derive(Default)]
struct Scores {
    ranks: Vec<Option<usize>>,
}

impl Scores {
    fn add(&mut self, ranked: &[String], answer: &str) {
        self.ranks.push(
            ranked
                .iter()
                .position(|name| name == answer)
                .map(|at| at + 1),
        );
    }

    fn recall(&self, k: usize) -> f64 {
        let hits = self
            .ranks
            .iter()
            .filter(|rank| rank.is_some_and(|r| r <= k));
        hits.count() as f64 / self.ranks.len().max(1) as f64
    }

    fn mrr(&self) -> f64 {
        let sum: f64 = self.ranks.iter().flatten().map(|&r| 1.0 / r as f64).sum();
        sum / self.ranks.len().max(1) as f64
    }
}

/// Plain Okapi BM25 (k1 = 1.2, b = 0.75) over each tool's name,
/// description and parameters as one text: lower-cased alphanumeric runs,
/// no stemming, no stop words, no field weights.
struct Bm25 {
    names: Vec<String>,
    postings: HashMap<String, Vec<(usize, f64)>>,
    lengths: Vec<f64>,
    average: f64,
}

impl Bm25 {
    fn new(catalogue: &[Function]) -> Bm25 {
        let mut postings: HashMap<String, Vec<(usize, f64)>> = HashMap::new();
        let mut lengths = Vec::new();
        for (doc, function) in catalogue.iter().enumerate() {
            let mut text = format!("{} {}", function.name, function.description);
            for (name, description) in &function.params {
                text.push_str(&format!(" {name} {description}"));
            }
            let mut counts: HashMap<String, f64> = HashMap::new();
            let tokens = tokens(&text);
            lengths.push(tokens.len() as f64);
            for token in tokens {
                *counts.entry(token).or_default() += 1.0;
            }
            for (term, tf) in counts {
                postings.entry(term).or_default().push((doc, tf));
            }
        }
        let average = lengths.iter().sum::<f64>() / lengths.len().max(1) as f64;
        Bm25 {
            names: catalogue.iter().map(|f| f.name.clone()).collect(),
            postings,
            lengths,
            average,
        }
    }

    fn rank(&self, query: &str) -> Vec<String> {
        const K1: f64 = 1.2;
        const B: f64 = 0.75;
        let n = self.names.len() as f64;
        let mut scores = vec![0.0; self.names.len()];
        for term in tokens(query) {
            let Some(list) = self.postings.get(&term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in list {
                let norm = K1 * (1.0 - B + B * self.lengths[doc] / self.average);
                scores[doc] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<usize> = (0..scores.len()).filter(|&d| scores[d] > 0.0).collect();
        ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        ranked.into_iter().map(|d| self.names[d].clone()).collect()
    }
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}
