//! The names the end-to-end tests of runs have always used (`Project::new(ci, files)`,
//! `Run`, `docker_or_skip`, `Engine::assert_no_leftovers`...), kept as a thin layer over the
//! one harness in `tests/common/`, which several test crates include through this path.
// Several test crates include this file and each uses a part of it.
#![allow(dead_code, unused_imports)]

use std::ops::{Deref, DerefMut};
use std::path::Path;

#[path = "../common/mod.rs"]
mod common;

pub use common::{
    BIN, Engine, RUN_LIMIT, Run, Spawned, Test, assert_contains, dedent, diff, docker_or_skip,
    exit_code, labelled_on, shared_machine, unique, wait_with_rusage, whole_machine,
};

/// A project in a git repository of its own, with a state directory beside it: the common
/// [`common::Project`], made as these tests always made it.
pub struct Project(common::Project);

impl Project {
    /// A repository on `main` holding `.gitlab-ci.yml` and `files` as given, all committed.
    pub fn new(ci: &str, files: &[(&str, &str)]) -> Project {
        Project(common::Project::committed(ci, files))
    }

    /// A repository holding a copy of the directory `source` (modes kept), all committed.
    pub fn copy_of(source: &Path) -> Project {
        Project(common::Project::copy_of(source))
    }

    /// Writes `content` as given (not dedented) to `path` in the checkout.
    pub fn write(&self, path: &str, content: &str) {
        self.0.write_raw(path, content);
    }
}

impl Deref for Project {
    type Target = common::Project;

    fn deref(&self) -> &common::Project {
        &self.0
    }
}

impl DerefMut for Project {
    fn deref_mut(&mut self) -> &mut common::Project {
        &mut self.0
    }
}

/// Runs git in `dir` (a fixed identity, no user configuration); panics when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    common::git_in(dir, args);
}
