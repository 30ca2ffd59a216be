//! Builds a job's `JobSpec` when it is ready to start: final variables (dotenv from its inputs,
//! then the user's on top), image and services with variables expanded, scripts, timeout,
//! the artifacts it receives, and its `cache:` keys.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::executor::{ArtifactInput, CacheSpec, JobSpec, PullPolicy, ServiceSpec, Workspace};
use crate::expand::expand;
use crate::pipeline::model::CacheKey;
use crate::plan::Plan;
use crate::scheduler::result_keys::FileDigests;
use crate::scheduler::{Finished, Prepare, Prepared};
use crate::store::runs::RunDir;
use crate::user_vars::UserVar;

/// GitLab's default job timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The project snapshot, made the first time a job really runs (a run whose jobs are all cached
/// never copies the project).
pub struct LazyWorkspace {
    /// Shared with child pipelines' preparations: one snapshot per run.
    inner: Arc<std::sync::Mutex<LazyInner>>,
}

struct LazyInner {
    make: Box<dyn Fn() -> Result<Workspace, String> + Send>,
    made: Option<Result<Arc<Workspace>, String>>,
}

impl LazyWorkspace {
    pub fn new(make: impl Fn() -> Result<Workspace, String> + Send + 'static) -> Self {
        LazyWorkspace {
            inner: Arc::new(std::sync::Mutex::new(LazyInner {
                make: Box::new(make),
                made: None,
            })),
        }
    }

    pub fn ready(ws: Workspace) -> Self {
        LazyWorkspace {
            inner: Arc::new(std::sync::Mutex::new(LazyInner {
                make: Box::new(|| Err("already made".into())),
                made: Some(Ok(Arc::new(ws))),
            })),
        }
    }

    /// The same snapshot, made once for whichever asks first (a child pipeline's jobs run on
    /// the parent's snapshot).
    pub fn share(&self) -> Self {
        LazyWorkspace {
            inner: self.inner.clone(),
        }
    }

    pub fn get(&mut self) -> Result<Arc<Workspace>, String> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.made.is_none() {
            inner.made = Some((inner.make)().map(Arc::new));
        }
        inner.made.clone().expect("just made")
    }
}

/// Run-wide settings every job's spec draws from.
pub struct SpecSettings {
    pub run_id: String,
    pub workspace: LazyWorkspace,
    /// The checkout's project directory.
    pub project_root: PathBuf,
    /// The project files the jobs see (the snapshot's: the working tree or `--commit`'s tree) and
    /// their git blob ids, for `cache:key:files`.
    pub file_digests: Arc<FileDigests>,
    pub project_dir_in_job: String,
    pub default_image: Option<String>,
    pub pull: PullPolicy,
    pub default_timeout: Duration,
    pub user_vars: Vec<UserVar>,
    pub privileged: bool,
    pub mount_docker_socket: bool,
    /// `--keep-failed`: failed attempts leave their containers, volume and services.
    pub keep_failed: bool,
    /// `shell JOB`: the job runs no script and its environment is kept, for the shell.
    pub for_shell: bool,
    /// Where `cache:` keys live between runs.
    pub cache_store: PathBuf,
}

impl SpecSettings {
    /// The same settings, sharing the snapshot: for a child pipeline's jobs.
    pub fn share(&self) -> SpecSettings {
        SpecSettings {
            run_id: self.run_id.clone(),
            workspace: self.workspace.share(),
            project_root: self.project_root.clone(),
            file_digests: self.file_digests.clone(),
            project_dir_in_job: self.project_dir_in_job.clone(),
            default_image: self.default_image.clone(),
            pull: self.pull,
            default_timeout: self.default_timeout,
            user_vars: self.user_vars.clone(),
            privileged: self.privileged,
            mount_docker_socket: self.mount_docker_socket,
            keep_failed: self.keep_failed,
            for_shell: self.for_shell,
            cache_store: self.cache_store.clone(),
        }
    }
}

/// Owns what it reads (the plan, the run directory), so that preparing a job runs off the
/// dispatcher's loop, on a blocking thread.
pub struct SpecFactory {
    pub plan: Arc<Plan>,
    pub run_dir: RunDir,
    pub settings: SpecSettings,
}

impl Prepare for SpecFactory {
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared {
        let workspace = match self.settings.workspace.get() {
            Ok(w) => w,
            Err(e) => return Prepared::Fail(format!("cannot snapshot the project: {e}")),
        };
        match self.spec(index, attempt, inputs, workspace) {
            Ok((spec, masks)) => Prepared::Run {
                spec: Box::new(spec),
                key: None,
                masks,
            },
            Err(reason) => Prepared::Fail(reason),
        }
    }

    fn log_path(&self, index: usize, attempt: u32) -> Option<PathBuf> {
        Some(
            self.run_dir
                .log_path(&self.plan.jobs[index].job.name, attempt),
        )
    }
}

impl SpecFactory {
    /// The final variables of a job, in precedence order: planned (predefined, global, job,
    /// matrix, rule), then dotenv from the jobs it takes artifacts from, then the user's.
    pub fn variables(&self, index: usize, inputs: &[&Finished]) -> Vec<(String, String)> {
        let mut vars = self.plan.jobs[index].variables.clone();
        for f in inputs {
            for (k, v) in &f.dotenv {
                vars.set(k, v, false);
            }
        }
        for u in &self.settings.user_vars {
            vars.set(&u.name, &u.value, !u.file);
        }
        vars.expanded()
    }

    /// The job's spec, with `workspace` as its snapshot (the result cache passes an empty one to
    /// compute keys without making the snapshot).
    pub fn spec(
        &self,
        index: usize,
        attempt: u32,
        inputs: &[&Finished],
        workspace: Arc<Workspace>,
    ) -> Result<(JobSpec, Vec<String>), String> {
        let s = &self.settings;
        let pj = &self.plan.jobs[index];
        let job = &pj.job;
        if let Some(t) = &job.trigger {
            return Err(match job.downstream.as_ref().map(|d| &d.target) {
                Some(crate::pipeline::model::TriggerTarget::Project(p)) => format!(
                    "`trigger:project` starts a multi-project pipeline, in another project \
                     ({p}), on GitLab; tezos-ci-local runs this project's pipelines and their \
                     child pipelines (`trigger:include`) only"
                ),
                // Reached only where no child pipeline runs (`explain`'s keys): a trigger job
                // runs no script, so nothing of its own is cached.
                _ => format!(
                    "a trigger job starts its {t} and runs no script: it has no result of its own to cache"
                ),
            });
        }
        let all = self.variables(index, inputs);
        let map: HashMap<&str, &str> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let lookup = |n: &str| map.get(n).map(|v| v.to_string());

        let image = match pj.job.image.as_ref() {
            Some(i) => expand(&i.name, &lookup),
            None => s.default_image.clone().ok_or_else(|| "the job names no `image:` and there is no `default:image`; pass --default-image IMAGE".to_string())?,
        };
        if image.trim().is_empty() {
            return Err(format!(
                "the image name `{}` expands to nothing; set the variables it uses with --variable",
                job.image.as_ref().map(|i| i.name.as_str()).unwrap_or("")
            ));
        }
        let file_names: Vec<&str> = s
            .user_vars
            .iter()
            .filter(|u| u.file)
            .map(|u| u.name.as_str())
            .collect();
        let variables: Vec<(String, String)> = all
            .iter()
            .filter(|(k, _)| !file_names.contains(&k.as_str()))
            .cloned()
            .collect();
        let file_variables: Vec<(String, String)> = s
            .user_vars
            .iter()
            .filter(|u| u.file)
            .map(|u| (u.name.clone(), u.value.clone()))
            .collect();
        // A masked value as written and as the job sees it (expanded, when it names others).
        let masks: Vec<String> = s
            .user_vars
            .iter()
            .filter(|u| u.masked)
            .flat_map(|u| {
                [
                    Some(u.value.clone()),
                    map.get(u.name.as_str()).map(|v| v.to_string()),
                ]
            })
            .flatten()
            .collect();

        let services = job
            .services
            .iter()
            .map(|svc| {
                let mut vars: Vec<(String, String)> = variables.clone();
                for v in &svc.variables {
                    vars.retain(|(k, _)| *k != v.name);
                    vars.push((v.name.clone(), expand(&v.value, &lookup)));
                }
                ServiceSpec {
                    image: expand(&svc.name, &lookup),
                    aliases: svc.aliases.clone(),
                    entrypoint: svc.entrypoint.clone(),
                    command: svc.command.clone(),
                    variables: vars,
                    platform: svc.platform.clone().unwrap_or_else(|| pj.platform.clone()),
                }
            })
            .collect();

        let mut artifacts = job.artifacts.clone();
        if let Some(a) = &mut artifacts {
            for p in a.paths.iter_mut().chain(a.exclude.iter_mut()) {
                *p = expand(p, &lookup);
            }
        }
        let caches = job
            .cache
            .iter()
            .map(|c| {
                Ok(CacheSpec {
                    key: cache_key(&c.key, &lookup, &|f: &str| {
                        s.file_digests.all().get(f).cloned()
                    })?,
                    fallback_keys: c
                        .fallback_keys
                        .iter()
                        .map(|k| sanitize_key(&expand(k, &lookup)))
                        .collect::<Result<_, _>>()?,
                    paths: c.paths.iter().map(|p| expand(p, &lookup)).collect(),
                    untracked: c.untracked,
                    policy: c.policy,
                    when: c.when,
                    store: s.cache_store.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let artifacts_dir = self.run_dir.artifacts_path(&job.name);
        let reports_dir = self.run_dir.reports_path(&job.name);
        let _ = std::fs::remove_dir_all(&artifacts_dir);
        let _ = std::fs::remove_dir_all(&reports_dir);
        let spec = JobSpec {
            run_id: s.run_id.clone(),
            job: job.name.clone(),
            stage: job.stage.clone(),
            attempt,
            image,
            entrypoint: job.image.as_ref().and_then(|i| i.entrypoint.clone()),
            user: job.image.as_ref().and_then(|i| i.user.clone()),
            platform: pj.platform.clone(),
            pull: if job
                .image
                .as_ref()
                .is_some_and(|i| i.pull_policy.contains(&PullPolicy::Always))
                && s.pull == PullPolicy::IfNotPresent
            {
                PullPolicy::Always
            } else {
                s.pull
            },
            services,
            script: job
                .before_script
                .iter()
                .chain(job.script.iter())
                .cloned()
                .collect(),
            after_script: job.after_script.clone(),
            variables,
            file_variables,
            timeout: job.timeout.unwrap_or(s.default_timeout),
            workspace,
            project_dir: s.project_dir_in_job.clone(),
            inputs: inputs
                .iter()
                .filter_map(|f| {
                    f.artifacts.as_ref().map(|dir| ArtifactInput {
                        job: f.job.clone(),
                        dir: dir.clone(),
                    })
                })
                .collect(),
            artifacts,
            artifacts_dir,
            reports_dir,
            caches,
            privileged: s.privileged,
            mount_docker_socket: s.mount_docker_socket,
            keep: (s.keep_failed || s.for_shell).then(|| crate::executor::kept::Keep {
                record: crate::executor::kept::record_path(&self.run_dir.path, &job.name),
                always: s.for_shell,
            }),
        };
        let spec = if s.for_shell {
            JobSpec {
                script: Vec::new(),
                after_script: Vec::new(),
                ..spec
            }
        } else {
            spec
        };
        Ok((spec, masks))
    }
}

/// GitLab's cache key: a literal (variables expanded), or for `key:files` a digest of those files
/// (GitLab hashes the last commits that changed them; the content is what matters locally, and
/// uncommitted edits count) with the `prefix` in front. `file_id` gives a file's content id as
/// the job sees it (in the run's snapshot: with `--commit`, the commit's file, not the working
/// tree's), `None` when it has no such file.
pub fn cache_key(
    key: &CacheKey,
    lookup: &dyn Fn(&str) -> Option<String>,
    file_id: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    match key {
        CacheKey::Literal(k) => sanitize_key(&expand(k, lookup)),
        CacheKey::Files { files, prefix } => {
            let mut h = Sha256::new();
            for f in files {
                let f = expand(f, lookup);
                h.update(f.as_bytes());
                h.update([0]);
                // Only files of the run's snapshot count (their blob ids): nothing outside the
                // project is read, whatever the path or a symbolic link says.
                if std::path::Path::new(&f)
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
                {
                    return Err(format!("cache:key:files `{f}` leads outside the project"));
                }
                if let Some(id) = file_id(f.trim_start_matches('/')) {
                    h.update(id.as_bytes());
                }
                h.update([0]);
            }
            let digest = hex::encode(&h.finalize()[..20]);
            let prefix = prefix
                .as_ref()
                .map(|p| expand(p, lookup))
                .filter(|p| !p.is_empty());
            sanitize_key(&match prefix {
                Some(p) => format!("{p}-{digest}"),
                None => digest,
            })
        }
    }
}

/// Cache keys become directory names: GitLab refuses `/` (unless URL-encoded), `.` and `..`.
fn sanitize_key(key: &str) -> Result<String, String> {
    let k = key.trim();
    let k = if k.is_empty() { "default" } else { k };
    if k == "." || k == ".." || k.contains('/') || k.contains('\\') || k.contains('\0') {
        return Err(format!(
            "cache key `{k}` may not contain `/` or be `.` or `..`"
        ));
    }
    Ok(k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_files_stay_inside_the_project() {
        // Only the snapshot's files have ids; `link` is a symbolic link in it (its id is the
        // link's own blob), nothing outside is read.
        let ids = |f: &str| match f {
            "Cargo.lock" => Some("id-lock".to_string()),
            "link" => Some("id-link".to_string()),
            _ => None,
        };
        let key = |f: &str| {
            cache_key(
                &CacheKey::Files {
                    files: vec![f.to_string()],
                    prefix: None,
                },
                &|_| None,
                &ids,
            )
        };
        assert!(key("../outside.txt").unwrap_err().contains("leads outside"));
        assert!(key("link").is_ok());
        assert_ne!(key("Cargo.lock").unwrap(), key("missing").unwrap());
    }

    #[test]
    fn cache_keys() {
        let content = std::sync::Mutex::new("a");
        let ids = |f: &str| (f == "Gemfile.lock").then(|| content.lock().unwrap().to_string());
        let look = |n: &str| (n == "CI_COMMIT_REF_SLUG").then(|| "main".to_string());
        assert_eq!(
            cache_key(
                &CacheKey::Literal("deps-$CI_COMMIT_REF_SLUG".into()),
                &look,
                &ids
            )
            .unwrap(),
            "deps-main"
        );
        let files = CacheKey::Files {
            files: vec!["Gemfile.lock".into()],
            prefix: Some("$CI_COMMIT_REF_SLUG".into()),
        };
        let k1 = cache_key(&files, &look, &ids).unwrap();
        assert!(k1.starts_with("main-"));
        *content.lock().unwrap() = "b";
        assert_ne!(
            k1,
            cache_key(&files, &look, &ids).unwrap(),
            "the key follows the file's content"
        );
        assert!(cache_key(&CacheKey::Literal("a/b".into()), &look, &ids).is_err());
    }
}
