//! Environment grants: which variables a `#[env]` value may name. Names
//! match exactly and case-sensitively, as the process environment does.

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
