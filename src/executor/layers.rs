//! The merged view of a job's overlay read from the host, without mounting anything: the upper
//! directory (the job's writes) over the lower ones (artifacts of needed jobs, the snapshot).
//! Artifacts and caches are collected from it after the job, so a file the job left unchanged is
//! read from the snapshot where it lies and a file it deleted is not seen.
//!
//! Only the upper directory can hold the kernel's marks: whiteouts (a 0:0 character device for a
//! deleted name) and opaque directories (`trusted.overlay.opaque=y`, a directory recreated after
//! deletion hides what lies below). The lower directories are plain, written by this program.
//! Mounts are made with `redirect_dir=off` and `metacopy=off`, so no other mark can appear.
//! Nothing here follows a symlink: a symlink is an entry like a file.

use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The layers, top first: the upper directory, then the lower ones from top to bottom.
#[derive(Debug, Clone)]
pub struct Layers {
    layers: Vec<PathBuf>,
}

/// One name of the merged view.
#[derive(Debug)]
pub enum Entry {
    /// A directory, with the layer directories that make it up, top first.
    Dir(Vec<(usize, PathBuf)>),
    /// Anything else (file, symlink...), read from the topmost layer holding it.
    Leaf { path: PathBuf, meta: Metadata },
}

impl Layers {
    pub fn new(upper: PathBuf, lowers: Vec<PathBuf>) -> Layers {
        let mut layers = vec![upper];
        layers.extend(lowers);
        Layers { layers }
    }

    /// The project root.
    pub fn root(&self) -> Entry {
        Entry::Dir(self.layers.iter().cloned().enumerate().collect())
    }

    /// Looks `rel` up component by component, as the kernel does.
    pub fn lookup(&self, rel: &Path) -> Option<Entry> {
        let mut entry = self.root();
        for c in rel.iter() {
            match entry {
                Entry::Dir(dirs) => entry = step(&dirs, c.as_ref())?,
                // A file where a directory is needed: nothing there.
                Entry::Leaf { .. } => return None,
            }
        }
        Some(entry)
    }

    /// The names in a directory of the merged view, sorted, each with what it is.
    pub fn read_dir(&self, dirs: &[(usize, PathBuf)]) -> Vec<(OsString, Entry)> {
        let mut names: Vec<OsString> = Vec::new();
        for (_, d) in dirs {
            if let Ok(rd) = std::fs::read_dir(d) {
                names.extend(rd.filter_map(|e| e.ok()).map(|e| e.file_name()));
            }
        }
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|n| step(dirs, Path::new(&n)).map(|e| (n, e)))
            .collect()
    }

    /// Visits everything under `rel` (itself included), parents before children. `visit` says
    /// whether to go into a directory.
    pub fn walk(&self, rel: &Path, visit: &mut dyn FnMut(&Path, &Entry) -> bool) {
        if let Some(entry) = self.lookup(rel) {
            self.walk_entry(rel, &entry, visit);
        }
    }

    fn walk_entry(&self, rel: &Path, entry: &Entry, visit: &mut dyn FnMut(&Path, &Entry) -> bool) {
        if !visit(rel, entry) {
            return;
        }
        if let Entry::Dir(dirs) = entry {
            for (name, child) in self.read_dir(dirs) {
                self.walk_entry(&rel.join(name), &child, visit);
            }
        }
    }

    /// The names of the upper layer and of the given lower layers only (by index in the lower
    /// list), as merged-view paths: where files the snapshot does not have can be.
    pub fn walk_layers(&self, lower_indices: &[usize], visit: &mut dyn FnMut(&Path, &Entry)) {
        let mut seen = std::collections::HashSet::new();
        let mut roots = vec![self.layers[0].clone()];
        roots.extend(lower_indices.iter().map(|i| self.layers[i + 1].clone()));
        for root in roots {
            let mut stack = vec![PathBuf::new()];
            while let Some(rel) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(root.join(&rel)) else {
                    continue;
                };
                for e in rd.filter_map(|e| e.ok()) {
                    let child = rel.join(e.file_name());
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(child.clone());
                    }
                    if seen.insert(child.clone()) {
                        if let Some(entry) = self.lookup(&child) {
                            visit(&child, &entry);
                        }
                    }
                }
            }
        }
    }
}

/// One component down from a directory made of `dirs`.
fn step(dirs: &[(usize, PathBuf)], name: &Path) -> Option<Entry> {
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for (layer, d) in dirs {
        let p = d.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let upper = *layer == 0;
        if upper && is_whiteout(&meta) {
            break;
        }
        if meta.is_dir() {
            let opaque = upper && is_opaque(&p);
            found.push((*layer, p));
            if opaque {
                break;
            }
        } else if found.is_empty() {
            return Some(Entry::Leaf { path: p, meta });
        } else {
            // A directory above hides a non-directory below.
            break;
        }
    }
    if found.is_empty() {
        None
    } else {
        Some(Entry::Dir(found))
    }
}

fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &Path) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"]
        .iter()
        .any(|name| xattr(path, name).is_some_and(|v| v == b"y"))
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = [0u8; 8];
    let len = rustix::fs::lgetxattr(path, name, &mut buf).ok()?;
    Some(buf[..len].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    }

    fn names(l: &Layers, rel: &str) -> Vec<String> {
        let mut out = Vec::new();
        l.walk(Path::new(rel), &mut |p, e| {
            let kind = if matches!(e, Entry::Dir(_)) { "/" } else { "" };
            out.push(format!("{}{kind}", p.display()));
            true
        });
        out
    }

    #[test]
    fn upper_over_lowers() {
        let t = tempfile::tempdir().unwrap();
        let (u, a, s) = (t.path().join("u"), t.path().join("a"), t.path().join("s"));
        write(&s.join("d/one"), "snap");
        write(&s.join("d/two"), "snap");
        write(&s.join("f"), "snap");
        write(&a.join("d/two"), "artifact");
        write(&a.join("x/y"), "artifact");
        write(&u.join("d/three"), "job");
        std::fs::create_dir_all(&u).unwrap();
        // The job replaced file `f` by a directory.
        write(&u.join("f/inner"), "job");
        let l = Layers::new(u, vec![a, s]);
        assert_eq!(
            names(&l, ""),
            [
                "/", "d/", "d/one", "d/three", "d/two", "f/", "f/inner", "x/", "x/y"
            ]
        );
        let Some(Entry::Leaf { path, .. }) = l.lookup(Path::new("d/two")) else {
            panic!()
        };
        assert_eq!(std::fs::read_to_string(path).unwrap(), "artifact");
        assert!(l.lookup(Path::new("f/inner")).is_some());
        assert!(l.lookup(Path::new("d/one/x")).is_none());

        let mut fresh = Vec::new();
        l.walk_layers(&[0], &mut |p, _| fresh.push(p.display().to_string()));
        fresh.sort();
        assert_eq!(fresh, ["d", "d/three", "d/two", "f", "f/inner", "x", "x/y"]);
    }

    #[test]
    fn symlinks_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let (u, s) = (t.path().join("u"), t.path().join("s"));
        std::fs::create_dir_all(&u).unwrap();
        write(&s.join("real/file"), "x");
        std::os::unix::fs::symlink("/etc", s.join("out")).unwrap();
        let l = Layers::new(u, vec![s]);
        assert!(l.lookup(Path::new("out/passwd")).is_none());
        assert!(matches!(
            l.lookup(Path::new("out")),
            Some(Entry::Leaf { .. })
        ));
        assert_eq!(names(&l, ""), ["/", "out", "real/", "real/file"]);
    }

    /// Outside CI, says SKIPPED; with `CI=true` (root, overlayfs) the test must run, so it fails.
    fn skip_or_fail(why: &str) {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: {why}");
        }
        eprintln!("SKIPPED: {why}");
    }

    /// Whiteouts and opaque directories need a real overlay mount (root only): made by the
    /// kernel, read back here.
    #[test]
    fn kernel_marks_when_root() {
        if !rustix::process::geteuid().is_root() {
            skip_or_fail("needs root to mount an overlay");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let p = |n: &str| t.path().join(n);
        for d in ["u", "w", "m"] {
            std::fs::create_dir(p(d)).unwrap();
        }
        write(&p("s/gone"), "x");
        write(&p("s/d/old"), "x");
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            p("s").display(),
            p("u").display(),
            p("w").display()
        );
        let st = std::process::Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &opts])
            .arg(p("m"))
            .status();
        if !st.is_ok_and(|s| s.success()) {
            skip_or_fail("cannot mount an overlay here");
            return;
        }
        std::fs::remove_file(p("m/gone")).unwrap();
        std::fs::remove_dir_all(p("m/d")).unwrap();
        write(&p("m/d/new"), "y");
        let _ = std::process::Command::new("umount").arg(p("m")).status();
        let l = Layers::new(p("u"), vec![p("s")]);
        assert_eq!(names(&l, ""), ["/", "d/", "d/new"]);
    }
}
