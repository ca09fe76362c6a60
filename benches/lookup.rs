//! Lookup and build benchmarks for `rustchain_tools::index::PerfectIndex`.
//!
//! Compares the perfect hash index against `hashbrown::HashTable<u32>` hashed
//! with foldhash (the fastest general-purpose option) and std's `HashMap`, at
//! 10 to 100,000 tool names. Each iteration looks up a batch of [`BATCH`]
//! names chosen in advance, so the reported throughput is per lookup.
//!
//! Run with `cargo bench --bench lookup`; the whole run takes about a minute.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use rustchain_tools::index::PerfectIndex;

/// Index sizes, in keys.
const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

/// Lookups per benchmark iteration.
const BATCH: usize = 1_000;

/// Tool name stems; a name is a stem plus a four-digit number.
const STEMS: [&str; 16] = [
    "fs_read",
    "fs_write",
    "fs_list_dir",
    "http_request",
    "http_download",
    "git_commit",
    "git_diff",
    "db_query",
    "db_migrate",
    "search_web",
    "search_code",
    "calendar_create_event",
    "email_send",
    "shell_exec",
    "image_resize",
    "vector_store_upsert",
];

/// `count` distinct tool names such as `"fs_read_0042"`.
fn tool_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{}_{:04}", STEMS[i % STEMS.len()], i / STEMS.len()))
        .collect()
}

/// `BATCH` names that look like members of a `count`-name set but are not:
/// same stems, numbers past the last one used.
fn missing_names(count: usize) -> Vec<String> {
    let first_unused = count.div_ceil(STEMS.len());
    (0..BATCH)
        .map(|i| {
            let number = first_unused + i / STEMS.len();
            format!("{}_{number:04}", STEMS[i % STEMS.len()])
        })
        .collect()
}

/// `BATCH` names drawn pseudo-randomly from `names`, as fresh allocations
/// (a real query comes from a request, not from the registry's own strings).
fn present_names(names: &[String]) -> Vec<String> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    (0..BATCH)
        .map(|_| {
            // xorshift64: deterministic and dependency-free.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            names[(state % names.len() as u64) as usize].clone()
        })
        .collect()
}

/// The three maps under test, all built over the same keys.
struct Maps<'k> {
    keys: &'k [&'k str],
    perfect: PerfectIndex<'k>,
    hash_state: FixedState,
    hashbrown: HashTable<u32>,
    std: HashMap<&'k str, u32>,
}

impl<'k> Maps<'k> {
    fn new(keys: &'k [&'k str]) -> Self {
        let perfect = match PerfectIndex::build(keys) {
            Ok(index) => index,
            Err(duplicate) => panic!("generated names repeat: {duplicate}"),
        };
        let hash_state = FixedState::default();
        let mut hashbrown = HashTable::with_capacity(keys.len());
        for (position, key) in (0_u32..).zip(keys) {
            hashbrown.insert_unique(hash_state.hash_one(key), position, |&i| {
                hash_state.hash_one(keys[i as usize])
            });
        }
        let std = keys.iter().copied().zip(0_u32..).collect();
        Maps {
            keys,
            perfect,
            hash_state,
            hashbrown,
            std,
        }
    }

    fn hashbrown_get(&self, key: &str) -> Option<u32> {
        self.hashbrown
            .find(self.hash_state.hash_one(key), |&i| {
                self.keys[i as usize] == key
            })
            .copied()
    }
}

/// Sum of the values found, so no lookup can be optimised away.
fn lookup_all(queries: &[String], get: impl Fn(&str) -> Option<usize>) -> usize {
    queries
        .iter()
        .map(|query| get(black_box(query.as_str())).unwrap_or(0))
        .sum()
}

fn lookups(c: &mut Criterion) {
    for size in SIZES {
        let names = tool_names(size);
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let maps = Maps::new(&keys);
        for (kind, queries) in [
            ("lookup_hit", present_names(&names)),
            ("lookup_miss", missing_names(size)),
        ] {
            let mut group = c.benchmark_group(format!("{kind}/{size}"));
            group.throughput(Throughput::Elements(BATCH as u64));
            group.bench_function("perfect_index", |b| {
                b.iter(|| lookup_all(&queries, |key| maps.perfect.get(key)))
            });
            group.bench_function("hashbrown_foldhash", |b| {
                b.iter(|| {
                    lookup_all(&queries, |key| {
                        maps.hashbrown_get(key).map(|value| value as usize)
                    })
                })
            });
            group.bench_function("std_hashmap", |b| {
                b.iter(|| {
                    lookup_all(&queries, |key| {
                        maps.std.get(key).map(|&value| value as usize)
                    })
                })
            });
            group.finish();
        }
    }
}

fn builds(c: &mut Criterion) {
    for size in SIZES {
        let names = tool_names(size);
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut group = c.benchmark_group(format!("build/{size}"));
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function("perfect_index", |b| {
            b.iter(|| PerfectIndex::build(black_box(&keys)).map(|index| index.len()))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20);
    targets = lookups, builds
}
criterion_main!(benches);
