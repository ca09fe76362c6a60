//! The child's environment: cleared, then only variables the policy grants,
//! never one that makes a program load or run code of someone else's choice.

use std::collections::BTreeMap;
use std::ffi::OsString;

use rustchain_tools::guard::GuardValue;
use rustchain_tools::policy::Grants;
use rustchain_tools::{ErrorKind, ToolError};

/// Environment variables for a program, by name.
///
/// As a `#[env]` parameter, every name is checked against the policy's
/// `[env] allow` list by the generated guard, after a name that loads code
/// (see [`loads_code`]) or is malformed is refused outright: both refusals
/// happen before the tool runs and are recorded as denials.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct EnvVars(pub BTreeMap<String, String>);

/// Described as the plain map it is: the parameter's own doc comment speaks
/// to the model, this type's speaks to Rust readers.
impl schemars::JsonSchema for EnvVars {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvVars".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, String>>::json_schema(generator)
    }
}

impl GuardValue for EnvVars {
    fn each_value(
        &self,
        check: &mut dyn FnMut(&str) -> Result<(), ToolError>,
    ) -> Result<(), ToolError> {
        for (name, value) in &self.0 {
            refuse_unsafe(name, value)?;
            check(name)?;
        }
        Ok(())
    }
}

fn refuse_unsafe(name: &str, value: &str) -> Result<(), ToolError> {
    let refuse = |why: String| Err(ToolError::new(ErrorKind::Denied, why));
    if name.is_empty() || name.contains(['=', '\0']) {
        return refuse(format!(
            "{name:?} is not an environment variable name (empty, or holds `=` or NUL)"
        ));
    }
    if value.contains('\0') {
        return refuse(format!("the value of `{name}` holds a NUL byte"));
    }
    if let Some(why) = loads_code(name) {
        return refuse(format!(
            "`{name}` is never passed to a program, whatever the policy grants: {why}"
        ));
    }
    Ok(())
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

/// The child's whole environment: each granted variable the agent itself
/// has, then what the call sets (which wins). Variables that load code are
/// left out even when granted and set in the agent's environment.
pub(super) fn child_env(grants: &Grants, requested: Option<&EnvVars>) -> Vec<(String, OsString)> {
    let mut env: BTreeMap<String, OsString> = grants
        .env()
        .iter()
        .filter(|name| loads_code(name).is_none())
        .filter_map(|name| std::env::var_os(name).map(|value| (name.clone(), value)))
        .collect();
    if let Some(requested) = requested {
        for (name, value) in &requested.0 {
            // The guard refused these already; a call that skipped it still
            // never passes one on.
            if refuse_unsafe(name, value).is_ok() && grants.env().contains(name) {
                env.insert(name.clone(), value.into());
            }
        }
    }
    env.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_and_interpreter_variables_load_code_in_any_case() {
        for name in [
            "LD_PRELOAD",
            "ld_preload",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "BASH_FUNC_ls%%",
            "NODE_OPTIONS",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PERL5OPT",
            "PERL5LIB",
            "PERLLIB",
            "RUBYOPT",
            "GIT_SSH_COMMAND",
            "GIT_CONFIG_COUNT",
            "LUA_INIT",
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
            "IFS",
            "SHELLOPTS",
            "PROMPT_COMMAND",
            "GLIBC_TUNABLES",
            "GCONV_PATH",
            "LESSOPEN",
            "PAGER",
        ] {
            assert!(loads_code(name).is_some(), "{name}");
        }
    }

    #[test]
    fn ordinary_variables_pass() {
        for name in [
            "LANG",
            "LC_ALL",
            "TZ",
            "HOME",
            "PATH",
            "TERM",
            "ENVIRONMENT",
            "MY_LD_FLAG",
        ] {
            assert_eq!(loads_code(name), None, "{name}");
        }
    }

    #[test]
    fn malformed_names_and_values_are_refused() {
        for (name, value) in [("", "x"), ("A=B", "x"), ("A\0", "x"), ("A", "x\0y")] {
            let err = refuse_unsafe(name, value).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Denied);
        }
        assert!(refuse_unsafe("LANG", "C.UTF-8").is_ok());
    }

    #[test]
    fn the_guard_refuses_a_code_loading_name_before_asking_the_policy() {
        let vars = EnvVars(BTreeMap::from([(
            "LD_PRELOAD".to_owned(),
            "/x.so".to_owned(),
        )]));
        let mut asked = Vec::new();
        let err = vars
            .each_value(&mut |name| {
                asked.push(name.to_owned());
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied);
        assert!(err.message().contains("LD_PRELOAD"), "{err}");
        assert!(asked.is_empty());
    }

    #[test]
    fn the_guard_asks_the_policy_about_every_other_name() {
        let vars = EnvVars(BTreeMap::from([
            ("LANG".to_owned(), "C".to_owned()),
            ("TZ".to_owned(), "UTC".to_owned()),
        ]));
        let mut asked = Vec::new();
        vars.each_value(&mut |name| {
            asked.push(name.to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(asked, ["LANG", "TZ"]);
    }
}
