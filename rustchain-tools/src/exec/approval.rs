//! Approval: when the policy says `ask`, a person (or a program standing in
//! for one) must answer yes before the call runs.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::mpsc;
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

/// Decides whether a call the policy marked `ask` may run.
///
/// Only an explicit yes (`"yes"` or `"y"`, any case) allows; any other
/// answer, an error, or no answer within the policy's approval timeout denies.
/// Closures `Fn(&ApprovalRequest) -> Result<String, String>` are approvers.
pub trait Approver: Send + Sync + 'static {
    /// The answer, as given; the executor records it.
    fn approve(&self, request: &ApprovalRequest) -> Result<String, String>;
}

impl<F> Approver for F
where
    F: Fn(&ApprovalRequest) -> Result<String, String> + Send + Sync + 'static,
{
    fn approve(&self, request: &ApprovalRequest) -> Result<String, String> {
        self(request)
    }
}

/// Asks on the terminal: prints the request to stderr, reads one line from stdin.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalApprover;

impl Approver for TerminalApprover {
    fn approve(&self, request: &ApprovalRequest) -> Result<String, String> {
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
        )
        .map_err(|e| e.to_string())?;
        drop(err);
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| e.to_string())?;
        Ok(answer.trim().to_owned())
    }
}

/// How an approval ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Approved(String),
    Refused(String),
}

/// Asks `approver`, waiting at most `timeout`. The approver runs on its own
/// thread so a hung prompt cannot hold the call past its deadline.
pub(crate) fn ask(
    approver: &Arc<dyn Approver>,
    request: ApprovalRequest,
    timeout: Duration,
) -> Outcome {
    let (send, receive) = mpsc::channel();
    let approver = Arc::clone(approver);
    let spawned = std::thread::Builder::new()
        .name("rustchain-approval".to_owned())
        .spawn(move || {
            let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                approver.approve(&request)
            }))
            .unwrap_or_else(|_| Err("the approver panicked".to_owned()));
            // The receiver may have given up waiting; nothing to do then.
            let _ = send.send(answer);
        });
    if let Err(err) = spawned {
        return Outcome::Refused(format!("the approver could not start: {err}"));
    }
    match receive.recv_timeout(timeout) {
        Ok(Ok(answer)) if is_yes(&answer) => Outcome::Approved(answer),
        Ok(Ok(answer)) => Outcome::Refused(format!("the approver answered {:?}", bounded(&answer))),
        Ok(Err(err)) => Outcome::Refused(format!("the approver failed: {}", bounded(&err))),
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

    #[test]
    fn only_an_explicit_yes_approves() {
        let request = ApprovalRequest {
            tool: "t".into(),
            call_id: "c".into(),
            arguments: "{}".into(),
            rule: "r".into(),
        };
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
            let approver: Arc<dyn Approver> =
                Arc::new(move |_: &ApprovalRequest| Ok(owned.clone()));
            let outcome = ask(&approver, request.clone(), Duration::from_secs(5));
            assert_eq!(
                matches!(outcome, Outcome::Approved(_)),
                approved,
                "{answer:?}"
            );
        }
    }

    #[test]
    fn an_error_a_panic_or_silence_refuses() {
        let request = ApprovalRequest {
            tool: "t".into(),
            call_id: "c".into(),
            arguments: "{}".into(),
            rule: "r".into(),
        };
        let failing: Arc<dyn Approver> = Arc::new(|_: &ApprovalRequest| Err("boom".to_owned()));
        assert!(
            matches!(ask(&failing, request.clone(), Duration::from_secs(5)), Outcome::Refused(m) if m.contains("boom"))
        );
        let panicking: Arc<dyn Approver> =
            Arc::new(|_: &ApprovalRequest| -> Result<String, String> { panic!("approver bug") });
        assert!(
            matches!(ask(&panicking, request.clone(), Duration::from_secs(5)), Outcome::Refused(m) if m.contains("panicked"))
        );
        let slow: Arc<dyn Approver> = Arc::new(|_: &ApprovalRequest| {
            std::thread::sleep(Duration::from_secs(2));
            Ok("yes".to_owned())
        });
        assert!(
            matches!(ask(&slow, request, Duration::from_millis(50)), Outcome::Refused(m) if m.contains("no answer"))
        );
    }
}
