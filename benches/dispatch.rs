//! End-to-end dispatch of a small sync tool, from JSON argument text to JSON
//! result text, against the floor: a hand-written `match` on the name plus
//! `serde_json::from_str` into a derived struct, in the same run.
//!
//! `cargo bench --bench dispatch`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use my_tools as _;
use rustchain::registered::{FnTool, ToolSpec};
use rustchain::{Executor, Registry, ToolContext};
use serde::Deserialize;

const ARGS: &str = r#"{"a": 20, "b": 22}"#;

/// What a developer would write by hand for the same tools: the floor.
fn hand_written(name: &str, args: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AddArgs {
        a: i64,
        b: i64,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WeatherArgs {
        city: String,
        units: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EchoArgs {
        message: String,
        delay_ms: u64,
    }
    match name {
        "add" => {
            let AddArgs { a, b } = serde_json::from_str(args).map_err(|e| e.to_string())?;
            serde_json::to_string(&(a + b)).map_err(|e| e.to_string())
        }
        "get_weather" => {
            let WeatherArgs { city, units } =
                serde_json::from_str(args).map_err(|e| e.to_string())?;
            serde_json::to_string(&(city, units)).map_err(|e| e.to_string())
        }
        "slow_echo" => {
            let EchoArgs { message, delay_ms } =
                serde_json::from_str(args).map_err(|e| e.to_string())?;
            serde_json::to_string(&(message, delay_ms)).map_err(|e| e.to_string())
        }
        _ => Err(format!("no tool named {name}")),
    }
}

fn dispatch(c: &mut Criterion) {
    let executor = Executor::new(Registry::global());
    let ctx = ToolContext::new();
    assert_eq!(
        executor
            .call_blocking("add", ARGS, ctx.clone())
            .unwrap()
            .as_json(),
        hand_written("add", ARGS).unwrap()
    );

    let mut group = c.benchmark_group("dispatch_add");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("rustchain", |b| {
        b.iter(|| executor.call_blocking(black_box("add"), black_box(ARGS), ctx.clone()))
    });
    group.bench_function("rustchain_fresh_context", |b| {
        b.iter(|| executor.call_blocking(black_box("add"), black_box(ARGS), ToolContext::new()))
    });
    group.bench_function("hand_written_match", |b| {
        b.iter(|| hand_written(black_box("add"), black_box(ARGS)))
    });
    group.finish();
}

/// A registry over the linked tools, with `registered` more registered at
/// run time (closures that echo their arguments).
fn registry_with(registered: usize) -> &'static Registry {
    let linked = Registry::global().tools().map(|tool| tool.descriptor());
    let registry: &'static Registry = Box::leak(Box::new(Registry::build(linked).unwrap()));
    for n in 0..registered {
        let spec = ToolSpec::new(format!("remote_{n}"), "Echoes its arguments.");
        registry
            .register_tool(Box::new(FnTool::new(
                spec,
                |_: &ToolContext, v: serde_json::Value| Ok(v),
            )))
            .unwrap();
    }
    registry
}

/// The run-time layer costs a linked tool nothing: the same linked lookup
/// and call with no registered tools and with 100, in one run.
fn registered_layer(c: &mut Criterion) {
    let mut group = c.benchmark_group("linked_with_registered");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for registered in [0, 100] {
        let registry = registry_with(registered);
        let executor = Executor::new(registry);
        let ctx = ToolContext::new();
        group.bench_function(format!("lookup_hit/{registered}_registered"), |b| {
            b.iter(|| registry.get(black_box("add")).is_some())
        });
        group.bench_function(format!("lookup_miss/{registered}_registered"), |b| {
            b.iter(|| registry.get(black_box("no_such_tool")).is_some())
        });
        group.bench_function(format!("call_blocking/{registered}_registered"), |b| {
            b.iter(|| executor.call_blocking(black_box("add"), black_box(ARGS), ctx.clone()))
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch, registered_layer);
criterion_main!(benches);
