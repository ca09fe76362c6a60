//! What a policy grants: one list of granted rules, each with the place it
//! was written, and the views tools read to confine themselves.

use std::path::{Path, PathBuf};

use super::allow_args::AllowArgs;
use super::net::{HostPattern, NetTarget};
use super::path::PathDeny;

/// A rule as written, with its place: `fs.read "data" (rustchain.toml:12)`.
/// Every decision names one, so a person can find the line that made it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Rule {
    pub(crate) text: String,
}

/// One grant of the file.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    /// `[fs] read`: a root (canonical) a `#[fs(read)]` value may be under.
    FsRead(PathBuf),
    /// `[fs] write`: a root (canonical) a `#[fs(write)]` value may be under.
    FsWrite(PathBuf),
    /// `[fs] deny`: a glob, as written, no path may match.
    FsDeny(String),
    /// `[net] allow`.
    NetAllow(HostPattern),
    /// `[net] deny`, which beats every allow.
    NetDeny(HostPattern),
    /// `[[programs]]`.
    Program(ProgramGrant),
    /// `[env] allow`: a variable name.
    Env(String),
}

/// A grant and the rule that made it, kept together so a decision can never
/// name the line of another grant.
#[derive(Debug, Clone)]
pub(crate) struct Granted {
    pub(crate) grant: Grant,
    pub(crate) rule: Rule,
}

/// A program a `#[run]` value may name, the argument forms it may be
/// given, and the flags it may not be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramGrant {
    /// The program's absolute path.
    pub path: PathBuf,
    /// The only argument forms it may be given (`allow_args`); `None`: any.
    pub allow_args: Option<AllowArgs>,
    /// Flags refused in its arguments (`-c`, `--exec-path`...).
    pub deny_flags: Vec<String>,
    /// Other programs it may start, by absolute path (`helpers`): the
    /// sandbox lets the program execute these and nothing else.
    pub helpers: Vec<PathBuf>,
    /// Hosts it may reach (`hosts`), as written; empty means no network.
    pub hosts: Vec<String>,
    /// Whether it may run where the kernel cannot confine it fully.
    pub confinement: Confinement,
}

/// How strictly a granted program must be confined (`confinement` in its
/// `[[programs]]` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Confinement {
    /// Run only where every rule of the policy is enforced by the kernel;
    /// otherwise refuse to start it (the default).
    #[default]
    Full,
    /// Accept weaker confinement where the kernel cannot enforce a rule
    /// (`confinement = "weaker"`): the policy summary and the security scan say so.
    Weaker,
}

impl Confinement {
    /// The word written in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Confinement::Full => "full",
            Confinement::Weaker => "weaker",
        }
    }
}

/// What a policy grants, readable by tools through their context so they
/// never re-derive policy (the built-in file tools open only these roots).
///
/// ```
/// use std::path::Path;
/// use rustchain_tools::Policy;
///
/// let policy = Policy::from_toml("[env]\nallow = [\"LANG\"]\n", "rustchain.toml", Path::new("/srv"))
///     .unwrap();
/// assert_eq!(policy.grants().env(), ["LANG"]);
/// assert!(policy.grants().fs_read_roots().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub(super) base: PathBuf,
    /// Every grant in the order written; decisions read only this.
    pub(super) granted: Vec<Granted>,
    /// The `[fs] deny` globs compiled into one matcher.
    pub(super) fs_deny: PathDeny,
    pub(super) http: bool,
    /// Borrowable copies of the grants, for tools that confine themselves
    /// (capability roots, a sandbox's rules). Built once from `granted`.
    pub(super) views: Views,
}

/// The grants as the slices tools take.
#[derive(Debug, Clone, Default)]
pub(super) struct Views {
    fs_read: Vec<PathBuf>,
    fs_write: Vec<PathBuf>,
    programs: Vec<ProgramGrant>,
    env: Vec<String>,
}

impl Views {
    pub(super) fn of(granted: &[Granted]) -> Views {
        let mut views = Views::default();
        for granted in granted {
            match &granted.grant {
                Grant::FsRead(root) => views.fs_read.push(root.clone()),
                Grant::FsWrite(root) => views.fs_write.push(root.clone()),
                Grant::Program(program) => views.programs.push(program.clone()),
                Grant::Env(name) => views.env.push(name.clone()),
                Grant::FsDeny(_) | Grant::NetAllow(_) | Grant::NetDeny(_) => {}
            }
        }
        views
    }
}

impl Grants {
    /// What the policy grants the call `ctx` belongs to: the roots it may
    /// open, the hosts, programs and variables it may use. Empty outside an
    /// executor.
    ///
    /// ```
    /// use rustchain_tools::{ToolContext, policy::Grants};
    /// assert!(Grants::of(&ToolContext::new()).fs_read_roots().is_empty());
    /// ```
    pub fn of(ctx: &crate::ToolContext) -> &Grants {
        static NONE: std::sync::LazyLock<Grants> = std::sync::LazyLock::new(Grants::default);
        ctx.__control()
            .and_then(|control| control.as_any().downcast_ref::<crate::exec::CallGate>())
            .map_or(&NONE, |gate| gate.grants())
    }

    /// Roots a tool may read under (canonical paths).
    pub fn fs_read_roots(&self) -> &[PathBuf] {
        &self.views.fs_read
    }

    /// Roots a tool may write under (canonical paths).
    pub fn fs_write_roots(&self) -> &[PathBuf] {
        &self.views.fs_write
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
        &self.views.programs
    }

    /// The environment variables a tool may read or pass on.
    pub fn env(&self) -> &[String] {
        &self.views.env
    }

    /// Whether `target` is granted (and not denied): for tools that resolve
    /// and connect themselves, to recheck every address.
    pub fn allows_host(&self, target: &NetTarget) -> bool {
        self.net_deny(target).is_none() && self.net_allow(target).is_some()
    }

    /// The `[net] deny` entry covering `target`, as written, if one does.
    /// A client checks each address a granted name resolves to with it, so
    /// a deny of an address range holds whatever name leads there.
    pub fn net_denial(&self, target: &NetTarget) -> Option<&str> {
        self.net_deny(target).map(|rule| &*rule.text)
    }

    /// The folder relative roots were resolved against.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Every grant with its rule, in the order written.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Grant, &Rule)> {
        self.granted.iter().map(|g| (&g.grant, &g.rule))
    }

    /// The first `[net] deny` entry covering `target`.
    pub(super) fn net_deny(&self, target: &NetTarget) -> Option<&Rule> {
        self.iter().find_map(|(grant, rule)| match grant {
            Grant::NetDeny(pattern) if pattern.matches(target) => Some(rule),
            _ => None,
        })
    }

    /// The first `[net] allow` entry covering `target`.
    pub(super) fn net_allow(&self, target: &NetTarget) -> Option<&Rule> {
        self.iter().find_map(|(grant, rule)| match grant {
            Grant::NetAllow(pattern) if pattern.matches(target) => Some(rule),
            _ => None,
        })
    }
}
