//! rename: lifecycle::rename; prints nothing on success, as docker; errors exit 1.

use std::path::Path;

use super::run::lifecycle;

pub fn rename(root: &Path, container: &str, new: &str) -> anyhow::Result<i32> {
    let lc = lifecycle(root)?;
    match lc.find(container).and_then(|rec| lc.rename(&rec, new)) {
        Ok(_) => Ok(0),
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(1)
        }
    }
}
