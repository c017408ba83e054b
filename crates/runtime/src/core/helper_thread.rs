//! Short-lived helper threads that prepare a container's namespaces
//! (netns.rs) while the caller does other work.

use std::thread::JoinHandle;

/// Spawns `f` on a thread that starts with every signal blocked, so a
/// signal meant for the container or the CLI (a forwarded Ctrl-C) can never
/// land on it; the caller's own mask is left as it was.
pub fn spawn_with_signals_blocked<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    // SAFETY: sigset operations on local sets; the mask is restored below.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
    }
    let handle = std::thread::spawn(f);
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    handle
}

/// The result of a helper thread, a panic turned into an error.
pub fn join<T>(handle: JoinHandle<std::io::Result<T>>) -> std::io::Result<T> {
    handle
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the helper thread panicked")))
}
