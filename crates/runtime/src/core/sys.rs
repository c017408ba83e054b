//! Raw system calls the container child makes between `clone` and `execve`.
//! Each is one `syscall(2)` (or a libc wrapper that is exactly one syscall): no
//! allocation, no locks, no glibc thread bookkeeping (glibc's `setuid` would try
//! to signal threads that do not exist in the child).

use libc::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

/// The calling thread's errno.
pub fn errno() -> i32 {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

/// Converts a -1 return into `Err(errno)`.
pub fn check(ret: c_long) -> Result<c_long, i32> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

/// mount(2).
///
/// # Safety
/// Pointers must be null or NUL-terminated strings.
pub unsafe fn mount(
    src: *const c_char,
    target: *const c_char,
    fstype: *const c_char,
    flags: c_ulong,
    data: *const c_void,
) -> Result<(), i32> {
    check(libc::mount(src, target, fstype, flags, data) as c_long).map(|_| ())
}

/// How often an `openat2` refused with EAGAIN is asked again. For RESOLVE_IN_ROOT and
/// RESOLVE_BENEATH the kernel answers EAGAIN when a rename or a mount anywhere on the
/// system raced a `..` step (it cannot then prove the walk stayed inside) and says the
/// caller may retry; where containers start all the time one try is not enough
/// (CI: `cp` failed with "Resource temporarily unavailable"). Still EAGAIN after this
/// many tries is returned.
const OPENAT2_EAGAIN_RETRIES: usize = 100;

/// openat2(2) with the given resolve flags, asked again on EAGAIN (above) and EINTR.
/// Only system calls: safe between fork and exec.
///
/// # Safety
/// `path` must be a NUL-terminated string.
pub unsafe fn openat2(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: u32,
    resolve: u64,
) -> Result<c_int, i32> {
    let mut how: libc::open_how = std::mem::zeroed();
    how.flags = flags as u64;
    how.mode = mode as u64;
    how.resolve = resolve;
    let mut tries = 0;
    loop {
        let r = check(libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path,
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        ));
        match r {
            Err(libc::EAGAIN) if tries < OPENAT2_EAGAIN_RETRIES => tries += 1,
            Err(libc::EINTR) => {}
            r => return r.map(|fd| fd as c_int),
        }
    }
}

/// pivot_root(2).
///
/// # Safety
/// Pointers must be NUL-terminated strings.
pub unsafe fn pivot_root(new_root: *const c_char, put_old: *const c_char) -> Result<(), i32> {
    check(libc::syscall(libc::SYS_pivot_root, new_root, put_old)).map(|_| ())
}

/// Marks every descriptor from `first` up as close-on-exec.
pub fn cloexec_from(first: c_uint) {
    // SAFETY: close_range only changes descriptor flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// setresuid/setresgid/setgroups as raw syscalls (this thread = the whole child).
pub fn set_ids(uid: u32, gid: u32, groups: &[libc::gid_t]) -> Result<(), (u32, i32)> {
    // Rootless without subordinate gids the kernel refuses setgroups; the
    // parent checked that no other groups were asked for (rootless.rs).
    let keep_groups = crate::rootless::SETGROUPS_DENIED.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: raw credential syscalls with valid pointers.
    unsafe {
        if !keep_groups {
            check(libc::syscall(
                libc::SYS_setgroups,
                groups.len(),
                groups.as_ptr(),
            ))
            .map_err(|e| (0, e))?;
        }
        check(libc::syscall(libc::SYS_setresgid, gid, gid, gid)).map_err(|e| (1, e))?;
        check(libc::syscall(libc::SYS_setresuid, uid, uid, uid)).map_err(|e| (2, e))?;
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// capset(2), version 3 (64-bit sets).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), i32> {
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and two data structs as capset v3 expects.
    unsafe { check(libc::syscall(libc::SYS_capset, &header, data.as_ptr())).map(|_| ()) }
}

/// prctl(2) with integer arguments.
pub fn prctl(option: c_int, a: c_ulong, b: c_ulong) -> Result<(), i32> {
    // SAFETY: integer-only prctl options.
    unsafe { check(libc::prctl(option, a, b, 0 as c_ulong, 0 as c_ulong) as c_long).map(|_| ()) }
}

/// Writes the whole buffer (retrying on EINTR); errors are returned as errno.
pub fn write_all(fd: c_int, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid slice.
        let n = unsafe { libc::write(fd, buf.as_ptr() as *const c_void, buf.len()) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Formats `/proc/self/fd/<fd>` into `buf` (NUL-terminated) without allocating.
pub fn proc_fd_path(fd: c_int, buf: &mut [u8; 32]) -> *const c_char {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 12];
    let mut n = fd as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        buf[PREFIX.len() + i] = digits[len - 1 - i];
    }
    buf[PREFIX.len() + len] = 0;
    buf.as_ptr() as *const c_char
}
