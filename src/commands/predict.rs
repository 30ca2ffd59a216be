//! What the job result cache says of a plan's jobs before a run (`explain`, `run --dry-run`): each
//! job's key as a run would compute it, and whether a result is stored under it. Read only:
//! nothing is marked used, nothing is stored.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{self, Loaded};
use crate::error::Error;
use crate::executor::{DockerExecutor, DockerOptions, Executor, PullPolicy};
use crate::plan::JobGraph;
use crate::plan::select::Pick;
use crate::rules::glob::PathPattern;
use crate::scheduler::result_keys::{
    FileDigests, JobKey, KeyContext, ProjectConfig, images_of, plan_keys, result_cache_at,
};
use crate::scheduler::spec::{DEFAULT_TIMEOUT, LazyWorkspace, SpecFactory, SpecSettings};
use crate::store::result_cache::{DEFAULT_LIMIT, ResultCache};
use crate::store::runs::RunDir;

/// Each job's predicted key (by index in the plan) and the cache it is looked up in.
pub struct Prediction {
    pub keys: Vec<Result<JobKey, String>>,
    /// Whether the engine gave the image IDs (without them, no key is a run's).
    pub image_ids_known: bool,
    pub cache: ResultCache,
}

/// The run's settings that change keys: `--default-image`, `--result-cache`.
#[derive(Default)]
pub struct RunSettings<'a> {
    pub default_image: Option<&'a str>,
    pub result_cache: Option<&'a Path>,
}

/// The keys a run of `picks` would compute, with the image IDs from the engine when one answers
/// within a few seconds.
pub fn predict(
    loaded: &Loaded,
    state: &Path,
    graph: &JobGraph,
    picks: &[Pick],
    run: &RunSettings,
) -> anyhow::Result<Prediction> {
    let plan = &loaded.plan;
    let image_ids = engine_image_ids(images_of(plan, picks, run.default_image));
    // Keys never read the run directory; computing a spec names paths in it, nothing more.
    let scratch = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let run_dir = RunDir {
        id: "predict".into(),
        path: scratch.path().to_path_buf(),
    };
    let checkout = loaded.checkout.clone();
    let file_digests = Arc::new(FileDigests::new(move || checkout.file_digests()));
    let factory = SpecFactory {
        plan: Arc::new(plan.clone()),
        settings: SpecSettings {
            run_id: run_dir.id.clone(),
            workspace: LazyWorkspace::new(|| Err("a prediction runs no job".into())),
            project_root: loaded.checkout.project_dir.clone(),
            file_digests: file_digests.clone(),
            project_dir_in_job: app::project_dir_in_job(&loaded.checkout),
            default_image: run.default_image.map(String::from),
            pull: PullPolicy::IfNotPresent,
            default_timeout: DEFAULT_TIMEOUT,
            user_vars: loaded.user_vars.clone(),
            privileged: false,
            mount_docker_socket: false,
            keep_failed: false,
            for_shell: false,
            cache_store: state.join("cache"),
        },
        run_dir,
    };
    let image_ids_known = image_ids.is_some();
    let config = ProjectConfig::load(&loaded.checkout.project_dir)?;
    let cache = result_cache_at(run.result_cache, &config, state, DEFAULT_LIMIT);
    let ctx = KeyContext {
        image_ids,
        config,
        files: file_digests,
        masked: loaded
            .user_vars
            .iter()
            .filter(|u| u.masked)
            .map(|u| u.name.clone())
            .collect(),
    };
    let keys = plan_keys(&factory, graph, picks, &ctx, Some(&cache));
    Ok(Prediction {
        keys,
        image_ids_known,
        cache,
    })
}

impl Prediction {
    /// Which jobs a run would report `cached` (by index in the plan): those that run, with a
    /// result stored under their key, not named by `--rerun`, and taking artifacts only from jobs
    /// that are cached too or declare none (a job that runs may give new ones). `None` when the
    /// image IDs are unknown.
    pub fn cached(
        &self,
        loaded: &Loaded,
        graph: &JobGraph,
        picks: &[Pick],
        rerun: &[String],
    ) -> Option<Vec<bool>> {
        if !self.image_ids_known {
            return None;
        }
        let plan = &loaded.plan;
        let rerun: Vec<(String, Option<PathPattern>)> = rerun
            .iter()
            .map(|p| (p.clone(), PathPattern::new(p).ok()))
            .collect();
        let mut memo: Vec<Option<bool>> = vec![None; plan.jobs.len()];
        fn go(i: usize, env: &Env, memo: &mut Vec<Option<bool>>) -> bool {
            if let Some(c) = memo[i] {
                return c;
            }
            let plan = &env.loaded.plan;
            let job = &plan.jobs[i].job;
            let named = env.rerun.iter().any(|(p, g)| {
                *p == job.name
                    || *p == job.base_name
                    || g.as_ref().is_some_and(|g| g.is_match(&job.name))
            });
            let fed = env.graph.artifacts_from[i].iter().any(|&d| {
                env.picks[d] == Pick::Run
                    && plan.jobs[d].job.artifacts.is_some()
                    && !go(d, env, memo)
            });
            let c = env.picks[i] == Pick::Run
                && !named
                && !fed
                && env.prediction.keys[i]
                    .as_ref()
                    .is_ok_and(|k| env.prediction.cache.has(&k.key));
            memo[i] = Some(c);
            c
        }
        struct Env<'x> {
            loaded: &'x Loaded,
            graph: &'x JobGraph,
            picks: &'x [Pick],
            rerun: Vec<(String, Option<PathPattern>)>,
            prediction: &'x Prediction,
        }
        let env = Env {
            loaded,
            graph,
            picks,
            rerun,
            prediction: self,
        };
        let cached = (0..plan.jobs.len())
            .map(|i| go(i, &env, &mut memo))
            .collect();
        Some(cached)
    }
}

/// The IDs of these images, from the engine; `None` when no engine answers in a few seconds.
fn engine_image_ids(images: Vec<String>) -> Option<HashMap<String, String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let connect = DockerExecutor::connect(DockerOptions::default());
        let engine = tokio::time::timeout(Duration::from_secs(5), connect)
            .await
            .ok()?
            .ok()?;
        Some(engine.image_ids(images).await)
    })
}
