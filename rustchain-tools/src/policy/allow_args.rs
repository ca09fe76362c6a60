//! Allowed argument forms (`[[programs]] allow_args`): the only argument
//! vectors a program may be given, written as patterns of words.
//!
//! A form is words separated by one space, matched against the whole
//! argument vector, one word per argument:
//!
//! - a plain word matches exactly that argument, byte for byte (no case
//!   folding, no abbreviation, no `=value` attached, no trimming);
//! - `*` matches any one argument, flags and the empty string included;
//! - `**`, as the last word only, matches any number of remaining
//!   arguments, none included;
//! - `""` (no words) matches a call without arguments.
//!
//! `status` allows `git status` and nothing else; `log **` allows `git log`
//! with anything after it; `show *` exactly one argument after `show`. A
//! call is allowed when some form matches; an empty list (`allow_args = []`)
//! allows only a call without arguments. Wildcards match flags too: pair
//! them with `deny_flags`, which still applies to every argument.
//!
//! Arguments are not the boundary (the kernel sandbox is): a form narrows
//! what a model may ask a program to do, it does not make the program safe.

use std::fmt;

/// One word of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    /// Exactly this argument.
    Exact(String),
    /// Any one argument (`*`).
    One,
}

/// One allowed argument form, parsed from its text in the policy.
///
/// ```
/// use rustchain_tools::policy::allow_args::ArgPattern;
///
/// let log = ArgPattern::parse("log **").unwrap();
/// let args = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
/// assert!(log.matches(&args(&["log", "--oneline", "-5"])));
/// assert!(!log.matches(&args(&["LOG"])));
/// assert!(ArgPattern::parse("log --format=*").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgPattern {
    text: String,
    words: Vec<Word>,
    /// Ends with `**`: any number of further arguments.
    rest: bool,
}

impl ArgPattern {
    /// Parses a form; the error is advice for the policy's author.
    pub fn parse(text: &str) -> Result<ArgPattern, String> {
        if text.chars().any(char::is_control) {
            return Err(format!(
                "the argument form {text:?} holds a control character (tab, newline, NUL...); no such argument can be allowed"
            ));
        }
        let mut words = Vec::new();
        let mut rest = false;
        // `""` is the form of no words; any other text is one word or more.
        let split = (!text.is_empty()).then(|| text.split(' '));
        for word in split.into_iter().flatten() {
            if rest {
                return Err(format!(
                    "in the argument form {text:?}, `**` is not the last word; it matches every remaining argument, so it can only end a form"
                ));
            }
            match word {
                "" => {
                    return Err(format!(
                        "the argument form {text:?} has an empty word; separate words with one space, no space at either end (write \"\" for a call without arguments)"
                    ));
                }
                "*" => words.push(Word::One),
                "**" => rest = true,
                _ if word.contains('*') => {
                    return Err(format!(
                        "in the argument form {text:?}, the word {word:?} holds `*`; a wildcard is a whole word: `*` for any one argument, `**` at the end for any remaining ones"
                    ));
                }
                _ => words.push(Word::Exact(word.to_owned())),
            }
        }
        Ok(ArgPattern {
            text: text.to_owned(),
            words,
            rest,
        })
    }

    /// The form as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this form matches the whole of `args`.
    pub fn matches(&self, args: &[String]) -> bool {
        self.first_mismatch(args).is_none()
    }

    /// The index of the first argument this form does not accept, or
    /// `args.len()` when the arguments end before the form does; `None` when
    /// it matches.
    fn first_mismatch(&self, args: &[String]) -> Option<usize> {
        for (at, word) in self.words.iter().enumerate() {
            let Some(arg) = args.get(at) else {
                return Some(at);
            };
            if let Word::Exact(exact) = word
                && arg != exact
            {
                return Some(at);
            }
        }
        (!self.rest && args.len() > self.words.len()).then_some(self.words.len())
    }
}

impl fmt::Display for ArgPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A program's allow-list of argument forms and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowArgs {
    /// The forms in the order written; empty allows only a call without arguments.
    pub forms: Vec<ArgPattern>,
    /// `FILE:LINE` of the `allow_args` key, named by a refusal.
    pub place: String,
}

/// Why arguments fit no allowed form: the farthest any form got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// The first argument no form accepts at its place, or the number of
    /// arguments when they end before every form that got that far.
    pub at: usize,
}

impl AllowArgs {
    /// The first form that matches `args` (`None` for a call without
    /// arguments under an empty list), or where they leave every form.
    pub fn check(&self, args: &[String]) -> Result<Option<&ArgPattern>, Mismatch> {
        if self.forms.is_empty() {
            return match args.is_empty() {
                true => Ok(None),
                false => Err(Mismatch { at: 0 }),
            };
        }
        let mut farthest = 0;
        for form in &self.forms {
            match form.first_mismatch(args) {
                None => return Ok(Some(form)),
                Some(at) => farthest = farthest.max(at),
            }
        }
        Err(Mismatch { at: farthest })
    }

    /// The forms for a message or a summary: `"status", "log **"`, with a
    /// form of no words shown as `"" (no arguments)`.
    pub fn listed(&self) -> String {
        if self.forms.is_empty() {
            return "\"\" (no arguments)".to_owned();
        }
        let forms: Vec<String> = self
            .forms
            .iter()
            .map(|form| match form.as_str() {
                "" => "\"\" (no arguments)".to_owned(),
                text => format!("{text:?}"),
            })
            .collect();
        forms.join(", ")
    }

    /// Words for a refusal: which argument leaves every form.
    pub fn explain(&self, args: &[String], mismatch: Mismatch) -> String {
        match args.get(mismatch.at) {
            Some(arg) => format!(
                "argument {} ({:?}) fits none of the allowed argument forms ({})",
                mismatch.at,
                super::decision::shown(arg),
                self.listed()
            ),
            None => format!(
                "the {} argument(s) end before any allowed argument form does ({})",
                args.len(),
                self.listed()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn allow(forms: &[&str]) -> AllowArgs {
        AllowArgs {
            forms: forms
                .iter()
                .map(|f| ArgPattern::parse(f).unwrap())
                .collect(),
            place: "p.toml:3".to_owned(),
        }
    }

    fn allowed(forms: &[&str], call: &[&str]) -> bool {
        allow(forms).check(&args(call)).is_ok()
    }

    const GIT: &[&str] = &["status", "log **", "diff --stat **", "show *"];

    #[test]
    fn a_plain_form_allows_exactly_its_words() {
        assert!(allowed(GIT, &["status"]));
        for call in [
            &[][..],
            &["status", "--porcelain"],
            &["status", ""],
            &["-C", "/tmp", "status"],
            &["--", "status"],
            &["Status"],
            &["STATUS"],
            &["status "],
            &[" status"],
            &["status;rm"],
            &["status; rm -rf /"],
            &["status --exec=id"],
            &["--status"],
            &["stat"],
            &["statuses"],
            &["ѕtatus"], // Cyrillic `ѕ`
            &["status\u{200b}"],
            &["ｓｔａｔｕｓ"],
            &[""],
        ] {
            assert!(!allowed(GIT, call), "{call:?}");
        }
    }

    #[test]
    fn a_trailing_double_star_allows_any_rest_and_nothing_before() {
        assert!(allowed(GIT, &["log"]));
        assert!(allowed(GIT, &["log", "--oneline", "-5", "--", "src"]));
        assert!(allowed(GIT, &["diff", "--stat"]));
        assert!(allowed(GIT, &["diff", "--stat", "HEAD~1"]));
        assert!(!allowed(GIT, &["diff"]));
        assert!(!allowed(GIT, &["diff", "HEAD", "--stat"]));
        assert!(!allowed(GIT, &["diff", "--stat=100"]));
        assert!(!allowed(GIT, &["diff", "--sta"]));
        assert!(!allowed(GIT, &["diff --stat"]));
        assert!(!allowed(GIT, &["--no-pager", "log"]));
        assert!(!allowed(GIT, &["log=x"]));
    }

    #[test]
    fn a_single_star_is_exactly_one_argument_of_any_value() {
        assert!(allowed(GIT, &["show", "HEAD"]));
        assert!(allowed(GIT, &["show", ""]));
        assert!(allowed(GIT, &["show", "--output=/tmp/x"]));
        assert!(!allowed(GIT, &["show"]));
        assert!(!allowed(GIT, &["show", "HEAD", "--stat"]));
    }

    #[test]
    fn an_empty_list_allows_only_no_arguments_and_an_empty_form_does_too() {
        assert!(allowed(&[], &[]));
        assert!(!allowed(&[], &[""]));
        assert!(!allowed(&[], &["status"]));
        assert!(allowed(&["", "status"], &[]));
        assert!(allowed(&["", "status"], &["status"]));
        assert!(!allowed(&["", "status"], &[""]));
        // `**` alone allows anything, nothing included.
        assert!(allowed(&["**"], &[]));
        assert!(allowed(&["**"], &["", "x"]));
        assert!(!allowed(&["*"], &[]));
    }

    #[test]
    fn the_first_matching_form_is_named() {
        let list = allow(GIT);
        let call = args(&["log", "-1"]);
        let form = list.check(&call).unwrap().unwrap();
        assert_eq!(form.as_str(), "log **");
    }

    #[test]
    fn a_refusal_names_the_farthest_argument_any_form_reached() {
        let list = allow(GIT);
        assert_eq!(list.check(&args(&["push"])), Err(Mismatch { at: 0 }));
        assert_eq!(
            list.check(&args(&["diff", "--cached"])),
            Err(Mismatch { at: 1 })
        );
        assert_eq!(
            list.check(&args(&["status", "--short"])),
            Err(Mismatch { at: 1 })
        );
        // Ends too soon: the index is the number of arguments.
        assert_eq!(list.check(&args(&["show"])), Err(Mismatch { at: 1 }));
        let words = list.explain(&args(&["show"]), Mismatch { at: 1 });
        assert!(words.contains("end before"), "{words}");
        let words = list.explain(&args(&["push"]), Mismatch { at: 0 });
        assert!(words.contains("argument 0 (\"push\")"), "{words}");
        assert!(words.contains("\"log **\""), "{words}");
    }

    #[test]
    fn very_many_arguments_are_judged_in_one_pass() {
        let mut many = vec!["log".to_owned()];
        many.extend(std::iter::repeat_n("x".to_owned(), 100_000));
        assert!(allow(GIT).check(&many).is_ok());
        assert_eq!(allow(&["status"]).check(&many), Err(Mismatch { at: 0 }));
        many[0] = "status".to_owned();
        assert_eq!(allow(&["status"]).check(&many), Err(Mismatch { at: 1 }));
    }

    #[test]
    fn forms_that_would_mislead_are_refused_with_advice() {
        for (form, advice) in [
            ("log  --oneline", "empty word"),
            (" status", "empty word"),
            ("status ", "empty word"),
            (" ", "empty word"),
            ("log\t**", "control character"),
            ("log\0", "control character"),
            ("** log", "not the last word"),
            ("log ** **", "not the last word"),
            ("log --format=*", "whole word"),
            ("*.rs", "whole word"),
            ("***", "whole word"),
        ] {
            let err = ArgPattern::parse(form).expect_err(form);
            assert!(err.contains(advice), "{form:?}: {err}");
        }
        for form in ["", "status", "log **", "show *", "* *", "-- **", "日本"] {
            assert!(ArgPattern::parse(form).is_ok(), "{form:?}");
        }
    }
}
