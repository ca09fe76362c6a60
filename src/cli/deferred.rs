//! Subcommand groups whose arguments clap builds only when a command line
//! enters them.
//!
//! Clap's derive builds the whole command tree before it parses anything:
//! every group's every subcommand and argument, most of them dropped unused.
//! For `mcp serve` that start-up work was half of the process's instructions
//! before the first reply, and the code it runs lies all over the program's
//! text, so it also kept pages of it resident (D-52). [`Deferred`] hands a
//! group's tree to [`clap::Command::defer`]: clap builds it when the parser
//! enters that group, or when help, completions or `build()` need the whole
//! tree, so what a user sees is unchanged.

use clap::{ArgMatches, Command, FromArgMatches, Subcommand};

/// A subcommand group `T` (the payload of a `#[command(subcommand)]` variant)
/// whose own subcommands are built only when clap enters the group.
#[derive(Debug)]
pub(crate) struct Deferred<T>(pub(crate) T);

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Self)
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Self)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: Subcommand> Subcommand for Deferred<T> {
    fn augment_subcommands(command: Command) -> Command {
        command.defer(T::augment_subcommands)
    }

    fn augment_subcommands_for_update(command: Command) -> Command {
        command.defer(T::augment_subcommands_for_update)
    }

    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::super::Cli;

    /// The groups' trees wait for the parser; help and completions
    /// see them whole.
    #[test]
    fn groups_are_built_when_entered_and_whole_when_asked() {
        let mut groups = vec!["tools", "policy", "audit", "mission", "market"];
        if cfg!(feature = "mcp") {
            groups.push("mcp");
        }
        let lazy = Cli::command();
        for &group in &groups {
            let command = lazy.find_subcommand(group).expect("a group");
            assert_eq!(
                command.get_subcommands().count(),
                0,
                "{group} was built eagerly"
            );
        }
        let mut whole = Cli::command();
        whole.build();
        for group in groups {
            let command = whole.find_subcommand(group).expect("a group");
            assert!(
                command.get_subcommands().count() > 0,
                "{group} has no subcommands"
            );
            // clap's own `help` subcommand takes no options.
            for sub in command
                .get_subcommands()
                .filter(|sub| sub.get_name() != "help")
            {
                assert!(
                    sub.get_arguments().any(|arg| arg.get_id() == "json"),
                    "{group} {}: the global --json did not reach it",
                    sub.get_name()
                );
            }
        }
    }
}
