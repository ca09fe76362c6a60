//! The core's argument decoder alone, for instruction counts (issue 13):
//! `decode_profile N` decodes `{"a":2,"b":40}` into `(i64, i64)` N times.
//!
//! ```text
//! cargo build --release -p rustchain-core --example decode_profile
//! valgrind --tool=callgrind target/release/examples/decode_profile 20000
//! valgrind --tool=callgrind target/release/examples/decode_profile 0
//! ```
//!
//! The difference of the two totals over 20,000 is the decode's cost per call.

use std::hint::black_box;

use rustchain_core::ParamInfo;

static PARAMS: [ParamInfo; 2] = [
    ParamInfo {
        name: "a",
        description: "The first addend.",
        required: true,
    },
    ParamInfo {
        name: "b",
        description: "The second addend.",
        required: true,
    },
];

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut sum = 0i64;
    for _ in 0..calls {
        let (a, b): (i64, i64) =
            rustchain_core::__private::decode(black_box(r#"{"a":2,"b":40}"#), &PARAMS)
                .expect("the arguments are valid");
        sum += a + b;
    }
    println!("{sum}");
}
