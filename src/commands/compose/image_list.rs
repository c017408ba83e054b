//! `hoist compose images`: the image of each of the project's containers, in docker
//! compose's columns (CONTAINER, REPOSITORY, TAG, IMAGE ID, SIZE), or `-q` the image IDs.

use super::Session;
use crate::render::table;

/// `repo:tag` → (repo, tag); a digest reference has no tag.
fn repo_tag(image: &str) -> (String, String) {
    if let Some((repo, _)) = image.split_once('@') {
        return (repo.to_string(), "<none>".into());
    }
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].rfind(':') {
        Some(i) => (
            image[..slash + i].to_string(),
            image[slash + i + 1..].to_string(),
        ),
        None => (image.to_string(), "latest".into()),
    }
}

/// docker's sizes: decimal units, three significant digits.
fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!(
        "{}{}",
        &text[..text.len().min(4)].trim_end_matches('.'),
        units[i]
    )
}

pub fn images(session: &Session, quiet: bool, services: &[String]) -> anyhow::Result<i32> {
    session.check_services(services)?;
    let store = hoist_store::Store::open(session.lifecycle.root())?;
    let mut rows = Vec::new();
    for (rec, _) in session.containers(services, false) {
        let (id, size) = match store
            .resolve(&rec.image)
            .and_then(|n| store.load_image(&n.descriptor))
        {
            Ok(img) => {
                let size = img.layers().iter().map(|l| l.size()).sum::<u64>()
                    + img.manifest.config().size();
                let hex = img.config_digest.to_string();
                let hex = hex.trim_start_matches("sha256:").to_string();
                (hex, human_size(size))
            }
            Err(_) => ("<missing>".to_string(), String::new()),
        };
        if quiet {
            println!("{id}");
            continue;
        }
        let (repo, tag) = repo_tag(&rec.image);
        let short: String = id.chars().take(12).collect();
        rows.push(vec![rec.name.clone(), repo, tag, short, size]);
    }
    if !quiet {
        let headers = ["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"];
        for line in table::lines(&headers, &rows) {
            println!("{line}");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references_and_sizes() {
        assert_eq!(
            repo_tag("busybox:latest"),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            repo_tag("127.0.0.1:5000/team/app"),
            ("127.0.0.1:5000/team/app".into(), "latest".into())
        );
        assert_eq!(
            repo_tag("127.0.0.1:5000/app:v1"),
            ("127.0.0.1:5000/app".into(), "v1".into())
        );
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(12_345_678), "12.3MB");
    }
}
