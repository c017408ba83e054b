//! What a pull checks about layers besides their tar (which the blob's
//! thread checks while it downloads, `blob_thread.rs`): which blobs are tars
//! to check, and whether their diff IDs are what the image config says.

/// Whether a layer of this media type is a tar the checker can read. Other
/// blobs listed as layers (artifacts, encrypted layers) are stored as they
/// are (`run` refuses at unpack what it cannot read).
pub fn is_tar_layer(media_type: &str) -> bool {
    // OCI and Docker layer types, distributable or not (with or without
    // +gzip / +zstd / .gzip suffixes); an empty media type is a Docker
    // schema2 layer written by a careless tool. Encrypted layers (ocicrypt's
    // `+encrypted`) cannot be read without their key.
    let layer = media_type.is_empty()
        || media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.");
    layer && !media_type.ends_with("+encrypted")
}

/// Compares the diff IDs the checker computed with the image config's
/// `rootfs.diff_ids`, layer by layer (`layers`: manifest order, digest and
/// computed diff ID when the layer was checked). Snapshots are keyed by
/// chain IDs made from the config's diff IDs, so a layer whose content is
/// not the diff ID its config claims could take the place of another
/// image's layer; docker refuses such images too. Err: the layer's digest
/// and why. Configs without `rootfs.diff_ids` (artifacts) are not checked.
pub fn check_diff_ids(
    config: &[u8],
    layers: &[(&str, Option<&str>)],
) -> Result<(), (String, String)> {
    let Ok(config) = serde_json::from_slice::<serde_json::Value>(config) else {
        return Ok(()); // not JSON: not an image config `run` could use
    };
    let Some(claimed) = config
        .pointer("/rootfs/diff_ids")
        .and_then(|v| v.as_array())
    else {
        return Ok(());
    };
    for (i, (digest, computed)) in layers.iter().enumerate() {
        let (Some(computed), Some(claimed)) = (computed, claimed.get(i)) else {
            continue;
        };
        let claimed = claimed.as_str().unwrap_or("(not a string)");
        if claimed != *computed {
            return Err((
                digest.to_string(),
                format!(
                    "its uncompressed content is {computed}, but the image config names {claimed} for it (rootfs.diff_ids[{i}])"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_ids_are_compared_in_manifest_order() {
        let config = br#"{"rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}"#;
        let ok = [("sha256:1", Some("sha256:aa")), ("sha256:2", None)];
        assert!(check_diff_ids(config, &ok).is_ok());
        let swapped = [
            ("sha256:1", Some("sha256:bb")),
            ("sha256:2", Some("sha256:aa")),
        ];
        let (digest, why) = check_diff_ids(config, &swapped).unwrap_err();
        assert_eq!(digest, "sha256:1");
        assert!(
            why.contains("rootfs.diff_ids[0]") && why.contains("sha256:bb"),
            "{why}"
        );
        assert!(
            check_diff_ids(b"{}", &swapped).is_ok(),
            "artifact configs pass"
        );
    }

    #[test]
    fn tar_layer_media_types() {
        assert!(is_tar_layer("application/vnd.oci.image.layer.v1.tar+gzip"));
        assert!(is_tar_layer(
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        ));
        assert!(!is_tar_layer(
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
        ));
    }
}
