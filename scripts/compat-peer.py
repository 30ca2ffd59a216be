#!/usr/bin/env python3
"""Compares the jobs tezos-ci-local and gitlab-ci-local list for gitlab-ci-local's own test cases.

Usage: scripts/compat-peer.py GITLAB_CI_LOCAL_REPO [REF] [--bin PATH] [--out FILE]

GITLAB_CI_LOCAL_REPO is a clone (or bare repository) of gitlab-ci-local; REF defaults to the tag of
the installed peer (4.70.1). Every directory of its `tests/test-cases` that holds a `.gitlab-ci.yml`
is copied into a fresh git repository (one commit, an `origin` remote on gitlab.com, branch `main`)
and listed by both tools as a push pipeline: `gitlab-ci-local --list-csv` (jobs that run; when:never
left out) and `tezos-ci-local list --json`. Names are compared after mapping gitlab-ci-local's
instance names (`job: [1/3]`, `job: [a,b]`) to GitLab's (`job 1/3`, `job: [a, b]`).

Prints one line per case (same / differs / both fail / one fails) and a total; `--out` writes the
details as JSON. Needs `gitlab-ci-local` on PATH (see ../shared/tools/peer-gitlab-ci-local.sh).
"""

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

PEER_TIMEOUT = 60
OURS_TIMEOUT = 30


def export_cases(repo, ref, dest):
    """Extracts tests/test-cases at REF into DEST; returns the case directories."""
    archive = subprocess.run(
        ["git", "-C", repo, "archive", "--format=tar", ref, "tests/test-cases"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    root = os.path.join(dest, "tests", "test-cases")
    cases = []
    for dirpath, _dirs, files in os.walk(root):
        if ".gitlab-ci.yml" in files:
            cases.append(dirpath)
    return root, sorted(cases)


def git_init(path):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "remote", "add", "origin", "https://gitlab.com/gcl/test-project.git"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "case", "--allow-empty"],
    ):
        subprocess.run(cmd, cwd=path, check=True, env=env, capture_output=True)


PEER_PARALLEL = re.compile(r"^(?P<base>.*): \[(?P<inner>[^\]]*)\]$")


def normalise_peer(name):
    """gitlab-ci-local writes `job: [1/3]` and `job: [a,b]`; GitLab `job 1/3` and `job: [a, b]`."""
    m = PEER_PARALLEL.match(name)
    if not m:
        return name
    inner = m.group("inner")
    if re.fullmatch(r"\d+/\d+", inner):
        return f"{m.group('base')} {inner}"
    return f"{m.group('base')}: [{', '.join(p.strip() for p in inner.split(','))}]"


def peer_jobs(path):
    try:
        p = subprocess.run(["gitlab-ci-local", "--list-csv"], cwd=path, capture_output=True,
                           text=True, timeout=PEER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    if p.returncode != 0:
        return None, (p.stderr or p.stdout).strip().splitlines()[-1:] or ["exit %d" % p.returncode]
    # The CSV is mixed with warnings on stdout: keep the header and the rows of its width.
    lines = p.stdout.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("name;")), None)
    if start is None:
        return [], None
    header = lines[start].split(";")
    rows = [r for r in csv.reader(lines[start + 1:], delimiter=";") if len(r) == len(header)]
    col = 0
    return sorted(normalise_peer(r[col].strip()) for r in rows if r), None


def our_jobs(binary, path, state):
    try:
        p = subprocess.run([binary, "-C", path, "--state-dir", state, "list", "--json"],
                           capture_output=True, text=True, timeout=OURS_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    if p.returncode != 0:
        return None, (p.stderr or p.stdout).strip().splitlines()[:3]
    jobs = json.loads(p.stdout)
    # A dynamic child pipeline's row (`TRIGGER » *`, with `generated_by`) stands for jobs that only
    # exist at run time: not a job gitlab-ci-local could list.
    return sorted(j["name"] for j in jobs
                  if j.get("included", True) and "generated_by" not in j), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("ref", nargs="?", default="4.70.1")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target",
                                                  "release", "tezos-ci-local"))
    ap.add_argument("--out")
    args = ap.parse_args()
    if shutil.which("gitlab-ci-local") is None:
        sys.exit("gitlab-ci-local is not on PATH")
    work = tempfile.mkdtemp(prefix="compat-peer-")
    try:
        root, cases = export_cases(args.repo, args.ref, work)
        state = os.path.join(work, "state")
        results = []
        counts = {"same": 0, "differs": 0, "both fail": 0, "peer fails": 0, "ours fails": 0}
        for case in cases:
            name = os.path.relpath(case, root)
            # A case is its own repository, as gitlab-ci-local's tests see it.
            repo = os.path.join(work, "repos", name.replace("/", "__"))
            shutil.copytree(case, repo, symlinks=True)
            git_init(repo)
            theirs, their_err = peer_jobs(repo)
            ours, our_err = our_jobs(os.path.abspath(args.bin), repo, state)
            if theirs is None and ours is None:
                verdict = "both fail"
            elif theirs is None:
                verdict = "peer fails"
            elif ours is None:
                verdict = "ours fails"
            elif theirs == ours:
                verdict = "same"
            else:
                verdict = "differs"
            counts[verdict] += 1
            results.append({"case": name, "verdict": verdict, "peer": theirs, "ours": ours,
                            "peer_error": their_err, "our_error": our_err})
            detail = ""
            if verdict == "differs":
                detail = f" only peer: {sorted(set(theirs) - set(ours))} only ours: {sorted(set(ours) - set(theirs))}"
            elif verdict != "same":
                detail = f" peer: {their_err} ours: {our_err}"
            print(f"{verdict:10} {name}{detail}", flush=True)
        total = len(cases)
        print("\n" + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" (of {total} cases)")
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"ref": args.ref, "counts": counts, "cases": results}, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
