//! `run -t`: the container's terminal is a pty of its own devpts instance,
//! made by the child after it mounted /dev/pts (as runc does with its console
//! socket), so `tty` inside says /dev/pts/0 and no host pty is involved. The
//! master goes to the monitor over a socketpair (SCM_RIGHTS); the slave
//! replaces the process's three stdio placeholders. Child side: raw syscalls
//! only (see child.rs).

use libc::{c_int, c_void};
use std::os::fd::RawFd;

use super::sys;

/// Opens a pty pair in the devpts at /dev/pts (the container's, after
/// pivot_root), gives it `size`, sends the master on `sock` and makes the
/// slave the descriptors in `stdio` (which exec_process then moves to 0, 1
/// and 2).
///
/// # Safety
/// To be called in the container child only, with `sock` a connected unix
/// socket and `stdio` open descriptors.
pub unsafe fn make_console(
    sock: c_int,
    stdio: &[RawFd; 3],
    size: Option<&libc::winsize>,
) -> Result<(), i32> {
    let master = sys::check(libc::open(
        c"/dev/pts/ptmx".as_ptr(),
        libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
    ) as _)? as c_int;
    let result = (|| {
        let unlock: c_int = 0;
        sys::check(libc::ioctl(master, libc::TIOCSPTLCK, &unlock) as _)?;
        if let Some(ws) = size {
            sys::check(libc::ioctl(master, libc::TIOCSWINSZ, ws as *const libc::winsize) as _)?;
        }
        // TIOCGPTPEER opens the slave from the master: no path to look up.
        let slave =
            sys::check(libc::ioctl(master, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY) as _)?
                as c_int;
        send_fd(sock, master)?;
        for fd in stdio {
            if libc::dup3(slave, *fd, 0) < 0 {
                let e = sys::errno();
                libc::close(slave);
                return Err(e);
            }
        }
        libc::close(slave);
        Ok(())
    })();
    libc::close(master);
    libc::close(sock);
    result
}

/// Sends one descriptor with a one-byte message.
unsafe fn send_fd(sock: c_int, fd: c_int) -> Result<(), i32> {
    let mut byte = [b'c'];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr() as *mut c_void,
        iov_len: 1,
    };
    // 32 bytes, 8-aligned: room for one cmsghdr carrying one int.
    let mut control = [0u64; 4];
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut c_void;
    msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) as usize;
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    if cmsg.is_null() {
        return Err(libc::EINVAL);
    }
    (*cmsg).cmsg_level = libc::SOL_SOCKET;
    (*cmsg).cmsg_type = libc::SCM_RIGHTS;
    (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as usize;
    std::ptr::copy_nonoverlapping(
        &fd as *const c_int as *const u8,
        libc::CMSG_DATA(cmsg),
        std::mem::size_of::<c_int>(),
    );
    loop {
        if libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) >= 0 {
            return Ok(());
        }
        let e = sys::errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Parent side: receives the master the child sent, or None when the child
/// closed the socket without sending one (it failed; its error pipe says why).
pub fn receive_console(sock: &std::os::fd::OwnedFd) -> std::io::Result<Option<std::fs::File>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(std::io::Error::from)?,
        }
    };
    for c in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            let mut files = fds
                .into_iter()
                // SAFETY: descriptors just received are ours alone.
                .map(|fd| unsafe { std::fs::File::from_raw_fd(fd) });
            return Ok(files.next());
        }
    }
    Ok(None)
}
