//! Runs one path N times, for instruction counts under callgrind:
//! `valgrind --tool=callgrind target/release/examples/profile PATH N`, once
//! with N and once with 0; the difference over N is the cost of one call.
//! `benches/peers/instructions.sh` does this for every path.
//!
//! PATH: `floor`, `call_blocking`, `call_blocking_timeout`,
//! `call_blocking_allowed` (a policy whose `[tools] allow` names the tool),
//! `call_async` (each call in a `block_on` of its own),
//! `call_async_in_runtime` (the N calls awaited inside one `block_on`, as
//! an async caller awaits them: the cost of `.await` without entering the
//! runtime each time).

use std::hint::black_box;

use rustchain::{Executor, Registry, ToolContext};
use rustchain_bench_peers::{ALLOW_ADD, TIMEOUT_30S, executor_with_policy, hand_written};

const ARGS: &str = r#"{"a":2,"b":40}"#;

fn main() {
    let mut argv = std::env::args().skip(1);
    let path = argv.next().unwrap_or_else(|| "call_blocking".to_owned());
    let n: u64 = argv.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let plain = Executor::new(Registry::global());
    let timed = executor_with_policy(TIMEOUT_30S);
    let allowing = executor_with_policy(ALLOW_ADD);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // One call of each before counting: lazy statics, the registry's index.
    plain
        .call_blocking("add", ARGS, ToolContext::new())
        .expect("add runs");
    timed
        .call_blocking("add", ARGS, ToolContext::new())
        .expect("add runs");
    allowing
        .call_blocking("add", ARGS, ToolContext::new())
        .expect("add runs");
    if path == "call_async_in_runtime" {
        // One `block_on` for the N calls (and one for none): the difference
        // over N leaves entering the runtime out.
        runtime.block_on(async {
            for _ in 0..n {
                black_box(
                    plain
                        .call(black_box("add"), black_box(ARGS), ToolContext::new())
                        .await,
                )
                .ok();
            }
        });
        return;
    }
    for _ in 0..n {
        match path.as_str() {
            "floor" => {
                black_box(hand_written(black_box("add"), black_box(ARGS))).ok();
            }
            "call_blocking" => {
                black_box(plain.call_blocking(
                    black_box("add"),
                    black_box(ARGS),
                    ToolContext::new(),
                ))
                .ok();
            }
            "call_blocking_timeout" => {
                black_box(timed.call_blocking(
                    black_box("add"),
                    black_box(ARGS),
                    ToolContext::new(),
                ))
                .ok();
            }
            "call_blocking_allowed" => {
                black_box(allowing.call_blocking(
                    black_box("add"),
                    black_box(ARGS),
                    ToolContext::new(),
                ))
                .ok();
            }
            "call_async" => {
                black_box(runtime.block_on(plain.call(
                    black_box("add"),
                    black_box(ARGS),
                    ToolContext::new(),
                )))
                .ok();
            }
            other => panic!("no path named {other}"),
        }
    }
}
