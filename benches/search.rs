//! Ranked tool search (`rustchain::search`) over registries of 10 to 100,000
//! synthetic tools: building the index, and one natural-language query.
//!
//! `cargo bench --bench search`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rustchain::search::SearchIndex;
use rustchain::{
    Annotations, Invoke, ParamInfo, Registry, SourceLocation, ToolContext, ToolDescriptor,
    ToolError, ToolOutput, ToolQuery,
};

/// Words the synthetic descriptions are made of, so every size has a
/// realistic vocabulary and most queries match many tools.
const WORDS: [&str; 24] = [
    "read",
    "write",
    "file",
    "folder",
    "search",
    "text",
    "count",
    "words",
    "send",
    "request",
    "weather",
    "city",
    "time",
    "convert",
    "currency",
    "image",
    "resize",
    "email",
    "calendar",
    "event",
    "translate",
    "language",
    "summarise",
    "page",
];

fn empty_schema() -> rustchain::__private::Schema {
    rustchain::__private::Schema::default()
}

fn empty_input_schema(_: &'static [ParamInfo]) -> rustchain::__private::Schema {
    empty_schema()
}

fn nothing(_: &ToolContext, _: &str) -> Result<ToolOutput, ToolError> {
    ToolOutput::encode(&())
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// A registry of `count` tools named `tool_NNNNNN_WORD_WORD` with
/// twelve-word descriptions drawn from [`WORDS`].
fn registry(count: usize) -> &'static Registry {
    static PARAMS: [ParamInfo; 0] = [];
    let tools: Vec<ToolDescriptor> = (0..count)
        .map(|i| {
            let word = |k: usize| WORDS[(i * 7 + k * 13 + i / 24) % WORDS.len()];
            let description: Vec<&str> = (0..12).map(word).collect();
            ToolDescriptor {
                name: leak(format!("tool_{i:06}_{}_{}", word(0), word(1))),
                title: None,
                description: leak(description.join(" ")),
                annotations: Annotations::NONE,
                tags: &[],
                permissions: &[],
                timeout: None,
                params: &PARAMS,
                source: SourceLocation {
                    crate_name: "bench",
                    crate_version: "0.0.0",
                    module_path: "search",
                    file: "search.rs",
                    line: 1,
                },
                input_schema: empty_input_schema,
                output_schema: empty_schema,
                invoke: Invoke::Sync(nothing),
            }
        })
        .collect();
    let tools: &'static [ToolDescriptor] = Box::leak(tools.into_boxed_slice());
    Box::leak(Box::new(
        Registry::build(tools.iter()).expect("unique names"),
    ))
}

fn search(c: &mut Criterion) {
    let mut group = c.benchmark_group("search");
    group.sample_size(20);
    let query = ToolQuery {
        text: "resize an image and email it".to_owned(),
        limit: Some(5),
        ..ToolQuery::default()
    };
    for count in [10, 1_000, 10_000, 100_000] {
        let registry = registry(count);
        group.bench_with_input(BenchmarkId::new("build_index", count), &count, |b, _| {
            b.iter(|| black_box(SearchIndex::build(registry)));
        });
        let index = SearchIndex::build(registry);
        group.bench_with_input(BenchmarkId::new("query_top5", count), &count, |b, _| {
            b.iter(|| black_box(index.search(registry, black_box(&query))));
        });
    }
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
