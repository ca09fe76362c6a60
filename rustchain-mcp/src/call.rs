//! `tools/call`: one call through the executor, and its result as MCP wants it.
//!
//! The request becomes the call's context: its cancellation token (which
//! `notifications/cancelled` fires), a progress relay when the client sent a
//! progress token, and the caller (client name, request id) the audit trail
//! records. A tool's failure, a policy's denial and invalid arguments are
//! results with `isError: true` and the runtime's message, which tells a
//! model what to change; only an unknown tool is a protocol error.

use std::sync::{Arc, Mutex, PoisonError};

use rmcp::model::{
    CallToolResult, ContentBlock, ErrorData, ProgressNotificationParam, ProgressToken,
};
use rmcp::service::{Peer, RoleServer};
use rustchain_tools::{Caller, ErrorKind, Progress, ProgressSink, ToolError, ToolOutput};
use serde_json::json;
use tokio::sync::mpsc;

use crate::listing::WRAPPED_RESULT;

/// A finished call as an MCP result, or the protocol error for an unknown
/// tool. `wrap` puts the output in `{"result": ...}` for revisions that
/// want an object (the tool's listed output schema says the same).
pub(crate) fn result(
    name: &str,
    outcome: Result<ToolOutput, ToolError>,
    wrap: bool,
) -> Result<CallToolResult, ErrorData> {
    match outcome {
        Ok(output) => Ok(success(output, wrap)),
        Err(error) if error.kind() == ErrorKind::NotFound => Err(ErrorData::invalid_params(
            format!("unknown tool `{name}`: {}", error.message()),
            Some(json!({ "tool": name })),
        )),
        Err(error) => Ok(failure(&error)),
    }
}

/// The output as `structuredContent`, and the same JSON as text for clients
/// that read only `content`.
fn success(output: ToolOutput, wrap: bool) -> CallToolResult {
    let value = output.to_value();
    let structured = if wrap {
        json!({ WRAPPED_RESULT: value })
    } else {
        value
    };
    let mut result = CallToolResult::structured(structured);
    result.content = vec![ContentBlock::text(output.into_json())];
    result
}

/// `kind: message`, with the JSON path of a bad argument: what a model
/// needs to correct its call or to stop trying.
fn failure(error: &ToolError) -> CallToolResult {
    let mut text = format!("{}: {}", error.kind(), error.message());
    if let Some(path) = error.path() {
        text.push_str(&format!(" (at `{path}`)"));
    }
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// The caller the audit trail records: the client's name and the request id.
pub(crate) fn caller(client: Option<String>, request_id: String) -> Caller {
    Caller {
        client,
        request_id: Some(request_id),
        ..Caller::default()
    }
}

/// Sends a call's progress to the client as `notifications/progress`, in
/// order, from whatever thread the tool reports on.
///
/// The tool's thread only queues an update; one task sends them. [`close`]
/// stops taking updates and waits until the queued ones are sent, so none
/// follows the call's response.
///
/// [`close`]: ProgressRelay::close
pub(crate) struct ProgressRelay {
    queue: Arc<Queue>,
    sender: tokio::task::JoinHandle<()>,
}

/// The tool's side of the relay: `None` once the call has ended (a tool
/// that outlives its call, ignoring cancellation, reports to nobody).
struct Queue {
    open: Mutex<Option<mpsc::UnboundedSender<ProgressNotificationParam>>>,
    token: ProgressToken,
}

impl ProgressRelay {
    /// A relay for the request whose progress token is `token`.
    pub(crate) fn start(peer: Peer<RoleServer>, token: ProgressToken) -> ProgressRelay {
        let (queued, mut updates) = mpsc::unbounded_channel();
        let sender = tokio::spawn(async move {
            while let Some(update) = updates.recv().await {
                if let Err(error) = peer.notify_progress(update).await {
                    tracing::debug!(%error, "a progress notification could not be sent");
                    break;
                }
            }
        });
        ProgressRelay {
            queue: Arc::new(Queue {
                open: Mutex::new(Some(queued)),
                token,
            }),
            sender,
        }
    }

    /// The sink a tool's context reports to.
    pub(crate) fn sink(&self) -> Arc<dyn ProgressSink> {
        Arc::clone(&self.queue) as Arc<dyn ProgressSink>
    }

    /// Stops taking updates and waits until every queued one is sent.
    pub(crate) async fn close(self) {
        drop(
            self.queue
                .open
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        // The task ends when the queue is empty and closed; if it failed,
        // there is nothing left to send anyway.
        let _ = self.sender.await;
    }
}

impl ProgressSink for Queue {
    fn report(&self, _call_id: &str, progress: &Progress<'_>) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(queued) = open.as_ref() else {
            return;
        };
        // MCP counts progress as a JSON number; u64 beyond 2^53 loses digits, not order.
        let mut update = ProgressNotificationParam::new(self.token.clone(), progress.done as f64);
        if let Some(total) = progress.total {
            update = update.with_total(total as f64);
        }
        if let Some(message) = progress.message {
            update = update.with_message(message);
        }
        // Fails only once the sending task is gone: nobody listens then.
        let _ = queued.send(update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn text_of(result: &CallToolResult) -> Value {
        serde_json::to_value(&result.content).expect("content serializes")[0]["text"].clone()
    }

    #[test]
    fn an_output_is_structured_and_the_same_json_as_text() {
        let output = ToolOutput::encode(&json!({"words": 2})).expect("encodes");
        let result = result("count", Ok(output), false).expect("a result");
        assert_eq!(result.structured_content, Some(json!({"words": 2})));
        assert_eq!(text_of(&result), r#"{"words":2}"#);
        assert_eq!(result.is_error, Some(false));
    }

    #[test]
    fn a_non_object_output_is_wrapped_only_when_asked() {
        let output = || ToolOutput::encode(&[1, 2]).expect("encodes");
        let wrapped = result("list", Ok(output()), true).expect("a result");
        assert_eq!(wrapped.structured_content, Some(json!({"result": [1, 2]})));
        assert_eq!(
            text_of(&wrapped),
            "[1,2]",
            "the text is the tool's own JSON"
        );
        let bare = result("list", Ok(output()), false).expect("a result");
        assert_eq!(bare.structured_content, Some(json!([1, 2])));
    }

    #[test]
    fn failures_are_results_a_model_can_read_and_unknown_tools_are_protocol_errors() {
        let bad = ToolError::invalid_argument("count", "expected an integer");
        let result_of_bad = result("t", Err(bad), false).expect("a result, not a protocol error");
        assert_eq!(result_of_bad.is_error, Some(true));
        assert_eq!(
            text_of(&result_of_bad),
            "invalid_arguments: expected an integer (at `count`)"
        );
        let denied = ToolError::new(ErrorKind::Denied, "the policy denies `t`");
        let text = text_of(&result("t", Err(denied), false).expect("a result"));
        assert_eq!(text, "denied: the policy denies `t`");
        let unknown = ToolError::new(ErrorKind::NotFound, "no tool named `x`");
        let error = result("x", Err(unknown), false).expect_err("a protocol error");
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert!(
            error.message.contains("unknown tool `x`"),
            "{}",
            error.message
        );
    }
}
