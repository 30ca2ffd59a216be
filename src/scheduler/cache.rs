//! Incremental runs: wraps the spec factory so that a job whose key matches a job that passed is
//! reported as cached, with its log, artifacts, dotenv and JUnit reports restored, instead of
//! running. What goes into a key is documented in ARCHITECTURE.md ("The job result cache").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use crate::event::{JobResult, JobStatus};
use crate::executor::{AttemptStatus, JobOutcome, JobSpec, Workspace};
use crate::pipeline::model::Job;
use crate::plan::select::Pick;
use crate::plan::{JobGraph, Plan};
use crate::rules::glob::PathPattern;
use crate::scheduler::spec::SpecFactory;
use crate::scheduler::{Finished, Prepare, Prepared};
use crate::store::results::{FORMAT, Hit, ResultCache, Store, link_file, link_tree};
use crate::store::runs::RunDir;

/// Variables that change with every commit or run but do not reach what a job computes from its
/// files: they are left out of keys, or nothing would ever be cached. `CI_COMMIT_REF_NAME` and
/// the like stay in: a job may behave differently on another branch.
pub const VOLATILE_VARIABLES: &[&str] = &[
    "CI_COMMIT_SHA",
    "CI_COMMIT_SHORT_SHA",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_MESSAGE",
    "CI_COMMIT_TITLE",
    "CI_COMMIT_DESCRIPTION",
    "CI_COMMIT_TIMESTAMP",
    "CI_COMMIT_AUTHOR",
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_IID",
    "CI_PIPELINE_URL",
    "CI_JOB_ID",
    "CI_JOB_URL",
    "GITLAB_USER_LOGIN",
    "GITLAB_USER_NAME",
];

/// The project's `.tezos-ci-local.yml`: per-job declared inputs.
#[derive(Debug, Clone, Default)]
pub struct ProjectConfig {
    /// (job name or glob, input patterns)
    pub inputs: Vec<(String, Vec<String>)>,
}

pub const PROJECT_CONFIG: &str = ".tezos-ci-local.yml";

impl ProjectConfig {
    pub fn load(project_dir: &Path) -> Result<ProjectConfig, crate::error::Error> {
        let path = project_dir.join(PROJECT_CONFIG);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(ProjectConfig::default());
        };
        let node = crate::yaml::parse_str(&text, Arc::new(PathBuf::from(PROJECT_CONFIG)))?;
        let mut cfg = ProjectConfig::default();
        if node.is_null() {
            return Ok(cfg);
        }
        use crate::pipeline::read;
        let m = read::map(&node, "tezos-ci-local config")?;
        read::check_keys(m, &node, "tezos-ci-local config", &["jobs", "engines"])?;
        if let Some(jobs) = m.get("jobs") {
            for (name, job) in read::map(jobs, "jobs")?.iter() {
                let jm = read::map(job, name)?;
                read::check_keys(jm, job, name, &["inputs"])?;
                if let Some(inputs) = jm.get("inputs") {
                    cfg.inputs.push((
                        name.to_string(),
                        read::string_list(inputs, &format!("jobs:{name}:inputs"))?,
                    ));
                }
            }
        }
        Ok(cfg)
    }
}

/// Content digests of the project's files, computed once, on first use.
pub struct FileDigests {
    make: Box<dyn Fn() -> BTreeMap<String, String> + Send>,
    digests: OnceLock<BTreeMap<String, String>>,
}

impl FileDigests {
    pub fn new(make: impl Fn() -> BTreeMap<String, String> + Send + 'static) -> Self {
        FileDigests {
            make: Box::new(make),
            digests: OnceLock::new(),
        }
    }

    pub fn all(&self) -> &BTreeMap<String, String> {
        self.digests.get_or_init(&self.make)
    }
}

/// Where a job's declared inputs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputsFrom {
    /// Its entry under `jobs:` in `.tezos-ci-local.yml`.
    Config,
    /// The paths of its `rules:changes`.
    RulesChanges,
}

/// The files a job says it reads: its key covers only the project files that match them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredInputs {
    pub patterns: Vec<String>,
    pub from: InputsFrom,
}

/// Which files a job's key covers: declared inputs (`.tezos-ci-local.yml`, else the job's
/// `rules:changes` paths), or the whole project (`None`).
pub fn declared_inputs(plan: &Plan, index: usize, cfg: &ProjectConfig) -> Option<DeclaredInputs> {
    let job = &plan.jobs[index].job;
    for (pat, inputs) in &cfg.inputs {
        let matches = pat == &job.name
            || pat == &job.base_name
            || PathPattern::new(pat).is_ok_and(|p| p.is_match(&job.name));
        if matches {
            return Some(DeclaredInputs {
                patterns: inputs.clone(),
                from: InputsFrom::Config,
            });
        }
    }
    let changes: Vec<String> = job
        .rules
        .iter()
        .flatten()
        .filter_map(|r| r.changes.as_ref())
        .flat_map(|c| c.paths.iter().cloned())
        .collect();
    (!changes.is_empty()).then_some(DeclaredInputs {
        patterns: changes,
        from: InputsFrom::RulesChanges,
    })
}

/// The images a run's keys need the IDs of: those of the jobs it runs and of their services.
pub fn images_of(plan: &Plan, picks: &[Pick], default_image: Option<&str>) -> Vec<String> {
    plan.jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| picks[*i] == Pick::Run)
        .flat_map(|(_, j)| {
            j.image
                .clone()
                .into_iter()
                .chain(j.job.services.iter().map(|s| s.name.clone()))
        })
        .chain(default_image.map(String::from))
        .collect()
}

/// A job's key and what it covers.
#[derive(Debug, Clone)]
pub struct JobKey {
    /// SHA-256, in hex.
    pub key: String,
    /// `None`: every project file.
    pub inputs: Option<DeclaredInputs>,
    /// How many project files went into it.
    pub files: usize,
}

/// What keys are computed from besides each job's spec. Needs no engine and no run, so that
/// `explain` computes the same keys as a run (given the same image IDs).
pub struct KeyContext {
    /// Image name -> image ID (a key follows the image's content). A run asks the engine, and a
    /// job whose image (or a service's) has no ID yet, not pulled, gets no key. `None`: no
    /// engine was asked (`explain` without one); keys then say `unknown`, unlike a run's.
    pub image_ids: Option<HashMap<String, String>>,
    pub config: ProjectConfig,
    pub files: FileDigests,
}

impl KeyContext {
    fn image_id(&self, image: &str) -> Result<String, String> {
        match &self.image_ids {
            None => Ok("unknown".into()),
            Some(ids) => ids.get(image).cloned().ok_or_else(|| {
                format!("the image {image} is not present yet, so its ID is unknown")
            }),
        }
    }

    /// The spec a key is computed from: the job's, with an empty workspace (no snapshot is made)
    /// and without the dotenv variables of the jobs before (outputs: their keys stand for them).
    pub fn key_spec(
        factory: &SpecFactory,
        index: usize,
        inputs: &[&Finished],
    ) -> Result<JobSpec, String> {
        let empty = Arc::new(Workspace {
            root: PathBuf::new(),
            files: Vec::new(),
        });
        let no_dotenv: Vec<Finished> = inputs
            .iter()
            .map(|f| Finished {
                dotenv: Vec::new(),
                ..(*f).clone()
            })
            .collect();
        let refs: Vec<&Finished> = no_dotenv.iter().collect();
        factory.spec(index, 1, &refs, empty).map(|(spec, _)| spec)
    }

    /// The key of job `index` of `plan`, whose spec is `spec` (from [`KeyContext::key_spec`]) and
    /// which takes artifacts from `inputs`: a digest of everything that decides its outcome.
    pub fn key(
        &self,
        plan: &Plan,
        index: usize,
        spec: &JobSpec,
        inputs: &[&Finished],
    ) -> Result<JobKey, String> {
        let mut h = Sha256::new();
        let mut field = |name: &str, value: &str| {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(value.len().to_le_bytes());
            h.update(value.as_bytes());
        };
        field("format", FORMAT);
        field("job", &spec.job);
        field("image", &spec.image);
        field("image_id", &self.image_id(&spec.image)?);
        field("platform", &spec.platform);
        field("entrypoint", &format!("{:?}", spec.entrypoint));
        field("user", &format!("{:?}", spec.user));
        for line in &spec.script {
            field("script", line);
        }
        for line in &spec.after_script {
            field("after_script", line);
        }
        let mut vars: Vec<&(String, String)> = spec
            .variables
            .iter()
            .filter(|(k, _)| !VOLATILE_VARIABLES.contains(&k.as_str()))
            .collect();
        vars.sort();
        for (k, v) in vars {
            field("var", &format!("{k}={v}"));
        }
        for (k, v) in &spec.file_variables {
            field("file_var", &format!("{k}={v}"));
        }
        for s in &spec.services {
            field(
                "service",
                &format!(
                    "{} {} {:?} {:?} {:?} {}",
                    s.image,
                    self.image_id(&s.image)?,
                    s.aliases,
                    s.entrypoint,
                    s.command,
                    s.platform
                ),
            );
        }
        field("artifacts", &format!("{:?}", spec.artifacts));
        for c in &spec.caches {
            field(
                "cache",
                &format!("{} {:?} {:?} {}", c.key, c.paths, c.policy, c.untracked),
            );
        }
        field("privileged", &spec.privileged.to_string());
        for f in inputs {
            // What a job receives from another follows from that job's key, if it passed; a job
            // that did not run gives nothing; one that failed, or has no key, gives outputs
            // nothing here stands for, so this job cannot have a key either.
            let stands_for = match (f.result.status, &f.key) {
                (JobStatus::Success | JobStatus::Cached, Some(k)) => k.as_str(),
                (JobStatus::Manual | JobStatus::Skipped, _) => "not run",
                (JobStatus::Failed | JobStatus::AllowedFailure, _) => {
                    return Err(format!(
                        "it takes artifacts from `{}`, which failed (failed jobs are not cached)",
                        f.job
                    ));
                }
                _ => {
                    return Err(format!(
                        "it takes artifacts from `{}`, which has no key",
                        f.job
                    ));
                }
            };
            field("input", &format!("{}={stands_for}", f.job));
        }
        let digests = self.files.all();
        let declared = declared_inputs(plan, index, &self.config);
        let mut files = 0;
        match &declared {
            Some(d) => {
                let pats: Vec<PathPattern> = d
                    .patterns
                    .iter()
                    .map(|p| PathPattern::new(p))
                    .collect::<Result<_, _>>()?;
                field("inputs", &d.patterns.join(","));
                for (path, digest) in digests {
                    if pats.iter().any(|p| p.is_match(path)) {
                        field("file", &format!("{path} {digest}"));
                        files += 1;
                    }
                }
            }
            None => {
                for (path, digest) in digests {
                    field("file", &format!("{path} {digest}"));
                    files += 1;
                }
            }
        }
        Ok(JobKey {
            key: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
            inputs: declared,
            files,
        })
    }
}

/// The key a run would compute for each job (by index in the plan), supposing every job it takes
/// artifacts from passes or is cached, and the manual ones do not run: for `explain`.
pub fn plan_keys(
    factory: &SpecFactory,
    graph: &JobGraph,
    picks: &[Pick],
    ctx: &KeyContext,
) -> Vec<Result<JobKey, String>> {
    fn go(
        i: usize,
        factory: &SpecFactory,
        graph: &JobGraph,
        picks: &[Pick],
        ctx: &KeyContext,
        memo: &mut Vec<Option<Result<JobKey, String>>>,
    ) -> Result<JobKey, String> {
        if let Some(k) = &memo[i] {
            return k.clone();
        }
        let plan = factory.plan;
        let mut inputs = Vec::new();
        for &d in &graph.artifacts_from[i] {
            let (status, key) = match picks[d] {
                Pick::Unselected => continue,
                Pick::Manual => (JobStatus::Manual, None),
                Pick::Run => (
                    JobStatus::Success,
                    go(d, factory, graph, picks, ctx, memo).ok().map(|k| k.key),
                ),
            };
            let pj = &plan.jobs[d];
            inputs.push(Finished {
                job: pj.job.name.clone(),
                result: JobResult {
                    status,
                    exit_code: None,
                    duration: std::time::Duration::ZERO,
                    platform: pj.platform.clone(),
                    attempts: 0,
                    reason: None,
                    coverage: None,
                    log: None,
                    junit: Vec::new(),
                },
                artifacts: None,
                dotenv: Vec::new(),
                key,
            });
        }
        let refs: Vec<&Finished> = inputs.iter().collect();
        let key =
            KeyContext::key_spec(factory, i, &refs).and_then(|spec| ctx.key(plan, i, &spec, &refs));
        memo[i] = Some(key.clone());
        key
    }
    let n = factory.plan.jobs.len();
    let mut memo = vec![None; n];
    (0..n)
        .map(|i| go(i, factory, graph, picks, ctx, &mut memo))
        .collect()
}

/// A hit's files, in the run directory.
struct Restored {
    log: PathBuf,
    artifacts: Option<PathBuf>,
    junit: Vec<PathBuf>,
}

pub struct CachingPrepare<'a> {
    pub inner: SpecFactory<'a>,
    /// `None` with `--no-cache`.
    pub cache: Option<ResultCache>,
    pub rerun: Rerun,
    pub keys: KeyContext,
    pub run_dir: &'a RunDir,
    /// Problems met while storing results (reported at the end; they never fail a job).
    pub warnings: Vec<String>,
}

impl CachingPrepare<'_> {
    /// The job's key: a digest of everything that decides its outcome.
    pub fn key(&self, index: usize, inputs: &[&Finished]) -> Result<String, String> {
        let spec = KeyContext::key_spec(&self.inner, index, inputs)?;
        self.keys
            .key(self.inner.plan, index, &spec, inputs)
            .map(|k| k.key)
    }

    /// Puts a hit's log, artifacts and JUnit reports in this run's directory, where a job that
    /// runs leaves them: the run is whole (`--artifacts-dir`, `logs`), and jobs after it and the
    /// reporters do not read from the cache, whose entries may be evicted.
    fn restore(&self, index: usize, hit: &Hit) -> std::io::Result<Restored> {
        let job = &self.inner.plan.jobs[index].job.name;
        let log = self.run_dir.log_path(job, 1);
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(hit.log(), &log)?;
        let artifacts = match hit.artifacts() {
            Some(from) => {
                let to = self.run_dir.artifacts_path(job);
                let _ = std::fs::remove_dir_all(&to);
                link_tree(&from, &to)?;
                Some(to)
            }
            None => None,
        };
        let reports = self.run_dir.reports_path(job);
        let _ = std::fs::remove_dir_all(&reports);
        let mut junit = Vec::new();
        for from in hit.junit() {
            std::fs::create_dir_all(&reports)?;
            let to = reports.join(from.file_name().unwrap_or_default());
            link_file(&from, &to)?;
            junit.push(to);
        }
        Ok(Restored {
            log,
            artifacts,
            junit,
        })
    }

    /// At the end of the run: brings the cache back under its size limit.
    pub fn evict(&self) {
        if let Some(cache) = &self.cache {
            cache.evict();
        }
    }
}

/// `--rerun JOB`: the jobs it names run even when their result is cached, and so do the jobs that
/// take artifacts from a job that reran (transitively): they receive the rerun's artifacts, and a
/// cached result would be for artifacts they never saw. Jobs that only wait for it stay cached.
/// To rerun one job alone, select it too: `tezos-ci-local run JOB --rerun JOB`.
#[derive(Debug, Default)]
pub struct Rerun {
    patterns: Vec<String>,
    reran: HashSet<String>,
}

impl Rerun {
    pub fn new(patterns: Vec<String>) -> Self {
        Rerun {
            patterns,
            reran: HashSet::new(),
        }
    }

    /// Whether `job`, taking artifacts from `inputs`, must run; remembers it if so.
    fn forced(&mut self, job: &Job, inputs: &[&Finished]) -> bool {
        let named = self.patterns.iter().any(|p| {
            p == &job.name
                || p == &job.base_name
                || PathPattern::new(p).is_ok_and(|g| g.is_match(&job.name))
        });
        let fed = inputs.iter().any(|f| self.reran.contains(&f.job));
        if named || fed {
            self.reran.insert(job.name.clone());
        }
        named || fed
    }
}

impl Prepare for CachingPrepare<'_> {
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared {
        // Every attempt has the key (a job that passes on a retry is cached, and its dependents'
        // keys stand for it); only the first looks it up.
        let key = self.key(index, inputs).ok();
        let forced = attempt == 1 && self.rerun.forced(&self.inner.plan.jobs[index].job, inputs);
        if let (Some(cache), Some(k)) = (&self.cache, &key) {
            if attempt == 1 && !forced {
                let hit = cache
                    .lookup(k)
                    .and_then(|hit| match self.restore(index, &hit) {
                        Ok(restored) => Some((hit, restored)),
                        Err(e) => {
                            let job = &self.inner.plan.jobs[index].job.name;
                            self.warnings.push(format!(
                                "could not restore the cached result of {job}, so it ran: {e}"
                            ));
                            None
                        }
                    });
                if let Some((hit, restored)) = hit {
                    let pj = &self.inner.plan.jobs[index];
                    let result = JobResult {
                        status: JobStatus::Cached,
                        exit_code: hit.entry.exit_code,
                        duration: std::time::Duration::from_millis(hit.entry.duration_ms),
                        platform: pj.platform.clone(),
                        attempts: 0,
                        reason: Some("inputs unchanged since it last passed".into()),
                        coverage: hit.entry.coverage,
                        log: Some(restored.log),
                        junit: restored.junit,
                    };
                    return Prepared::Cached(Finished {
                        job: pj.job.name.clone(),
                        result,
                        artifacts: restored.artifacts,
                        dotenv: hit.entry.dotenv.clone(),
                        key: Some(k.clone()),
                    });
                }
            }
        }
        match self.inner.prepare(index, attempt, inputs) {
            Prepared::Run { spec, masks, .. } => Prepared::Run { spec, key, masks },
            other => other,
        }
    }

    fn finished(&mut self, index: usize, outcome: &JobOutcome, finished: &Finished) {
        let (Some(cache), Some(key)) = (&self.cache, &finished.key) else {
            return;
        };
        // Failed jobs (allowed to fail or not) are never cached.
        if outcome.status != AttemptStatus::Success || finished.result.status != JobStatus::Success
        {
            return;
        }
        let stored = cache.store(&Store {
            job: &self.inner.plan.jobs[index].job.name,
            key,
            duration: finished.result.duration,
            exit_code: finished.result.exit_code,
            coverage: finished.result.coverage,
            dotenv: &finished.dotenv,
            log: finished.result.log.as_deref(),
            artifacts: finished.artifacts.as_deref(),
            junit: &finished.result.junit,
        });
        if let Err(e) = stored {
            self.warnings.push(format!(
                "could not cache the result of {}: {e}",
                finished.job
            ));
        }
    }

    fn log_path(&self, index: usize, attempt: u32) -> Option<PathBuf> {
        self.inner.log_path(index, attempt)
    }
}
