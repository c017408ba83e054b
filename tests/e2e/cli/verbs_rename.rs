//! `rename`: a running container answers to its new name only, the old name is free again,
//! and a taken name, the same name or an unknown container exit 1 with docker's meaning.

use super::stderr;
use crate::container::Fixture;

#[test]
fn rename_moves_the_name_and_frees_the_old_one() {
    let Some(f) = Fixture::new() else { return };
    let id = f.ok(&["run", "-d", "--name", "old", "busybox", "sleep", "300"]);
    f.ok(&["create", "--name", "other", "busybox", "true"]);
    assert_eq!(f.ok(&["container", "rename", "old", "new"]), "");
    assert_eq!(f.inspect("new")["Id"], id.as_str());
    assert_eq!(f.inspect("new")["Name"], "/new");
    assert_eq!(f.ok(&["ps", "--format", "{{.Names}}"]), "new");
    let gone = f.out(&["inspect", "old"]);
    assert_ne!(gone.status.code(), Some(0), "the old name still answers");
    // The old name is free: a new container can take it.
    f.ok(&["create", "--name", "old", "busybox", "true"]);

    let taken = f.out(&["rename", "new", "other"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(
        stderr(&taken).contains("already in use"),
        "{}",
        stderr(&taken)
    );
    assert_eq!(
        f.inspect("new")["Id"],
        id.as_str(),
        "a failed rename keeps the name"
    );
    let same = f.out(&["rename", "new", "new"]);
    assert_eq!(same.status.code(), Some(1));
    let missing = f.out(&["rename", "nosuch", "x"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no such container"),
        "{}",
        stderr(&missing)
    );
    f.ok(&["rm", "-f", "new", "old", "other"]);
}
