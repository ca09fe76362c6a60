//! Denied flags of a granted program, matched the way programs parse them
//! (and erring towards refusal where parsers differ).
//!
//! A denied flag written in the policy as:
//! - `--long`: refuses `--long`, `--long=value`, and any unambiguous
//!   abbreviation (`--lo`, as getopt_long and git accept);
//! - `-x` (one letter): refuses any single-dash argument holding the letter,
//!   so `-x`, `-xvalue` and bundles like `-vx` are all caught;
//! - `-word` (one dash, several letters, as `find -exec`): refuses `-word`,
//!   `-word=value` and anything starting with it (`-execdir` for `-exec`).

/// The denied flag `arg` would give the program, if any.
pub fn denied_flag<'f>(arg: &str, denied: &'f [String]) -> Option<&'f str> {
    denied
        .iter()
        .map(String::as_str)
        .find(|flag| matches(arg, flag))
}

fn matches(arg: &str, flag: &str) -> bool {
    if let Some(long) = flag.strip_prefix("--") {
        let Some(given) = arg.strip_prefix("--") else {
            return false;
        };
        let name = given.split_once('=').map_or(given, |(name, _)| name);
        // An abbreviation of at least two letters counts (`--u` is too vague
        // for parsers to accept when many flags start with it).
        return !name.is_empty() && long.starts_with(name) && (name.len() >= 2 || name == long);
    }
    let Some(short) = flag.strip_prefix('-') else {
        return arg == flag;
    };
    if arg.starts_with("--") || !arg.starts_with('-') {
        return false;
    }
    let given = &arg[1..];
    let mut letters = short.chars();
    match (letters.next(), letters.next()) {
        (Some(letter), None) => given.contains(letter),
        _ => given.starts_with(short),
    }
}

#[cfg(test)]
mod tests {
    use super::denied_flag;

    fn denied(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn long_flags_with_values_and_abbreviations() {
        let flags = denied(&["--exec-path", "--upload-pack"]);
        for arg in [
            "--exec-path",
            "--exec-path=/x",
            "--exec",
            "--upload-pa",
            "--up=x",
        ] {
            assert!(denied_flag(arg, &flags).is_some(), "{arg}");
        }
        for arg in ["--exec-paths", "--version", "exec-path", "-e", "--", "--x"] {
            assert!(denied_flag(arg, &flags).is_none(), "{arg}");
        }
    }

    #[test]
    fn short_flags_attached_and_bundled() {
        let flags = denied(&["-c", "-S"]);
        for arg in ["-c", "-ccore.pager=x", "-vc", "-xcv", "-S", "-Ssh"] {
            assert!(denied_flag(arg, &flags).is_some(), "{arg}");
        }
        for arg in ["--c", "c", "-v", "--config", "value-c"] {
            assert!(denied_flag(arg, &flags).is_none(), "{arg}");
        }
    }

    #[test]
    fn single_dash_words() {
        let flags = denied(&["-exec", "--checkpoint-action"]);
        for arg in [
            "-exec",
            "-execdir",
            "-exec=x",
            "--checkpoint-action=exec=id",
            "--checkpoint-act",
        ] {
            assert!(denied_flag(arg, &flags).is_some(), "{arg}");
        }
        // `--checkpoint` is also a prefix of `--checkpoint-action`: refused, erring towards safety.
        assert!(denied_flag("--checkpoint", &flags).is_some());
        for arg in ["-name", "exec", "--check-x"] {
            assert!(denied_flag(arg, &flags).is_none(), "{arg}");
        }
    }
}
