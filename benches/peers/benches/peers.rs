//! One small sync tool, `add(a, b)` among 32, from its argument text to its
//! result, through this framework, rmcp's `ToolRouter`, rig's tools and the
//! hand-written floor, in one criterion group; then a counting allocator
//! reports the allocations and bytes of one call of each.
//!
//! rig 0.44 has no `ToolSet`: an agent keeps its `DynamicTool`s by name and
//! runs one with `execute` (rig's `serve_inline`), which is what is measured.
//!
//! `cd benches/peers && cargo bench --bench peers`

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rig_core::message::ToolName;
use rig_core::tool::{DynamicTool, ToolExecutionError, ToolOutput};
use rmcp::handler::server::common::schema_for_type;
use rmcp::handler::server::router::tool::{ToolRoute, ToolRouter};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, JsonObject, NumberOrString, Tool};
use rmcp::service::{Peer, RequestContext, RoleServer};
use rustchain::{Executor, Registry, ToolContext};
use rustchain_bench_peers::{
    ALLOW_ADD, AddArgs, NAMES, TIMEOUT_30S, executor_with_policy, hand_written,
};

const ARGS: &str = r#"{"a":2,"b":40}"#;

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

/// Allocations and bytes per call of `call`, over 1,000 calls after a warm-up.
fn allocations_per_call(mut call: impl FnMut()) -> (f64, f64) {
    for _ in 0..100 {
        call();
    }
    let counts = counting_alloc::during(|| {
        for _ in 0..1_000 {
            call();
        }
    });
    (
        counts.allocations as f64 / 1_000.0,
        counts.bytes as f64 / 1_000.0,
    )
}

/// Allocations and bytes per call of `call`, awaited 1,000 times inside one
/// `block_on` after a warm-up (the one entry into the runtime is counted
/// too, spread over the 1,000 calls).
fn awaited_allocations_per_call<F: Future<Output = ()>>(
    runtime: &tokio::runtime::Runtime,
    mut call: impl FnMut() -> F,
) -> (f64, f64) {
    runtime.block_on(async {
        for _ in 0..100 {
            call().await;
        }
    });
    let counts = counting_alloc::during(|| {
        runtime.block_on(async {
            for _ in 0..1_000 {
                call().await;
            }
        })
    });
    (
        counts.allocations as f64 / 1_000.0,
        counts.bytes as f64 / 1_000.0,
    )
}

/// The MCP server rmcp's router belongs to; its default handler is enough.
#[derive(Clone, Default)]
struct Server;

impl rmcp::ServerHandler for Server {}

/// rmcp's `ToolRouter` over the same 32 tools, each a typed handler.
fn rmcp_router() -> ToolRouter<Server> {
    let schema = schema_for_type::<AddArgs>();
    let mut router = ToolRouter::new();
    for name in NAMES {
        let tool = Tool::new(name, "Adds two integers.", schema.clone());
        router.add_route(ToolRoute::new(
            tool,
            |Parameters(AddArgs { a, b }): Parameters<AddArgs>| -> Result<String, rmcp::ErrorData> {
                Ok((a + b).to_string())
            },
        ));
    }
    router
}

/// A peer for the request contexts rmcp's handlers take: a server served
/// directly (no handshake) over an in-memory pipe nobody reads.
fn rmcp_peer(runtime: &tokio::runtime::Runtime) -> Peer<RoleServer> {
    runtime.block_on(async {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        std::mem::forget(theirs);
        let running = rmcp::service::serve_directly(Server, tokio::io::split(ours), None);
        let peer = running.peer().clone();
        std::mem::forget(running);
        peer
    })
}

/// One rmcp call as its server makes it: the arguments parsed into an
/// object, a request context, the router's call, awaited.
fn rmcp_call(
    runtime: &tokio::runtime::Runtime,
    router: &ToolRouter<Server>,
    peer: &Peer<RoleServer>,
    name: &'static str,
    args: &str,
) -> rmcp::model::CallToolResponse {
    let arguments: JsonObject = serde_json::from_str(args).expect("an object");
    let params = CallToolRequestParams::new(name).with_arguments(arguments);
    let context = RequestContext::new(NumberOrString::Number(1), peer.clone());
    runtime
        .block_on(router.call(ToolCallContext::new(&Server, params, context)))
        .expect("the call succeeds")
}

/// rig's tools by name, as an agent keeps them: each a `DynamicTool` whose
/// callback decodes the arguments into the same struct.
fn rig_tools() -> HashMap<&'static str, DynamicTool> {
    let schema = serde_json::to_value(schemars::schema_for!(AddArgs)).expect("a schema");
    NAMES
        .into_iter()
        .map(|name| {
            let tool = DynamicTool::new(
                ToolName::new(name).expect("a name"),
                "Adds two integers.",
                schema.clone(),
                |args: serde_json::Value| {
                    Box::pin(async move {
                        let AddArgs { a, b } = serde_json::from_value(args)
                            .map_err(|e| ToolExecutionError::other(e.to_string()))?;
                        Ok(ToolOutput::json(serde_json::json!(a + b)))
                    })
                },
            );
            (name, tool)
        })
        .collect()
}

/// One rig call: the arguments parsed, the tool found by name and executed.
fn rig_call(
    runtime: &tokio::runtime::Runtime,
    tools: &HashMap<&'static str, DynamicTool>,
    name: &str,
    args: &str,
) -> ToolOutput {
    let arguments: serde_json::Value = serde_json::from_str(args).expect("JSON");
    let tool = tools.get(name).expect("a known tool");
    runtime
        .block_on(tool.execute(arguments))
        .expect("the call succeeds")
}

fn peers(c: &mut Criterion) {
    let executor = Executor::new(Registry::global());
    let allowing = executor_with_policy(ALLOW_ADD);
    let timed = executor_with_policy(TIMEOUT_30S);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let router = rmcp_router();
    let peer = rmcp_peer(&runtime);
    assert_eq!(Registry::global().len(), 32, "32 tools are linked");
    let ours = executor
        .call_blocking("add", ARGS, ToolContext::new())
        .expect("add runs");
    assert_eq!(
        ours.as_json(),
        hand_written("add", ARGS).expect("the floor runs")
    );
    let theirs = rmcp_call(&runtime, &router, &peer, "add", ARGS);
    assert!(format!("{theirs:?}").contains("42"), "{theirs:?}");
    let rig = rig_tools();
    let riggs = rig_call(&runtime, &rig, "add", ARGS).into_content();
    assert!(format!("{riggs:?}").contains("42"), "{riggs:?}");

    let mut group = c.benchmark_group("add_among_32");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("hand_written_match", |b| {
        b.iter(|| hand_written(black_box("add"), black_box(ARGS)))
    });
    group.bench_function("rustchain_call_blocking", |b| {
        b.iter(|| executor.call_blocking(black_box("add"), black_box(ARGS), ToolContext::new()))
    });
    group.bench_function("rustchain_call_blocking_allowed", |b| {
        b.iter(|| allowing.call_blocking(black_box("add"), black_box(ARGS), ToolContext::new()))
    });
    // Under `[limits] timeout`: the call keeps a deadline, on the caller's thread.
    group.bench_function("rustchain_call_blocking_timeout", |b| {
        b.iter(|| timed.call_blocking(black_box("add"), black_box(ARGS), ToolContext::new()))
    });
    // Each call enters the runtime (`block_on`) and awaits there: what a
    // synchronous caller pays for `call`.
    group.bench_function("rustchain_call_async", |b| {
        b.iter(|| {
            runtime.block_on(executor.call(black_box("add"), black_box(ARGS), ToolContext::new()))
        })
    });
    // The calls are awaited inside one running runtime, as an async agent
    // awaits them: the cost of `.await`, without entering the runtime each time.
    group.bench_function("rustchain_call_async_in_runtime", |b| {
        b.to_async(&runtime)
            .iter(|| executor.call(black_box("add"), black_box(ARGS), ToolContext::new()))
    });
    group.bench_function("rmcp_tool_router", |b| {
        b.iter(|| rmcp_call(&runtime, &router, &peer, black_box("add"), black_box(ARGS)))
    });
    group.bench_function("rig_dynamic_tools", |b| {
        b.iter(|| rig_call(&runtime, &rig, black_box("add"), black_box(ARGS)))
    });
    group.finish();

    let rows = [
        (
            "hand_written_match",
            allocations_per_call(|| {
                black_box(hand_written(black_box("add"), ARGS)).ok();
            }),
        ),
        (
            "rustchain_call_blocking",
            allocations_per_call(|| {
                black_box(executor.call_blocking("add", ARGS, ToolContext::new())).ok();
            }),
        ),
        (
            "rustchain_call_blocking_allowed",
            allocations_per_call(|| {
                black_box(allowing.call_blocking("add", ARGS, ToolContext::new())).ok();
            }),
        ),
        (
            "rustchain_call_blocking_timeout",
            allocations_per_call(|| {
                black_box(timed.call_blocking("add", ARGS, ToolContext::new())).ok();
            }),
        ),
        (
            "rustchain_call_async",
            allocations_per_call(|| {
                black_box(runtime.block_on(executor.call("add", ARGS, ToolContext::new()))).ok();
            }),
        ),
        (
            "rustchain_call_async_in_runtime",
            awaited_allocations_per_call(&runtime, || async {
                black_box(executor.call("add", ARGS, ToolContext::new()).await).ok();
            }),
        ),
        (
            "rmcp_tool_router",
            allocations_per_call(|| {
                black_box(rmcp_call(&runtime, &router, &peer, "add", ARGS));
            }),
        ),
        (
            "rig_dynamic_tools",
            allocations_per_call(|| {
                black_box(rig_call(&runtime, &rig, "add", ARGS));
            }),
        ),
    ];
    println!("\nallocations per call (1,000 calls):");
    for (name, (allocations, bytes)) in rows {
        println!("  {name:<26} {allocations:>6.1} allocations {bytes:>8.0} bytes");
    }
}

criterion_group!(benches, peers);
criterion_main!(benches);
