//! Bounded JSON nesting. A manifest is a few levels deep (an index's
//! `manifests[].platform.features[]` is the deepest the specs define); a
//! body of a million `[` is an attack on the parser's stack and time, so it
//! is refused by one linear scan before any parser sees it.

/// The first nesting depth past `max` in `body`, if any. Brackets inside
/// strings (with their escapes) do not count; malformed JSON is left to the
/// parser to refuse.
pub fn excess_depth(body: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(depth);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::excess_depth;

    #[test]
    fn counts_arrays_and_objects_outside_strings() {
        assert_eq!(excess_depth(br#"{"a":[{"b":[]}]}"#, 4), None);
        assert_eq!(excess_depth(br#"{"a":[{"b":[]}]}"#, 3), Some(4));
        assert_eq!(excess_depth(br#"{"a":"[[[[[[[[\"[[[["}"#, 1), None);
        assert_eq!(excess_depth(br#"{"a":"\\"}"#, 1), None);
        assert_eq!(excess_depth(&[b'['; 100_000], 32), Some(33));
        // Closing brackets never make the depth negative.
        assert_eq!(excess_depth(b"]]]]{}", 1), None);
    }
}
