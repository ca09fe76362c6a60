//! The README's Quickstart, run as written: every `$ rustchain ...` line of
//! its console blocks, in a fresh project made from `examples/quickstart/`,
//! and what each prints compared with the lines the README shows under it.
//!
//! The README is the expectation, so it stays true. Lines are compared with
//! times, durations and column widths taken out; the README's lines that are
//! the command's stdout must be all of stdout, in order, and its other lines
//! must appear in stderr, in order (cargo's progress there is not shown).

use std::path::Path;
use std::time::Instant;

#[path = "support/project.rs"]
mod project;
#[path = "../../tests/support/run.rs"]
mod run;

use project::{fresh_project, rustchain_in};

const README: &str = include_str!("../../README.md");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/quickstart");

/// One `$ command` of the README, and the lines shown under it.
#[derive(Debug)]
struct Shown {
    command: String,
    lines: Vec<String>,
}

/// Every command in the console blocks of the README's "Quickstart" section.
fn quickstart_commands(readme: &str) -> Vec<Shown> {
    let start = readme
        .find("\n## Quickstart\n")
        .expect("the README has a Quickstart section");
    let section = &readme[start + 1..];
    let section = section[3..]
        .find("\n## ")
        .map_or(section, |end| &section[..end + 3]);
    let mut shown: Vec<Shown> = Vec::new();
    let mut in_console = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_console = line == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            shown.push(Shown {
                command: command.to_owned(),
                lines: Vec::new(),
            });
        } else if let Some(last) = shown.last_mut() {
            last.lines.push(line.to_owned());
        }
    }
    shown
}

/// A command line split into words as a shell would, for the quoting the
/// README uses: single quotes, double quotes, spaces.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    assert!(quote.is_none(), "an unclosed quote in {command}");
    words.extend(word);
    words
}

/// A line with what changes from run to run taken out: times of day and
/// durations become `<t>`, runs of spaces one space.
fn normalize(line: &str) -> String {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let is_number =
            |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.');
        let is_unit = |t: &str| matches!(t, "ns" | "µs" | "us" | "ms" | "s");
        if is_number(token) && tokens.get(i + 1).is_some_and(|next| is_unit(next)) {
            out.push("<t>");
            i += 2;
            continue;
        }
        let glued = ["ns", "µs", "us", "ms", "s"]
            .iter()
            .any(|unit| token.strip_suffix(unit).is_some_and(is_number));
        let timestamp = token.len() >= 20
            && token.as_bytes()[4] == b'-'
            && token.contains('T')
            && token.ends_with('Z');
        out.push(if glued || timestamp { "<t>" } else { token });
        i += 1;
    }
    out.join(" ")
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(normalize)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Checks one command's output against what the README shows for it.
fn compare(shown: &Shown, out: &str, err: &str) {
    let out = lines(out);
    let err = lines(err);
    let readme: Vec<String> = shown.lines.iter().map(|l| normalize(l)).collect();
    let readme_out: Vec<&String> = readme.iter().filter(|line| out.contains(line)).collect();
    let out_refs: Vec<&String> = out.iter().collect();
    assert_eq!(
        readme_out,
        out_refs,
        "`{}`: the README shows other results than it prints\nREADME:\n{}\nstdout:\n{}\nstderr:\n{}",
        shown.command,
        readme.join("\n"),
        out.join("\n"),
        err.join("\n")
    );
    let mut rest = err.iter();
    for line in readme.iter().filter(|line| !out.contains(line)) {
        assert!(
            rest.any(|printed| printed == line),
            "`{}`: the README shows `{line}`, which it does not print (in this order)\nstderr:\n{}",
            shown.command,
            err.join("\n")
        );
    }
}

#[test]
fn the_readme_quickstart_runs_as_written() {
    let commands = quickstart_commands(README);
    // The quickstart the project promises; the README may show more.
    for promised in [
        "rustchain tools register",
        "rustchain mission execute",
        "rustchain tools security-scan",
        "rustchain audit report",
        "rustchain tools publish",
    ] {
        assert!(
            commands
                .iter()
                .any(|shown| shown.command.starts_with(promised)),
            "the README's Quickstart runs `{promised}`: {commands:#?}"
        );
    }

    let dir = fresh_project("quickstart");
    for file in ["my_tool.rs", "tool_demo.yaml", "rustchain.toml"] {
        std::fs::copy(Path::new(EXAMPLE).join(file), dir.join(file))
            .expect("the example's files are copied");
    }
    for shown in &commands {
        let words = words(&shown.command);
        assert_eq!(words[0], "rustchain", "{}", shown.command);
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let started = Instant::now();
        let run = rustchain_in(&dir, &[], &args).expect_code(0);
        eprintln!("`{}` took {:.1?}", shown.command, started.elapsed());
        compare(shown, &run.out, &run.err);
    }
}

#[test]
fn a_readme_line_that_is_not_printed_is_caught() {
    let shown = Shown {
        command: "rustchain x".into(),
        lines: vec!["result".into(), "note: said".into()],
    };
    compare(&shown, "result\n", "noise\nnote: said\n");
    let wrong_out = std::panic::catch_unwind(|| compare(&shown, "other\n", "note: said\n"));
    assert!(wrong_out.is_err());
    let missing_err = std::panic::catch_unwind(|| compare(&shown, "result\n", "noise\n"));
    assert!(missing_err.is_err());
    let extra_out = std::panic::catch_unwind(|| compare(&shown, "result\nmore\n", "note: said\n"));
    assert!(extra_out.is_err(), "every result line must be shown");
}

#[test]
fn times_and_widths_are_all_that_is_ignored() {
    assert_eq!(
        normalize("slug     succeeded      19 ms  my_tool"),
        normalize("slug succeeded 250 ms my_tool")
    );
    assert_eq!(
        normalize("my_tool  2  11.3ms  2026-12-02T02:54:53.953Z"),
        "my_tool 2 <t> <t>"
    );
    assert_ne!(normalize("my_tool 2 calls"), normalize("my_tool 3 calls"));
    assert_eq!(
        words(r#"tools call my_tool --args '{"title": "Hello, World!"}'"#),
        [
            "tools",
            "call",
            "my_tool",
            "--args",
            r#"{"title": "Hello, World!"}"#
        ]
    );
}
