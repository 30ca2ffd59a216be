//! GitLab's closed sets of names: `retry:when` reasons, `image:pull_policy` values and pipeline
//! sources (`CI_PIPELINE_SOURCE`). Each is an enum parsed once, where the pipeline or the options
//! are built, and written back with GitLab's own spelling (`Display`, serde).

use std::fmt;
use std::str::FromStr;

/// An enum of GitLab names: `as_str`/`Display` give GitLab's spelling, `parse` reads it back,
/// `NAMES` lists every spelling for error messages and `--help`.
macro_rules! gitlab_names {
    (
        $(#[$meta:meta])*
        $what:literal, $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<$name, UnknownName> {
                $name::parse(s).ok_or_else(|| UnknownName {
                    what: $what,
                    value: s.to_string(),
                    expected: $name::NAMES,
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A spelling that is not one of GitLab's: says which set, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    what: &'static str,
    value: String,
    expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}`; expected one of: {}",
            self.what,
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

gitlab_names! {
    /// A `retry:when` failure reason (docs.gitlab.com/ci/yaml/#retrywhen).
    "value", RetryWhen {
        Always = "always",
        UnknownFailure = "unknown_failure",
        ScriptFailure = "script_failure",
        ApiFailure = "api_failure",
        StuckOrTimeoutFailure = "stuck_or_timeout_failure",
        RunnerSystemFailure = "runner_system_failure",
        RunnerUnsupported = "runner_unsupported",
        StaleSchedule = "stale_schedule",
        JobExecutionTimeout = "job_execution_timeout",
        ArchivedFailure = "archived_failure",
        UnmetPrerequisites = "unmet_prerequisites",
        SchedulerFailure = "scheduler_failure",
        DataIntegrityFailure = "data_integrity_failure",
    }
}

gitlab_names! {
    /// When to pull an image: `image:pull_policy` (docs.gitlab.com/ci/yaml/#imagepull_policy)
    /// and `--pull`.
    "pull policy", PullPolicy {
        /// Pull every time.
        Always = "always",
        /// Use a local image as is; pull only when it is missing.
        IfNotPresent = "if-not-present",
        /// Use a local image; never pull.
        Never = "never",
    }
}

gitlab_names! {
    /// `cache:policy` (docs.gitlab.com/ci/yaml/#cachepolicy).
    "cache policy", CachePolicy {
        Pull = "pull",
        Push = "push",
        PullPush = "pull-push",
    }
}

gitlab_names! {
    /// What started the pipeline: `CI_PIPELINE_SOURCE`
    /// (docs.gitlab.com/ci/variables/predefined_variables/), chosen with `--source`.
    "pipeline source", PipelineSource {
        Push = "push",
        MergeRequestEvent = "merge_request_event",
        Schedule = "schedule",
        Web = "web",
        Api = "api",
        Trigger = "trigger",
        Pipeline = "pipeline",
        ParentPipeline = "parent_pipeline",
        External = "external",
        ExternalPullRequestEvent = "external_pull_request_event",
        Chat = "chat",
        Webide = "webide",
        OndemandDastScan = "ondemand_dast_scan",
        OndemandDastValidation = "ondemand_dast_validation",
        SecurityOrchestrationPolicy = "security_orchestration_policy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant parses back from its spelling, through `parse`, `FromStr` and serde.
    fn round_trips<T>(all: &[T], names: &[&str])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + serde::Serialize,
        T: serde::de::DeserializeOwned,
        <T as FromStr>::Err: fmt::Debug,
    {
        assert_eq!(all.len(), names.len());
        for (v, n) in all.iter().zip(names) {
            assert_eq!(v.to_string(), *n);
            assert_eq!(n.parse::<T>().unwrap(), *v);
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{n}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
        }
    }

    #[test]
    fn retry_when_round_trips() {
        round_trips(RetryWhen::ALL, RetryWhen::NAMES);
        assert_eq!(RetryWhen::ALL.len(), 13);
        assert_eq!(
            RetryWhen::JobExecutionTimeout.to_string(),
            "job_execution_timeout"
        );
    }

    #[test]
    fn pull_policy_uses_gitlab_spelling() {
        round_trips(PullPolicy::ALL, PullPolicy::NAMES);
        assert_eq!(PullPolicy::IfNotPresent.to_string(), "if-not-present");
        assert_eq!(PullPolicy::parse("if_not_present"), None);
    }

    #[test]
    fn cache_policy_round_trips() {
        round_trips(CachePolicy::ALL, CachePolicy::NAMES);
        assert_eq!(CachePolicy::PullPush.to_string(), "pull-push");
    }

    #[test]
    fn pipeline_source_round_trips() {
        round_trips(PipelineSource::ALL, PipelineSource::NAMES);
        assert_eq!(
            PipelineSource::parse("merge_request_event"),
            Some(PipelineSource::MergeRequestEvent)
        );
    }

    #[test]
    fn a_bad_value_names_the_set_and_lists_the_spellings() {
        let e = "script_failures".parse::<RetryWhen>().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "unknown value `script_failures`; expected one of: {}",
                RetryWhen::NAMES.join(", ")
            )
        );
        let e = "IfNotPresent".parse::<PullPolicy>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown pull policy `IfNotPresent`; expected one of: always, if-not-present, never"
        );
        let e = "merge_request".parse::<PipelineSource>().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown pipeline source `merge_request`; expected one of: push, ")
        );
        assert!(serde_json::from_str::<PipelineSource>("\"pushh\"").is_err());
    }
}
