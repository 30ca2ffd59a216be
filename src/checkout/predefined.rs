//! GitLab's predefined `CI_*` variables for a pipeline on a checkout.

use super::{Checkout, PipelineOrigin, ZERO_SHA, host_arch};
use crate::pipeline::model::PipelineSource;

impl Checkout {
    /// GitLab's predefined variables for a pipeline of `origin.source` on this checkout. Job-level
    /// ones (`CI_JOB_NAME`...) are added per job by the planner.
    pub fn predefined(
        &self,
        origin: &PipelineOrigin,
        project_dir_in_job: &str,
    ) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, val: String| v.push((k.to_string(), val));
        let ref_name = self.ref_name();
        let is_mr = origin.source == PipelineSource::MergeRequestEvent;
        let title = self.message.lines().next().unwrap_or("").to_string();
        let description = self
            .message
            .split_once('\n')
            .map(|(_, d)| d.trim_start_matches('\n').to_string())
            .unwrap_or_default();
        let path = format!("{}/{}", self.namespace, self.name);
        set("CI", "true".into());
        set("GITLAB_CI", "true".into());
        set("TEZOS_CI_LOCAL", "true".into());
        set("CI_SERVER", "yes".into());
        set("CI_SERVER_HOST", "gitlab.com".into());
        set("CI_SERVER_URL", "https://gitlab.com".into());
        set("CI_SERVER_NAME", "GitLab".into());
        set("CI_PIPELINE_SOURCE", origin.source.to_string());
        set("CI_PIPELINE_ID", "1".into());
        set("CI_PIPELINE_IID", "1".into());
        set(
            "CI_PIPELINE_URL",
            format!("https://gitlab.com/{path}/-/pipelines/1"),
        );
        set("CI_COMMIT_SHA", self.sha.clone());
        set(
            "CI_COMMIT_SHORT_SHA",
            self.sha[..8.min(self.sha.len())].to_string(),
        );
        // "The previous latest commit present on a branch or tag", zeros for merge requests,
        // schedules and a branch's first push (docs.gitlab.com/ci/variables/predefined_variables/).
        let before = match origin.source {
            PipelineSource::Push => self.upstream_sha(),
            _ => None,
        };
        set(
            "CI_COMMIT_BEFORE_SHA",
            before.unwrap_or_else(|| ZERO_SHA.into()),
        );
        set("CI_COMMIT_REF_NAME", ref_name.clone());
        set("CI_COMMIT_REF_SLUG", slug(&ref_name));
        set("CI_COMMIT_REF_PROTECTED", "false".into());
        if let Some(tag) = &self.tag {
            set("CI_COMMIT_TAG", tag.clone());
            set("CI_COMMIT_TAG_MESSAGE", String::new());
        } else if let (Some(b), false) = (&self.branch, is_mr) {
            set("CI_COMMIT_BRANCH", b.clone());
        }
        set("CI_COMMIT_TITLE", title.clone());
        set("CI_COMMIT_MESSAGE", self.message.clone());
        set("CI_COMMIT_DESCRIPTION", description);
        set("CI_COMMIT_AUTHOR", self.author.clone());
        set("CI_COMMIT_TIMESTAMP", self.timestamp.clone());
        set("CI_DEFAULT_BRANCH", self.default_branch.clone());
        set("CI_PROJECT_DIR", project_dir_in_job.to_string());
        set("CI_BUILDS_DIR", "/builds".into());
        set("CI_PROJECT_NAME", self.name.clone());
        set("CI_PROJECT_TITLE", self.name.clone());
        set("CI_PROJECT_NAMESPACE", self.namespace.clone());
        set(
            "CI_PROJECT_ROOT_NAMESPACE",
            self.namespace.split('/').next().unwrap_or("").to_string(),
        );
        set("CI_PROJECT_PATH", path.clone());
        set("CI_PROJECT_PATH_SLUG", slug(&path));
        set("CI_PROJECT_URL", format!("https://gitlab.com/{path}"));
        set("CI_PROJECT_ID", "1".into());
        set("CI_PROJECT_VISIBILITY", "private".into());
        set(
            "CI_REPOSITORY_URL",
            self.remote_url
                .clone()
                .unwrap_or_else(|| format!("https://gitlab.com/{path}.git")),
        );
        set("CI_REGISTRY", "registry.gitlab.com".into());
        set("CI_REGISTRY_IMAGE", format!("registry.gitlab.com/{path}"));
        set("CI_CONFIG_PATH", ".gitlab-ci.yml".into());
        set("CI_RUNNER_DESCRIPTION", "tezos-ci-local".into());
        set("CI_RUNNER_TAGS", "[]".into());
        set(
            "CI_RUNNER_EXECUTABLE_ARCH",
            format!("linux/{}", host_arch()),
        );
        set(
            "GITLAB_USER_LOGIN",
            std::env::var("USER").unwrap_or_else(|_| "local".into()),
        );
        set(
            "GITLAB_USER_NAME",
            self.author.split(" <").next().unwrap_or("").to_string(),
        );
        if is_mr {
            let target = origin
                .target_branch
                .clone()
                .unwrap_or_else(|| self.default_branch.clone());
            let source = self.branch.clone().unwrap_or_else(|| ref_name.clone());
            set("CI_MERGE_REQUEST_ID", "1".into());
            set("CI_MERGE_REQUEST_IID", "1".into());
            set("CI_MERGE_REQUEST_TITLE", title);
            set("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", source);
            set("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", String::new());
            set("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", target.clone());
            set("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", String::new());
            set("CI_MERGE_REQUEST_EVENT_TYPE", "detached".into());
            set("CI_MERGE_REQUEST_PROJECT_PATH", path.clone());
            set("CI_MERGE_REQUEST_SOURCE_PROJECT_PATH", path.clone());
            set(
                "CI_MERGE_REQUEST_PROJECT_URL",
                format!("https://gitlab.com/{path}"),
            );
            set(
                "CI_MERGE_REQUEST_REF_PATH",
                "refs/merge-requests/1/head".into(),
            );
            set("CI_MERGE_REQUEST_LABELS", String::new());
            set("CI_MERGE_REQUEST_APPROVED", "false".into());
            set("CI_MERGE_REQUEST_DRAFT", "false".into());
            if let Some(base) = self.merge_base(&target) {
                set("CI_MERGE_REQUEST_DIFF_BASE_SHA", base);
            }
        }
        v
    }
}

/// GitLab's `CI_COMMIT_REF_SLUG`: lowercased, anything but `0-9a-z` replaced by `-`, at most 63
/// bytes, no leading or trailing `-`.
pub fn slug(s: &str) -> String {
    let mut out: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_gitlab() {
        assert_eq!(slug("feature/Add-Thing_2"), "feature-add-thing-2");
        assert_eq!(slug("-x-"), "x");
        assert_eq!(slug(&"a".repeat(80)).len(), 63);
    }
}
