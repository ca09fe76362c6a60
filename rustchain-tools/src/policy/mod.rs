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
//! deny_flags = ["-c", "--exec-path"]
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
//! [[examples]]                 # checked at load: a failing one refuses the policy
//! tool = "fs_read"
//! args = { path = "/etc/passwd" }
//! expect = "deny"
//! ```

mod file;
pub mod flags;
pub mod net;
pub mod path;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobMatcher};
use toml::Spanned;

use crate::{ArgLimits, PermissionKind, ToolDescriptor};
use net::{HostPattern, NetTarget};
use path::PathDeny;

/// What the policy says about a call or a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// May run.
    Allow,
    /// May run once a person approves.
    Ask,
    /// May not run.
    Deny,
}

impl Verdict {
    fn parse(text: &str) -> Option<Verdict> {
        match text {
            "allow" => Some(Verdict::Allow),
            "ask" => Some(Verdict::Ask),
            "deny" => Some(Verdict::Deny),
            _ => None,
        }
    }

    /// `"allow"`, `"ask"` or `"deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Ask => "ask",
            Verdict::Deny => "deny",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict, the rule that gave it, and why, in words for a model or a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Allow, ask or deny.
    pub verdict: Verdict,
    /// The deciding rule, as written, with its place: `tools.deny "cmd_*" (rustchain.toml:7)`.
    pub rule: Cow<'static, str>,
    /// Why, and for a denial how to get access.
    pub reason: Cow<'static, str>,
}

/// One value a tool declared it will use, to be checked against the grants.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// What kind of resource.
    pub kind: PermissionKind,
    /// The parameter that carries it.
    pub param: &'static str,
    /// The value the model sent.
    pub value: &'a str,
}

/// A policy file that could not be loaded: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    /// The file (or `<inline>`).
    pub origin: String,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

/// What a policy grants, readable by tools through their context so they
/// never re-derive policy (the built-in file tools open only these roots).
#[derive(Debug, Clone, Default)]
pub struct Grants {
    base: PathBuf,
    fs_read: Vec<PathBuf>,
    fs_write: Vec<PathBuf>,
    fs_deny: PathDeny,
    // The rules behind each grant, in the same order, so every decision
    // names the line that made it.
    fs_read_rules: Vec<Rule>,
    fs_write_rules: Vec<Rule>,
    fs_deny_rules: Vec<(String, Rule)>,
    net_allow: Vec<(HostPattern, Rule)>,
    net_deny: Vec<(HostPattern, Rule)>,
    http: bool,
    programs: Vec<ProgramGrant>,
    program_rules: Vec<Rule>,
    env: Vec<String>,
    env_rules: Vec<Rule>,
}

/// A program a `#[run]` value may name, and the flags it may not be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramGrant {
    /// The program's absolute path.
    pub path: PathBuf,
    /// Flags refused in its arguments (`-c`, `--exec-path`...).
    pub deny_flags: Vec<String>,
}

/// The effective limits of one tool under a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolLimits {
    /// The timeout: the policy's for this tool, else the tool's own, else the policy default.
    pub timeout: Option<Duration>,
    /// Largest output accepted, in bytes of JSON.
    pub max_output_bytes: usize,
    /// At most this many calls per window.
    pub rate: Option<Rate>,
}

/// A rate limit: `calls` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many calls.
    pub calls: u32,
    /// In how long a window.
    pub per: Duration,
}

/// Session budgets: every call and every byte in or out counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Budget {
    /// Most calls in one session.
    pub calls: Option<u64>,
    /// Most argument and output bytes in one session.
    pub bytes: Option<u64>,
}

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

/// A `[limits.tool.NAME]` table: timeout, rate, output cap.
type ToolOverrides = (Option<Duration>, Option<Rate>, Option<usize>);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Rule {
    text: String,
}

#[derive(Debug, Clone)]
struct ToolRule {
    verdict: Verdict,
    glob: GlobMatcher,
    rule: Rule,
}

/// A loaded, validated, immutable policy.
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
    tool_limits: BTreeMap<String, ToolOverrides>,
    approval_timeout: Duration,
    record_args: Vec<GlobMatcher>,
    redact: Vec<String>,
    examples: Vec<PolicyExample>,
}

/// The default bound on a tool's JSON output.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;
/// The default bound on calls running at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 64;
/// The largest `max_concurrent` a policy may set (the semaphore's own bound is far larger).
pub const MAX_CONCURRENT_LIMIT: usize = 1 << 20;
/// How long an approver has, unless the policy says otherwise.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);

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
            examples: Vec::new(),
        }
    }
}

impl Policy {
    /// Loads the policy at `path`. A missing, unreadable or invalid file is an error.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| PolicyError {
            origin: origin.clone(),
            line: None,
            message: format!("cannot read the policy: {err}"),
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
        let file: file::PolicyFile = toml::from_str(text).map_err(|err| PolicyError {
            origin: origin.to_owned(),
            line: err.span().map(|span| line_of(text, span.start)),
            message: err.message().to_owned(),
        })?;
        Compiler { text, origin, base }.compile(file)
    }

    /// Where this policy came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// May this tool run at all? Resource grants are checked separately, per value.
    pub fn decide_tool(&self, tool: &ToolDescriptor) -> Decision {
        for verdict in [Verdict::Deny, Verdict::Ask, Verdict::Allow] {
            if let Some(rule) = self
                .tool_rules
                .iter()
                .find(|rule| rule.verdict == verdict && rule.glob.is_match(tool.name))
            {
                return Decision {
                    verdict,
                    rule: rule.rule.text.clone().into(),
                    reason: match verdict {
                        Verdict::Deny => format!("the policy denies `{}`", tool.name),
                        Verdict::Ask => format!(
                            "the policy asks a person to approve each call to `{}`",
                            tool.name
                        ),
                        Verdict::Allow => format!("the policy allows `{}`", tool.name),
                    }
                    .into(),
                };
            }
        }
        if let Some(rule) = &self.default_deny {
            return Decision {
                verdict: Verdict::Deny,
                rule: rule.text.clone().into(),
                reason: Cow::Owned(format!(
                    "no rule allows `{}` and unnamed tools are denied; add it to [tools] allow in {}",
                    tool.name, self.origin
                )),
            };
        }
        Decision {
            verdict: Verdict::Allow,
            rule: Cow::Borrowed("default"),
            // Static text: the common path of every call allocates nothing here.
            reason: Cow::Borrowed(if tool.permissions.is_empty() {
                "the tool declares no permissions"
            } else {
                "the tool may run where its resources are granted"
            }),
        }
    }

    /// May this value be used as declared? Allow or deny, never ask.
    pub fn decide_access(&self, tool: &str, access: &Access<'_>) -> Decision {
        let grants = &self.grants;
        let value = access.value;
        let deny = |rule: &str, reason: String| Decision {
            verdict: Verdict::Deny,
            rule: rule.to_owned().into(),
            reason: Cow::Owned(format!(
                "`{tool}` may not use `{}` = {:?}: {reason}",
                access.param,
                shown(value)
            )),
        };
        if value.contains('\0') {
            return deny("input", "it contains a NUL byte".to_owned());
        }
        match access.kind {
            PermissionKind::FsRead | PermissionKind::FsWrite => {
                let (roots, table) = if access.kind == PermissionKind::FsRead {
                    (&grants.fs_read, "read")
                } else {
                    (&grants.fs_write, "write")
                };
                if value.is_empty() {
                    return deny("input", "the path is empty".to_owned());
                }
                // A relative path is relative to the working directory, as the
                // kernel (and so every tool, built-in or not) opens it.
                let base = std::env::current_dir().unwrap_or_default();
                let Some(resolved) = path::resolve(Path::new(value), &base) else {
                    return deny(
                        "input",
                        "the path goes through too many symbolic links".to_owned(),
                    );
                };
                let rules = if access.kind == PermissionKind::FsRead {
                    &grants.fs_read_rules
                } else {
                    &grants.fs_write_rules
                };
                let Some(index) = roots.iter().position(|root| resolved.starts_with(root)) else {
                    return deny(
                        &format!("fs.{table}"),
                        format!(
                            "{} is outside every granted {table} root ({}); ask the operator to add a root under [fs] {table} in {}",
                            resolved.display(),
                            list(roots.iter().map(|r| r.display().to_string())),
                            self.origin
                        ),
                    );
                };
                if let Some(glob) = grants.fs_deny.matching(&resolved, roots) {
                    let rule = grants
                        .fs_deny_rules
                        .iter()
                        .find(|(pattern, _)| pattern == glob)
                        .map_or_else(
                            || format!("fs.deny {glob:?}"),
                            |(_, rule)| rule.text.clone(),
                        );
                    return deny(
                        &rule,
                        format!("{} matches a denied pattern", resolved.display()),
                    );
                }
                allow(
                    rules[index].text.clone(),
                    format!("{} is inside a granted root", resolved.display()),
                )
            }
            PermissionKind::Net => {
                let target = match NetTarget::parse(value) {
                    Ok(target) => target,
                    Err(err) => return deny("input", err),
                };
                if let Some((_, rule)) = grants.net_deny.iter().find(|(p, _)| p.matches(&target)) {
                    return deny(&rule.text, format!("{} is denied", target.host));
                }
                if target
                    .scheme
                    .as_deref()
                    .is_some_and(|s| s != "https" && !(s == "http" && grants.http))
                {
                    return deny(
                        "net.http",
                        format!(
                            "the scheme `{}` is not allowed; use https{}",
                            target.scheme.as_deref().unwrap_or_default(),
                            if grants.http { " or http" } else { "" }
                        ),
                    );
                }
                match grants.net_allow.iter().find(|(p, _)| p.matches(&target)) {
                    Some((_, rule)) => {
                        allow(rule.text.clone(), format!("{} is granted", target.host))
                    }
                    None => deny(
                        "net.allow",
                        format!(
                            "{}{} is not a granted host; ask the operator to add it under [net] allow in {}",
                            target.host,
                            target.port.map(|p| format!(":{p}")).unwrap_or_default(),
                            self.origin
                        ),
                    ),
                }
            }
            PermissionKind::Run => {
                let program = Path::new(value);
                if !program.is_absolute() {
                    return deny(
                        "programs",
                        "programs must be named by absolute path; no PATH lookup is done"
                            .to_owned(),
                    );
                }
                // `..` is refused rather than folded: the kernel follows a
                // symlink before applying it, so folding could name another program.
                if program
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
                {
                    return deny(
                        "programs",
                        "name the program by its plain absolute path, without `..`".to_owned(),
                    );
                }
                let normal = path::lexical_absolute(program, Path::new("/"));
                match grants.programs.iter().position(|p| p.path == normal) {
                    Some(index) => allow(
                        grants.program_rules[index].text.clone(),
                        "the program is granted".to_owned(),
                    ),
                    None => deny(
                        "programs",
                        format!(
                            "{} is not a granted program; ask the operator to add a [[programs]] entry in {}",
                            normal.display(),
                            self.origin
                        ),
                    ),
                }
            }
            // Arguments are judged against the program they go to: see `decide_program_arg`.
            PermissionKind::RunArgs => deny(
                "programs",
                "arguments need the program they are for".to_owned(),
            ),
            PermissionKind::Env => {
                if let Some(index) = grants.env.iter().position(|name| name == value) {
                    allow(
                        grants.env_rules[index].text.clone(),
                        "the variable is granted".to_owned(),
                    )
                } else {
                    deny(
                        "env.allow",
                        format!(
                            "the variable is not granted; ask the operator to add it under [env] allow in {}",
                            self.origin
                        ),
                    )
                }
            }
        }
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
        let normal = path::lexical_absolute(Path::new(program), Path::new("/"));
        let grants = &self.grants;
        let Some(index) = grants.programs.iter().position(|p| p.path == normal) else {
            return Decision {
                verdict: Verdict::Deny,
                rule: "programs".into(),
                reason: format!(
                    "`{tool}` passes `{param}` to {program:?}, which is not a granted program"
                )
                .into(),
            };
        };
        let grant = &grants.programs[index];
        if let Some(at) = args.iter().position(|arg| arg.contains('\0')) {
            return Decision {
                verdict: Verdict::Deny,
                rule: "input".into(),
                reason: format!("`{tool}` may not pass `{param}[{at}]`: it contains a NUL byte")
                    .into(),
            };
        }
        match flags::first_denied(args, &grant.deny_flags) {
            Some((at, flag)) => Decision {
                verdict: Verdict::Deny,
                rule: format!("{} deny_flags {flag:?}", grants.program_rules[index].text).into(),
                reason: format!(
                    "`{tool}` may not pass `{param}[{at}]` = {:?} to {}: the policy denies the flag {flag:?} for it",
                    shown(&args[at]),
                    grant.path.display()
                )
                .into(),
            },
            None => allow(grants.program_rules[index].text.clone(), "no argument carries a denied flag".to_owned()),
        }
    }

    /// What the policy grants, for tools to confine themselves with.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// Bounds on argument text.
    pub fn arg_limits(&self) -> ArgLimits {
        self.arg_limits
    }

    /// The effective limits of `tool`.
    pub fn limits_for(&self, tool: &ToolDescriptor) -> ToolLimits {
        let (timeout, rate, max_output) =
            self.tool_limits.get(tool.name).copied().unwrap_or_default();
        ToolLimits {
            timeout: timeout.or(tool.timeout).or(self.default_timeout),
            max_output_bytes: max_output.unwrap_or(self.max_output_bytes),
            rate,
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

    /// A short summary of the grants, one line each, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        let g = &self.grants;
        let mut lines = vec![format!(
            "unnamed tools: {}",
            if self.default_deny.is_some() {
                "denied"
            } else {
                "allowed when they declare no permissions"
            }
        )];
        for verdict in [Verdict::Allow, Verdict::Ask, Verdict::Deny] {
            let globs: Vec<String> = self
                .tool_rules
                .iter()
                .filter(|r| r.verdict == verdict)
                .map(|r| r.glob.glob().to_string())
                .collect();
            if !globs.is_empty() {
                lines.push(format!("tools {verdict}: {}", globs.join(", ")));
            }
        }
        let paths = |roots: &[PathBuf]| list(roots.iter().map(|r| r.display().to_string()));
        lines.push(format!("fs read: {}", paths(&g.fs_read)));
        lines.push(format!("fs write: {}", paths(&g.fs_write)));
        lines.push(format!(
            "net allow: {}",
            list(g.net_allow.iter().map(|(_, r)| r.text.clone()))
        ));
        lines.push(format!(
            "programs: {}",
            list(g.programs.iter().map(|p| p.path.display().to_string()))
        ));
        lines.push(format!("env: {}", list(g.env.iter().cloned())));
        lines.push(format!("examples: {}", self.examples.len()));
        lines
    }
}

impl Grants {
    /// Roots a tool may read under (canonical paths).
    pub fn fs_read_roots(&self) -> &[PathBuf] {
        &self.fs_read
    }

    /// Roots a tool may write under (canonical paths).
    pub fn fs_write_roots(&self) -> &[PathBuf] {
        &self.fs_write
    }

    /// The deny globs over paths.
    pub fn fs_deny(&self) -> &PathDeny {
        &self.fs_deny
    }

    /// Whether plain http is allowed to granted hosts.
    pub fn allows_http(&self) -> bool {
        self.http
    }

    /// The granted programs.
    pub fn programs(&self) -> &[ProgramGrant] {
        &self.programs
    }

    /// The environment variables a tool may read or pass on.
    pub fn env(&self) -> &[String] {
        &self.env
    }

    /// Whether `target` is granted (and not denied): for tools that resolve
    /// and connect themselves, to recheck every address.
    pub fn allows_host(&self, target: &NetTarget) -> bool {
        !self.net_deny.iter().any(|(p, _)| p.matches(target))
            && self.net_allow.iter().any(|(p, _)| p.matches(target))
    }

    /// The folder relative roots were resolved against.
    pub fn base(&self) -> &Path {
        &self.base
    }
}

fn allow(rule: String, reason: String) -> Decision {
    Decision {
        verdict: Verdict::Allow,
        rule: rule.into(),
        reason: reason.into(),
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn shown(value: &str) -> String {
    let mut shown: String = value.chars().take(200).collect();
    if shown.len() < value.len() {
        shown.push_str("...");
    }
    shown
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses `"500ms"`, `"30s"`, `"5m"`, `"1h"` (the grammar `#[tool(timeout)]` uses too).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number
        .checked_mul(scale)
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

/// Parses `"10/min"`, `"5/s"`, `"100/h"`.
fn parse_rate(text: &str) -> Option<Rate> {
    let (calls, per) = text.trim().split_once('/')?;
    let calls: u32 = calls.trim().parse().ok().filter(|&n| n > 0)?;
    let per = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        _ => return None,
    };
    Some(Rate { calls, per })
}

/// Turns the file as written into a [`Policy`], naming the line of every problem.
struct Compiler<'a> {
    text: &'a str,
    origin: &'a str,
    base: &'a Path,
}

impl Compiler<'_> {
    fn error<T>(&self, at: Option<usize>, message: impl Into<String>) -> Result<T, PolicyError> {
        Err(PolicyError {
            origin: self.origin.to_owned(),
            line: at.map(|offset| line_of(self.text, offset)),
            message: message.into(),
        })
    }

    fn rule(&self, table: &str, value: &Spanned<String>) -> Rule {
        Rule {
            text: format!(
                "{table} {:?} ({}:{})",
                value.get_ref(),
                self.origin,
                line_of(self.text, value.span().start)
            ),
        }
    }

    fn duration(&self, value: &Option<Spanned<String>>) -> Result<Option<Duration>, PolicyError> {
        match value {
            None => Ok(None),
            Some(text) => match parse_duration(text.get_ref()) {
                Some(duration) => Ok(Some(duration)),
                None => self.error(
                    Some(text.span().start),
                    format!("`{}` is not a duration; write a positive whole number with a unit: \"500ms\", \"30s\", \"5m\", \"1h\"", text.get_ref()),
                ),
            },
        }
    }

    fn glob(&self, value: &Spanned<String>) -> Result<GlobMatcher, PolicyError> {
        match Glob::new(value.get_ref()) {
            Ok(glob) => Ok(glob.compile_matcher()),
            Err(err) => self.error(
                Some(value.span().start),
                format!("bad glob `{}`: {}", value.get_ref(), err.kind()),
            ),
        }
    }

    fn roots(&self, values: &[Spanned<String>]) -> Result<Vec<PathBuf>, PolicyError> {
        values
            .iter()
            .map(|value| {
                let text = value.get_ref();
                if text.is_empty() || text.contains('\0') {
                    return self.error(Some(value.span().start), "a root must be a non-empty path");
                }
                match path::resolve(Path::new(text), self.base) {
                    Some(root) => Ok(root),
                    None => self.error(
                        Some(value.span().start),
                        format!("the root `{text}` goes through a loop of symbolic links"),
                    ),
                }
            })
            .collect()
    }

    fn hosts(
        &self,
        table: &str,
        values: &[Spanned<String>],
    ) -> Result<Vec<(HostPattern, Rule)>, PolicyError> {
        values
            .iter()
            .map(|value| match HostPattern::parse(value.get_ref()) {
                Ok(pattern) => Ok((pattern, self.rule(table, value))),
                Err(err) => self.error(
                    Some(value.span().start),
                    format!("bad host `{}`: {err}", value.get_ref()),
                ),
            })
            .collect()
    }

    fn compile(&self, file: file::PolicyFile) -> Result<Policy, PolicyError> {
        let mut policy = Policy {
            origin: self.origin.to_owned(),
            ..Policy::default()
        };
        if let Some(default) = &file.default {
            match default.get_ref().as_str() {
                "allow" => {}
                "deny" => policy.default_deny = Some(self.rule("default", default)),
                other => {
                    return self.error(
                        Some(default.span().start),
                        format!("`default` is \"allow\" or \"deny\", not {other:?}"),
                    );
                }
            }
        }
        for (verdict, globs, table) in [
            (Verdict::Deny, &file.tools.deny, "tools.deny"),
            (Verdict::Ask, &file.tools.ask, "tools.ask"),
            (Verdict::Allow, &file.tools.allow, "tools.allow"),
        ] {
            for value in globs {
                policy.tool_rules.push(ToolRule {
                    verdict,
                    glob: self.glob(value)?,
                    rule: self.rule(table, value),
                });
            }
        }
        let deny = PathDeny::new(file.fs.deny.iter().map(|v| v.get_ref().as_str())).or_else(
            |(index, message)| self.error(file.fs.deny.get(index).map(|v| v.span().start), message),
        )?;
        let mut programs = Vec::new();
        for program in &file.programs {
            let path = Path::new(program.path.get_ref());
            if !path.is_absolute() || program.path.get_ref().contains('\0') {
                return self.error(
                    Some(program.path.span().start),
                    format!(
                        "`{}` is not an absolute path; programs are named by absolute path",
                        program.path.get_ref()
                    ),
                );
            }
            programs.push(ProgramGrant {
                path: path::lexical_absolute(path, Path::new("/")),
                deny_flags: program
                    .deny_flags
                    .iter()
                    .map(|f| f.get_ref().clone())
                    .collect(),
            });
        }
        for name in &file.env.allow {
            if name.get_ref().is_empty() || name.get_ref().contains(['=', '\0']) {
                return self.error(
                    Some(name.span().start),
                    format!("`{}` is not an environment variable name", name.get_ref()),
                );
            }
        }
        let rules = |table: &str, values: &[Spanned<String>]| -> Vec<Rule> {
            values.iter().map(|value| self.rule(table, value)).collect()
        };
        policy.grants = Grants {
            base: self.base.to_path_buf(),
            fs_read: self.roots(&file.fs.read)?,
            fs_write: self.roots(&file.fs.write)?,
            fs_deny: deny,
            fs_read_rules: rules("fs.read", &file.fs.read),
            fs_write_rules: rules("fs.write", &file.fs.write),
            fs_deny_rules: file
                .fs
                .deny
                .iter()
                .map(|v| (v.get_ref().clone(), self.rule("fs.deny", v)))
                .collect(),
            net_allow: self.hosts("net.allow", &file.net.allow)?,
            net_deny: self.hosts("net.deny", &file.net.deny)?,
            http: file.net.http,
            programs,
            program_rules: file
                .programs
                .iter()
                .map(|p| self.rule("programs", &p.path))
                .collect(),
            env: file.env.allow.iter().map(|v| v.get_ref().clone()).collect(),
            env_rules: rules("env.allow", &file.env.allow),
        };
        let limits = &file.limits;
        policy.default_timeout = self.duration(&limits.timeout)?;
        let defaults = ArgLimits::default();
        policy.arg_limits = ArgLimits {
            max_bytes: limits.max_argument_bytes.unwrap_or(defaults.max_bytes),
            max_depth: limits.max_depth.unwrap_or(defaults.max_depth),
        };
        policy.max_output_bytes = limits.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES);
        policy.max_concurrent = match &limits.max_concurrent {
            Some(n) if *n.get_ref() == 0 => {
                return self.error(
                    Some(n.span().start),
                    "limits.max_concurrent must be at least 1",
                );
            }
            Some(n) if *n.get_ref() > MAX_CONCURRENT_LIMIT => {
                return self.error(
                    Some(n.span().start),
                    format!("limits.max_concurrent is at most {MAX_CONCURRENT_LIMIT}"),
                );
            }
            Some(n) => *n.get_ref(),
            None => DEFAULT_MAX_CONCURRENT,
        };
        policy.budget = Budget {
            calls: limits.calls_per_session,
            bytes: limits.bytes_per_session,
        };
        for (name, tool) in &limits.tool {
            let rate = match &tool.get_ref().rate {
                None => None,
                Some(text) => match parse_rate(text.get_ref()) {
                    Some(rate) => Some(rate),
                    None => return self.error(Some(text.span().start), format!("`{}` is not a rate; write calls per unit: \"10/min\", \"5/s\", \"100/h\"", text.get_ref())),
                },
            };
            let timeout = self.duration(&tool.get_ref().timeout)?;
            policy.tool_limits.insert(
                name.clone(),
                (timeout, rate, tool.get_ref().max_output_bytes),
            );
        }
        policy.approval_timeout = self
            .duration(&file.approval.timeout)?
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT);
        policy.record_args = file
            .audit
            .record_args
            .iter()
            .map(|g| self.glob(g))
            .collect::<Result<_, _>>()?;
        policy.redact = file.audit.redact.clone();
        for example in &file.examples {
            let Some(expect) = Verdict::parse(example.expect.get_ref()) else {
                return self.error(
                    Some(example.expect.span().start),
                    "`expect` is \"allow\", \"ask\" or \"deny\"",
                );
            };
            let args = serde_json::to_value(&example.args).map_err(|err| PolicyError {
                origin: self.origin.to_owned(),
                line: Some(line_of(self.text, example.tool.span().start)),
                message: format!("the example's arguments cannot be expressed as JSON: {err}"),
            })?;
            policy.examples.push(PolicyExample {
                tool: example.tool.get_ref().clone(),
                args,
                expect,
                line: line_of(self.text, example.tool.span().start),
            });
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_parse() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(
            parse_rate("10/min"),
            Some(Rate {
                calls: 10,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(parse_rate("0/min"), None);
        assert_eq!(parse_rate("10 per min"), None);
    }
}
