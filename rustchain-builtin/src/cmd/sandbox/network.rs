//! The network of a child whose entry grants hosts: its own network
//! namespace whose only way out is a listener the executor's proxy accepts on.
//!
//! A socket keeps the namespace it was made in. So the child, inside its new
//! namespace and before it executes the program, brings up `lo`, listens on
//! `127.0.0.1:`[`PROXY_PORT`] and hands the listening socket to the executor
//! over a Unix socket pair (`SCM_RIGHTS`). The executor accepts on it from
//! outside, where the proxy (`cmd::proxy`) checks each target and makes the
//! connection. Nothing else in the namespace leads anywhere: it has no
//! interface but `lo`, and Landlock lets the program connect to that one port
//! and bind none.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::setup::check;

/// The port the proxy listens on inside the child's namespace. Fixed: the
/// namespace is the child's alone, so nothing else can hold it, and the
/// Landlock rule naming it is built before the child starts.
pub(crate) const PROXY_PORT: u16 = 3128;

/// Connections waiting to be accepted, at most.
const BACKLOG: libc::c_int = 64;

/// The socket pair the listener comes back through: the executor keeps
/// one end, the child sends on the other (both close on exec, so the
/// program never holds either).
#[derive(Debug)]
pub(crate) struct Handover {
    executor: OwnedFd,
    child: OwnedFd,
}

impl Handover {
    /// A fresh pair, made before the child is started.
    pub(crate) fn new() -> io::Result<Handover> {
        let mut ends = [0 as libc::c_int; 2];
        // SAFETY: socketpair writes two descriptors into `ends`.
        check(unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                ends.as_mut_ptr(),
            )
        } as libc::c_long)?;
        // SAFETY: both descriptors were just made and are owned by nobody else.
        let (executor, child) =
            unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        Ok(Handover { executor, child })
    }

    /// The end the child sends on, for its setup.
    pub(crate) fn child_end(&self) -> RawFd {
        self.child.as_raw_fd()
    }

    /// The listener the child sent, once it has executed the program (so it
    /// is already queued: nothing is waited for). Non-blocking.
    pub(crate) fn receive(self) -> io::Result<TcpListener> {
        drop(self.child);
        let fd = receive_fd(self.executor.as_raw_fd())?;
        let listener = TcpListener::from(fd);
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}

/// In the child, between `fork` and `exec` (raw system calls only): `lo`
/// up, a listener on `127.0.0.1:PROXY_PORT`, sent over `channel`, then both
/// closed here.
pub(super) fn hand_over_listener(channel: RawFd) -> io::Result<()> {
    loopback_up()?;
    // SAFETY: socket takes plain numbers.
    let listener =
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    check(listener as libc::c_long)?;
    let sent = listen(listener).and_then(|()| send_fd(channel, listener));
    // SAFETY: closes descriptors this process owns; the executor holds its copy.
    unsafe {
        libc::close(listener);
        libc::close(channel);
    }
    sent
}

/// Brings the namespace's `lo` up (a new namespace starts with it down).
fn loopback_up() -> io::Result<()> {
    // SAFETY: socket takes plain numbers.
    let control = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    check(control as libc::c_long)?;
    // SAFETY: an all-zero ifreq is a valid value to fill in.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: the ioctls read and write `request`, a valid ifreq naming `lo`.
    let rc = unsafe {
        let mut rc = libc::ioctl(control, libc::SIOCGIFFLAGS as _, &mut request);
        if rc >= 0 {
            request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(control, libc::SIOCSIFFLAGS as _, &request);
        }
        libc::close(control);
        rc
    };
    check(rc as libc::c_long)
}

fn listen(listener: RawFd) -> io::Result<()> {
    let address = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: PROXY_PORT.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: bind reads a sockaddr_in of the size given.
    check(unsafe {
        libc::bind(
            listener,
            (&raw const address).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    } as libc::c_long)?;
    // SAFETY: listen takes plain numbers.
    check(unsafe { libc::listen(listener, BACKLOG) } as libc::c_long)
}

/// Room for one control message carrying one descriptor, aligned for its header.
#[repr(C)]
union Control {
    header: libc::cmsghdr,
    bytes: [u8; 64],
}

/// A message of one data byte (`data`) whose control buffer is `control`, of
/// which `control_len` bytes are offered. Plain stores only: `send_fd` runs it
/// between fork and exec, where only async-signal-safe work is allowed.
fn one_byte_message(
    data: &mut libc::iovec,
    control: &mut Control,
    control_len: usize,
) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is a valid value to fill in.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = data;
    message.msg_iovlen = 1;
    message.msg_control = (control as *mut Control).cast();
    message.msg_controllen = control_len as _;
    message
}

/// Sends `fd` over `channel` as `SCM_RIGHTS`, with one byte of data.
fn send_fd(channel: RawFd, fd: RawFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut data = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: an all-zero control buffer is a valid value to fill in; the
    // CMSG macros stay inside `control`, which is large enough and aligned
    // for one header and one int; `data` and `control` outlive the message.
    unsafe {
        let mut control: Control = std::mem::zeroed();
        let space = libc::CMSG_SPACE(size_of_fd()) as usize;
        let message = one_byte_message(&mut data, &mut control, space);
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(size_of_fd()) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>(), fd);
        check(libc::sendmsg(channel, &message, libc::MSG_NOSIGNAL) as libc::c_long)
    }
}

/// Receives one descriptor sent by [`send_fd`], without waiting.
fn receive_fd(channel: RawFd) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut data = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: as in `send_fd`; recvmsg writes at most `msg_controllen`
    // bytes into `control`, and the descriptor read is checked to be there.
    unsafe {
        let mut control: Control = std::mem::zeroed();
        let size = std::mem::size_of::<Control>();
        let mut message = one_byte_message(&mut data, &mut control, size);
        let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC;
        check(libc::recvmsg(channel, &mut message, flags) as libc::c_long)?;
        let header = libc::CMSG_FIRSTHDR(&message);
        if header.is_null()
            || (*header).cmsg_level != libc::SOL_SOCKET
            || (*header).cmsg_type != libc::SCM_RIGHTS
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the child sent no listening socket",
            ));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>());
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

fn size_of_fd() -> u32 {
    std::mem::size_of::<libc::c_int>() as u32
}
