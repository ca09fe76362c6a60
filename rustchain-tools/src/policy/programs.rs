//! Program grants: which programs a `#[run]` value may name, and which of
//! their arguments a `#[run(args)]` value may not carry (see [`super::flags`]).

use std::path::{Component, Path, PathBuf};

use super::allow_args::AllowArgs;
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
/// be passed to `program`? Refused when one carries a flag denied for it,
/// or when its `allow_args` list no form that matches them all.
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
    if let Some((at, flag)) = flags::first_denied(args, &grant.deny_flags) {
        return Decision::deny(
            format!("{} deny_flags {flag:?}", rule.text),
            format!(
                "`{tool}` may not pass `{param}[{at}]` = {:?} to {}: the policy denies the flag {flag:?} for it",
                shown(&args[at]),
                grant.path.display()
            ),
        );
    }
    let Some(allowed) = &grant.allow_args else {
        return Decision::allow(rule.text.clone(), "no argument carries a denied flag");
    };
    match allowed.check(args) {
        Ok(form) => Decision::allow(
            format!(
                "{} allow_args {:?}",
                rule.text,
                form.map_or("", |form| form.as_str())
            ),
            "the arguments match an allowed form and carry no denied flag",
        ),
        Err(mismatch) => Decision::deny(
            format!("{} allow_args ({})", rule.text, allowed.place),
            format!(
                "`{tool}` may not pass `{param}` to {}: {}",
                grant.path.display(),
                allowed.explain(args, mismatch)
            ),
        ),
    }
}

/// The grant for a `[[programs]]` entry, once its path and flags are checked
/// (by the compiler, which knows their lines).
pub(super) fn grant(
    path: &Path,
    allow_args: Option<AllowArgs>,
    deny_flags: Vec<String>,
    helpers: &[String],
    hosts: Vec<String>,
    confinement: Confinement,
) -> ProgramGrant {
    ProgramGrant {
        path: lexical_absolute(path, Path::new("/")),
        allow_args,
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::policy::{Decision, Policy, PolicyErrorKind, Verdict};

    const GIT: &str = "\n[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\n  \"status\",\n  \"log **\",\n  \"show *\",\n]\ndeny_flags = [\"-c\", \"--output\"]\n";

    fn decide(policy: &str, args: &[&str]) -> Decision {
        let policy = Policy::from_toml(policy, "p.toml", Path::new("/")).expect("a valid policy");
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        policy.decide_program_args("cmd_run", "/usr/bin/git", "args", &args)
    }

    #[test]
    fn arguments_outside_every_form_are_denied_naming_the_allow_args_line() {
        for args in [
            &[][..],
            &["push"],
            &["status", "--porcelain"],
            &["status; rm -rf /"],
            &["status", "--exec=id"],
            &["-C", "/", "status"],
            &["--", "status"],
            &["STATUS"],
            &["st\u{0430}tus"], // Cyrillic `а`
            &["status "],
            &["show"],
            &["show", "a", "b"],
        ] {
            let decision = decide(GIT, args);
            assert_eq!(decision.verdict, Verdict::Deny, "{args:?}: {decision:?}");
            assert_eq!(
                decision.rule, "programs \"/usr/bin/git\" (p.toml:3) allow_args (p.toml:4)",
                "{args:?}"
            );
            assert!(
                decision.reason.contains("allowed argument form"),
                "{decision:?}"
            );
        }
    }

    #[test]
    fn arguments_a_form_matches_are_allowed_naming_that_form() {
        for (args, form) in [
            (&["status"][..], "status"),
            (&["log"], "log **"),
            (&["log", "--oneline", "-3", "--", "src"], "log **"),
            (&["show", "HEAD~1"], "show *"),
        ] {
            let decision = decide(GIT, args);
            assert_eq!(decision.verdict, Verdict::Allow, "{args:?}: {decision:?}");
            assert_eq!(
                decision.rule,
                format!("programs \"/usr/bin/git\" (p.toml:3) allow_args {form:?}")
            );
        }
    }

    #[test]
    fn denied_flags_still_apply_inside_an_allowed_form() {
        for (args, flag) in [
            (&["log", "-c", "x"][..], "-c"),
            (&["log", "--output=/tmp/x"], "--output"),
            (&["log", "--out", "/tmp/x"], "--output"),
            (&["show", "--output=/tmp/x"], "--output"),
            (&["log", "--", "-cfoo"], "-c"),
        ] {
            let decision = decide(GIT, args);
            assert_eq!(decision.verdict, Verdict::Deny, "{args:?}");
            assert_eq!(
                decision.rule,
                format!("programs \"/usr/bin/git\" (p.toml:3) deny_flags {flag:?}")
            );
        }
    }

    #[test]
    fn a_nul_byte_is_refused_before_any_form_is_tried() {
        let decision = decide(GIT, &["status\0"]);
        assert_eq!(decision.verdict, Verdict::Deny);
        assert_eq!(decision.rule, "input");
    }

    #[test]
    fn an_empty_list_allows_only_a_call_without_arguments() {
        let policy = "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = []\n";
        let decision = decide(policy, &[]);
        assert_eq!(decision.verdict, Verdict::Allow, "{decision:?}");
        assert_eq!(
            decision.rule,
            "programs \"/usr/bin/git\" (p.toml:2) allow_args \"\""
        );
        for args in [&[""][..], &["status"], &["--version"]] {
            let decision = decide(policy, args);
            assert_eq!(decision.verdict, Verdict::Deny, "{args:?}");
            assert_eq!(
                decision.rule,
                "programs \"/usr/bin/git\" (p.toml:2) allow_args (p.toml:3)"
            );
        }
    }

    #[test]
    fn without_allow_args_any_arguments_pass_as_before() {
        let policy = "[[programs]]\npath = \"/usr/bin/git\"\n";
        let decision = decide(policy, &["push", "--force"]);
        assert_eq!(decision.verdict, Verdict::Allow);
        assert_eq!(decision.rule, "programs \"/usr/bin/git\" (p.toml:2)");
    }

    #[test]
    fn a_bad_form_refuses_the_policy_naming_its_line() {
        let text = "[[programs]]\npath = \"/usr/bin/git\"\nallow_args = [\n  \"status\",\n  \"log --format=*\",\n]\n";
        let err = Policy::from_toml(text, "p.toml", Path::new("/")).expect_err("a bad form");
        assert_eq!(err.kind, PolicyErrorKind::BadValue, "{err}");
        assert_eq!(err.line, Some(5), "{err}");
        assert!(err.to_string().starts_with("p.toml:5: "), "{err}");
        assert!(err.message.contains("whole word"), "{err}");
        let err = Policy::from_toml(
            "[[programs]]\npath = \"/bin/x\"\nallow_args = \"status\"\n",
            "p.toml",
            Path::new("/"),
        )
        .expect_err("a string, not a list");
        assert_eq!(err.kind, PolicyErrorKind::Syntax, "{err}");
    }
}
