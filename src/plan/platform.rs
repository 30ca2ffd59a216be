//! Which platform a job runs on: `image:docker:platform`, else the job's tags through a map
//! (`arm64`, `aarch64`, `gcp_arm64`, `*_arm64` -> linux/arm64; `s390x` -> linux/s390x), else the host's.

use crate::checkout::host_arch;

#[derive(Debug, Clone, Default)]
pub struct PlatformMap {
    /// User entries (`--platform-map TAG=PLATFORM`), consulted before the defaults. A tag may end
    /// in `*` to match a prefix or start with `*` to match a suffix.
    pub entries: Vec<(String, String)>,
}

impl PlatformMap {
    pub fn parse_entry(s: &str) -> Result<(String, String), String> {
        let (tag, platform) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected TAG=PLATFORM, such as arm64=linux/arm64"))?;
        let platform = normalize(platform)
            .ok_or_else(|| format!("`{platform}` is not a platform such as linux/arm64"))?;
        Ok((tag.to_string(), platform))
    }

    pub fn platform_for(&self, image_platform: Option<&str>, tags: &[String]) -> String {
        if let Some(p) = image_platform.and_then(normalize) {
            return p;
        }
        for tag in tags {
            if let Some((_, p)) = self.entries.iter().find(|(pat, _)| tag_matches(pat, tag)) {
                return p.clone();
            }
        }
        for tag in tags {
            if let Some(p) = default_for_tag(tag) {
                return p.to_string();
            }
        }
        host_platform()
    }
}

pub fn host_platform() -> String {
    format!("linux/{}", host_arch())
}

fn tag_matches(pattern: &str, tag: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        tag.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        tag.ends_with(suffix)
    } else {
        pattern == tag
    }
}

fn default_for_tag(tag: &str) -> Option<&'static str> {
    let t = tag.to_ascii_lowercase();
    if t == "arm64" || t == "aarch64" || t.ends_with("_arm64") || t.ends_with("-arm64") {
        Some("linux/arm64")
    } else if t == "s390x" || t.ends_with("_s390x") || t.ends_with("-s390x") {
        Some("linux/s390x")
    } else if t == "amd64" || t == "x86_64" || t.ends_with("_amd64") || t.ends_with("_x86_64") {
        Some("linux/amd64")
    } else {
        None
    }
}

/// `arm64`, `linux/aarch64`, `linux/arm64/v8` -> `linux/arm64`; `x86_64` -> `linux/amd64`.
pub fn normalize(p: &str) -> Option<String> {
    let p = p.trim().to_ascii_lowercase();
    let (os, rest) = p.split_once('/').unwrap_or(("linux", &p));
    let arch = rest.split('/').next().unwrap_or("");
    let arch = match arch {
        "amd64" | "x86_64" | "x86-64" => "amd64",
        "arm64" | "aarch64" => "arm64",
        "s390x" => "s390x",
        "ppc64le" | "riscv64" | "386" => arch,
        "arm" | "armv7" | "armhf" => "arm",
        _ => return None,
    };
    Some(format!("{os}/{arch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pick_platforms() {
        let m = PlatformMap::default();
        let t = |tags: &[&str]| {
            m.platform_for(
                None,
                &tags.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(t(&["arm64"]), "linux/arm64");
        assert_eq!(t(&["gcp_arm64"]), "linux/arm64");
        assert_eq!(t(&["foo", "s390x"]), "linux/s390x");
        assert_eq!(t(&["gcp"]), host_platform());
        assert_eq!(
            m.platform_for(Some("linux/arm64/v8"), &["s390x".into()]),
            "linux/arm64",
            "image platform wins"
        );
        let user = PlatformMap {
            entries: vec![PlatformMap::parse_entry("big_*=linux/s390x").unwrap()],
        };
        assert_eq!(user.platform_for(None, &["big_box".into()]), "linux/s390x");
        assert!(PlatformMap::parse_entry("x=windows/mips").is_err());
    }
}
