//! Keeping stdout for the protocol: a tool that prints (`println!`, a C
//! library writing to fd 1, a child process that inherits it) must not put
//! a stray line into the JSON-RPC stream, which a client would take as a
//! broken message.
//!
//! When the server takes over the process's own streams, it moves the
//! protocol to a descriptor of its own and points fd 1 at stderr: whatever
//! else writes to "stdout" from then on lands in the log, not the stream.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;

use tokio::io::AsyncWrite;

/// Where the protocol is written once fd 1 points at stderr.
pub(crate) type ProtocolWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// Takes the protocol's stream away from fd 1: returns a writer on a
/// private duplicate of stdout, and makes fd 1 a duplicate of fd 2.
///
/// # Errors
/// When stdout cannot be duplicated or fd 1 cannot be redirected; fd 1 is
/// then left as it was.
pub(crate) fn take_stdout() -> io::Result<ProtocolWriter> {
    // A duplicate (close-on-exec, so no child inherits the protocol).
    let private = io::stdout().as_fd().try_clone_to_owned()?;
    let writer = writer_on(private)?;
    // Anything buffered for stdout so far belongs to no message: flush it
    // before fd 1 changes, so it cannot reach the protocol stream later.
    let _ = io::Write::flush(&mut io::stdout());
    // SAFETY: dup2 on two descriptors this process owns for its whole life
    // (0-2 are never closed here); it changes which file fd 1 names, atomically.
    let redirected = unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) };
    if redirected < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(writer)
}

/// An async writer on `fd`: a non-blocking pipe on the I/O reactor when it
/// is a FIFO (as MCP clients start servers), else a file written on the
/// blocking pool.
fn writer_on(fd: OwnedFd) -> io::Result<ProtocolWriter> {
    let file = std::fs::File::from(fd);
    if file.metadata()?.file_type().is_fifo() {
        // Reopened through /proc: the pipe's own open file description, so
        // the non-blocking mode tokio sets stays private to the server.
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        if let Ok(reopened) = std::fs::OpenOptions::new().write(true).open(path)
            && let Ok(pipe) = tokio::net::unix::pipe::Sender::from_file(reopened)
        {
            return Ok(Box::new(pipe));
        }
    }
    Ok(Box::new(tokio::fs::File::from_std(file)))
}
