//! Platforms as `--platform` and `FROM --platform` give them, normalized the
//! way containerd does (`aarch64` is `arm64`, `arm64/v8` is `arm64`, `arm`
//! is `arm/v7`), and the platform ARGs docker predefines for a build.

use hoist_store::{host_platform, Platform};

/// Parses and normalizes `linux/arm64`, `linux/amd64`, `linux/arm/v7`...
pub fn parse(text: &str) -> Result<Platform, String> {
    let lower = text.trim().to_ascii_lowercase();
    let p: Platform = lower.parse()?;
    let (architecture, variant) = match (p.architecture.as_str(), p.variant.as_deref()) {
        ("x86_64" | "x86-64" | "amd64", None | Some("v1")) => ("amd64", None),
        ("amd64", Some(v)) => ("amd64", Some(v)),
        ("aarch64" | "arm64", None | Some("v8")) => ("arm64", None),
        ("arm64", Some(v)) => ("arm64", Some(v)),
        ("armhf" | "arm", None) => ("arm", Some("v7")),
        ("armel", None) => ("arm", Some("v6")),
        ("arm", Some(v)) => ("arm", Some(v)),
        ("i386" | "i686" | "386", None) => ("386", None),
        (a, v) => (a, v),
    };
    Ok(Platform {
        os: p.os,
        architecture: architecture.to_string(),
        variant: variant.map(str::to_string),
    })
}

/// A comma-separated `--platform` list, normalized, without duplicates.
pub fn parse_list(text: &str) -> Result<Vec<Platform>, String> {
    let mut out: Vec<Platform> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p = parse(part)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(format!("--platform {text:?} names no platform"));
    }
    Ok(out)
}

/// The platform ARGs docker predefines: the target's and the build host's.
pub fn platform_args(target: &Platform) -> Vec<(&'static str, String)> {
    let build = host_platform();
    vec![
        ("TARGETPLATFORM", target.to_string()),
        ("TARGETOS", target.os.clone()),
        ("TARGETARCH", target.architecture.clone()),
        ("TARGETVARIANT", target.variant.clone().unwrap_or_default()),
        ("BUILDPLATFORM", build.to_string()),
        ("BUILDOS", build.os.clone()),
        ("BUILDARCH", build.architecture.clone()),
        ("BUILDVARIANT", build.variant.clone().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_normalize_like_containerd() {
        let s = |t: &str| parse(t).unwrap().to_string();
        assert_eq!(s("linux/aarch64"), "linux/arm64");
        assert_eq!(s("linux/arm64/v8"), "linux/arm64");
        assert_eq!(s("Linux/X86_64"), "linux/amd64");
        assert_eq!(s("linux/arm"), "linux/arm/v7");
        assert_eq!(s("linux/arm/v6"), "linux/arm/v6");
        assert!(parse("arm64").unwrap_err().contains("OS/ARCH"));
    }

    #[test]
    fn lists_drop_duplicates_and_refuse_empty() {
        let l = parse_list("linux/amd64, linux/arm64,linux/x86_64").unwrap();
        let names: Vec<String> = l.iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64"]);
        assert!(parse_list(" , ").is_err());
    }

    #[test]
    fn args_name_target_and_build_platforms() {
        let args = platform_args(&parse("linux/arm/v7").unwrap());
        let get = |k: &str| args.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("TARGETPLATFORM"), "linux/arm/v7");
        assert_eq!(get("TARGETARCH"), "arm");
        assert_eq!(get("TARGETVARIANT"), "v7");
        assert_eq!(get("BUILDPLATFORM"), host_platform().to_string());
    }
}
