//! The child's environment: cleared, then only variables the policy grants,
//! never one that makes a program load or run code of someone else's choice.

use std::collections::BTreeMap;
use std::ffi::OsString;

use rustchain_tools::guard::GuardValue;
use rustchain_tools::policy::Grants;
pub use rustchain_tools::policy::env::{first_code_loading_assignment, loads_code};
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

/// Variables that name a proxy (in any case). The executor alone sets
/// them, for a program whose entry grants hosts, to its own proxy
/// (`NO_PROXY` never): a call's value or the agent's would be at best
/// useless (the program's namespace reaches nothing else) and at worst
/// misleading, so a call that sets one is refused.
pub(super) const PROXY_VARS: &[&str] = &["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];

/// Whether `name` is one of [`PROXY_VARS`], in any case.
pub(super) fn names_proxy(name: &str) -> bool {
    PROXY_VARS.iter().any(|var| var.eq_ignore_ascii_case(name))
}

/// What tells a program granted hosts where its proxy is: `HTTP_PROXY`,
/// `HTTPS_PROXY` and `ALL_PROXY`, upper and lower case (curl reads only
/// `http_proxy` in lower case), all `http://127.0.0.1:port`.
pub(super) fn proxy_env(port: u16) -> Vec<(String, OsString)> {
    let url = format!("http://127.0.0.1:{port}");
    PROXY_VARS
        .iter()
        .filter(|name| **name != "NO_PROXY")
        .flat_map(|name| [(*name).to_owned(), name.to_ascii_lowercase()])
        .map(|name| (name, OsString::from(&url)))
        .collect()
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
    if names_proxy(name) {
        return refuse(format!(
            "`{name}` is set by the executor alone: a program granted hosts gets its own proxy there, and no other way out"
        ));
    }
    Ok(())
}

/// The child's environment before the proxy's variables: each granted
/// variable the agent itself has, then what the call sets (which wins).
/// Variables that load code or name a proxy are left out even when granted
/// and set in the agent's environment.
pub(super) fn child_env(grants: &Grants, requested: Option<&EnvVars>) -> Vec<(String, OsString)> {
    let mut env: BTreeMap<String, OsString> = grants
        .env()
        .iter()
        .filter(|name| loads_code(name).is_none() && !names_proxy(name))
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
    fn proxy_variables_are_refused_in_any_case_and_set_only_by_the_executor() {
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "Http_Proxy",
            "ALL_PROXY",
            "no_proxy",
        ] {
            let err = refuse_unsafe(name, "http://evil.example:1").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Denied, "{name}");
            assert!(err.message().contains("set by the executor"), "{err}");
        }
        let set = proxy_env(3128);
        let names: Vec<&str> = set.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "HTTP_PROXY",
                "http_proxy",
                "HTTPS_PROXY",
                "https_proxy",
                "ALL_PROXY",
                "all_proxy"
            ]
        );
        assert!(
            set.iter()
                .all(|(_, value)| value == "http://127.0.0.1:3128")
        );
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
