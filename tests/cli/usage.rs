//! Usage errors and `--help`.

use super::cli;

// ---- usage ----

#[test]
fn usage_errors_exit_2_on_stderr() {
    let run = cli(&["tools", "frobnicate"]).expect_code(2);
    assert_eq!(run.out, "");
    assert!(run.err.starts_with("error:"), "{}", run.err);

    cli(&["tools", "list", "--no-such-flag"]).expect_code(2);
    cli(&["tools", "search", "--limit", "many"]).expect_code(2);
    cli(&[]).expect_code(2);
}

#[test]
fn help_goes_to_stdout_with_examples_and_exit_codes() {
    let run = cli(&["--help"]).expect_code(0);
    assert_eq!(run.err, "");
    assert!(run.out.contains("Exit codes:"), "{}", run.out);
    assert!(run.out.contains("2  bad usage"), "{}", run.out);

    let run = cli(&["tools", "call", "--help"]).expect_code(0);
    assert!(run.out.contains("Examples:"), "{}", run.out);
    assert!(run.out.contains("--args"), "{}", run.out);
}

// ---- help ----

#[test]
fn verify_help_documents_its_own_exit_codes() {
    let run = cli(&["audit", "verify", "--help"]).expect_code(0);
    for line in [
        "0  intact",
        "1  tampered",
        "2  warnings only",
        "5  the trail could not be verified",
    ] {
        assert!(run.out.contains(line), "{line}: {}", run.out);
    }
    let run = cli(&["--help"]).expect_code(0);
    assert!(
        run.out.contains("`audit verify` has its own"),
        "{}",
        run.out
    );
    for command in [
        &["policy", "check"][..],
        &["policy", "explain"],
        &["audit", "report"],
        &["audit", "keygen"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let run = cli(&args).expect_code(0);
        assert!(run.out.contains("Examples:"), "{command:?}: {}", run.out);
    }
}

#[test]
fn completions_cover_every_command_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = cli(&["completions", shell]).expect_code(0);
        for word in ["tools", "security-scan", "lock", "audit", "tail"] {
            assert!(run.out.contains(word), "{shell} lacks {word}");
        }
    }
    let run = cli(&["completions", "tcsh"]).expect_code(2);
    assert!(run.err.contains("tcsh"), "{run:#?}");
}
