//! Dispatching a call: find the tool by name, bound and decode its arguments,
//! run it (sync or async) under its timeout, and return its JSON result.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};

use crate::registry::Tool;
use crate::{ArgLimits, ErrorKind, Invoke, Registry, ToolContext, ToolError, ToolOutput};

/// Calls tools of a [`Registry`] by name with JSON arguments.
///
/// ```
/// use rustchain_tools::{Dispatcher, Registry, ToolContext, ErrorKind};
/// let dispatcher = Dispatcher::new(Registry::global());
/// let err = dispatcher.call_blocking("no_such_tool", "{}", ToolContext::new()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Dispatcher<'r> {
    registry: &'r Registry,
    limits: ArgLimits,
}

impl<'r> Dispatcher<'r> {
    /// A dispatcher over `registry` with the default [`ArgLimits`].
    pub fn new(registry: &'r Registry) -> Self {
        Dispatcher {
            registry,
            limits: ArgLimits::default(),
        }
    }

    /// The same dispatcher with other argument limits.
    pub fn with_limits(mut self, limits: ArgLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The registry this dispatcher calls into.
    pub fn registry(&self) -> &'r Registry {
        self.registry
    }

    /// Finds a tool and checks its argument text against the limits: the part
    /// of a call that is the same however the tool runs.
    fn prepare(&self, name: &str, args: &str) -> Result<Tool<'r>, ToolError> {
        let tool = self
            .registry
            .get(name)
            .ok_or_else(|| not_found(self.registry, name))?;
        self.limits.check(args)?;
        Ok(tool)
    }

    /// Calls `name` with `args` (JSON object text) and waits for the result.
    ///
    /// A synchronous tool without a timeout runs right here on the caller's
    /// thread and needs no async runtime; other tools run on tokio (the
    /// current runtime, or a shared one started on first need).
    pub fn call_blocking(
        &self,
        name: &str,
        args: &str,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let tool = self.prepare(name, args)?;
        let descriptor = tool.descriptor();
        match descriptor.invoke {
            Invoke::Sync(invoke) if descriptor.timeout.is_none() => {
                run_guarded(|| invoke(&ctx, args))
            }
            _ => block_on(self.call(name, args, ctx)),
        }
    }

    /// Calls `name` with `args` (JSON object text) on tokio, under the tool's
    /// timeout, stopping early if `ctx` is cancelled.
    ///
    /// A synchronous tool with a timeout runs on tokio's blocking pool so the
    /// timeout can be enforced; when it fires, the tool's context is cancelled
    /// and the call returns, though a tool that ignores cancellation finishes
    /// its work in the background.
    pub async fn call(
        &self,
        name: &str,
        args: &str,
        mut ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let tool = self.prepare(name, args)?;
        let descriptor = tool.descriptor();
        let caller = ctx.cancellation().clone();
        let timeout = descriptor.timeout;
        ctx.set_deadline(timeout.map(|limit| Instant::now() + limit));
        // The tool watches a child token, so a timeout can cancel the tool
        // without cancelling the caller's own token.
        let own = caller.child_token();
        ctx = ctx.with_cancellation(own.clone());
        let run = async {
            match descriptor.invoke {
                Invoke::Sync(invoke) if timeout.is_none() => run_guarded(|| invoke(&ctx, args)),
                Invoke::Sync(invoke) => {
                    let (ctx, args) = (ctx.clone(), args.to_owned());
                    tokio::task::spawn_blocking(move || run_guarded(|| invoke(&ctx, &args)))
                        .await
                        .unwrap_or_else(|join| Err(panicked(join.into_panic())))
                }
                Invoke::Async(invoke) => CatchPanic(invoke(&ctx, args)?).await,
            }
        };
        let result = tokio::select! {
            biased;
            () = caller.cancelled() => Err(ToolError::new(
                ErrorKind::Cancelled,
                format!("the call to `{name}` was cancelled"),
            )),
            result = with_timeout(timeout, run) => result.unwrap_or_else(|limit| Err(timed_out(name, limit))),
        };
        own.cancel();
        result
    }

    /// [`Dispatcher::call_blocking`] with arguments already parsed.
    pub fn call_value_blocking(
        &self,
        name: &str,
        args: &serde_json::Value,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        self.call_blocking(name, &args.to_string(), ctx)
    }

    /// [`Dispatcher::call`] with arguments already parsed.
    pub async fn call_value(
        &self,
        name: &str,
        args: &serde_json::Value,
        ctx: ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        self.call(name, &args.to_string(), ctx).await
    }
}

async fn with_timeout<F: Future>(
    limit: Option<Duration>,
    future: F,
) -> Result<F::Output, Duration> {
    match limit {
        None => Ok(future.await),
        Some(limit) => tokio::time::timeout(limit, future).await.map_err(|_| limit),
    }
}

fn timed_out(name: &str, limit: Duration) -> ToolError {
    ToolError::new(
        ErrorKind::Timeout,
        format!("`{name}` did not finish within its timeout of {limit:?}"),
    )
}

/// Runs a synchronous tool, turning a panic into a `failed` error so one
/// broken tool cannot take the agent down with it.
fn run_guarded(
    run: impl FnOnce() -> Result<ToolOutput, ToolError>,
) -> Result<ToolOutput, ToolError> {
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| Err(panicked(payload)))
}

fn panicked(payload: Box<dyn Any + Send>) -> ToolError {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    ToolError::new(ErrorKind::Failed, format!("the tool panicked: {detail}"))
}

/// A tool future whose panics become `failed` errors.
struct CatchPanic<'a>(crate::ToolFuture<'a>);

impl Future for CatchPanic<'_> {
    type Output = Result<ToolOutput, ToolError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut();
        catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
            .unwrap_or_else(|payload| Poll::Ready(Err(panicked(payload))))
    }
}

fn not_found(registry: &Registry, name: &str) -> ToolError {
    ToolError::new(ErrorKind::NotFound, registry.not_found_message(name))
}

/// Waits for `future` from synchronous code: inside a tokio runtime on a
/// scoped helper thread (blocking a runtime thread would deadlock it),
/// otherwise on a shared runtime started on first need.
fn block_on<F: Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    if Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(|| shared_runtime().block_on(future))
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        })
    } else {
        shared_runtime().block_on(future)
    }
}

fn shared_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rustchain-tools")
            .enable_all()
            .build()
            .expect("the tokio runtime for blocking tool calls could not start")
    })
}
