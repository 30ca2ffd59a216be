//! Includes from elsewhere, checked through the built binary against servers the tests start
//! and stop themselves: bare repositories read over file:// and over `git daemon` on 127.0.0.1
//! (`include:project`, `include:component`), and a small HTTP server (`include:template`,
//! `include:remote`). Inputs (`spec:inputs`, `include:inputs`, `--input`) and the safety of
//! local includes are here too. Expected results come from GitLab's documentation:
//! docs.gitlab.com/ci/yaml/includes/, /ci/components/, /ci/inputs/.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};

use common::{Project, assert_contains, git_in};
use tempfile::TempDir;

fn set(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// A project of its own (another GitLab project), as a work tree pushed to a bare repository.
struct Upstream {
    work: TempDir,
    bare: TempDir,
}

impl Upstream {
    fn new() -> Upstream {
        let up = Upstream {
            work: tempfile::tempdir().unwrap(),
            bare: tempfile::tempdir().unwrap(),
        };
        git_in(up.work.path(), &["init", "-q", "-b", "main"]);
        git_in(up.bare.path(), &["init", "-q", "--bare", "-b", "main"]);
        let bare = up.bare.path().to_string_lossy().into_owned();
        git_in(up.work.path(), &["remote", "add", "origin", &bare]);
        up
    }

    /// Commits `files` and pushes, with `tag` when given.
    fn commit(&self, files: &[(&str, &str)], tag: Option<&str>) -> &Upstream {
        for (rel, text) in files {
            let full = self.work.path().join(rel);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, common::dedent(text)).unwrap();
        }
        git_in(self.work.path(), &["add", "-A"]);
        git_in(self.work.path(), &["commit", "-q", "-m", "change"]);
        git_in(self.work.path(), &["push", "-q", "origin", "main"]);
        if let Some(tag) = tag {
            git_in(self.work.path(), &["tag", tag]);
            git_in(self.work.path(), &["push", "-q", "origin", tag]);
        }
        self
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.bare.path().display())
    }
}

/// `git daemon` serving one bare repository as `git://127.0.0.1:PORT/NAME`, stopped on drop.
struct GitDaemon {
    child: Child,
    url: String,
    _base: TempDir,
}

impl GitDaemon {
    fn serve(bare: &Path, name: &str) -> GitDaemon {
        let base = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(bare, base.path().join(name)).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("git")
            .args([
                "daemon",
                "--export-all",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.path().display()),
            ])
            .arg(base.path())
            .spawn()
            .expect("git daemon starts (Debian: the git package)");
        // Ready when it accepts connections.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "git daemon never listened"
            );
            std::thread::yield_now();
        }
        GitDaemon {
            child,
            url: format!("git://127.0.0.1:{port}/{name}"),
            _base: base,
        }
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `files` (path -> body) over HTTP on 127.0.0.1 until the test ends; 404 for others.
fn serve(files: &[(&str, &str)]) -> String {
    let files: HashMap<String, String> = files
        .iter()
        .map(|(p, b)| (p.to_string(), common::dedent(b)))
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line == "\r\n" || line == "\n" {
                    break;
                }
                line.clear();
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = match files.get(&path) {
                Some(b) => ("200 OK", b.clone()),
                None => ("404 Not Found", "not found".to_string()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

/// A server that accepts connections and never answers.
fn silent_server() -> (String, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, listener)
}

fn lib_project() -> Upstream {
    let up = Upstream::new();
    up.commit(
        &[(
            "ci/lib.yml",
            "
            .lib-template:
              image: busybox
            lib-job:
              extends: .lib-template
              script: echo v1
            ",
        )],
        Some("v1"),
    );
    up.commit(
        &[(
            "ci/lib.yml",
            "
            lib-job-v2:
              script: echo v2
            ",
        )],
        None,
    );
    up
}

// https://docs.gitlab.com/ci/yaml/#includeproject: `project`, `file`, `ref` (default: the
// project's HEAD); a list of files.
#[test]
fn include_project_at_a_ref_and_at_head_over_file_url() {
    let lib = lib_project();
    let p = Project::with_ci(
        "
        include:
          - project: group/lib
            ref: v1
            file: /ci/lib.yml
        main:
          script: echo main
        ",
    );
    let source = format!("group/lib={}", lib.file_url());
    assert_eq!(
        p.jobs(&["--project-source", &source]),
        set(&["lib-job", "main"])
    );
    p.write(
        ".gitlab-ci.yml",
        "
        include:
          - project: group/lib
            file: [ci/lib.yml]
        ",
    );
    assert_eq!(p.jobs(&["--project-source", &source]), set(&["lib-job-v2"]));
}

// Everything fetched is cached: --offline reads the cache; a fetch that fails falls back to it
// with a warning; an include never fetched is an error naming it under --offline.
#[test]
fn include_project_cache_offline_and_fallback() {
    let lib = lib_project();
    let p = Project::with_ci(
        "
        include:
          - project: group/lib
            ref: v1
            file: ci/lib.yml
        ",
    );
    let source = format!("group/lib={}", lib.file_url());
    let err = p.fails(&["validate", "--offline", "--project-source", &source]);
    assert_contains(&err, &[".gitlab-ci.yml:2:", "group/lib", "--offline"]);
    assert_eq!(p.jobs(&["--project-source", &source]), set(&["lib-job"]));
    assert_eq!(
        p.jobs(&["--offline", "--project-source", &source]),
        set(&["lib-job"])
    );
    let gone = "group/lib=file:///nonexistent/lib.git";
    // Another source URL is another cache entry: nothing cached for it.
    let err = p.fails(&["validate", "--project-source", gone]);
    assert_contains(&err, &["group/lib", "/nonexistent/lib.git"]);
    // The same URL, now unreachable: the cached copy, with a warning.
    let moved = lib.bare.path().with_extension("moved");
    std::fs::rename(lib.bare.path(), &moved).unwrap();
    let out = p
        .cmd(&["list", "--json", "--project-source", &source])
        .output()
        .unwrap();
    std::fs::rename(&moved, lib.bare.path()).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(
        &String::from_utf8_lossy(&out.stderr),
        &["warning", "using the copy fetched earlier"],
    );
}

// A local clone given with --project-source is read in place; errors name the including file
// and line, the project, the file and the ref tried.
#[test]
fn include_project_from_a_local_clone_and_its_errors() {
    let lib = lib_project();
    let p = Project::with_ci(
        "
        include:
          - project: group/lib
            ref: v1
            file: ci/missing.yml
        ",
    );
    let source = format!("group/lib={}", lib.work.path().display());
    let err = p.fails(&["validate", "--project-source", &source]);
    assert_contains(
        &err,
        &[".gitlab-ci.yml:2:", "group/lib", "ci/missing.yml", "v1"],
    );
    p.write(
        ".gitlab-ci.yml",
        "
        include:
          - project: group/lib
            ref: no-such-ref
            file: ci/lib.yml
        ",
    );
    let err = p.fails(&["validate", "--project-source", &source]);
    assert_contains(&err, &[".gitlab-ci.yml:2:", "no-such-ref"]);
    p.write(
        ".gitlab-ci.yml",
        "
        include:
          - project: group/lib
            ref: v1
            file: ci/lib.yml
        ",
    );
    assert_eq!(p.jobs(&["--project-source", &source]), set(&["lib-job"]));
}

fn component_project() -> Upstream {
    let up = Upstream::new();
    let template = |version: &str| {
        format!(
            "
            spec:
              inputs:
                stage:
                  default: test
                job-prefix:
                  description: the job's name starts with this
                retries:
                  type: number
                  default: 1
            ---
            $[[ inputs.job-prefix ]]-greet:
              stage: $[[ inputs.stage ]]
              retry: $[[ inputs.retries ]]
              variables:
                COMPONENT_VERSION: '$[[ component.version ]]'
                TEMPLATE: '{version}'
              script: echo hello
            "
        )
    };
    up.commit(
        &[("templates/greet.yml", &template("1.0.0"))],
        Some("1.0.0"),
    );
    up.commit(
        &[("templates/greet.yml", &template("1.1.0"))],
        Some("1.1.0"),
    );
    up.commit(
        &[("templates/greet.yml", &template("2.0.0"))],
        Some("2.0.0"),
    );
    up.commit(
        &[
            ("templates/greet.yml", &template("main")),
            (
                "templates/deploy/template.yml",
                "
                spec:
                  inputs:
                    env:
                      options: [staging, production]
                ---
                deploy-$[[ inputs.env ]]:
                  script: echo deploy
                ",
            ),
        ],
        None,
    );
    up
}

// https://docs.gitlab.com/ci/components/#component-versions: "~latest", a partial semantic
// version (`1` → the newest 1.x.y), a tag, a branch or a SHA.
#[test]
fn include_component_versions_inputs_and_git_daemon() {
    let comp = component_project();
    let daemon = GitDaemon::serve(comp.bare.path(), "components.git");
    let source = format!("my-group/components={}", daemon.url);
    let ci = |version: &str| {
        format!(
            "
            stages: [test, check]
            include:
              - component: gitlab.example.com/my-group/components/greet@{version}
                inputs:
                  job-prefix: comp
                  stage: check
            "
        )
    };
    let p = Project::with_ci(&ci("1"));
    let job = p.job("comp-greet", &["--project-source", &source]);
    assert_eq!(job["stage"], "check", "{job}");
    let vars = p.vars("comp-greet", &["--project-source", &source]);
    assert_eq!(vars["TEMPLATE"], "1.1.0");
    assert_eq!(vars["COMPONENT_VERSION"], "1.1.0");
    p.write(".gitlab-ci.yml", &ci("~latest"));
    let vars = p.vars("comp-greet", &["--project-source", &source]);
    assert_eq!(vars["TEMPLATE"], "2.0.0");
    p.write(".gitlab-ci.yml", &ci("main"));
    let vars = p.vars("comp-greet", &["--project-source", &source]);
    assert_eq!(vars["TEMPLATE"], "main");
    assert_eq!(vars["COMPONENT_VERSION"], "");
    p.write(".gitlab-ci.yml", &ci("3"));
    let err = p.fails(&["validate", "--project-source", &source]);
    assert_contains(&err, &[".gitlab-ci.yml:3:", "greet@3", "no release tag"]);
    // templates/NAME/template.yml, with `options`.
    p.write(
        ".gitlab-ci.yml",
        "
        include:
          - component: gitlab.example.com/my-group/components/deploy@main
            inputs:
              env: staging
        ",
    );
    assert_eq!(
        p.jobs(&["--project-source", &source]),
        set(&["deploy-staging"])
    );
    p.write(
        ".gitlab-ci.yml",
        "
        include:
          - component: gitlab.example.com/my-group/components/deploy@main
            inputs:
              env: qa
        ",
    );
    let err = p.fails(&["validate", "--project-source", &source]);
    assert_contains(
        &err,
        &["`env` input: `qa` cannot be used because it is not in the list of allowed options"],
    );
    // The required input missing.
    p.write(
        ".gitlab-ci.yml",
        "include:\n  - component: gitlab.example.com/my-group/components/greet@1.0.0\n",
    );
    let err = p.fails(&["validate", "--project-source", &source]);
    assert_contains(
        &err,
        &["`job-prefix` input: required value has not been provided"],
    );
    drop(daemon);
    // The daemon is gone: --offline reads what was fetched.
    p.write(".gitlab-ci.yml", &ci("1"));
    assert_eq!(
        p.jobs(&["--offline", "--project-source", &source]),
        set(&["comp-greet"])
    );
}

// https://docs.gitlab.com/ci/components/#test-the-component: a component project's own pipeline
// includes `$CI_SERVER_FQDN/$CI_PROJECT_PATH/NAME@$CI_COMMIT_SHA`: the checkout's own files.
#[test]
fn a_component_project_tests_its_own_component_from_the_checkout() {
    let p = Project::git_with_ci(
        "
        include:
          - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/greet@$CI_COMMIT_SHA
            inputs:
              job-prefix: self
        ",
    );
    p.write(
        "templates/greet.yml",
        "
        spec:
          inputs:
            job-prefix:
        ---
        $[[ inputs.job-prefix ]]-test:
          variables:
            NAME: $[[ component.name ]]
          script: echo
        ",
    );
    p.commit_all("component");
    assert_eq!(p.jobs(&[]), set(&["self-test"]));
    assert_eq!(p.vars("self-test", &[])["NAME"], "greet");
}

// https://docs.gitlab.com/ci/yaml/#includetemplate: GitLab's templates, here from a local HTTP
// server (--templates-url) and from file://.
#[test]
fn include_template_from_http_and_file_urls() {
    let base = serve(&[(
        "/templates/Workflows/Branch.gitlab-ci.yml",
        "
        template-job:
          script: echo from the template
        ",
    )]);
    let p = Project::with_ci(
        "
        include:
          - template: Workflows/Branch.gitlab-ci.yml
        ",
    );
    let url = format!("{base}/templates");
    assert_eq!(p.jobs(&["--templates-url", &url]), set(&["template-job"]));
    // Cached: offline works.
    assert_eq!(
        p.jobs(&["--offline", "--templates-url", &url]),
        set(&["template-job"])
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("Workflows")).unwrap();
    std::fs::write(
        dir.path().join("Workflows/Branch.gitlab-ci.yml"),
        "file-template-job:\n  script: echo\n",
    )
    .unwrap();
    let url = format!("file://{}", dir.path().display());
    assert_eq!(
        p.jobs(&["--templates-url", &url]),
        set(&["file-template-job"])
    );
    p.write(
        ".gitlab-ci.yml",
        "include:\n  - template: Nope.gitlab-ci.yml\n",
    );
    let err = p.fails(&["validate", "--templates-url", &format!("{base}/templates")]);
    assert_contains(&err, &[".gitlab-ci.yml:2:", "Nope.gitlab-ci.yml", "404"]);
}

// Issue #13: remote includes that never answer cost the timeout once, not once each.
#[test]
fn remote_includes_that_never_answer_fail_after_the_timeout() {
    let (url, _listener) = silent_server();
    let p = Project::with_ci(&format!(
        "
        include:
          - remote: {url}/a.yml
          - remote: {url}/b.yml
        "
    ));
    let err = p.fails(&["validate", "--fetch-timeout", "1"]);
    assert_contains(&err, &["a.yml", "no answer", "b.yml", "did not answer"]);
}

// https://docs.gitlab.com/ci/inputs/: a main file's header; `--input` sets its inputs
// (pipeline inputs), typed by the header.
#[test]
fn inputs_of_the_main_file_from_the_command_line() {
    let p = Project::with_ci(
        "
        spec:
          inputs:
            image:
              default: busybox:latest
            jobs:
              type: array
              default: [echo a, echo b]
            debug:
              type: boolean
              default: false
        ---
        build:
          image: $[[ inputs.image ]]
          variables:
            DEBUG: $[[ inputs.debug ]]
          script: $[[ inputs.jobs ]]
        ",
    );
    assert_eq!(p.job("build", &[])["image"], "busybox:latest");
    let job = p.job(
        "build",
        &["--input", "image=debian:bookworm", "--input", "debug=true"],
    );
    assert_eq!(job["image"], "debian:bookworm", "{job}");
    assert_eq!(p.vars("build", &["--input", "debug=true"])["DEBUG"], "true");
    let err = p.fails(&["validate", "--input", "debug=maybe"]);
    assert_contains(&err, &["`debug` input: provided value is not a boolean"]);
    let err = p.fails(&["validate", "--input", "colour=red"]);
    assert_contains(&err, &["unknown input arguments: colour"]);
}

// https://docs.gitlab.com/ci/inputs/#set-input-values-when-using-include: `include:inputs` on a
// local include; inputs given to a file without a header are an error.
#[test]
fn include_inputs_on_a_local_include() {
    let p = Project::with_ci(
        "
        include:
          - local: ci/job.yml
            inputs:
              name: unit
              retries: 2
        ",
    );
    p.write(
        "ci/job.yml",
        "
        spec:
          inputs:
            name:
            retries:
              type: number
              regex: ^[0-9]+$
        ---
        test-$[[ inputs.name ]]:
          retry: $[[ inputs.retries ]]
          script: echo '$[[ inputs.name | truncate(0,2) ]]'
        ",
    );
    assert_eq!(p.jobs(&[]), set(&["test-unit"]));
    p.write("ci/job.yml", "plain:\n  script: echo\n");
    let err = p.invalid();
    assert_contains(
        &err,
        &[".gitlab-ci.yml:4:", "no `spec:inputs` header", "ci/job.yml"],
    );
}

// Issue #13: local includes stay inside the checkout, as on GitLab (no `..`, no symbolic link
// leading out), and are regular files of bounded size (no FIFO, no /dev/zero).
#[test]
fn local_includes_stay_inside_the_checkout() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.yml"), "evil:\n  script: echo\n").unwrap();
    let p = Project::new();
    p.write("ci/ok.yml", "ok:\n  script: echo\n");
    type Make<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "../outside.yml",
            Box::new(|_| {}),
            "leads outside the project",
        ),
        (
            "ci/link.yml",
            Box::new(|dir: &Path| {
                std::os::unix::fs::symlink(outside.path().join("evil.yml"), dir.join("ci/link.yml"))
                    .unwrap()
            }),
            "symbolic link that leads outside",
        ),
        (
            "ci/zero.yml",
            Box::new(|dir: &Path| {
                std::os::unix::fs::symlink("/dev/zero", dir.join("ci/zero.yml")).unwrap()
            }),
            "outside",
        ),
        (
            "ci/fifo.yml",
            Box::new(|dir: &Path| {
                let path = dir.join("ci/fifo.yml");
                let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap();
                assert_eq!(unsafe { libc_mkfifo(c.as_ptr(), 0o644) }, 0);
            }),
            "not a regular file",
        ),
    ];
    for (include, make, expected) in cases {
        make(p.path());
        p.write(".gitlab-ci.yml", &format!("include: {include}\n"));
        let err = p.invalid();
        assert_contains(&err, &[".gitlab-ci.yml:1:", expected]);
    }
    // A symbolic link inside the checkout is fine.
    std::os::unix::fs::symlink(p.path().join("ci/ok.yml"), p.path().join("ci/alias.yml")).unwrap();
    p.write(".gitlab-ci.yml", "include: ci/alias.yml\n");
    assert_eq!(p.jobs(&[]), set(&["ok"]));
}

unsafe extern "C" {
    #[link_name = "mkfifo"]
    fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
}
