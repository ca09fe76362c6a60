//! Which project agents this user built: the stock binary hands a command
//! line only to those.
//!
//! Everything in a project's folder can come from a clone: a list of
//! registered sources, and a `bin/rustchain` committed beside it. Running
//! `rustchain tools list` in a freshly cloned repository must neither run a
//! program that came with it nor build (and so run) code it registers. So
//! the record of the agents built here lives outside every project, in the
//! user's state directory (`rustchain/agents.toml`): per agent folder, the
//! identity of the program built there (device, inode, size, time), which a
//! file written by anyone else does not have.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{AgentError, AgentErrorKind};

/// What the record says about one project's agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::cli) enum Trust {
    /// This user never built an agent in that folder.
    Unknown,
    /// This user built one there, and `bin/rustchain` is that program.
    Built,
    /// This user built one there, but `bin/rustchain` is missing or another
    /// file now: build it again before running it.
    Replaced,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    agent: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The agent's folder, absolute.
    dir: PathBuf,
    /// The identity of the program built there.
    program: String,
}

/// Where the record is: `$XDG_STATE_HOME/rustchain/agents.toml` on Linux.
pub(in crate::cli) fn store() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|state| state.join("rustchain").join("agents.toml"))
}

fn read(path: &Path) -> Record {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str(&text).ok())
        .unwrap_or_default()
}

/// A folder as the record names it: one name however it was reached.
fn canonical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// What a file is, as only the file written here has it.
fn identity(program: &Path) -> Option<String> {
    let meta = std::fs::metadata(program).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    #[cfg(unix)]
    let place = {
        use std::os::unix::fs::MetadataExt;
        format!("{}:{}", meta.dev(), meta.ino())
    };
    #[cfg(not(unix))]
    let place = String::from("-");
    Some(format!("{place}:{}:{modified}", meta.len()))
}

/// Records, in the record at `store`, `program` as the agent this user
/// built in `agent_dir`.
pub(in crate::cli) fn record(
    store: Option<&Path>,
    agent_dir: &Path,
    program: &Path,
) -> Result<(), AgentError> {
    let path = store.ok_or_else(|| {
        AgentError::new(
            AgentErrorKind::Io,
            "this system has no state directory to record the agents built here in; set $XDG_STATE_HOME",
        )
    })?;
    let program = identity(program).ok_or_else(|| {
        AgentError::new(
            AgentErrorKind::Io,
            format!("{} cannot be read", program.display()),
        )
    })?;
    let agent_dir = canonical(agent_dir);
    let mut record = read(path);
    record.agent.retain(|entry| entry.dir != agent_dir);
    record.agent.push(Entry {
        dir: agent_dir,
        program,
    });
    let text = toml::to_string(&record).map_err(|err| {
        AgentError::new(
            AgentErrorKind::Io,
            format!("could not write {}: {err}", path.display()),
        )
    })?;
    let header = "# The project agents built by this user (`rustchain tools register`);\n\
                  # `rustchain` hands a command line only to a program listed here.\n\n";
    super::write_whole(path, format!("{header}{text}").as_bytes())
}

/// Whether `program` in `agent_dir` is the agent this user built there, as
/// the record at `store` says.
pub(in crate::cli) fn trust(store: Option<&Path>, agent_dir: &Path, program: &Path) -> Trust {
    let Some(path) = store else {
        return Trust::Unknown;
    };
    let agent_dir = canonical(agent_dir);
    let record = read(path);
    match record.agent.iter().find(|entry| entry.dir == agent_dir) {
        None => Trust::Unknown,
        Some(entry) if identity(program).as_deref() == Some(entry.program.as_str()) => Trust::Built,
        Some(_) => Trust::Replaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_program_recorded_for_a_folder_is_trusted() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let store = dir.path().join("state/agents.toml");
        let store = Some(store.as_path());
        let (agent, other) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&agent).expect("a folder");
        std::fs::create_dir_all(&other).expect("a folder");
        let program = agent.join("rustchain");
        std::fs::write(&program, "built here").expect("written");
        assert_eq!(trust(store, &agent, &program), Trust::Unknown);
        assert_eq!(trust(None, &agent, &program), Trust::Unknown);

        record(store, &agent, &program).expect("recorded");
        assert_eq!(trust(store, &agent, &program), Trust::Built);
        assert_eq!(trust(store, &other, &program), Trust::Unknown);

        // A file put in its place, even with the same size and time, is
        // another file.
        let time = std::fs::metadata(&program)
            .and_then(|m| m.modified())
            .expect("a time");
        std::fs::remove_file(&program).expect("removed");
        std::fs::write(&program, "built there").expect("written");
        std::fs::File::options()
            .write(true)
            .open(&program)
            .and_then(|file| file.set_modified(time))
            .expect("the time is set");
        assert_eq!(trust(store, &agent, &program), Trust::Replaced);
        std::fs::remove_file(&program).expect("removed");
        assert_eq!(trust(store, &agent, &program), Trust::Replaced);
        assert!(record(None, &agent, &program).is_err());
    }
}
