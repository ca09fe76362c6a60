//! Approval: when the policy says `ask`, a person (or a program standing in
//! for one) must answer yes before the call runs.

use std::future::Future;
use std::io::{BufRead, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What an approver is shown: the tool, its full arguments with every
/// invisible or direction-changing character made visible, and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The tool to be called.
    pub tool: String,
    /// The call's id.
    pub call_id: String,
    /// The argument text, with control, zero-width and bidi characters escaped.
    pub arguments: String,
    /// The rule that asked for approval.
    pub rule: String,
}

/// Why an approver gave no answer: the prompt could not be shown, the
/// client went away, the person's channel failed. The call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApprovalError {
    message: String,
}

impl ApprovalError {
    /// An approval failure, described for the audit record and the model.
    pub fn new(message: impl Into<String>) -> Self {
        ApprovalError {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The answer an approver will give.
pub type ApprovalFuture<'a> =
    Pin<Box<dyn Future<Output = Result<String, ApprovalError>> + Send + 'a>>;

/// Decides whether a call the policy marked `ask` may run.
///
/// The answer is awaited, so a front end can ask its own client (an MCP
/// server asks through elicitation) without holding a thread. Only an
/// explicit yes (`"yes"` or `"y"`, any case) allows; any other answer, an
/// error, a panic, or no answer within the policy's approval timeout denies.
///
/// A synchronous function that answers (a prompt, a test's closure) becomes
/// an approver with [`BlockingApprover`] (or `ExecutorBuilder::approve_with`).
pub trait Approver: Send + Sync + 'static {
    /// The answer, as given; the executor records it.
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a>;
}

/// A synchronous answer function as an [`Approver`]: each request is asked
/// on a thread of its own, so a prompt that blocks (or never returns) holds
/// neither the caller nor an async runtime past the approval timeout.
pub struct BlockingApprover<F>(Arc<F>);

impl<F> BlockingApprover<F> {
    /// Asks `answer` for each request.
    pub fn new(answer: F) -> Self {
        BlockingApprover(Arc::new(answer))
    }
}

impl<F> std::fmt::Debug for BlockingApprover<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlockingApprover")
    }
}

impl<F, E> Approver for BlockingApprover<F>
where
    F: Fn(&ApprovalRequest) -> Result<String, E> + Send + Sync + 'static,
    E: std::fmt::Display,
{
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        let (send, receive) = tokio::sync::oneshot::channel();
        let answer = Arc::clone(&self.0);
        let request = request.clone();
        let spawned = std::thread::Builder::new()
            .name("rustchain-approval".to_owned())
            .spawn(move || {
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    answer(&request).map_err(|err| ApprovalError::new(err.to_string()))
                }))
                .unwrap_or_else(|_| Err(ApprovalError::new("the approver panicked")));
                // The caller may have given up waiting; nothing to do then.
                let _ = send.send(answer);
            });
        Box::pin(async move {
            spawned.map_err(|err| {
                ApprovalError::new(format!("the approver could not start: {err}"))
            })?;
            receive
                .await
                .unwrap_or_else(|_| Err(ApprovalError::new("the approver ended without answering")))
        })
    }
}

/// Asks on the terminal: prints the request to stderr, reads one line from stdin.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalApprover;

impl TerminalApprover {
    fn prompt(request: &ApprovalRequest) -> std::io::Result<String> {
        // One prompt at a time, printed and answered under one lock: with two
        // prompts outstanding, a "yes" meant for one could approve the other.
        // A reader left waiting after a timeout keeps the lock, so its late
        // answer is discarded rather than taken for the next prompt's.
        static ONE_PROMPT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _prompt = ONE_PROMPT.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "\nApprove this tool call? ({})\n  tool: {}\n  call: {}\n  arguments: {}\nType yes to allow: ",
            request.rule, request.tool, request.call_id, request.arguments
        )?;
        drop(err);
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim().to_owned())
    }
}

/// The terminal prompt, asked on a thread of its own.
type Prompt = BlockingApprover<fn(&ApprovalRequest) -> std::io::Result<String>>;

impl Approver for TerminalApprover {
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        static PROMPT: std::sync::LazyLock<Prompt> =
            std::sync::LazyLock::new(|| BlockingApprover::new(TerminalApprover::prompt));
        PROMPT.approve(request)
    }
}

/// How an approval ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Approved(String),
    Refused(String),
}

/// Asks `approver`, waiting at most `timeout`; a panic in the approver's
/// future is a refusal like any other failure.
pub(crate) async fn ask(
    approver: &dyn Approver,
    request: &ApprovalRequest,
    timeout: Duration,
) -> Outcome {
    let answer = tokio::time::timeout(timeout, super::CatchPanic(approver.approve(request))).await;
    match answer {
        Ok(Ok(Ok(answer))) if is_yes(&answer) => Outcome::Approved(answer),
        Ok(Ok(Ok(answer))) => {
            Outcome::Refused(format!("the approver answered {:?}", bounded(&answer)))
        }
        Ok(Ok(Err(err))) => {
            Outcome::Refused(format!("the approver failed: {}", bounded(err.message())))
        }
        Ok(Err(_panic)) => Outcome::Refused("the approver panicked".to_owned()),
        Err(_) => Outcome::Refused(format!("no answer within {timeout:?}")),
    }
}

fn is_yes(answer: &str) -> bool {
    let answer = answer.trim();
    answer.eq_ignore_ascii_case("yes") || answer.eq_ignore_ascii_case("y")
}

fn bounded(text: &str) -> String {
    visible(&text.chars().take(200).collect::<String>())
}

/// `text` with control, zero-width and bidi characters written as `\u{..}`,
/// so an approver sees exactly what the tool will get.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061C}'              // Arabic letter mark
            | '\u{FEFF}'              // zero-width no-break space
            | '\u{00AD}'              // soft hyphen
            | '\u{180E}'              // Mongolian vowel separator
            | '\u{E0000}'..='\u{E007F}' // tag characters
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{034F}'              // combining grapheme joiner
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}') // variation selectors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_made_visible() {
        assert_eq!(
            visible("a\u{202E}b\u{200B}c\n"),
            "a\\u{202e}b\\u{200b}c\\u{a}"
        );
        assert_eq!(visible("plain text, ünïcode"), "plain text, ünïcode");
    }

    fn request() -> ApprovalRequest {
        ApprovalRequest {
            tool: "t".into(),
            call_id: "c".into(),
            arguments: "{}".into(),
            rule: "r".into(),
        }
    }

    fn ask_now(approver: &dyn Approver, timeout: Duration) -> Outcome {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime for the test")
            .block_on(ask(approver, &request(), timeout))
    }

    #[test]
    fn only_an_explicit_yes_approves() {
        let answers: [(&str, bool); 6] = [
            ("yes", true),
            ("Y", true),
            (" YES \n", true),
            ("no", false),
            ("yes please", false),
            ("", false),
        ];
        for (answer, approved) in answers {
            let owned = answer.to_owned();
            let approver =
                BlockingApprover::new(move |_: &ApprovalRequest| Ok::<_, String>(owned.clone()));
            let outcome = ask_now(&approver, Duration::from_secs(5));
            assert_eq!(
                matches!(outcome, Outcome::Approved(_)),
                approved,
                "{answer:?}"
            );
        }
    }

    #[test]
    fn an_error_a_panic_or_silence_refuses() {
        let failing = BlockingApprover::new(|_: &ApprovalRequest| Err::<String, _>("boom"));
        assert!(
            matches!(ask_now(&failing, Duration::from_secs(5)), Outcome::Refused(m) if m.contains("boom"))
        );
        let panicking = BlockingApprover::new(|_: &ApprovalRequest| -> Result<String, String> {
            panic!("approver bug")
        });
        assert!(
            matches!(ask_now(&panicking, Duration::from_secs(5)), Outcome::Refused(m) if m.contains("panicked"))
        );
        let slow = BlockingApprover::new(|_: &ApprovalRequest| {
            std::thread::sleep(Duration::from_secs(2));
            Ok::<_, String>("yes".to_owned())
        });
        assert!(
            matches!(ask_now(&slow, Duration::from_millis(50)), Outcome::Refused(m) if m.contains("no answer"))
        );
    }

    /// An approver that is async at heart: its future panics when polled.
    struct PanicsWhenPolled;

    impl Approver for PanicsWhenPolled {
        fn approve<'a>(&'a self, _: &'a ApprovalRequest) -> ApprovalFuture<'a> {
            Box::pin(async { panic!("async approver bug") })
        }
    }

    /// An async approver that never answers.
    struct NeverAnswers;

    impl Approver for NeverAnswers {
        fn approve<'a>(&'a self, _: &'a ApprovalRequest) -> ApprovalFuture<'a> {
            Box::pin(std::future::pending())
        }
    }

    #[test]
    fn an_async_approver_that_panics_or_never_answers_refuses() {
        assert!(matches!(
            ask_now(&PanicsWhenPolled, Duration::from_secs(5)),
            Outcome::Refused(m) if m.contains("panicked")
        ));
        assert!(matches!(
            ask_now(&NeverAnswers, Duration::from_millis(20)),
            Outcome::Refused(m) if m.contains("no answer")
        ));
    }
}
