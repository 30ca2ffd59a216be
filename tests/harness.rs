//! The test builder of `tests/common/` checked against itself: each expectation fails the test
//! when the binary does otherwise, and says what differed. (A harness that cannot fail would
//! make every test that uses it pass.)

mod common;

use common::{Project, Test};

/// The panic message of `f`, which must panic.
fn panic_of(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("the expectation did not fail");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

const BROKEN: &str = "job: [not a job]\n";
const ERROR: &str =
    "error: .gitlab-ci.yml:1:1: job `job`: a job is a map of keywords, found a list\n";

#[test]
fn exact_expectations_pass_when_met() {
    let run = Test::new()
        .ci(BROKEN)
        .args(&["validate"])
        .status(2)
        .stderr(ERROR)
        .run();
    assert_eq!((run.code, run.stdout.as_str()), (2, ""));
}

#[test]
fn status_stdout_and_stderr_are_checked_by_default() {
    // Exit 0 and empty output are expected unless said otherwise.
    let message = panic_of(|| {
        Test::new().ci(BROKEN).args(&["validate"]).run();
    });
    assert!(
        message.contains("exit status: expected 0, got 2"),
        "{message}"
    );
    assert!(message.contains("stderr differs"), "{message}");
    assert!(
        message.contains(&format!("+ {}", ERROR.trim_end())),
        "{message}"
    );
}

#[test]
fn a_wrong_stderr_is_shown_as_a_diff() {
    let message = panic_of(|| {
        Test::new()
            .ci(BROKEN)
            .args(&["validate"])
            .status(2)
            .stderr("error: something else\n")
            .run();
    });
    assert!(message.contains("- error: something else\n"), "{message}");
    assert!(
        message.contains(&format!("+ {}", ERROR.trim_end())),
        "{message}"
    );
    assert!(!message.contains("exit status"), "{message}");
}

#[test]
fn a_missing_final_newline_is_a_difference_and_is_shown() {
    let message = panic_of(|| {
        Test::new()
            .ci(BROKEN)
            .args(&["validate"])
            .status(2)
            .stderr(ERROR.trim_end())
            .run();
    });
    assert!(message.contains("[no newline at the end]"), "{message}");
}

#[test]
fn contains_and_lacks_are_checked() {
    Test::new()
        .ci(BROKEN)
        .args(&["validate"])
        .status(2)
        .stderr_contains("found a list")
        .stderr_contains(".gitlab-ci.yml:1:1")
        .stderr_lacks("panicked")
        .run();
    let message = panic_of(|| {
        Test::new()
            .ci(BROKEN)
            .args(&["validate"])
            .status(2)
            .stderr_contains("found a map")
            .stderr_lacks("found a list")
            .run();
    });
    assert!(
        message.contains("stderr: no \"found a map\" in it"),
        "{message}"
    );
    assert!(
        message.contains("stderr: holds \"found a list\", which it must not"),
        "{message}"
    );
}

#[test]
fn json_is_compared_as_values() {
    let p = Project::git_with_ci("b:\n  image: busybox\n  script: [x]\n");
    let listed = p.test(&["list", "--json"]).stdout_any().run().json();
    // The same document, whatever its spacing, passes; another value fails.
    p.test(&["list", "--json"])
        .stdout_json(listed.clone())
        .run();
    let mut other = listed;
    other[0]["name"] = "c".into();
    let message = panic_of(|| {
        p.test(&["list", "--json"]).stdout_json(other).run();
    });
    assert!(message.contains("stdout JSON differs"), "{message}");
    assert!(message.contains("-     \"name\": \"c\""), "{message}");
}
