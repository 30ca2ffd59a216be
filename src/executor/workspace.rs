//! The project snapshot a run starts from, made once per run: a plain directory holding the
//! project's files as they were when the run started, which jobs see (through an overlay, or a
//! copy sent to a remote engine) but never change.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::{Repository, StatusOptions};

use super::Workspace;
use crate::error::Error;

/// Gitlinks (submodules) in an index or tree.
const MODE_GITLINK: u32 = 0o160000;

impl Workspace {
    /// The working tree of `project_dir` (which may be a subdirectory of its repository): the
    /// tracked files with their uncommitted changes (deleted ones left out), plus the untracked
    /// files git does not ignore. Outside a git repository, every file but `.git`.
    /// Copied into `dest_dir`, which must be empty or absent; symlinks stay symlinks, modes stay.
    ///
    /// The variables files ([`VARIABLES_FILES`]) are never in it, ignored by git or not.
    pub fn from_working_tree(project_dir: &Path, dest_dir: &Path) -> Result<Workspace, Error> {
        Self::from_working_tree_without(project_dir, dest_dir, &[])
    }

    /// [`Workspace::from_working_tree`] without the files `without` too (paths relative to the
    /// project: a `--variables-file` inside it).
    pub fn from_working_tree_without(
        project_dir: &Path,
        dest_dir: &Path,
        without: &[PathBuf],
    ) -> Result<Workspace, Error> {
        let project_dir = project_dir.canonicalize().map_err(|e| io(project_dir, e))?;
        prepare_dest(dest_dir)?;
        let mut rels = match Repository::discover(&project_dir) {
            Ok(repo) => git_files(&repo, &project_dir, dest_dir)?,
            Err(_) => {
                let mut out = Vec::new();
                walk_plain(&project_dir, &mut out).map_err(|e| io(&project_dir, e))?;
                out
            }
        };
        rels.retain(|r| !is_secret(r, without));
        rels.sort();
        rels.dedup();
        let files = copy_parallel(&project_dir, dest_dir, rels)?;
        Ok(Workspace {
            root: dest_dir.to_path_buf(),
            files,
        })
    }

    /// The tree of commit `rev` (anything `git rev-parse` takes), or of its `subdir` when not
    /// empty, written into `dest_dir`, without the variables files ([`VARIABLES_FILES`]).
    pub fn from_commit(
        repo_dir: &Path,
        rev: &str,
        subdir: &Path,
        dest_dir: &Path,
    ) -> Result<Workspace, Error> {
        Self::from_commit_without(repo_dir, rev, subdir, dest_dir, &[])
    }

    /// [`Workspace::from_commit`] without the files `without` too (relative to `subdir`).
    pub fn from_commit_without(
        repo_dir: &Path,
        rev: &str,
        subdir: &Path,
        dest_dir: &Path,
        without: &[PathBuf],
    ) -> Result<Workspace, Error> {
        let git = |e: git2::Error| {
            Error::Environment(format!("{}: git: {}", repo_dir.display(), e.message()))
        };
        let repo = Repository::discover(repo_dir).map_err(git)?;
        let mut tree = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_tree())
            .map_err(git)?;
        if !subdir.as_os_str().is_empty() {
            tree = tree
                .get_path(subdir)
                .and_then(|e| e.to_object(&repo))
                .and_then(|o| o.peel_to_tree())
                .map_err(git)?;
        }
        prepare_dest(dest_dir)?;
        let mut files = Vec::new();
        write_tree(&repo, &tree, dest_dir, Path::new(""), without, &mut files)?;
        files.sort();
        Ok(Workspace {
            root: dest_dir.to_path_buf(),
            files,
        })
    }

    /// Whether `rel` (a file path relative to the root) is one of the snapshot's files.
    pub fn contains(&self, rel: &Path) -> bool {
        self.files
            .binary_search_by(|f| f.as_path().cmp(rel))
            .is_ok()
    }
}

/// The variables files, which hold masked values: never given to a job, whatever the checkout
/// mode, so that no job (nor `artifacts: paths: ["*.yml"]`) can read them.
pub const VARIABLES_FILES: [&str; 3] = [
    crate::user_vars::DEFAULT_FILE,
    crate::user_vars::PEER_FILE,
    crate::user_vars::PEER_ENV,
];

/// Whether `rel` (relative to the project) is a variables file, or one of `without`.
fn is_secret(rel: &Path, without: &[PathBuf]) -> bool {
    VARIABLES_FILES.iter().any(|f| rel == Path::new(f)) || without.iter().any(|w| rel == w)
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn prepare_dest(dest: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dest).map_err(|e| io(dest, e))?;
    if std::fs::read_dir(dest)
        .map_err(|e| io(dest, e))?
        .next()
        .is_some()
    {
        return Err(Error::Usage(format!(
            "{}: the snapshot directory must be empty",
            dest.display()
        )));
    }
    Ok(())
}

/// The project's files under the repository's index and status, relative to `project_dir`.
/// Submodules become empty directories in `dest`, as with GitLab's default
/// `GIT_SUBMODULE_STRATEGY: none`.
fn git_files(repo: &Repository, project_dir: &Path, dest: &Path) -> Result<Vec<PathBuf>, Error> {
    let git = |e: git2::Error| {
        Error::Environment(format!("{}: git: {}", project_dir.display(), e.message()))
    };
    let workdir = repo
        .workdir()
        .ok_or_else(|| {
            Error::Environment(format!(
                "{}: a bare repository has no working tree",
                project_dir.display()
            ))
        })?
        .canonicalize()
        .map_err(|e| io(project_dir, e))?;
    let prefix = project_dir.strip_prefix(&workdir).unwrap_or(Path::new(""));
    let mut out = Vec::new();
    let index = repo.index().map_err(git)?;
    for e in index.iter() {
        let path = Path::new(OsStr::from_bytes(&e.path));
        let Ok(rel) = path.strip_prefix(prefix) else {
            continue;
        };
        if e.mode == MODE_GITLINK {
            std::fs::create_dir_all(dest.join(rel)).map_err(|e| io(dest, e))?;
        } else {
            out.push(rel.to_path_buf());
        }
    }
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    if !prefix.as_os_str().is_empty() {
        opts.pathspec(prefix);
    }
    for s in repo.statuses(Some(&mut opts)).map_err(git)?.iter() {
        if s.status().is_wt_new() {
            if let Ok(rel) = Path::new(OsStr::from_bytes(s.path_bytes())).strip_prefix(prefix) {
                out.push(rel.to_path_buf());
            }
        }
    }
    Ok(out)
}

/// Every file under `root` but `.git`, relative to it (directories are walked, not listed).
fn walk_plain(root: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let walk = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && e.file_name() == ".git"));
    for entry in walk {
        let entry = entry?;
        if !entry.file_type().is_dir() {
            let rel = entry
                .path()
                .strip_prefix(root)
                .map_err(std::io::Error::other)?;
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// Copies `rels` from `src` to `dest` on a few threads (a snapshot of a large checkout is mostly
/// waiting on the file system), returning the files that were there to copy: a tracked file
/// deleted from the working tree is simply absent.
fn copy_parallel(src: &Path, dest: &Path, rels: Vec<PathBuf>) -> Result<Vec<PathBuf>, Error> {
    let threads = std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .clamp(1, 8);
    let chunk = rels.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<PathBuf>, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = rels
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut copied = Vec::with_capacity(part.len());
                    for rel in part {
                        if copy_one(&src.join(rel), &dest.join(rel))
                            .map_err(|e| io(&src.join(rel), e))?
                        {
                            copied.push(rel.clone());
                        }
                    }
                    Ok(copied)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("copy thread panicked"))
            .collect()
    });
    let mut files = Vec::with_capacity(rels.len());
    for r in results {
        files.extend(r?);
    }
    Ok(files)
}

/// Copies a file or symlink; `false` when there is nothing (or nothing copyable) at `from`.
pub(crate) fn copy_one(from: &Path, to: &Path) -> std::io::Result<bool> {
    let meta = match std::fs::symlink_metadata(from) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    if !(ft.is_file() || ft.is_symlink()) {
        return Ok(false);
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if ft.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)?;
    } else {
        // std::fs::copy keeps the permission bits (the executable bit matters to scripts).
        std::fs::copy(from, to)?;
    }
    Ok(true)
}

fn write_tree(
    repo: &Repository,
    tree: &git2::Tree,
    root: &Path,
    rel: &Path,
    without: &[PathBuf],
    files: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join(rel);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let git = |e: git2::Error| Error::Environment(format!("git: {}", e.message()));
    for entry in tree.iter() {
        let name = Path::new(OsStr::from_bytes(entry.name_bytes()));
        let child = rel.join(name);
        let path = root.join(&child);
        let mode = entry.filemode() as u32;
        match entry.kind() {
            Some(git2::ObjectType::Tree) => {
                let sub = entry.to_object(repo).and_then(|o| o.peel_to_tree());
                write_tree(repo, &sub.map_err(git)?, root, &child, without, files)?;
            }
            Some(git2::ObjectType::Blob) if is_secret(&child, without) => {}
            Some(git2::ObjectType::Blob) => {
                let blob = entry.to_object(repo).and_then(|o| o.peel_to_blob());
                let blob = blob.map_err(git)?;
                if mode == 0o120000 {
                    let target = Path::new(OsStr::from_bytes(blob.content()));
                    std::os::unix::fs::symlink(target, &path).map_err(|e| io(&path, e))?;
                } else {
                    std::fs::write(&path, blob.content()).map_err(|e| io(&path, e))?;
                    let perm = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm))
                        .map_err(|e| io(&path, e))?;
                }
                files.push(child);
            }
            // A submodule: an empty directory, as GitLab leaves it without a submodule strategy.
            _ if mode == MODE_GITLINK => {
                std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let st = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(st.success(), "git {args:?}");
    }

    fn repo() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q"]);
        std::fs::create_dir_all(d.join("sub/deep")).unwrap();
        std::fs::write(d.join(".gitignore"), "*.o\n").unwrap();
        std::fs::write(d.join("top.txt"), "top").unwrap();
        std::fs::write(d.join("gone.txt"), "gone").unwrap();
        std::fs::write(d.join("sub/run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(d.join("sub/run.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::write(d.join("sub/deep/a.txt"), "v1").unwrap();
        std::os::unix::fs::symlink("deep/a.txt", d.join("sub/link")).unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "one"]);
        // Uncommitted state: an edit, a deletion, a new file, an ignored file.
        std::fs::write(d.join("sub/deep/a.txt"), "v2").unwrap();
        std::fs::remove_file(d.join("gone.txt")).unwrap();
        std::fs::write(d.join("sub/new.txt"), "new").unwrap();
        std::fs::write(d.join("sub/x.o"), "obj").unwrap();
        t
    }

    #[test]
    fn working_tree_snapshot_has_edits_and_new_files_but_not_ignored_or_deleted() {
        let r = repo();
        let out = tempfile::tempdir().unwrap();
        let ws = Workspace::from_working_tree(r.path(), &out.path().join("snap")).unwrap();
        let names: Vec<_> = ws.files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                ".gitignore",
                "sub/deep/a.txt",
                "sub/link",
                "sub/new.txt",
                "sub/run.sh",
                "top.txt"
            ]
        );
        let root = &ws.root;
        assert_eq!(
            std::fs::read_to_string(root.join("sub/deep/a.txt")).unwrap(),
            "v2"
        );
        assert_eq!(
            std::fs::read_link(root.join("sub/link")).unwrap(),
            Path::new("deep/a.txt")
        );
        let mode = std::fs::metadata(root.join("sub/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        assert!(ws.contains(Path::new("top.txt")));
        assert!(!ws.contains(Path::new("sub/x.o")));
    }

    #[test]
    fn subdirectory_project_and_commit_export() {
        let r = repo();
        let out = tempfile::tempdir().unwrap();
        let ws =
            Workspace::from_working_tree(&r.path().join("sub"), &out.path().join("a")).unwrap();
        let names: Vec<_> = ws.files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(names, ["deep/a.txt", "link", "new.txt", "run.sh"]);

        let ws = Workspace::from_commit(r.path(), "HEAD", Path::new("sub"), &out.path().join("b"))
            .unwrap();
        let names: Vec<_> = ws.files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(names, ["deep/a.txt", "link", "run.sh"]);
        assert_eq!(
            std::fs::read_to_string(ws.root.join("deep/a.txt")).unwrap(),
            "v1"
        );
        assert!(
            std::fs::symlink_metadata(ws.root.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let mode = std::fs::metadata(ws.root.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);

        let err = Workspace::from_working_tree(r.path(), &out.path().join("b")).unwrap_err();
        assert!(err.to_string().contains("must be empty"));
    }

    #[test]
    fn the_variables_files_are_never_in_a_snapshot() {
        let r = repo();
        let d = r.path();
        // Committed (not ignored), as a careless project might.
        for f in VARIABLES_FILES {
            std::fs::write(d.join(f), "TOKEN: {value: s3cr3t-value, masked: true}\n").unwrap();
        }
        std::fs::write(d.join("my-vars.yml"), "A: b\n").unwrap();
        std::fs::write(d.join("sub/.tezos-ci-local-variables.yml"), "kept: yes\n").unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "vars"]);
        let out = tempfile::tempdir().unwrap();
        let without = [PathBuf::from("my-vars.yml")];
        let tree =
            Workspace::from_working_tree_without(d, &out.path().join("a"), &without).unwrap();
        let commit = Workspace::from_commit_without(
            d,
            "HEAD",
            Path::new(""),
            &out.path().join("b"),
            &without,
        )
        .unwrap();
        for ws in [&tree, &commit] {
            for f in VARIABLES_FILES.iter().chain(&["my-vars.yml"]) {
                assert!(!ws.contains(Path::new(f)), "{f} in the snapshot");
                assert!(!ws.root.join(f).exists(), "{f} written");
            }
            assert!(ws.contains(Path::new("top.txt")));
            // Only the project's own files are kept out: one of a subdirectory is the project's.
            assert!(ws.contains(Path::new("sub/.tezos-ci-local-variables.yml")));
        }
    }
}
