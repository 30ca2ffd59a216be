//! Incremental runs: wraps the spec factory so that a job whose key matches a job that passed is
//! reported as cached, with its log, artifacts, dotenv and JUnit reports restored, instead of
//! running. What goes into a key is documented in ARCHITECTURE.md ("The job result cache").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::event::{JobResult, JobStatus};
use crate::executor::{AttemptStatus, JobOutcome, JobSpec, Workspace};
use crate::pipeline::model::Job;
use crate::plan::select::Pick;
use crate::plan::{JobGraph, Plan};
use crate::rules::glob::PathPattern;
use crate::scheduler::key_encoding::{Enc, KeyParts, what_changed};
use crate::scheduler::spec::SpecFactory;
use crate::scheduler::{Finished, Prepare, Prepared};
use crate::store::result_cache::{Hit, ResultCache, Store, file_digest, link_file, link_tree};

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
    /// `result_cache: DIR`: where the job result cache is (relative to the project directory),
    /// unless `--result-cache` says.
    pub result_cache: Option<PathBuf>,
}

pub use crate::checkout::PROJECT_CONFIG;

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
        read::check_keys(
            m,
            &node,
            "tezos-ci-local config",
            &[
                "jobs",
                "result_cache",
                "engines",
                // Options' defaults, read by `cli/defaults.rs`.
                "concurrency",
                "default_image",
                "platform_map",
            ],
        )?;
        if let Some(dir) = m.get("result_cache") {
            let dir = read::string(dir, "result_cache")?;
            cfg.result_cache = Some(project_dir.join(dir));
        }
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
    make: Box<dyn Fn() -> BTreeMap<String, String> + Send + Sync>,
    digests: OnceLock<BTreeMap<String, String>>,
}

impl FileDigests {
    pub fn new(make: impl Fn() -> BTreeMap<String, String> + Send + Sync + 'static) -> Self {
        FileDigests {
            // The variables files never reach a job (see `Workspace`): they are none of its
            // inputs, and a digest of one, kept in a shared cache, is a digest of its secrets.
            make: Box::new(move || {
                let mut files = make();
                for f in crate::executor::workspace::VARIABLES_FILES {
                    files.remove(f);
                }
                files
            }),
            digests: OnceLock::new(),
        }
    }

    pub fn all(&self) -> &BTreeMap<String, String> {
        self.digests.get_or_init(&self.make)
    }
}

/// The job result cache a run uses: `--result-cache DIR`, else the project's `result_cache:`,
/// else `results/` under the state directory.
pub fn result_cache_at(
    flag: Option<&Path>,
    config: &ProjectConfig,
    state: &Path,
    limit: u64,
) -> ResultCache {
    match flag.map(Path::to_path_buf).or(config.result_cache.clone()) {
        Some(dir) => ResultCache::at(dir, limit),
        None => ResultCache::new(state, limit),
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
    /// What it was computed from, by name.
    pub parts: KeyParts,
}

/// What keys are computed from besides each job's spec. Needs no engine and no run, so that
/// `explain` computes the same keys as a run (given the same image IDs).
pub struct KeyContext {
    /// Image name -> image ID (a key follows the image's content). A run asks the engine, and a
    /// job whose image (or a service's) has no ID yet, not pulled, gets no key. `None`: no
    /// engine was asked (`explain` without one); keys then say `unknown`, unlike a run's.
    pub image_ids: Option<HashMap<String, String>>,
    pub config: ProjectConfig,
    pub files: Arc<FileDigests>,
    /// Names of masked variables (their values get no part of their own).
    pub masked: HashSet<String>,
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
    /// which takes artifacts from `inputs`, whose outputs are `received` (by job name; see
    /// [`Received`]): a digest of everything that decides its outcome, with its named parts.
    pub fn key(
        &self,
        plan: &Plan,
        index: usize,
        spec: &JobSpec,
        inputs: &[&Finished],
        received: &dyn Fn(&Finished) -> Result<Option<Received>, String>,
    ) -> Result<JobKey, String> {
        // The masked values, and the values built from them: none gets a part of its own (a
        // digest of a short secret, kept in a shared cache, could be guessed back).
        let secrets = crate::mask::Masker::new(
            spec.variables
                .iter()
                .filter(|(k, _)| self.masked.contains(k))
                .map(|(_, v)| v.clone()),
        );
        let mut masked = Enc::new();
        let mut p = KeyParts::default();
        p.add("job", Enc::new().str(1, &spec.job));
        if secrets.reveals(&spec.image) {
            masked = masked.str(5, &spec.image);
        }
        p.add(
            "image",
            Enc::new()
                .str(1, &secrets.mask(&spec.image))
                .str(2, &self.image_id(&spec.image)?)
                .str(3, &spec.platform)
                .opt_list(4, spec.entrypoint.as_deref())
                .opt(5, spec.user.as_deref()),
        );
        p.add(
            "script",
            Enc::new().list(1, &spec.script).list(2, &spec.after_script),
        );
        let mut vars: Vec<&(String, String)> = spec
            .variables
            .iter()
            .filter(|(k, _)| !VOLATILE_VARIABLES.contains(&k.as_str()))
            .collect();
        vars.sort();
        for (k, v) in vars {
            if self.masked.contains(k) || secrets.reveals(v) {
                masked = masked.str(1, k).str(2, v);
            } else {
                p.add(format!("variable {k}"), Enc::new().str(1, v));
            }
        }
        let mut file_vars = spec.file_variables.clone();
        file_vars.sort();
        for (k, v) in &file_vars {
            masked = masked.str(3, k).str(4, v);
        }
        p.add("masked_variables", masked);
        let mut services = Enc::new();
        for s in &spec.services {
            services = services
                .str(1, &s.image)
                .str(2, &self.image_id(&s.image)?)
                .list(3, &s.aliases)
                .opt_list(4, s.entrypoint.as_deref())
                .opt_list(5, s.command.as_deref())
                .str(6, &s.platform);
        }
        p.add("services", services);
        let artifacts = match &spec.artifacts {
            None => Enc::new().flag(0, false),
            Some(a) => {
                let mut e = Enc::new()
                    .flag(0, true)
                    .list(1, &a.paths)
                    .list(2, &a.exclude)
                    .flag(3, a.untracked)
                    .str(4, when_name(a.when))
                    .opt(5, a.name.as_deref())
                    .list(6, &a.reports.junit)
                    .list(7, &a.reports.dotenv);
                for (kind, paths) in &a.reports.other {
                    e = e.str(8, kind).list(9, paths);
                }
                e
            }
        };
        p.add("artifacts", artifacts);
        let mut caches = Enc::new();
        for c in &spec.caches {
            caches = caches
                .str(1, &c.key)
                .list(2, &c.fallback_keys)
                .list(3, &c.paths)
                .flag(4, c.untracked)
                .str(
                    5,
                    match c.policy {
                        crate::pipeline::model::CachePolicy::Pull => "pull",
                        crate::pipeline::model::CachePolicy::Push => "push",
                        crate::pipeline::model::CachePolicy::PullPush => "pull-push",
                    },
                )
                .str(6, when_name(c.when));
        }
        p.add("cache", caches);
        p.add("privileged", Enc::new().flag(1, spec.privileged));
        for f in inputs {
            // What a job receives from another, by content: the artifact files and dotenv
            // variables it gets (whatever the other job's status). A job that gives nothing
            // (no artifacts, did not run) is not an input at all.
            let Some(got) = received(f)? else {
                continue;
            };
            for (path, digest) in &got.files {
                // A tab between job and path: job names have spaces (`unit: [a, b]`).
                p.add(
                    format!("input {}\t{path}", f.job),
                    Enc::new().str(1, digest),
                );
            }
            for (k, v) in &f.dotenv {
                p.add(format!("dotenv {}\t{k}", f.job), Enc::new().str(1, v));
            }
        }
        let digests = self.files.all();
        let declared = declared_inputs(plan, index, &self.config);
        let mut files = 0;
        let pats: Option<Vec<PathPattern>> = match &declared {
            Some(d) => {
                p.add("declared_inputs", Enc::new().list(1, &d.patterns));
                Some(
                    d.patterns
                        .iter()
                        .map(|p| PathPattern::new(p))
                        .collect::<Result<_, _>>()?,
                )
            }
            None => None,
        };
        for (path, digest) in digests {
            if pats
                .as_ref()
                .is_none_or(|pats| pats.iter().any(|p| p.is_match(path)))
            {
                p.add(format!("file {path}"), Enc::new().str(1, digest));
                files += 1;
            }
        }
        Ok(JobKey {
            key: p.key(),
            inputs: declared,
            files,
            parts: p,
        })
    }
}

fn when_name(w: crate::pipeline::model::ArtifactsWhen) -> &'static str {
    use crate::pipeline::model::ArtifactsWhen::*;
    match w {
        OnSuccess => "on_success",
        OnFailure => "on_failure",
        Always => "always",
    }
}

/// What a job received from one job it takes artifacts from: each artifact file's path (inside
/// the artifacts) and SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub files: Vec<(String, String)>,
}

impl Received {
    /// Reads and hashes an artifacts directory.
    pub fn of_dir(dir: &Path) -> std::io::Result<Received> {
        let mut files = Vec::new();
        hash_tree(dir, dir, &mut files)?;
        files.sort();
        Ok(Received { files })
    }
}

fn hash_tree(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if e.file_type()?.is_dir() {
            hash_tree(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push((rel.to_string_lossy().into_owned(), file_digest(&p)?));
        }
    }
    Ok(())
}

/// The key a run would compute for each job (by index in the plan), supposing every job it takes
/// artifacts from passes or is cached, and the manual ones do not run: for `explain`. What a job
/// receives from another is known when that job's predicted key has a stored result (its
/// artifacts and dotenv); a job that declares no artifacts gives nothing; otherwise the key is
/// unknown until the other job has run.
pub fn plan_keys(
    factory: &SpecFactory,
    graph: &JobGraph,
    picks: &[Pick],
    ctx: &KeyContext,
    cache: Option<&ResultCache>,
) -> Vec<Result<JobKey, String>> {
    struct Env<'x> {
        factory: &'x SpecFactory,
        graph: &'x JobGraph,
        picks: &'x [Pick],
        ctx: &'x KeyContext,
        cache: Option<&'x ResultCache>,
    }
    fn go(
        i: usize,
        env: &Env,
        memo: &mut Vec<Option<Result<JobKey, String>>>,
    ) -> Result<JobKey, String> {
        if let Some(k) = &memo[i] {
            return k.clone();
        }
        let plan = &env.factory.plan;
        let mut inputs = Vec::new();
        let mut received: HashMap<String, Received> = HashMap::new();
        let mut unknown = None;
        for &d in &env.graph.artifacts_from[i] {
            let pj = &plan.jobs[d];
            if env.picks[d] != Pick::Run {
                continue; // does not run: gives nothing
            }
            let key = go(d, env, memo).ok().map(|k| k.key);
            let entry = key
                .as_deref()
                .and_then(|k| env.cache.and_then(|c| c.entry(k)));
            let (files, dotenv) = match entry {
                Some(e) => (e.artifact_digests(), e.dotenv.clone()),
                None if pj.job.artifacts.is_none() => continue,
                None => {
                    unknown.get_or_insert(format!(
                        "it takes artifacts from `{}`, whose outputs are known once it has run \
                         (no result of it is stored)",
                        pj.job.name
                    ));
                    continue;
                }
            };
            received.insert(pj.job.name.clone(), Received { files });
            inputs.push(Finished {
                job: pj.job.name.clone(),
                result: JobResult {
                    status: JobStatus::Success,
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
                dotenv,
                key,
            });
        }
        let key = match unknown {
            Some(why) => Err(why),
            None => {
                let refs: Vec<&Finished> = inputs.iter().collect();
                KeyContext::key_spec(env.factory, i, &refs).and_then(|spec| {
                    env.ctx.key(plan, i, &spec, &refs, &|f: &Finished| {
                        Ok(received.get(&f.job).cloned())
                    })
                })
            }
        };
        memo[i] = Some(key.clone());
        key
    }
    let env = Env {
        factory,
        graph,
        picks,
        ctx,
        cache,
    };
    let n = factory.plan.jobs.len();
    let mut memo = vec![None; n];
    (0..n).map(|i| go(i, &env, &mut memo)).collect()
}

/// Why job `job`, whose key has `parts`, runs: what changed since its newest stored result.
pub fn why_it_runs(cache: &ResultCache, job: &str, parts: &KeyParts) -> String {
    match cache.latest(job) {
        None => "no result stored".into(),
        Some(old) => match cache.all_parts(&old) {
            Some(old_parts) => what_changed(&old_parts, &parts.0, 3),
            // The shared manifest of its files is gone (evicted): compare the rest.
            None => {
                let rest: Vec<(String, String)> = parts
                    .0
                    .iter()
                    .filter(|(n, _)| !n.starts_with("file "))
                    .cloned()
                    .collect();
                match what_changed(&old.parts, &rest, 3).as_str() {
                    "no result stored" => "project files changed".into(),
                    other => other.to_string(),
                }
            }
        },
    }
}

/// A hit's files, in the run directory.
struct Restored {
    log: PathBuf,
    artifacts: Option<PathBuf>,
    junit: Vec<PathBuf>,
}

pub struct CachingPrepare {
    pub inner: SpecFactory,
    /// `None` with `--no-cache`.
    pub cache: Option<ResultCache>,
    pub rerun: Rerun,
    pub keys: KeyContext,
    /// Problems met while storing results (reported at the end; they never fail a job).
    pub warnings: Vec<String>,
    /// What each finished job gave the jobs after it (its artifact files' digests), by name:
    /// hashed once, when a job that takes them needs its key.
    received: HashMap<String, Received>,
    /// Why each job that runs does (what changed since its newest stored result), by index.
    why: HashMap<usize, String>,
    /// The named parts of each running job's key, stored with its result.
    parts: HashMap<usize, KeyParts>,
}

impl CachingPrepare {
    pub fn new(
        inner: SpecFactory,
        cache: Option<ResultCache>,
        rerun: Rerun,
        keys: KeyContext,
    ) -> Self {
        CachingPrepare {
            inner,
            cache,
            rerun,
            keys,
            warnings: Vec::new(),
            received: HashMap::new(),
            why: HashMap::new(),
            parts: HashMap::new(),
        }
    }

    /// The job's key: a digest of everything that decides its outcome, by content: what it
    /// receives from the jobs before it is the digests of their artifact files and dotenv
    /// variables, whatever their status.
    pub fn key(&mut self, index: usize, inputs: &[&Finished]) -> Result<JobKey, String> {
        for f in inputs {
            if let (Some(dir), false) = (&f.artifacts, self.received.contains_key(&f.job)) {
                let got = Received::of_dir(dir)
                    .map_err(|e| format!("cannot read the artifacts of `{}`: {e}", f.job))?;
                self.received.insert(f.job.clone(), got);
            }
        }
        let spec = KeyContext::key_spec(&self.inner, index, inputs)?;
        let received = &self.received;
        self.keys
            .key(&self.inner.plan, index, &spec, inputs, &|f: &Finished| {
                Ok(match (&f.artifacts, f.dotenv.is_empty()) {
                    (None, true) => None,
                    (None, false) => Some(Received::default()),
                    (Some(_), _) => received.get(&f.job).cloned(),
                })
            })
    }

    /// Puts a hit's log, artifacts and JUnit reports in this run's directory, where a job that
    /// runs leaves them: the run is whole (`--artifacts-dir`, `logs`), and jobs after it and the
    /// reporters do not read from the cache, whose entries may be evicted.
    fn restore(&self, index: usize, hit: &Hit) -> std::io::Result<Restored> {
        let job = &self.inner.plan.jobs[index].job.name;
        let log = self.inner.run_dir.log_path(job, 1);
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(hit.log(), &log)?;
        let artifacts = match hit.artifacts() {
            Some(from) => {
                let to = self.inner.run_dir.artifacts_path(job);
                let _ = std::fs::remove_dir_all(&to);
                link_tree(&from, &to)?;
                Some(to)
            }
            None => None,
        };
        let reports = self.inner.run_dir.reports_path(job);
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

/// ` at 2026-11-29 14:03 UTC`, or nothing when unknown.
fn stored_when(secs: u64) -> String {
    if secs == 0 {
        return String::new();
    }
    let days = (secs / 86400) as i64;
    let (y, m, d) = crate::time::civil_from_days(days);
    let rem = secs % 86400;
    format!(
        " at {y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
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

impl Prepare for CachingPrepare {
    fn prepare(&mut self, index: usize, attempt: u32, inputs: &[&Finished]) -> Prepared {
        // Every attempt has the key (a job that passes on a retry is cached, and its dependents'
        // keys stand for it); only the first looks it up.
        let job_key = self.key(index, inputs);
        let key = job_key.as_ref().ok().map(|k| k.key.clone());
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
                        reason: Some(format!(
                            "inputs unchanged since it passed{}",
                            stored_when(hit.entry.stored_at)
                        )),
                        coverage: hit.entry.coverage,
                        log: Some(restored.log),
                        junit: restored.junit,
                    };
                    self.received.insert(
                        pj.job.name.clone(),
                        Received {
                            files: hit.entry.artifact_digests(),
                        },
                    );
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
        // With --no-cache, every job runs for that one reason: the summary does not repeat it.
        if let (1, Some(cache)) = (attempt, &self.cache) {
            let why = match &job_key {
                Err(why) => format!("not cacheable: {why}"),
                Ok(_) if forced => "--rerun".to_string(),
                Ok(k) => why_it_runs(cache, &self.inner.plan.jobs[index].job.name, &k.parts),
            };
            self.why.insert(index, why);
        }
        if let Ok(k) = job_key {
            self.parts.insert(index, k.parts);
        }
        match self.inner.prepare(index, attempt, inputs) {
            Prepared::Run { spec, masks, .. } => Prepared::Run { spec, key, masks },
            other => other,
        }
    }

    fn finished(&mut self, index: usize, outcome: &JobOutcome, finished: &mut Finished) {
        // Why it ran, for the summary and `--json`, unless it failed (then the failure says).
        if let (Some(why), JobStatus::Success) = (self.why.remove(&index), finished.result.status) {
            if finished.result.reason.is_none() {
                finished.result.reason = Some(format!("ran: {why}"));
            }
        }
        let (Some(cache), Some(key)) = (&self.cache, &finished.key) else {
            return;
        };
        // Failed jobs (allowed to fail or not) are never cached.
        if outcome.status != AttemptStatus::Success || finished.result.status != JobStatus::Success
        {
            return;
        }
        // An entry's manifest keeps the dotenv variables in clear: one holding a masked value is
        // not stored (the job runs again next time).
        let secrets = crate::user_vars::masker(&self.inner.settings.user_vars);
        if finished
            .dotenv
            .iter()
            .any(|(k, v)| secrets.reveals(k) || secrets.reveals(v))
        {
            self.warnings.push(format!(
                "the result of {} is not cached: its dotenv report holds a masked value",
                finished.job
            ));
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
            parts: &self.parts.remove(&index).map(|p| p.0).unwrap_or_default(),
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
