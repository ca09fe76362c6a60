//! Program grants: which programs a `#[run]` value may name, and which of
//! their arguments a `#[run(args)]` value may not carry (see [`super::flags`]).

use std::path::{Component, Path, PathBuf};

use super::decision::{Decision, Judged, Refusal, shown};
use super::flags;
use super::grants::{Confinement, Grant, Grants, ProgramGrant, Rule};
use super::path::lexical_absolute;

/// The `[[programs]]` entry for `program` (compared after folding `//` and `.`).
fn granted<'g>(grants: &'g Grants, program: &Path) -> Option<(&'g ProgramGrant, &'g Rule)> {
    let normal = lexical_absolute(program, Path::new("/"));
    grants.iter().find_map(|(grant, rule)| match grant {
        Grant::Program(granted) if granted.path == normal => Some((granted, rule)),
        _ => None,
    })
}

/// May a `#[run]` value be run? Only a granted program named by its plain absolute path.
pub(super) fn decide(grants: &Grants, origin: &str, value: &str) -> Judged {
    let program = Path::new(value);
    if !program.is_absolute() {
        return Err(Refusal::new(
            "programs",
            "programs must be named by absolute path; no PATH lookup is done",
        ));
    }
    // `..` is refused rather than folded: the kernel follows a symlink
    // before applying it, so folding could name another program.
    if program.components().any(|c| c == Component::ParentDir) {
        return Err(Refusal::new(
            "programs",
            "name the program by its plain absolute path, without `..`",
        ));
    }
    match granted(grants, program) {
        Some((_, rule)) => Ok(Decision::allow(rule.text.clone(), "the program is granted")),
        None => Err(Refusal::new(
            "programs",
            format!(
                "{} is not a granted program; ask the operator to add a [[programs]] entry in {origin}",
                lexical_absolute(program, Path::new("/")).display(),
            ),
        )),
    }
}

/// May `args` (the values of `param`, a `#[run(args)]` parameter of `tool`)
/// be passed to `program`? Refused when one carries a flag denied for it.
pub(super) fn decide_args(
    grants: &Grants,
    tool: &str,
    program: &str,
    param: &str,
    args: &[String],
) -> Decision {
    let Some((grant, rule)) = granted(grants, Path::new(program)) else {
        return Decision::deny(
            "programs",
            format!("`{tool}` passes `{param}` to {program:?}, which is not a granted program"),
        );
    };
    if let Some(at) = args.iter().position(|arg| arg.contains('\0')) {
        return Decision::deny(
            "input",
            format!("`{tool}` may not pass `{param}[{at}]`: it contains a NUL byte"),
        );
    }
    if let Some((at, name)) = super::env::first_code_loading_assignment(args) {
        return Decision::deny(
            "env",
            format!(
                "`{tool}` may not pass `{param}[{at}]` = {:?} to {}: it sets `{name}`, which loads code and is never passed to a program, by the environment or by arguments",
                shown(&args[at]),
                grant.path.display()
            ),
        );
    }
    match flags::first_denied(args, &grant.deny_flags) {
        Some((at, flag)) => Decision::deny(
            format!("{} deny_flags {flag:?}", rule.text),
            format!(
                "`{tool}` may not pass `{param}[{at}]` = {:?} to {}: the policy denies the flag {flag:?} for it",
                shown(&args[at]),
                grant.path.display()
            ),
        ),
        None => Decision::allow(rule.text.clone(), "no argument carries a denied flag"),
    }
}

/// The grant for a `[[programs]]` entry, once its path and flags are checked
/// (by the compiler, which knows their lines).
pub(super) fn grant(
    path: &Path,
    deny_flags: Vec<String>,
    helpers: &[String],
    hosts: Vec<String>,
    confinement: Confinement,
) -> ProgramGrant {
    ProgramGrant {
        path: lexical_absolute(path, Path::new("/")),
        deny_flags,
        helpers: helpers
            .iter()
            .map(|helper| lexical_absolute(Path::new(helper), Path::new("/")))
            .collect(),
        hosts,
        confinement,
    }
}

/// Whether `text` can name a program: absolute, without NUL bytes.
pub(super) fn is_program_path(text: &str) -> bool {
    PathBuf::from(text).is_absolute() && !text.contains('\0')
}
