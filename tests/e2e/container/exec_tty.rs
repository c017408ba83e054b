//! `exec -t`: a pty of the container's own devpts, relayed by the CLI.

use super::Fixture;

#[test]
fn exec_t_gets_a_pty_of_the_container() {
    let Some(f) = Fixture::new() else { return };
    f.ok(&["run", "-d", "--name", "t", "busybox", "sleep", "600"]);
    // The process's stdio is a terminal named inside the container.
    let tty = f.ok(&["exec", "-t", "t", "tty"]);
    assert!(tty.starts_with("/dev/pts/"), "{tty:?}");
    // The pty turns \n into \r\n, as a terminal does; no pty, no \r.
    let out = f.out(&["exec", "-t", "t", "sh", "-c", "echo one; echo two"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\r\ntwo\r\n");
    let plain = f.ok(&["exec", "t", "sh", "-c", "test -t 1 || echo not-a-tty"]);
    assert_eq!(plain, "not-a-tty");
    // The exit code comes through.
    assert_eq!(
        f.out(&["exec", "-t", "t", "sh", "-c", "exit 5"])
            .status
            .code(),
        Some(5)
    );

    // -i relays our stdin into the pty: the shell reads a command from it.
    f.assert_shell_reads_stdin(&["exec", "-i", "-t", "t", "sh"]);

    // A backgrounded process keeping the pty open does not hold exec up.
    let out = f.out(&["exec", "-t", "t", "sh", "-c", "sleep 30 & echo bg"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bg\r\n");

    // Stopped container: a clear error, as without -t.
    f.ok(&["stop", "-t", "1", "t"]);
    let out = f.out(&["exec", "-t", "t", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
    f.ok(&["rm", "t"]);
}
