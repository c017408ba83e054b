//! Resolving docker's `--user` / image `User` (`name`, `uid`, `name:group`,
//! `uid:gid`) against the rootfs's /etc/passwd and /etc/group, in the parent.

use crate::error::{Result, RuntimeError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// The home directory from passwd ("/" when unknown), for HOME.
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 6 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

/// (name, gid, members)
fn groups(text: &str) -> Vec<(String, u32, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then(|| {
                let members = f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                Some((f[0].to_string(), f[2].parse().ok()?, members))
            })?
        })
        .collect()
}

/// Resolves `spec` ("" means root). `read` returns the content of a file of
/// the rootfs (e.g. "/etc/passwd") if it exists.
pub fn resolve_user(spec: &str, read: impl Fn(&str) -> Option<String>) -> Result<ResolvedUser> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let pw = passwd(&read("/etc/passwd").unwrap_or_default());
    let gr = groups(&read("/etc/group").unwrap_or_default());
    let not_found = |what: &str, name: &str, file: &str| RuntimeError::Start {
        message: format!("unable to find {what} {name}: no matching entries in {file} file"),
        exit_code: 126,
    };
    let user = if user.is_empty() { "0" } else { user };
    let entry = match user.parse::<u32>() {
        Ok(uid) => pw.iter().find(|e| e.uid == uid),
        Err(_) => Some(
            pw.iter()
                .find(|e| e.name == user)
                .ok_or_else(|| not_found("user", user, "passwd"))?,
        ),
    };
    let uid = match entry {
        Some(e) => e.uid,
        None => user.parse().unwrap_or(0),
    };
    let gid = match group {
        Some(g) if !g.is_empty() => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => gr
                .iter()
                .find(|(n, _, _)| n == g)
                .map(|(_, gid, _)| *gid)
                .ok_or_else(|| not_found("group", g, "group"))?,
        },
        _ => entry.map_or(0, |e| e.gid),
    };
    let additional_gids = match (entry, group) {
        (Some(e), None) => gr
            .iter()
            .filter(|(_, g, members)| *g != gid && members.contains(&e.name))
            .map(|(_, g, _)| *g)
            .collect(),
        _ => Vec::new(),
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: entry.map_or("/".to_string(), |e| e.home.clone()),
    })
}

/// `--group-add NAME|GID`: a name as the rootfs's /etc/group has it (or
/// a group whose ID is written so), else a number as it is; an unknown
/// name is docker's error. `read` as for `resolve_user`.
pub fn resolve_group(spec: &str, read: impl Fn(&str) -> Option<String>) -> Result<u32> {
    let gr = groups(&read("/etc/group").unwrap_or_default());
    if let Some((_, gid, _)) = gr.iter().find(|(n, _, _)| n == spec) {
        return Ok(*gid);
    }
    spec.parse::<u32>().map_err(|_| {
        RuntimeError::Invalid(format!(
            "Unable to find group {spec}: no matching entries in group file"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(path: &str) -> Option<String> {
        match path {
            "/etc/passwd" => {
                Some("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n".into())
            }
            "/etc/group" => Some("root:x:0:\nuser:x:1000:\nwheel:x:10:user,other\n".into()),
            _ => None,
        }
    }

    #[test]
    fn names_numbers_and_groups() {
        let u = resolve_user("user", files).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (1000, 1000, vec![10])
        );
        assert_eq!(u.home, "/home/user");
        assert_eq!(resolve_user("", files).unwrap().uid, 0);
        let n = resolve_user("4242:wheel", files).unwrap();
        assert_eq!((n.uid, n.gid), (4242, 10));
        assert!(resolve_user("ghost", files).is_err());
        assert!(resolve_user("0:nogroup", files).is_err());
    }

    #[test]
    fn added_groups_by_name_or_number() {
        assert_eq!(resolve_group("wheel", files).unwrap(), 10);
        assert_eq!(resolve_group("4321", files).unwrap(), 4321);
        assert_eq!(resolve_group("1000", |_| None).unwrap(), 1000);
        let e = resolve_group("staff", files).unwrap_err().to_string();
        assert!(e.contains("Unable to find group staff"), "{e}");
    }
}
