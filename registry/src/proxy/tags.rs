//! Tag lists through the proxy: upstream's list, as distribution's proxy
//! serves it (its `proxyTagService.All`), with this registry's own list only
//! when upstream cannot give one. Not merged with the local tags: in a
//! proxied repository a tag resolves against upstream once its TTL is over
//! (manifests.rs), so a tag upstream no longer has (deleted there, or pushed
//! here only) would be listed but no longer pull.
//!
//! Upstream's pages (`Link: <…?last=…&n=…>; rel="next"`) are followed to the
//! end and the whole list is sorted, so the caller pages it with `n`/`last`
//! exactly as it pages a local list; registries that ignore `n` (distribution
//! 2.8 does) and ones that page are read the same way.

use super::upstream::{header_str, UpstreamError};
use super::Proxy;
use reqwest::Method;

/// Pages followed at most: a Link loop or an endless list ends here.
const MAX_PAGES: usize = 1000;
/// Bytes of tag-list JSON read at most, all pages together.
const MAX_LIST_BYTES: u64 = 16 << 20;

#[derive(serde::Deserialize)]
struct TagsPage {
    /// distribution answers `null` for a repository with no tags left.
    tags: Option<Vec<String>>,
}

impl Proxy {
    /// Upstream's tags for the local repository `name`, sorted. None when no
    /// upstream covers `name` or upstream cannot answer (down, refusing, or
    /// not knowing the repository): the caller then lists the local tags, as
    /// distribution does.
    pub async fn upstream_tags(&self, name: &str) -> Option<Vec<String>> {
        let (up, repo) = self.route(name)?;
        let mut tags = Vec::new();
        let mut query = String::new();
        let mut read = 0u64;
        for _ in 0..MAX_PAGES {
            let path = if query.is_empty() {
                "tags/list".to_string()
            } else {
                format!("tags/list?{query}")
            };
            let page = async {
                let resp = up
                    .request(Method::GET, &repo, &path, &["application/json"])
                    .await?;
                let next = header_str(&resp, "link").and_then(next_query);
                let body = resp.bytes().await.map_err(|e| {
                    UpstreamError::Unavailable(format!("reading the tag list of {repo}: {e}"))
                })?;
                Ok::<_, UpstreamError>((body, next))
            };
            let (body, next) = match page.await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(repository = name, error = %e, "proxy: no tag list from upstream; listing the local tags");
                    return None;
                }
            };
            read += body.len() as u64;
            crate::metrics::Metrics::add(&self.counters.upstream_bytes, body.len() as u64);
            if read > MAX_LIST_BYTES {
                tracing::warn!(
                    repository = name,
                    "proxy: upstream's tag list is over 16 MiB; listing the local tags"
                );
                return None;
            }
            match serde_json::from_slice::<TagsPage>(&body) {
                Ok(page) => tags.extend(page.tags.unwrap_or_default()),
                Err(e) => {
                    tracing::warn!(repository = name, error = %e, "proxy: upstream's tag list is not JSON; listing the local tags");
                    return None;
                }
            }
            match next {
                // A next page that asks for the same one again ends the walk.
                Some(q) if q != query => query = q,
                _ => break,
            }
        }
        tags.sort();
        tags.dedup();
        Some(tags)
    }
}

/// The query of a `Link: <URL>; rel="next"` header's URL (relative or
/// absolute), which asks for the next page of the same list.
fn next_query(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == "next");
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let query = url.split_once('?')?.1;
        (is_next && !query.is_empty()).then(|| query.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::next_query;

    #[test]
    fn next_page_query_from_link_headers() {
        assert_eq!(
            next_query(r#"</v2/a/b/tags/list?last=v2&n=2>; rel="next""#).as_deref(),
            Some("last=v2&n=2")
        );
        assert_eq!(
            next_query(r#"<https://r.example/v2/a/tags/list?n=100&last=x>; rel=next"#).as_deref(),
            Some("n=100&last=x")
        );
        assert_eq!(
            next_query(
                r#"</v2/a/tags/list?last=a>; rel="prev", </v2/a/tags/list?last=z>; rel="next""#
            )
            .as_deref(),
            Some("last=z")
        );
        assert_eq!(next_query(r#"</v2/a/tags/list?last=a>; rel="prev""#), None);
        assert_eq!(next_query("garbage"), None);
    }
}
