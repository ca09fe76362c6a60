//! The policy: one file that says which tools may run, what they may touch,
//! within which limits, and who must approve. Deny by default, fail closed.
//!
//! ```toml
//! default = "allow"            # tools no rule names: "allow" (if they declare no permissions) or "deny"
//!
//! [tools]
//! allow = ["text_*"]           # globs over tool names; deny beats ask beats allow
//! ask = ["fs_write"]
//! deny = ["cmd_*"]
//!
//! [fs]
//! read = ["./data"]            # roots, relative to this file's folder
//! write = ["./out"]
//! deny = ["secrets/**", "**/.env"]
//!
//! [net]
//! allow = ["api.example.com", "*.github.com:443", "10.0.0.0/8"]
//! deny = ["internal.example.com"]
//!
//! [[programs]]
//! path = "/usr/bin/git"
//! allow_args = ["status", "log **"] # the only argument forms (absent: any); `*` one argument, `**` the rest
//! deny_flags = ["-c", "--exec-path"]
//! helpers = ["/usr/lib/git-core/git"] # what it may execute besides itself (nothing else)
//! hosts = ["github.com:443"]   # network: none, or these hosts through the executor's proxy
//! confinement = "full"         # or "weaker": run even where the kernel cannot enforce a rule
//!
//! [env]
//! allow = ["LANG"]
//!
//! [limits]
//! timeout = "30s"
//! max_argument_bytes = 1048576
//! max_output_bytes = 1048576
//! max_concurrent = 16
//! calls_per_session = 1000
//! bytes_per_session = 100000000
//! [limits.tool.fs_read]
//! timeout = "5s"
//! rate = "10/min"
//!
//! [approval]
//! timeout = "60s"
//!
//! [audit]
//! record_args = ["text_*"]
//! redact = ["password", "token"]
//!
//! [discovery]
//! defer = true                 # MCP lists only `always` and tool_search; the rest once found
//! always = ["text_*"]
//!
//! [[examples]]                 # checked when an executor is built: a failing one refuses the policy
//! tool = "fs_read"
//! args = { path = "/etc/passwd" }
//! expect = "deny"
//! ```
//!
//! The modules follow the life of a policy: `file` is the text as written,
//! `compile` turns it into rules (every problem named by its line), and
//! deciding is done per permission kind beside its mechanics: [`path`] for
//! files, [`net`] for hosts, `programs` (with [`flags`] and [`allow_args`]) for programs, `env`
//! for variables. `linked` checks the policy against the tools a program
//! links, once, when an executor is built.

pub mod allow_args;
mod compile;
mod decision;
pub mod env;
mod error;
mod file;
pub mod flags;
mod grants;
#[cfg(target_os = "linux")]
mod landing;
mod limits;
mod linked;
pub mod net;
pub mod path;
mod programs;
#[cfg(unix)]
pub mod sandbox;
mod summary;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::GlobMatcher;

use crate::audit::Fsync;
use crate::{ArgLimits, PermissionKind};
use decision::{Refusal, shown};
use grants::Rule;
use limits::ToolOverride;

pub use decision::{Access, Decision, Verdict};
pub use error::{PolicyError, PolicyErrorKind, PolicyWarning, PolicyWarningKind};
pub use grants::{Confinement, Grants, ProgramGrant};
pub use limits::{
    Budget, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_OUTPUT_BYTES,
    MAX_CONCURRENT_LIMIT, Rate, ToolFacts, ToolLimits, parse_duration,
};

/// An inline example: a call and the verdict it must get.
#[derive(Debug, Clone)]
pub struct PolicyExample {
    /// The tool called.
    pub tool: String,
    /// Its arguments.
    pub args: serde_json::Value,
    /// The verdict it must get.
    pub expect: Verdict,
    /// Where the example is written.
    pub line: usize,
}

/// A `[tools]` rule: a glob over tool names and the verdict it gives.
#[derive(Debug, Clone)]
struct ToolRule {
    verdict: Verdict,
    glob: GlobMatcher,
    /// The glob's text when it has no metacharacter: it then matches that
    /// one name, and a string comparison says so without the glob engine.
    exact: Option<Box<str>>,
    rule: Rule,
}

impl ToolRule {
    fn new(verdict: Verdict, glob: GlobMatcher, rule: Rule) -> ToolRule {
        let text = glob.glob().glob();
        // globset's syntax: `*`, `?`, `[..]`, `{..}` and the `\\` escape.
        let literal = !text.contains(['*', '?', '[', ']', '{', '}', '\\']);
        ToolRule {
            verdict,
            exact: literal.then(|| text.into()),
            glob,
            rule,
        }
    }

    fn matches(&self, name: &str) -> bool {
        match &self.exact {
            Some(exact) => **exact == *name,
            None => self.glob.is_match(name),
        }
    }
}

/// Which rule of a [`Policy`] decides whether a tool may run, and its
/// verdict: a [`Decision`] without its words, cheap to keep for every call
/// (see [`Policy::rule_tool`]). Meaningful only with the policy that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ToolRuling {
    /// Allow, ask or deny.
    pub(crate) verdict: Verdict,
    by: RuledBy,
}

/// What gave a [`ToolRuling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuledBy {
    /// The `[tools]` rule at this index of `Policy::tool_rules`.
    ToolRule(usize),
    /// `default = "deny"`, no rule naming the tool.
    DefaultDeny,
    /// No policy rule: the tool may run if it declares no permissions, or
    /// where its resources are granted.
    Default { declares_permissions: bool },
}

/// A loaded, validated, immutable policy.
///
/// ```
/// use std::path::Path;
/// use rustchain_tools::policy::{Policy, Verdict};
///
/// let policy = Policy::from_toml(
///     "default = \"deny\"\n[tools]\nallow = [\"text_*\"]\n",
///     "rustchain.toml",
///     Path::new("."),
/// )
/// .unwrap();
/// assert_eq!(policy.origin(), "rustchain.toml");
/// assert_eq!(policy.summary()[0], "unnamed tools: denied");
/// # let _ = Verdict::Deny;
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    origin: String,
    default_deny: Option<Rule>,
    tool_rules: Vec<ToolRule>,
    grants: Grants,
    default_timeout: Option<Duration>,
    arg_limits: ArgLimits,
    max_output_bytes: usize,
    max_concurrent: usize,
    budget: Budget,
    tool_limits: BTreeMap<String, ToolOverride>,
    approval_timeout: Duration,
    record_args: Vec<GlobMatcher>,
    redact: Vec<String>,
    /// `[audit] fsync`: the least durability the trail is written with.
    audit_fsync: Option<Fsync>,
    /// Where each `[audit] redact` entry is written, for the linked check.
    redact_lines: BTreeMap<String, usize>,
    examples: Vec<PolicyExample>,
    discovery: Discovery,
    warnings: Vec<PolicyWarning>,
}

/// `[discovery]`: whether a front end that can defer tool definitions (the
/// MCP server) lists only the always-loaded tools plus `tool_search`, the
/// others once a search found them.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    defer: bool,
    always: Vec<GlobMatcher>,
    /// The line of each `always` glob in the policy file (`None` when given
    /// in code), for the check against the linked tools.
    always_lines: Vec<Option<usize>>,
}

impl Discovery {
    /// Deferred listing with `always` (globs over tool names) loaded from the start.
    ///
    /// ```
    /// use rustchain_tools::policy::Discovery;
    ///
    /// let discovery = Discovery::deferred(["text_*"]).expect("valid globs");
    /// assert!(discovery.defers());
    /// assert!(discovery.always_loaded("text_stats"));
    /// assert!(!discovery.always_loaded("fs_read"));
    /// ```
    ///
    /// # Errors
    /// [`PolicyErrorKind::BadGlob`] for the first glob that does not parse.
    pub fn deferred<I, S>(always: I) -> Result<Discovery, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let always: Vec<GlobMatcher> = always
            .into_iter()
            .map(|glob| {
                let glob = glob.as_ref();
                globset::Glob::new(glob)
                    .map(|glob| glob.compile_matcher())
                    .map_err(|err| {
                        PolicyError::new(
                            PolicyErrorKind::BadGlob,
                            "[discovery] always",
                            None,
                            format!("bad glob `{glob}`: {}", err.kind()),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Discovery {
            defer: true,
            always_lines: vec![None; always.len()],
            always,
        })
    }

    /// The same tools always loaded, with definitions deferred (what
    /// `mcp serve --defer` makes of the policy's `[discovery]`).
    pub fn deferring(mut self) -> Discovery {
        self.defer = true;
        self
    }

    /// Whether tool definitions are deferred (`[discovery] defer = true`).
    pub fn defers(&self) -> bool {
        self.defer
    }

    /// Whether `tool` is listed from the start when definitions are deferred.
    pub fn always_loaded(&self, tool: &str) -> bool {
        self.always.iter().any(|glob| glob.is_match(tool))
    }
}

impl Default for Policy {
    /// No policy file: no grants. Tools that declare no permissions may run;
    /// every other tool is denied.
    fn default() -> Self {
        Policy {
            origin: "<no policy file>".to_owned(),
            default_deny: None,
            tool_rules: Vec::new(),
            grants: Grants::default(),
            default_timeout: None,
            arg_limits: ArgLimits::default(),
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            budget: Budget::default(),
            tool_limits: BTreeMap::new(),
            approval_timeout: DEFAULT_APPROVAL_TIMEOUT,
            record_args: Vec::new(),
            redact: Vec::new(),
            audit_fsync: None,
            redact_lines: BTreeMap::new(),
            examples: Vec::new(),
            discovery: Discovery::default(),
            warnings: Vec::new(),
        }
    }
}

impl Policy {
    /// Loads the policy at `path`. A missing, unreadable or invalid file is an error.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| {
            PolicyError::new(
                PolicyErrorKind::Read,
                origin.clone(),
                None,
                format!("cannot read the policy: {err}"),
            )
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Policy::from_toml(&text, &origin, &base)
    }

    /// Loads the policy at `path`, or the empty policy (no grants) when there is no such file.
    pub fn load_or_default(path: &Path) -> Result<Policy, PolicyError> {
        match path.try_exists() {
            Ok(false) => Ok(Policy::default()),
            _ => Policy::load(path),
        }
    }

    /// Parses policy text; relative roots resolve against `base`.
    pub fn from_toml(text: &str, origin: &str, base: &Path) -> Result<Policy, PolicyError> {
        compile::compile(text, origin, base)
    }

    /// Where this policy came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// May this tool run at all? Resource grants are checked separately, per value.
    ///
    /// Takes a linked tool's descriptor, or the [`ToolFacts`] of any tool.
    pub fn decide_tool<'t>(&self, tool: impl Into<ToolFacts<'t>>) -> Decision {
        let tool = tool.into();
        self.explain_tool(self.rule_tool(tool), tool.name)
    }

    /// Which rule decides whether `tool` may run, without the words: what
    /// the executor keeps for every call. Allocates nothing; the words (which
    /// name the tool, so building them allocates) come from
    /// [`Policy::explain_tool`] when the decision is recorded or shown.
    pub(crate) fn rule_tool(&self, tool: ToolFacts<'_>) -> ToolRuling {
        for verdict in [Verdict::Deny, Verdict::Ask, Verdict::Allow] {
            if let Some(index) = self
                .tool_rules
                .iter()
                .position(|rule| rule.verdict == verdict && rule.matches(tool.name))
            {
                return ToolRuling {
                    verdict,
                    by: RuledBy::ToolRule(index),
                };
            }
        }
        match self.default_deny {
            Some(_) => ToolRuling {
                verdict: Verdict::Deny,
                by: RuledBy::DefaultDeny,
            },
            None => ToolRuling {
                verdict: Verdict::Allow,
                by: RuledBy::Default {
                    declares_permissions: tool.declares_permissions,
                },
            },
        }
    }

    /// The words of [`Policy::explain_tool`] (the rule, the reason), lent
    /// to `with` without allocating where the executor records them on
    /// every call: a tool rule's text is borrowed from the policy and its
    /// reason written into a buffer the thread keeps.
    pub(crate) fn with_tool_words<R>(
        &self,
        ruling: ToolRuling,
        name: &str,
        with: impl FnOnce(&str, &str) -> R,
    ) -> R {
        thread_local! {
            static REASON: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
        }
        match ruling.by {
            RuledBy::ToolRule(index) => {
                // Taken, not borrowed: should `with` come back here, it
                // finds an empty buffer instead of a borrowed one.
                let mut reason = REASON.take();
                reason.clear();
                tool_rule_reason(&mut reason, ruling.verdict, name);
                let done = with(&self.tool_rules[index].rule.text, &reason);
                REASON.set(reason);
                done
            }
            _ => {
                let decision = self.explain_tool(ruling, name);
                with(&decision.rule, &decision.reason)
            }
        }
    }

    /// The [`Decision`] a ruling of this policy stands for, for the tool named `name`.
    pub(crate) fn explain_tool(&self, ruling: ToolRuling, name: &str) -> Decision {
        let verdict = ruling.verdict;
        match ruling.by {
            RuledBy::ToolRule(index) => {
                let mut reason = String::new();
                tool_rule_reason(&mut reason, verdict, name);
                Decision {
                    verdict,
                    rule: self.tool_rules[index].rule.text.clone().into(),
                    reason: reason.into(),
                }
            }
            RuledBy::DefaultDeny => Decision::deny(
                self.default_deny
                    .as_ref()
                    .map_or_else(String::new, |rule| rule.text.clone()),
                format!(
                    "no rule allows `{name}` and unnamed tools are denied; add it to [tools] allow in {}",
                    self.origin
                ),
            ),
            RuledBy::Default {
                declares_permissions,
            } => Decision {
                verdict: Verdict::Allow,
                rule: Cow::Borrowed("default"),
                // Static text: no allocation even when it is recorded.
                reason: Cow::Borrowed(if declares_permissions {
                    "the tool may run where its resources are granted"
                } else {
                    "the tool declares no permissions"
                }),
            },
        }
    }

    /// [`Policy::decide_access`] for a caller that needs only the verdict
    /// when the value is allowed: `Ok` for an allowed value, whose decision
    /// text is never built, and the whole denying [`Decision`] otherwise.
    /// The same judgement as `decide_access` for every kind; for file paths
    /// it skips the allowing decision's text (two allocations and the path
    /// formatted), what the executor's guard check would throw away.
    ///
    /// ```
    /// use rustchain_tools::policy::Access;
    /// use rustchain_tools::{PermissionKind, Policy};
    ///
    /// let policy = Policy::from_toml("[fs]\nread = [\"/usr\"]\n", "<doc>", "/".as_ref()).unwrap();
    /// let access = |value| Access { kind: PermissionKind::FsRead, param: "path", value };
    /// assert!(policy.check_access("read", &access("/usr/a.txt")).is_ok());
    /// let denied = policy.check_access("read", &access("/etc/passwd")).unwrap_err();
    /// assert_eq!(denied, policy.decide_access("read", &access("/etc/passwd")));
    /// ```
    pub fn check_access(&self, tool: &str, access: &Access<'_>) -> Result<(), Decision> {
        let using = match access.kind {
            PermissionKind::FsRead => path::FsUse::Read,
            PermissionKind::FsWrite => path::FsUse::Write,
            _ => return self.decide_access(tool, access).allowed(),
        };
        if access.value.contains('\0') {
            return self.decide_access(tool, access).allowed();
        }
        match path::admit(&self.grants, self.origin.as_str(), using, access.value) {
            Ok(_) => Ok(()),
            Err(refusal) => Err(refused(tool, access, refusal)),
        }
    }

    /// May this value be used as declared? Allow or deny, never ask.
    pub fn decide_access(&self, tool: &str, access: &Access<'_>) -> Decision {
        let (grants, origin, value) = (&self.grants, self.origin.as_str(), access.value);
        let judged = if value.contains('\0') {
            Err(Refusal::new("input", "it contains a NUL byte"))
        } else {
            match access.kind {
                PermissionKind::FsRead => path::decide(grants, origin, path::FsUse::Read, value),
                PermissionKind::FsWrite => path::decide(grants, origin, path::FsUse::Write, value),
                PermissionKind::Net => net::decide(grants, origin, value),
                PermissionKind::Run => programs::decide(grants, origin, value),
                // Arguments are judged against the program they go to: see `decide_program_args`.
                PermissionKind::RunArgs => Err(Refusal::new(
                    "programs",
                    "arguments need the program they are for",
                )),
                PermissionKind::Env => env::decide(grants, origin, value),
                // A kind newer than this policy engine: nothing grants it.
                _ => Err(Refusal::new(
                    "default",
                    "this kind of permission is unknown to the policy",
                )),
            }
        };
        judged.unwrap_or_else(|refusal| refused(tool, access, refusal))
    }

    /// May `args` (the values of a `#[run(args)]` parameter) be passed to
    /// `program` (a value its `#[run]` guard granted)? Refused when one of
    /// them carries a flag the policy denies for that program.
    pub fn decide_program_args(
        &self,
        tool: &str,
        program: &str,
        param: &str,
        args: &[String],
    ) -> Decision {
        programs::decide_args(&self.grants, tool, program, param, args)
    }

    /// What the policy grants, for tools to confine themselves with.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// Bounds on argument text.
    pub fn arg_limits(&self) -> ArgLimits {
        self.arg_limits
    }

    /// The effective limits of `tool` (a linked tool's descriptor, or the
    /// [`ToolFacts`] of any tool).
    pub fn limits_for<'t>(&self, tool: impl Into<ToolFacts<'t>>) -> ToolLimits {
        let tool = tool.into();
        let own = self.tool_limits.get(tool.name).copied().unwrap_or_default();
        ToolLimits {
            timeout: own.timeout.or(tool.timeout).or(self.default_timeout),
            max_output_bytes: own.max_output_bytes.unwrap_or(self.max_output_bytes),
            rate: own.rate,
        }
    }

    /// Most calls running at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The session budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// How long an approver has to answer.
    pub fn approval_timeout(&self) -> Duration {
        self.approval_timeout
    }

    /// `[audit] fsync`, if the file sets it: the trail is written at least
    /// this durably, whatever a front end asks (see [`Fsync::at_least`]).
    pub fn audit_fsync(&self) -> Option<Fsync> {
        self.audit_fsync
    }

    /// Whether `tool`'s arguments are recorded in full in the audit trail.
    pub fn records_args(&self, tool: &str) -> bool {
        self.record_args.iter().any(|glob| glob.is_match(tool))
    }

    /// Argument fields redacted wherever they appear before recording.
    pub fn redacted_fields(&self) -> &[String] {
        &self.redact
    }

    /// The inline examples, to be checked against the linked tools.
    pub fn examples(&self) -> &[PolicyExample] {
        &self.examples
    }

    /// `[discovery]`: whether tool definitions are deferred, and which are not.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// What deserves a look but does not refuse the policy, for the caller
    /// to print: filled in when an executor is built over the linked tools
    /// (an inline example for a tool this program does not link, say).
    pub fn warnings(&self) -> &[PolicyWarning] {
        &self.warnings
    }
}

/// The denying decision for `access` that `refusal` stands for.
fn refused(tool: &str, access: &Access<'_>, refusal: Refusal) -> Decision {
    Decision::deny(
        refusal.rule,
        format!(
            "`{tool}` may not use `{}` = {:?}: {}",
            access.param,
            shown(access.value),
            refusal.reason
        ),
    )
}

/// Why a tool rule decided as it did, naming the tool.
fn tool_rule_reason(out: &mut String, verdict: Verdict, name: &str) {
    let (before, after) = match verdict {
        Verdict::Deny => ("the policy denies `", "`"),
        Verdict::Ask => ("the policy asks a person to approve each call to `", "`"),
        Verdict::Allow => ("the policy allows `", "`"),
    };
    out.push_str(before);
    out.push_str(name);
    out.push_str(after);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lent_words_of_a_tool_decision_are_those_explain_tool_gives() {
        let policy = Policy::from_toml(
            "default = \"deny\"\n[tools]\nallow = [\"add*\"]\nask = [\"addq\"]\ndeny = [\"addx\"]\n",
            "words.toml",
            Path::new("."),
        )
        .expect("a valid policy");
        let open = Policy::from_toml("", "open.toml", Path::new(".")).expect("a valid policy");
        for policy in [&policy, &open] {
            for name in ["add", "addq", "addx", "other", "add `quoted`"] {
                for declares_permissions in [false, true] {
                    let ruling = policy.rule_tool(ToolFacts {
                        name,
                        declares_permissions,
                        timeout: None,
                    });
                    let decision = policy.explain_tool(ruling, name);
                    // Twice: the second finds the first's buffer.
                    for _ in 0..2 {
                        policy.with_tool_words(ruling, name, |rule, reason| {
                            assert_eq!((rule, reason), (&*decision.rule, &*decision.reason));
                        });
                    }
                }
            }
        }
    }

    fn facts(name: &str) -> ToolFacts<'_> {
        ToolFacts {
            name,
            declares_permissions: false,
            timeout: None,
        }
    }

    #[test]
    fn a_rule_without_metacharacters_matches_its_name_only() {
        let policy = Policy::from_toml(
            "default = \"deny\"\n[tools]\nallow = [\"add\", \"text_*\", \"a-b.c\"]\n",
            "<test>",
            Path::new("."),
        )
        .expect("a valid policy");
        let exact: Vec<bool> = policy
            .tool_rules
            .iter()
            .map(|r| r.exact.is_some())
            .collect();
        assert_eq!(exact, [true, false, true], "only the glob goes to globset");
        for (name, allowed) in [
            ("add", true),
            ("addx", false),
            ("ad", false),
            ("Add", false),
            ("a-b.c", true),
            ("a-b_c", false),
            ("text_stats", true),
        ] {
            let verdict = policy.decide_tool(facts(name)).verdict;
            assert_eq!(verdict == Verdict::Allow, allowed, "{name}");
            // The string comparison says what the glob says.
            let by_glob = policy
                .tool_rules
                .iter()
                .any(|rule| rule.glob.is_match(name));
            assert_eq!(by_glob, allowed, "{name}");
        }
    }
}
