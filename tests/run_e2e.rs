//! End-to-end tests of the built binary against the real Docker engine: each test makes a git
//! repository with a small `.gitlab-ci.yml`, runs `tezos-ci-local` on it with a state directory
//! of its own, reads the outcome from the `--json` events, and checks that the run left no
//! labelled container, volume or network behind. Without an engine each test prints SKIPPED,
//! unless `CI=true`, where it fails.

#[path = "run_e2e/errors.rs"]
mod errors;
#[path = "run_e2e/failures.rs"]
mod failures;
#[path = "run_e2e/faults.rs"]
mod faults;
#[path = "run_e2e/floods.rs"]
mod floods;
#[path = "run_e2e/job_names.rs"]
mod job_names;
#[path = "run_e2e/memory.rs"]
mod memory;
#[path = "run_e2e/outputs.rs"]
mod outputs;
#[path = "run_e2e/platforms.rs"]
mod platforms;
#[path = "run_e2e/secrets.rs"]
mod secrets;
#[path = "run_e2e/selection.rs"]
mod selection;
#[path = "run_e2e/signals.rs"]
mod signals;
#[path = "run_e2e/support.rs"]
mod support;
