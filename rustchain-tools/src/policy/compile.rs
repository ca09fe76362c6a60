//! Compiling the file as written into a [`Policy`]: every value checked,
//! every grant paired with its rule, every problem named by its line.
//!
//! Checks that need the linked tools (a `[limits.tool.NAME]` naming no tool,
//! an `[audit] redact` entry no tool could receive, the inline examples) run
//! later, when an executor is built: see [`linked`](super::linked).

use std::collections::BTreeMap;

use crate::audit::Fsync;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobMatcher};
use toml::Spanned;

use super::allow_args::{AllowArgs, ArgPattern};
use super::decision::Verdict;
use super::error::{PolicyError, PolicyErrorKind, PolicyWarning, PolicyWarningKind};
use super::file::{self, PolicyFile};
use super::grants::{Confinement, Grant, Granted, Grants, Rule, Views};
use super::limits::{
    Budget, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_OUTPUT_BYTES,
    MAX_CONCURRENT_LIMIT, ToolOverride, parse_duration, parse_rate,
};
use super::net::HostPattern;
use super::path::{self, PathDeny};
use super::{Discovery, Policy, PolicyExample, ToolRule, env, programs};
use crate::ArgLimits;

use PolicyErrorKind as Kind;

/// Parses `text` and compiles it; relative roots resolve against `base`.
pub(super) fn compile(text: &str, origin: &str, base: &Path) -> Result<Policy, PolicyError> {
    let file: PolicyFile = toml::from_str(text).map_err(|err| {
        // serde words every unknown key the same way, whichever table holds it.
        let kind = if err.message().starts_with("unknown field") {
            Kind::UnknownKey
        } else {
            Kind::Syntax
        };
        PolicyError::new(
            kind,
            origin,
            err.span().map(|span| line_of(text, span.start)),
            err.message(),
        )
    })?;
    Compiler { text, origin, base }.compile(file)
}

/// The 1-based line holding byte `offset` of `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Whether `name` could be a tool's name: `^[A-Za-z][A-Za-z0-9_-]{0,63}$`.
pub(super) fn is_tool_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.len() <= 64
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

struct Compiler<'a> {
    text: &'a str,
    origin: &'a str,
    base: &'a Path,
}

impl Compiler<'_> {
    fn line(&self, value: &Spanned<impl Sized>) -> usize {
        line_of(self.text, value.span().start)
    }

    fn error<T>(
        &self,
        kind: PolicyErrorKind,
        at: &Spanned<impl Sized>,
        message: impl Into<String>,
    ) -> Result<T, PolicyError> {
        Err(PolicyError::new(
            kind,
            self.origin,
            Some(self.line(at)),
            message,
        ))
    }

    fn rule(&self, table: &str, value: &Spanned<String>) -> Rule {
        Rule {
            text: format!(
                "{table} {:?} ({}:{})",
                value.get_ref(),
                self.origin,
                self.line(value)
            ),
        }
    }

    fn duration(&self, value: Option<&Spanned<String>>) -> Result<Option<Duration>, PolicyError> {
        let Some(text) = value else {
            return Ok(None);
        };
        match parse_duration(text.get_ref()) {
            Some(duration) => Ok(Some(duration)),
            None => self.error(
                Kind::BadDuration,
                text,
                format!(
                    "`{}` is not a duration; write a positive whole number with a unit, or several: \"500ms\", \"30s\", \"5m\", \"1h 30m\"",
                    text.get_ref()
                ),
            ),
        }
    }

    fn glob(&self, value: &Spanned<String>) -> Result<GlobMatcher, PolicyError> {
        match Glob::new(value.get_ref()) {
            Ok(glob) => Ok(glob.compile_matcher()),
            Err(err) => self.error(
                Kind::BadGlob,
                value,
                format!("bad glob `{}`: {}", value.get_ref(), err.kind()),
            ),
        }
    }

    fn compile(&self, file: PolicyFile) -> Result<Policy, PolicyError> {
        let limits = &file.limits;
        let defaults = ArgLimits::default();
        let redact = self.redact(&file.audit.redact)?;
        let grants = self.grants(&file)?;
        let warnings = self.unreachable_denies(&file.fs.deny, &grants);
        Ok(Policy {
            origin: self.origin.to_owned(),
            default_deny: self.default(file.default.as_ref())?,
            tool_rules: self.tool_rules(&file.tools)?,
            grants,
            default_timeout: self.duration(limits.timeout.as_ref())?,
            arg_limits: ArgLimits {
                max_bytes: limits.max_argument_bytes.unwrap_or(defaults.max_bytes),
                max_depth: limits.max_depth.unwrap_or(defaults.max_depth),
            },
            max_output_bytes: limits.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES),
            max_concurrent: self.max_concurrent(limits.max_concurrent.as_ref())?,
            budget: Budget {
                calls: limits.calls_per_session,
                bytes: limits.bytes_per_session,
            },
            tool_limits: self.tool_limits(&limits.tool)?,
            approval_timeout: self
                .duration(file.approval.timeout.as_ref())?
                .unwrap_or(DEFAULT_APPROVAL_TIMEOUT),
            record_args: file
                .audit
                .record_args
                .iter()
                .map(|glob| self.glob(glob))
                .collect::<Result<_, _>>()?,
            audit_fsync: self.fsync(file.audit.fsync.as_ref())?,
            redact_lines: redact.iter().rev().cloned().collect(),
            redact: redact.into_iter().map(|(field, _)| field).collect(),
            examples: self.examples(&file.examples)?,
            discovery: Discovery {
                defer: file.discovery.defer,
                always: file
                    .discovery
                    .always
                    .iter()
                    .map(|glob| self.glob(glob))
                    .collect::<Result<_, _>>()?,
                always_lines: file
                    .discovery
                    .always
                    .iter()
                    .map(|glob| Some(self.line(glob)))
                    .collect(),
            },
            warnings,
        })
    }

    /// A warning for each relative deny glob that can never match: it is
    /// anchored at the policy's folder, and that folder is neither inside
    /// a granted root nor holds one, so no path a tool or a program may
    /// touch lies under it (the glob was likely written for another folder).
    fn unreachable_denies(&self, globs: &[Spanned<String>], grants: &Grants) -> Vec<PolicyWarning> {
        let anchor = grants.fs_deny().base();
        let roots: Vec<&Path> = grants
            .fs_read_roots()
            .iter()
            .chain(grants.fs_write_roots())
            .map(PathBuf::as_path)
            .collect();
        if roots.is_empty()
            || roots
                .iter()
                .any(|root| anchor.starts_with(root) || root.starts_with(anchor))
        {
            return Vec::new();
        }
        let shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        globs
            .iter()
            .filter(|glob| !Path::new(glob.get_ref()).is_absolute())
            .map(|glob| PolicyWarning {
                kind: PolicyWarningKind::UnreachableDeny,
                origin: self.origin.to_owned(),
                line: Some(self.line(glob)),
                message: format!(
                    "fs.deny {:?} is relative, so it is anchored at the policy's folder {}, which lies outside every granted root ({}): it can never match; make it absolute, or relative to this folder",
                    glob.get_ref(),
                    anchor.display(),
                    shown.join(", ")
                ),
            })
            .collect()
    }

    fn default(&self, default: Option<&Spanned<String>>) -> Result<Option<Rule>, PolicyError> {
        let Some(default) = default else {
            return Ok(None);
        };
        match default.get_ref().as_str() {
            "allow" => Ok(None),
            "deny" => Ok(Some(self.rule("default", default))),
            other => self.error(
                Kind::BadValue,
                default,
                format!("`default` is \"allow\" or \"deny\", not {other:?}"),
            ),
        }
    }

    fn tool_rules(&self, tools: &file::ToolRules) -> Result<Vec<ToolRule>, PolicyError> {
        let mut rules = Vec::new();
        for (verdict, globs, table) in [
            (Verdict::Deny, &tools.deny, "tools.deny"),
            (Verdict::Ask, &tools.ask, "tools.ask"),
            (Verdict::Allow, &tools.allow, "tools.allow"),
        ] {
            for value in globs {
                rules.push(ToolRule::new(
                    verdict,
                    self.glob(value)?,
                    self.rule(table, value),
                ));
            }
        }
        Ok(rules)
    }

    /// Every grant, paired with its rule, in the order of the file's tables.
    fn grants(&self, file: &PolicyFile) -> Result<Grants, PolicyError> {
        let mut granted = Vec::new();
        let mut grant = |grant: Grant, rule: Rule| granted.push(Granted { grant, rule });
        for (table, values) in [("fs.read", &file.fs.read), ("fs.write", &file.fs.write)] {
            for value in values {
                let root = self.root(value)?;
                let root = if table == "fs.read" {
                    Grant::FsRead(root)
                } else {
                    Grant::FsWrite(root)
                };
                grant(root, self.rule(table, value));
            }
        }
        let fs_deny = PathDeny::new(file.fs.deny.iter().map(|v| v.get_ref().as_str()), self.base)
            .or_else(|(index, message)| match file.fs.deny.get(index) {
            Some(value) => self.error(Kind::BadGlob, value, message),
            None => Err(PolicyError::new(Kind::BadGlob, self.origin, None, message)),
        })?;
        for value in &file.fs.deny {
            grant(
                Grant::FsDeny(value.get_ref().clone()),
                self.rule("fs.deny", value),
            );
        }
        for value in &file.net.allow {
            grant(
                Grant::NetAllow(self.host(value)?),
                self.rule("net.allow", value),
            );
        }
        for value in &file.net.deny {
            grant(
                Grant::NetDeny(self.host(value)?),
                self.rule("net.deny", value),
            );
        }
        // Only the first entry for a path would ever be consulted, so a
        // second one (its flags, forms and hosts) would be silently ignored.
        let mut programs: BTreeMap<PathBuf, usize> = BTreeMap::new();
        for program in &file.programs {
            let compiled = self.program(program)?;
            if let Some(first) = programs.insert(compiled.path.clone(), self.line(&program.path)) {
                return self.error(
                    Kind::BadValue,
                    &program.path,
                    format!(
                        "`{}` is already granted by the [[programs]] entry at line {first}; only one entry can apply to a program, so merge the two",
                        compiled.path.display()
                    ),
                );
            }
            grant(
                Grant::Program(compiled),
                self.rule("programs", &program.path),
            );
        }
        for name in &file.env.allow {
            if !env::is_variable_name(name.get_ref()) {
                return self.error(
                    Kind::BadValue,
                    name,
                    format!("`{}` is not an environment variable name", name.get_ref()),
                );
            }
            grant(
                Grant::Env(name.get_ref().clone()),
                self.rule("env.allow", name),
            );
        }
        Ok(Grants {
            base: self.base.to_path_buf(),
            views: Views::of(&granted),
            granted,
            fs_deny,
            http: file.net.http,
        })
    }

    fn root(&self, value: &Spanned<String>) -> Result<std::path::PathBuf, PolicyError> {
        let text = value.get_ref();
        if text.is_empty() || text.contains('\0') {
            return self.error(Kind::BadPath, value, "a root must be a non-empty path");
        }
        match path::resolve(Path::new(text), self.base) {
            Some(root) => Ok(root),
            None => self.error(
                Kind::BadPath,
                value,
                format!("the root `{text}` goes through a loop of symbolic links"),
            ),
        }
    }

    fn host(&self, value: &Spanned<String>) -> Result<HostPattern, PolicyError> {
        HostPattern::parse(value.get_ref()).or_else(|err| {
            self.error(
                Kind::BadHost,
                value,
                format!("bad host `{}`: {err}", value.get_ref()),
            )
        })
    }

    fn program(
        &self,
        program: &file::ProgramGrant,
    ) -> Result<super::grants::ProgramGrant, PolicyError> {
        let path = program.path.get_ref();
        if !programs::is_program_path(path) {
            return self.error(
                Kind::BadPath,
                &program.path,
                format!("`{path}` is not an absolute path; programs are named by absolute path"),
            );
        }
        let mut deny_flags = Vec::new();
        for flag in &program.deny_flags {
            // An empty flag denies nothing: a rule that looks like a
            // refusal and is not one.
            if flag.get_ref().is_empty() {
                return self.error(
                    Kind::BadValue,
                    flag,
                    format!("an empty entry in the deny_flags of `{path}` denies nothing; name the flag, like \"-c\" or \"--exec-path\""),
                );
            }
            deny_flags.push(flag.get_ref().clone());
        }
        let allow_args = match &program.allow_args {
            None => None,
            Some(list) => Some(self.allow_args(path, list)?),
        };
        let mut helpers = Vec::new();
        for helper in &program.helpers {
            if !programs::is_program_path(helper.get_ref()) {
                return self.error(
                    Kind::BadPath,
                    helper,
                    format!(
                        "the helper `{}` of `{path}` is not an absolute path; helpers are named by absolute path",
                        helper.get_ref()
                    ),
                );
            }
            helpers.push(helper.get_ref().clone());
        }
        let mut hosts = Vec::new();
        for host in &program.hosts {
            self.host(host)?;
            hosts.push(host.get_ref().clone());
        }
        let confinement = match program
            .confinement
            .as_ref()
            .map(|c| (c, c.get_ref().as_str()))
        {
            None | Some((_, "full")) => Confinement::Full,
            Some((_, "weaker")) => Confinement::Weaker,
            Some((value, other)) => {
                return self.error(
                    Kind::BadValue,
                    value,
                    format!("`confinement` is \"full\" or \"weaker\", not {other:?}"),
                );
            }
        };
        Ok(programs::grant(
            Path::new(path),
            allow_args,
            deny_flags,
            &helpers,
            hosts,
            confinement,
        ))
    }

    /// A program's `allow_args`, each form parsed; a bad one names its line.
    fn allow_args(
        &self,
        path: &str,
        list: &Spanned<Vec<Spanned<String>>>,
    ) -> Result<AllowArgs, PolicyError> {
        let mut forms = Vec::new();
        for form in list.get_ref() {
            match ArgPattern::parse(form.get_ref()) {
                Ok(pattern) => forms.push(pattern),
                Err(advice) => {
                    return self.error(
                        Kind::BadValue,
                        form,
                        format!("in the allow_args of `{path}`: {advice}"),
                    );
                }
            }
        }
        Ok(AllowArgs {
            forms,
            place: format!("{}:{}", self.origin, self.line(list)),
        })
    }

    fn max_concurrent(&self, value: Option<&Spanned<usize>>) -> Result<usize, PolicyError> {
        match value {
            Some(n) if *n.get_ref() == 0 => self.error(
                Kind::BadValue,
                n,
                "limits.max_concurrent must be at least 1",
            ),
            Some(n) if *n.get_ref() > MAX_CONCURRENT_LIMIT => self.error(
                Kind::BadValue,
                n,
                format!("limits.max_concurrent is at most {MAX_CONCURRENT_LIMIT}"),
            ),
            Some(n) => Ok(*n.get_ref()),
            None => Ok(DEFAULT_MAX_CONCURRENT),
        }
    }

    /// `[limits.tool.NAME]` tables. Whether NAME is linked is checked when
    /// an executor is built; a name no tool could have is refused here.
    fn tool_limits(
        &self,
        tables: &BTreeMap<String, Spanned<file::ToolLimits>>,
    ) -> Result<BTreeMap<String, ToolOverride>, PolicyError> {
        let mut overrides = BTreeMap::new();
        for (name, table) in tables {
            if !is_tool_name(name) {
                return self.error(
                    Kind::UnknownTool,
                    table,
                    format!("[limits.tool.{name}] names no tool: tool names are a letter, then letters, digits, `_` or `-`"),
                );
            }
            let limits = table.get_ref();
            let rate = match &limits.rate {
                None => None,
                Some(text) => match parse_rate(text.get_ref()) {
                    Some(rate) => Some(rate),
                    None => {
                        return self.error(
                            Kind::BadRate,
                            text,
                            format!(
                                "`{}` is not a rate; write calls per unit: \"10/min\", \"5/s\", \"100/h\"",
                                text.get_ref()
                            ),
                        );
                    }
                },
            };
            overrides.insert(
                name.clone(),
                ToolOverride {
                    timeout: self.duration(limits.timeout.as_ref())?,
                    rate,
                    max_output_bytes: limits.max_output_bytes,
                    line: self.line(table),
                },
            );
        }
        Ok(overrides)
    }

    /// `[audit] fsync`: `never`, `every-record` or a number of records.
    fn fsync(&self, value: Option<&Spanned<toml::Value>>) -> Result<Option<Fsync>, PolicyError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let parsed = match value.get_ref() {
            toml::Value::Integer(n) => n.to_string().parse(),
            toml::Value::String(word) => word.parse(),
            other => Err(format!(
                "a {} is not an fsync setting: write \"never\", \"every-record\" or a number of records",
                other.type_str()
            )),
        };
        match parsed {
            Ok(fsync) => Ok(Some(fsync)),
            Err(message) => self.error(Kind::BadValue, value, format!("[audit] fsync: {message}")),
        }
    }

    fn redact(&self, fields: &[Spanned<String>]) -> Result<Vec<(String, usize)>, PolicyError> {
        fields
            .iter()
            .map(|field| {
                if field.get_ref().trim().is_empty() {
                    return self.error(
                        Kind::BadValue,
                        field,
                        "an empty [audit] redact entry redacts nothing; name an argument field, like \"password\"",
                    );
                }
                Ok((field.get_ref().clone(), self.line(field)))
            })
            .collect()
    }

    fn examples(&self, examples: &[file::Example]) -> Result<Vec<PolicyExample>, PolicyError> {
        examples
            .iter()
            .map(|example| {
                let Some(expect) = Verdict::parse(example.expect.get_ref()) else {
                    return self.error(
                        Kind::BadValue,
                        &example.expect,
                        "`expect` is \"allow\", \"ask\" or \"deny\"",
                    );
                };
                let line = self.line(&example.tool);
                let args = serde_json::to_value(&example.args).map_err(|err| {
                    PolicyError::new(
                        Kind::BadValue,
                        self.origin,
                        Some(line),
                        format!("the example's arguments cannot be expressed as JSON: {err}"),
                    )
                })?;
                Ok(PolicyExample {
                    tool: example.tool.get_ref().clone(),
                    args,
                    expect,
                    line,
                })
            })
            .collect()
    }
}
