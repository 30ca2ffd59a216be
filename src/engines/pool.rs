//! Placement and failover over pools of engines, as a pure state machine (no Docker, no clock):
//! a job goes to the engine of its platform's pool with the most free capacity, so no job waits
//! while an engine of its pool is idle; an engine that stops answering is marked down, and each
//! job it was running is retried once on another engine of the pool as a runner system failure
//! (GitLab's `retry: when: runner_system_failure`); a pool with no engine left fails its jobs
//! with a reason naming every engine and why it is down.

use std::collections::{BTreeMap, HashMap};

/// An engine, by its index in [`Pools::engines`].
pub type EngineId = usize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEngine {
    /// What lists and messages call it: its address as written.
    pub name: String,
    pub capacity: usize,
    pub running: usize,
    /// `Some(why)` once it stopped answering.
    pub down: Option<String>,
}

impl PoolEngine {
    fn free(&self) -> usize {
        if self.down.is_some() {
            0
        } else {
            self.capacity.saturating_sub(self.running)
        }
    }
}

/// Where a job goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Engine(EngineId),
    /// Every engine of the pool that is up is full: the job waits for one to finish.
    Wait,
    /// No engine of the pool is up.
    NoEngine(String),
}

/// What happens to a job whose engine failed under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Run it again (placed like any job): its one retry for a system failure.
    Retry { reason: String },
    /// It fails, for this reason.
    Fail(String),
}

/// Engines and the platforms they serve. An engine may serve several platforms (the default
/// engine serves every platform without a pool of its own, through qemu).
#[derive(Debug, Clone, Default)]
pub struct Pools {
    pub engines: Vec<PoolEngine>,
    /// Platform -> its engines, in the order they were given.
    pools: BTreeMap<String, Vec<EngineId>>,
    /// The engines of every other platform.
    default: Vec<EngineId>,
    /// Jobs that already had their retry for a system failure.
    retried: HashMap<String, String>,
}

impl Pools {
    /// Adds an engine to `platform`'s pool (`None`: the default pool); returns its id.
    pub fn add(&mut self, platform: Option<&str>, name: &str, capacity: usize) -> EngineId {
        let id = self.engines.len();
        self.engines.push(PoolEngine {
            name: name.to_string(),
            capacity: capacity.max(1),
            running: 0,
            down: None,
        });
        match platform {
            Some(p) => self.pools.entry(p.to_string()).or_default().push(id),
            None => self.default.push(id),
        }
        id
    }

    fn pool(&self, platform: &str) -> (&str, &[EngineId]) {
        match self.pools.get_key_value(platform) {
            Some((p, ids)) => (p.as_str(), ids.as_slice()),
            None => ("the default pool", self.default.as_slice()),
        }
    }

    /// The engine a job of `platform` starts on now, taking one of its slots: the one with the
    /// most free capacity (the first given among equals).
    pub fn place(&mut self, platform: &str) -> Placement {
        let (name, ids) = self.pool(platform);
        let best = ids
            .iter()
            .copied()
            .filter(|&id| self.engines[id].free() > 0)
            .max_by_key(|&id| (self.engines[id].free(), std::cmp::Reverse(id)));
        match best {
            Some(id) => {
                self.engines[id].running += 1;
                Placement::Engine(id)
            }
            None if ids.iter().any(|&id| self.engines[id].down.is_none()) => Placement::Wait,
            None => Placement::NoEngine(self.none_left(name, ids)),
        }
    }

    fn none_left(&self, pool: &str, ids: &[EngineId]) -> String {
        if ids.is_empty() {
            return format!("{pool} has no engine");
        }
        let why: Vec<String> = ids
            .iter()
            .map(|&id| {
                let e = &self.engines[id];
                format!("{} ({})", e.name, e.down.as_deref().unwrap_or("up"))
            })
            .collect();
        format!("no engine of {pool} is left: {}", why.join(", "))
    }

    /// A job that ran on `id` ended (whatever its result): its slot is free again.
    pub fn release(&mut self, id: EngineId) {
        let e = &mut self.engines[id];
        e.running = e.running.saturating_sub(1);
    }

    /// `id` stopped answering. Its jobs are to be reported through [`Pools::engine_failed`], one
    /// by one. Returns false when it was already down.
    pub fn mark_down(&mut self, id: EngineId, why: &str) -> bool {
        let e = &mut self.engines[id];
        if e.down.is_some() {
            return false;
        }
        e.down = Some(why.to_string());
        true
    }

    pub fn is_down(&self, id: EngineId) -> bool {
        self.engines[id].down.is_some()
    }

    /// `job` (of `platform`) was running on `id` when that engine failed: its slot is released,
    /// and it gets one retry elsewhere in its pool, unless it already had it or nothing is left.
    pub fn engine_failed(&mut self, job: &str, platform: &str, id: EngineId) -> Recovery {
        self.release(id);
        let engine = self.engines[id].name.clone();
        let why = self.engines[id]
            .down
            .clone()
            .unwrap_or_else(|| "it stopped answering".into());
        let failure = format!("runner system failure: engine {engine} failed ({why})");
        if let Some(before) = self.retried.get(job) {
            return Recovery::Fail(format!(
                "{failure}, after a retry for an earlier one ({before})"
            ));
        }
        let (name, ids) = self.pool(platform);
        if ids.iter().all(|&i| self.engines[i].down.is_some()) {
            let left = self.none_left(name, ids);
            return Recovery::Fail(format!("{failure}; {left}"));
        }
        self.retried.insert(job.to_string(), failure.clone());
        Recovery::Retry {
            reason: format!("{failure}; retrying once on another engine"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm_pool(caps: &[usize]) -> Pools {
        let mut p = Pools::default();
        p.add(None, "local", 8);
        for (i, c) in caps.iter().enumerate() {
            p.add(Some("linux/arm64"), &format!("arm{i}"), *c);
        }
        p
    }

    #[test]
    fn jobs_go_where_most_capacity_is_free() {
        let mut p = arm_pool(&[1, 3]);
        // arm1 has 3 free, arm0 1: arm1 until they are level, then the first given.
        assert_eq!(p.place("linux/arm64"), Placement::Engine(2));
        assert_eq!(p.place("linux/arm64"), Placement::Engine(2));
        assert_eq!(p.place("linux/arm64"), Placement::Engine(1));
        assert_eq!(p.place("linux/arm64"), Placement::Engine(2));
        assert_eq!(p.place("linux/arm64"), Placement::Wait);
        p.release(1);
        assert_eq!(p.place("linux/arm64"), Placement::Engine(1));
        // Other platforms use the default pool.
        assert_eq!(p.place("linux/amd64"), Placement::Engine(0));
        assert_eq!(p.place("linux/s390x"), Placement::Engine(0));
    }

    #[test]
    fn no_job_waits_while_an_engine_of_its_pool_is_idle() {
        let caps = [2, 1, 3];
        let mut p = arm_pool(&caps);
        let mut started = Vec::new();
        // Any order of starts and ends: a job waits only when every engine is full.
        for step in 0..40usize {
            if step % 3 == 2 && !started.is_empty() {
                let id = started.remove(step % started.len());
                p.release(id);
                continue;
            }
            match p.place("linux/arm64") {
                Placement::Engine(id) => started.push(id),
                Placement::Wait => {
                    assert!(p.engines[1..].iter().all(|e| e.running == e.capacity))
                }
                Placement::NoEngine(r) => panic!("{r}"),
            }
            for e in &p.engines[1..] {
                assert!(e.running <= e.capacity);
            }
        }
    }

    #[test]
    fn a_failed_engine_s_jobs_are_retried_once_elsewhere() {
        let mut p = arm_pool(&[1, 1]);
        assert_eq!(p.place("linux/arm64"), Placement::Engine(1));
        assert_eq!(p.place("linux/arm64"), Placement::Engine(2));
        assert!(p.mark_down(1, "connection refused"));
        assert!(!p.mark_down(1, "again"));
        let Recovery::Retry { reason } = p.engine_failed("build", "linux/arm64", 1) else {
            panic!()
        };
        assert!(
            reason.contains("engine arm0 failed (connection refused); retrying once"),
            "{reason}"
        );
        // The retry waits for arm1, never goes back to arm0.
        assert_eq!(p.place("linux/arm64"), Placement::Wait);
        p.release(2);
        assert_eq!(p.place("linux/arm64"), Placement::Engine(2));
        // A second system failure of the same job is final.
        p.mark_down(2, "daemon killed");
        let Recovery::Fail(why) = p.engine_failed("build", "linux/arm64", 2) else {
            panic!()
        };
        assert!(why.contains("after a retry for an earlier one"), "{why}");
    }

    #[test]
    fn a_pool_with_no_engine_left_fails_its_jobs_with_the_reason() {
        let mut p = arm_pool(&[2]);
        assert_eq!(p.place("linux/arm64"), Placement::Engine(1));
        p.mark_down(1, "timeout");
        let Recovery::Fail(why) = p.engine_failed("test", "linux/arm64", 1) else {
            panic!()
        };
        assert!(
            why.ends_with("no engine of linux/arm64 is left: arm0 (timeout)"),
            "{why}"
        );
        assert_eq!(
            p.place("linux/arm64"),
            Placement::NoEngine("no engine of linux/arm64 is left: arm0 (timeout)".into())
        );
        // The other pools are not affected.
        assert_eq!(p.place("linux/amd64"), Placement::Engine(0));
        assert_eq!(p.engines[1].running, 0);
    }
}
