//! Environment grants: which variables a `#[env]` value may name (names
//! match exactly and case-sensitively, as the process environment does),
//! and the variables no grant can pass on because they load code.

use super::decision::{Decision, Judged, Refusal};
use super::grants::{Grant, Grants};

/// May a `#[env]` value be read or passed on? Only a name granted exactly.
pub(super) fn decide(grants: &Grants, origin: &str, value: &str) -> Judged {
    let granted = grants.iter().find_map(|(grant, rule)| match grant {
        Grant::Env(name) if name == value => Some(rule),
        _ => None,
    });
    match granted {
        Some(rule) => Ok(Decision::allow(
            rule.text.clone(),
            "the variable is granted",
        )),
        None => Err(Refusal::new(
            "env.allow",
            format!(
                "the variable is not granted; ask the operator to add it under [env] allow in {origin}"
            ),
        )),
    }
}

/// Whether `name` can be an environment variable's name.
pub(super) fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

/// Why a variable named `name` is never passed on, if it is one of those:
/// it makes the dynamic loader, a shell, an interpreter or a tool load or
/// run code named in its value. Matched without regard to case.
pub fn loads_code(name: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        (
            "LD_",
            "it steers the dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT)",
        ),
        ("DYLD_", "it steers the macOS dynamic loader"),
        ("BASH_FUNC_", "it defines shell functions bash imports"),
        (
            "PYTHON",
            "it makes Python load code or change how it starts",
        ),
        ("PERL", "it makes Perl load modules or options"),
        ("RUBY", "it makes Ruby load code or options"),
        ("GEM_", "it makes Ruby load gems from another place"),
        ("NODE_", "it makes Node.js load code or options"),
        (
            "GIT_",
            "git runs programs it names (GIT_SSH_COMMAND, GIT_EXTERNAL_DIFF, GIT_CONFIG_*)",
        ),
        ("LUA_", "it makes Lua load code"),
        ("GCONV_", "it makes the C library load conversion modules"),
        (
            "OPENSSL_",
            "it makes OpenSSL load a configuration that can load engines",
        ),
    ];
    const NAMES: &[(&str, &str)] = &[
        ("BASH_ENV", "bash runs the file it names"),
        ("ENV", "sh runs the file it names"),
        ("ZDOTDIR", "zsh runs startup files from it"),
        ("SHELLOPTS", "it changes how a shell runs scripts"),
        ("BASHOPTS", "it changes how bash runs scripts"),
        ("IFS", "it changes how a shell splits words"),
        ("PROMPT_COMMAND", "bash runs it"),
        ("PS0", "a shell expands commands in it"),
        ("PS1", "a shell expands commands in it"),
        ("PS2", "a shell expands commands in it"),
        ("PS4", "a shell expands commands in it"),
        ("GLIBC_TUNABLES", "it tunes the dynamic loader"),
        (
            "JAVA_TOOL_OPTIONS",
            "the JVM loads agents and options from it",
        ),
        ("_JAVA_OPTIONS", "the JVM loads agents and options from it"),
        (
            "JDK_JAVA_OPTIONS",
            "the JVM loads agents and options from it",
        ),
        ("CLASSPATH", "the JVM loads classes from it"),
        ("RUBYOPT", "Ruby loads options from it"),
        (
            "PHPRC",
            "PHP loads a configuration that can load extensions",
        ),
        (
            "PHP_INI_SCAN_DIR",
            "PHP loads configurations that can load extensions",
        ),
        ("TCLLIBPATH", "Tcl loads packages from it"),
        ("SHELL", "programs start it to run commands"),
        ("EDITOR", "programs run it"),
        ("VISUAL", "programs run it"),
        ("PAGER", "programs run it"),
        ("MANPAGER", "man runs it"),
        ("BROWSER", "programs run it"),
        ("LESSOPEN", "less runs it"),
        ("LESSCLOSE", "less runs it"),
        ("SSH_ASKPASS", "ssh runs it"),
        ("SUDO_ASKPASS", "sudo runs it"),
    ];
    let upper = name.to_ascii_uppercase();
    PREFIXES
        .iter()
        .find(|(prefix, _)| upper.starts_with(prefix))
        .or_else(|| NAMES.iter().find(|(exact, _)| upper == *exact))
        .map(|(_, why)| *why)
}

/// The first argument that assigns a variable that loads code (`LD_PRELOAD=...`,
/// as `env` takes it, alone, after `-S`, or among the words of one argument
/// `env -S` would split), with its index and the variable's name.
///
/// An early, friendly refusal: the sandbox is the defence (a launcher can
/// execute only its granted helpers, and nothing a program writes can be
/// mapped as code).
pub fn first_code_loading_assignment(args: &[String]) -> Option<(usize, String)> {
    args.iter().enumerate().find_map(|(index, arg)| {
        let arg = arg
            .strip_prefix("--split-string=")
            .or_else(|| arg.strip_prefix("-S"))
            .unwrap_or(arg);
        arg.split_ascii_whitespace().find_map(|word| {
            let (name, _) = word.split_once('=')?;
            let name = name.trim_start_matches(['"', '\'']);
            let plausible = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'%');
            (plausible && loads_code(name).is_some()).then(|| (index, name.to_owned()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_loading_assignments_in_arguments_are_found() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        for (list, at) in [
            (&["LD_PRELOAD=/x.so", "/bin/echo"][..], 0),
            (&["-i", "ld_audit=/x.so", "/bin/echo"][..], 1),
            (&["-S", "A=1 LD_PRELOAD=/x.so /bin/echo"][..], 1),
            (&["-SLD_PRELOAD=/x.so /bin/echo"][..], 0),
            (&["--split-string=BASH_ENV=/x /bin/sh"][..], 0),
        ] {
            let found = first_code_loading_assignment(&args(list));
            assert_eq!(found.map(|(i, _)| i), Some(at), "{list:?}");
        }
        for list in [
            &["LANG=C", "/bin/echo"][..],
            &["--message=LD_PRELOAD is a variable"][..],
            &["a=b=c"][..],
        ] {
            assert_eq!(first_code_loading_assignment(&args(list)), None, "{list:?}");
        }
    }
}
