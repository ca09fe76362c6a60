//! Denied flags: finding, in a program's arguments, every spelling under
//! which a program could read a flag the policy denies it.
//!
//! Programs parse their own arguments, each a little differently, so the
//! match leans towards refusing. For a denied flag written as:
//!
//! - `-f` (one dash, one character): any argument of one dash that holds the
//!   character anywhere: `-f`, `-fvalue`, `-xvf` (bundled short flags), `-f=x`.
//! - `--name` or `-name` (a long flag, one or two dashes): an argument whose
//!   name is `name` with either dash count, alone or with an attached value
//!   (`--name=value`, `-name=value`); and an abbreviation, since GNU
//!   `getopt_long` accepts any unambiguous prefix (`--checkpoint-act` is
//!   `--checkpoint-action`): any prefix after two dashes, a prefix of at
//!   least two characters after one (`getopt_long_only`, as `find` parses).
//! - `--name=value`: the flag `--name` as above, given a value that starts
//!   with `value`, attached or as the next argument.
//! - anything not starting with `-` (a subcommand, say): that exact argument.
//!
//! Every argument is checked, including those after `--`: not every program
//! treats `--` as the end of its options. Flags a program reads from a file
//! (`@argfile`) or from its environment are out of reach of this check; deny
//! such programs or those variables instead.

/// The first argument a denied flag catches: its index and the flag.
pub fn first_denied<'a>(args: &[String], deny_flags: &'a [String]) -> Option<(usize, &'a str)> {
    args.iter().enumerate().find_map(|(index, arg)| {
        let next = args.get(index + 1).map(String::as_str);
        deny_flags
            .iter()
            .find(|flag| catches(flag, arg, next))
            .map(|flag| (index, flag.as_str()))
    })
}

/// An argument (or a flag as the policy writes it) split into its parts:
/// `--name=value` is `(2, "name", Some("value"))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts<'a> {
    dashes: usize,
    name: &'a str,
    value: Option<&'a str>,
}

/// `None` for arguments that are not flags: no leading dash, `-` alone, `--` alone.
fn parts(text: &str) -> Option<Parts<'_>> {
    let dashes = if text.starts_with("--") {
        2
    } else if text.starts_with('-') {
        1
    } else {
        return None;
    };
    let rest = &text[dashes..];
    let (name, value) = match rest.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (rest, None),
    };
    (!name.is_empty()).then_some(Parts {
        dashes,
        name,
        value,
    })
}

/// Whether denied `flag` catches `arg` (followed by `next`, if any).
fn catches(flag: &str, arg: &str, next: Option<&str>) -> bool {
    if flag.is_empty() {
        return false;
    }
    let Some(denied) = parts(flag) else {
        // Not a flag: a subcommand or a fixed word, matched exactly.
        return arg == flag;
    };
    let Some(given) = parts(arg) else {
        return false;
    };
    let short = denied.dashes == 1 && denied.name.chars().count() == 1;
    if short {
        // One dash: a bundle of short flags, perhaps with a value attached.
        // The character anywhere in it may be the denied flag; its value is
        // what follows it in the bundle, or else the next argument.
        if given.dashes != 1 {
            return false;
        }
        let bundle = &arg[1..];
        let Some(at) = bundle.find(denied.name) else {
            return false;
        };
        return match denied.value {
            None => true,
            Some(prefix) => {
                let rest = &bundle[at + denied.name.len()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                let value = if rest.is_empty() {
                    next.unwrap_or_default()
                } else {
                    rest
                };
                starts_with_folded(value, prefix)
            }
        };
    }
    if !names_match(denied.name, given) {
        return false;
    }
    match denied.value {
        None => true,
        Some(prefix) => match given.value {
            Some(value) => starts_with_folded(value, prefix),
            None => next.is_some_and(|next| starts_with_folded(next, prefix)),
        },
    }
}

/// `value` starts with `prefix`, ignoring ASCII case: programs such as ssh
/// read option names in any case, and a refusal errs that way.
fn starts_with_folded(value: &str, prefix: &str) -> bool {
    value.len() >= prefix.len()
        && value.is_char_boundary(prefix.len())
        && value[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Whether `given` names the long flag `denied`, in full or abbreviated.
fn names_match(denied: &str, given: Parts<'_>) -> bool {
    if given.name == denied {
        return true;
    }
    let shortest = if given.dashes == 2 { 1 } else { 2 };
    given.name.len() >= shortest && denied.starts_with(given.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(flags: &[&str], args: &[&str]) -> Option<usize> {
        let flags: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        first_denied(&args, &flags).map(|(index, _)| index)
    }

    #[test]
    fn a_short_flag_with_a_value_is_caught_attached_bundled_and_in_any_case() {
        let flags = ["-o=ProxyCommand"];
        for args in [
            &["-oProxyCommand=sh -c id", "host"][..],
            &["-4oProxyCommand=id", "h"],
            &["-o", "proxycommand=id"],
            &["-o=ProxyCommand=x"],
        ] {
            assert!(denied(&flags, args).is_some(), "{args:?}");
        }
        for args in [
            &["-oBatchMode=yes", "h"][..],
            &["-o", "BatchMode=yes"],
            &["-4", "host"],
        ] {
            assert!(denied(&flags, args).is_none(), "{args:?}");
        }
    }

    #[test]
    fn a_short_flag_is_caught_alone_attached_and_bundled() {
        let f = ["-f"];
        assert_eq!(denied(&f, &["-f"]), Some(0));
        assert_eq!(denied(&f, &["-fvalue"]), Some(0));
        assert_eq!(denied(&f, &["x", "-xvf", "archive.tar"]), Some(1));
        assert_eq!(denied(&f, &["-f=value"]), Some(0));
        assert_eq!(denied(&f, &["-xv", "file"]), None);
        assert_eq!(denied(&f, &["f", "-", "--"]), None);
    }

    #[test]
    fn a_short_flag_leans_to_refusing_a_value_that_holds_its_character() {
        // `-ofile`: `-o` with value `file`, or `-o -f -i -l -e`? Refused.
        assert_eq!(denied(&["-f"], &["-ofile"]), Some(0));
    }

    #[test]
    fn a_short_flag_does_not_catch_a_long_flag_holding_its_character() {
        assert_eq!(denied(&["-c"], &["--color"]), None);
        assert_eq!(denied(&["-c"], &["-C", "dir"]), None);
    }

    #[test]
    fn git_config_is_caught_in_every_spelling() {
        let git = ["-c", "--exec-path", "--config-env"];
        assert_eq!(denied(&git, &["-c", "core.pager=x", "log"]), Some(0));
        assert_eq!(denied(&git, &["-ccore.pager=x", "log"]), Some(0));
        assert_eq!(denied(&git, &["--exec-path=/tmp", "log"]), Some(0));
        assert_eq!(denied(&git, &["--exec-pa=/tmp"]), Some(0));
        assert_eq!(denied(&git, &["--config-env", "core.pager=X"]), Some(0));
        assert_eq!(denied(&git, &["log", "--oneline"]), None);
    }

    #[test]
    fn a_long_flag_is_caught_with_a_value_attached_and_abbreviated() {
        let tar = ["--checkpoint-action"];
        assert_eq!(
            denied(&tar, &["-cf", "a.tar", "--checkpoint-action=exec=id"]),
            Some(2)
        );
        assert_eq!(denied(&tar, &["--checkpoint-action", "exec=id"]), Some(0));
        assert_eq!(denied(&tar, &["--checkpoint-act=exec=id"]), Some(0));
        assert_eq!(denied(&tar, &["--check=exec=id"]), Some(0));
        // getopt_long_only reads one dash as a long flag too.
        assert_eq!(denied(&tar, &["-checkpoint-action=exec=id"]), Some(0));
        // `--checkpoint` is a flag of its own to tar, but only the program
        // knows that: a prefix of a denied flag is refused.
        assert_eq!(denied(&tar, &["--checkpoint=10"]), Some(0));
        assert_eq!(denied(&tar, &["--checkpoint-actions"]), None);
        assert_eq!(denied(&tar, &["--create", "checkpoint-action"]), None);
    }

    #[test]
    fn a_single_dash_long_flag_is_caught_as_find_spells_it() {
        let find = ["-exec", "-execdir", "-delete"];
        assert_eq!(denied(&find, &[".", "-exec", "rm", "{}", ";"]), Some(1));
        assert_eq!(denied(&find, &[".", "--exec", "rm"]), Some(1));
        assert_eq!(denied(&find, &[".", "-exe", "rm"]), Some(1));
        assert_eq!(denied(&find, &[".", "-execdir", "rm"]), Some(1));
        assert_eq!(denied(&find, &[".", "-name", "*.rs", "-print"]), None);
        // One character after one dash is a short flag, not an abbreviation.
        assert_eq!(denied(&find, &[".", "-e"]), None);
    }

    #[test]
    fn flags_after_the_end_of_options_marker_are_still_caught() {
        assert_eq!(denied(&["-c"], &["--", "-c", "x"]), Some(1));
    }

    #[test]
    fn a_denied_flag_with_a_value_catches_only_that_value() {
        let tar = ["--checkpoint-action=exec"];
        assert_eq!(denied(&tar, &["--checkpoint-action=exec=id"]), Some(0));
        assert_eq!(denied(&tar, &["--checkpoint-action", "exec=id"]), Some(0));
        assert_eq!(denied(&tar, &["--checkpoint-action=dot"]), None);
        assert_eq!(denied(&tar, &["--checkpoint-action", "dot"]), None);
    }

    #[test]
    fn a_word_without_dashes_denies_that_exact_argument() {
        assert_eq!(denied(&["push"], &["status"]), None);
        assert_eq!(denied(&["push"], &["push", "origin"]), Some(0));
        assert_eq!(denied(&["push"], &["pushed"]), None);
    }

    #[test]
    fn an_empty_denied_flag_catches_nothing() {
        assert_eq!(denied(&[""], &["", "-x", "--"]), None);
    }

    #[test]
    fn the_first_caught_argument_is_reported_with_its_flag() {
        let flags = vec!["-a".to_owned(), "--bee".to_owned()];
        let args: Vec<String> = ["ok", "--bee=1", "-a"].map(str::to_owned).into();
        assert_eq!(first_denied(&args, &flags), Some((1, "--bee")));
    }
}
