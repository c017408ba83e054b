//! The id maps of hoist's per-user namespace: the user's own id becomes 0
//! (so the store and everything hoist makes stays the user's on the host),
//! and the user's subordinate ranges from /etc/subuid and /etc/subgid follow
//! from 1 up, so the ids of an image's files (and of `-u 1000` processes)
//! exist inside. Written by newuidmap/newgidmap (set-uid helpers of
//! Debian's `uidmap`), which check the ranges against those files.

use std::path::Path;

/// One line of a uid_map/gid_map: `count` ids from `inside` are `outside`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The ranges `name` (or its numeric id) owns in a subuid/subgid file's
/// text: lines `NAME:START:COUNT`, comments and bad lines skipped.
pub fn sub_ranges(text: &str, name: &str, id: u32) -> Vec<(u32, u32)> {
    let id = id.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (who, start, count) = (f.next()?, f.next()?, f.next()?);
            if who != name && who != id {
                return None;
            }
            let (start, count) = (start.parse().ok()?, count.parse::<u32>().ok()?);
            (count > 0).then_some((start, count))
        })
        .collect()
}

/// The ranges of the user from `file` (missing file: none).
pub fn read_ranges(file: &Path, name: &str, id: u32) -> Vec<(u32, u32)> {
    std::fs::read_to_string(file)
        .map(|t| sub_ranges(&t, name, id))
        .unwrap_or_default()
}

/// `own` as 0, then each range after the other from 1.
pub fn maps_for(own: u32, ranges: &[(u32, u32)]) -> Vec<IdMap> {
    let mut maps = vec![IdMap {
        inside: 0,
        outside: own,
        count: 1,
    }];
    let mut next = 1u32;
    for &(start, count) in ranges {
        let Some(end) = next.checked_add(count) else {
            break;
        };
        maps.push(IdMap {
            inside: next,
            outside: start,
            count,
        });
        next = end;
    }
    maps
}

/// newuidmap's arguments after the PID: `IN OUT COUNT` for each map.
pub fn helper_args(maps: &[IdMap]) -> Vec<String> {
    maps.iter()
        .flat_map(|m| [m.inside, m.outside, m.count])
        .map(|n| n.to_string())
        .collect()
}

/// A map as /proc/PID/uid_map shows it, for `hoist info`.
pub fn parse_proc_map(text: &str) -> Vec<IdMap> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(|n| n.parse::<u32>().ok());
            Some(IdMap {
                inside: f.next()??,
                outside: f.next()??,
                count: f.next()??,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_found_by_name_or_id_and_bad_lines_skipped() {
        let text = "# comment\nalice:100000:65536\nbob:165536:65536\n1001:300000:10\n\
                    alice:bad:1\nalice:500000:0\nalice:600000:5\n";
        assert_eq!(
            sub_ranges(text, "alice", 1000),
            vec![(100000, 65536), (600000, 5)]
        );
        assert_eq!(sub_ranges(text, "carol", 1001), vec![(300000, 10)]);
        assert!(sub_ranges(text, "dave", 1002).is_empty());
    }

    #[test]
    fn own_id_is_root_and_ranges_follow_one_after_the_other() {
        let maps = maps_for(1000, &[(100000, 65536), (600000, 5)]);
        assert_eq!(
            helper_args(&maps),
            ["0", "1000", "1", "1", "100000", "65536", "65537", "600000", "5"]
        );
        assert_eq!(maps_for(1000, &[]).len(), 1, "no ranges: a single-id map");
    }

    #[test]
    fn proc_maps_parse() {
        let maps =
            parse_proc_map("         0       1000          1\n         1     100000      65536\n");
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].outside, 100000);
    }
}
