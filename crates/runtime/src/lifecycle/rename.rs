//! `rename`: the new name is reserved first (atomically, as at create), then
//! the record is saved with it, then the old name is freed, so at no moment
//! is the container without a name or the old name free while still used.
//! A running container can be renamed (docker's rule); its monitor keeps
//! the name it started with for its own messages until the next start.

use super::Lifecycle;
use crate::container::{self, paths, ContainerRecord};
use crate::error::{Result, RuntimeError};

impl Lifecycle {
    /// Renames the container; `NameInUse` if another holds `new`,
    /// `Invalid` for the same name or a name docker would refuse.
    pub fn rename(&self, rec: &ContainerRecord, new: &str) -> Result<ContainerRecord> {
        let new = new.trim_start_matches('/');
        if new == rec.name {
            return Err(RuntimeError::Invalid(format!(
                "renaming container {new:?} to the name it already has"
            )));
        }
        // A `--rm` container's name lives in the run dir, the others' in the store.
        let throwaway = [true, false].into_iter().find(|t| {
            std::fs::read_to_string(paths::names_dir(self.root(), *t).join(&rec.name))
                .is_ok_and(|owner| owner.trim() == rec.id)
        });
        let throwaway = throwaway.unwrap_or(false);
        container::reserve_name(self.root(), new, &rec.id, throwaway)?;
        let mut renamed = rec.clone();
        renamed.name = new.to_string();
        if let Err(e) = container::save(self.root(), &renamed) {
            let _ = std::fs::remove_file(paths::names_dir(self.root(), throwaway).join(new));
            return Err(e);
        }
        let old = paths::names_dir(self.root(), throwaway).join(&rec.name);
        let _ = std::fs::remove_file(old);
        Ok(renamed)
    }
}
