//! Image references, repository names, tags and digests. A reference that
//! parses must print to text that parses back to the same reference.
//!
//! The body of fuzz target `reference`, shared by fuzz_targets/reference.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

use hoist_oci::{Digest, Reference};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(text) {
        let printed = r.to_string();
        let again = Reference::parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} parsed, but its form {printed:?} does not: {e}"));
        assert_eq!(again.to_string(), printed, "from {text:?}");
        let _ = r.familiar();
    }
    let _ = hoist_oci::validate_repository_name(text);
    let _ = hoist_oci::validate_tag(text);
    if let Ok(d) = text.parse::<Digest>() {
        assert_eq!(d.to_string().parse::<Digest>().ok(), Some(d));
    }
}
