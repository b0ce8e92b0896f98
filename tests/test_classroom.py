"""The instructor's flow, on the toy assignment (fast) in a scratch course.

* ``course autograde --jobs 2`` grades a small class in parallel: correct, blank and partly wrong work,
  an endless loop (the cell timeout costs only that item) and a kernel crash (only that item), and a
  wall limit per submission stops a worker that runs too long without stopping the class;
* ``course export --csv`` has one column per graded cell;
* a real multi-user course on one machine with nbgrader's file-system exchange: the instructor releases,
  two students (separate Unix users when this runs as root and they can run the venv's Python, else
  separate home folders and user names) fetch, edit and submit; the instructor collects, autogrades,
  generates and returns feedback; a student fetches it.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from classroom_fixtures import (TOY, TOY_MANUAL, TOY_POINTS, expected_auto, install_or_skip, make_course,
                                not_another_workers, student_notebook)
from course_lib.grading import generate_assignment, read_scores

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
COURSE_BIN = BIN / "course"


def course(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(COURSE_BIN), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def toy(tmp_path):
    root = make_course(tmp_path / "course")
    generate_assignment(root, TOY)
    return root


def _submit(root: Path, student: str, variant: str) -> None:
    dest = root / "submitted" / student / TOY
    dest.mkdir(parents=True)
    nbformat.write(student_notebook(root / "release" / TOY / f"{TOY}.ipynb", variant), dest / f"{TOY}.ipynb")
    (dest / "timestamp.txt").write_text("2026-01-15 10:00:00.000000 UTC")


def test_parallel_autograde_and_export(toy, tmp_path):
    variants = {"ada": "solved", "bob": "blank", "cy": "partial", "dee": "loop", "eve": "crash", "fay": "solved"}
    for student, v in variants.items():
        _submit(toy, student, v)
    t0 = time.perf_counter()
    out = course("--root", str(toy), "autograde", TOY, "--jobs", "2", "--cell-timeout", "5", "--wall-limit", "300")
    secs = time.perf_counter() - t0
    print(out.stdout, f"\n{len(variants)} submissions, 2 jobs: {secs:.1f} s")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"autograded {len(variants)} of {len(variants)}" in out.stdout
    for student, v in variants.items():
        got = {s.grade_id: s.score for s in read_scores(toy, TOY, student) if s.auto}
        assert got == expected_auto(v), f"{student} ({v}): {got}"
        assert (toy / "autograded" / student / TOY / f"{TOY}.ipynb").exists()

    csv_path = tmp_path / "scores.csv"
    out = course("--root", str(toy), "export", TOY, "--csv", str(csv_path))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["student_id"] for r in rows] == sorted(variants)
    assert list(rows[0]) == ["student_id", "test_double", "test_square", "test_mc1", "written1", "total",
                             "max_total", "needs_manual_grade", "review_flags"]
    for r in rows:
        want = expected_auto(variants[r["student_id"]])
        assert {k: float(r[k]) for k in TOY_POINTS} == want
        if variants[r["student_id"]] == "blank":  # nbgrader gives 0 to an answer left as released
            assert r["written1"] == "0.0" and r["needs_manual_grade"] == "False"
        else:
            assert r["written1"] == "" and r["needs_manual_grade"] == "True"
        assert float(r["total"]) == sum(want.values())
        assert float(r["max_total"]) == sum(TOY_POINTS.values()) + sum(TOY_MANUAL.values())

    # stock nbgrader still works on the same course, and reads the merged gradebook
    from course_lib.grading import nbgrader
    exp = nbgrader(toy, "export", "--to", str(tmp_path / "nbgrader.csv"))
    assert exp.returncode == 0
    assert len(list(csv.DictReader((tmp_path / "nbgrader.csv").open()))) == len(variants)


def test_wall_limit_stops_one_submission_only(toy):
    _submit(toy, "ok", "solved")
    _submit(toy, "stuck", "loop")
    t0 = time.perf_counter()
    # the cell timeout is longer than the wall limit: the backstop has to act
    out = course("--root", str(toy), "autograde", TOY, "--jobs", "2", "--cell-timeout", "600", "--wall-limit", "25")
    secs = time.perf_counter() - t0
    assert out.returncode == 1, out.stdout + out.stderr
    assert "NOT graded: stuck (timeout)" in out.stdout
    assert {s.grade_id: s.score for s in read_scores(toy, TOY, "ok") if s.auto} == expected_auto("solved")
    assert secs < 200, f"the wall limit did not stop the endless submission ({secs:.0f} s)"
    import psutil
    stray = not_another_workers([p for p in psutil.process_iter(["cmdline"])
                                 if any("course-autograde-" in a for a in (p.info["cmdline"] or []))])
    assert not stray, f"processes of the killed worker are still running: {stray}"


# ---------------------------------------------------------------------------------------------------
# multi-user exchange

STUDENTS = ["rnnstu1", "rnnstu2"]


def _can_use_unix_users() -> bool:
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        return False
    # another user must be able to run this venv's Python (it may live under a private /root)
    probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c", "import nbgrader"],
                           capture_output=True)
    return probe.returncode == 0


class Student:
    """One student: a Unix user of their own when possible, else their own HOME and user name."""

    def __init__(self, name: str, base: Path, unix: bool):
        self.name, self.unix = name, unix
        self.home = base / name
        if unix:
            subprocess.run(["useradd", "--create-home", "--home-dir", str(self.home), name], check=True)
        else:
            self.home.mkdir(parents=True)

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        env = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name,
               "PATH": f"{BIN}:/usr/bin:/bin", "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
        full = ["env", "-i", *[f"{k}={v}" for k, v in env.items()], *cmd]
        if self.unix:
            full = ["runuser", "-u", self.name, "--", *full]
        return subprocess.run(full, cwd=self.home, capture_output=True, text=True, timeout=300)

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess:
        if not self.unix and args[0] in ("submit", "fetch_feedback"):
            args = (*args, f"--student={self.name}")  # one uid for all: say who submits (nbgrader's option)
        out = self.run(str(BIN / "nbgrader"), *args)
        assert out.returncode == 0, f"{self.name}: nbgrader {' '.join(args)}\n{out.stdout}\n{out.stderr}"
        return out

    def remove(self) -> None:
        if self.unix:
            subprocess.run(["userdel", "--remove", self.name], capture_output=True)


def test_multi_user_exchange(toy):
    base = Path(tempfile.mkdtemp(prefix="rnn-class-", dir="/tmp"))
    base.chmod(0o755)
    exchange = base / "exchange"
    unix = _can_use_unix_users()
    print("students are", "separate Unix users" if unix else "separate HOME folders and user names (same uid)")
    students = []
    try:
        students = [Student(n, base / "home", unix) for n in STUDENTS]
        ex = f"--Exchange.root={exchange}"
        out = course("--root", str(toy), "release", TOY, "--exchange", str(exchange))
        assert out.returncode == 0, out.stdout + out.stderr

        for st, variant in zip(students, ["solved", "partial"]):
            listed = st.nbgrader("list", "--course", "rnn-course", ex)
            assert TOY in listed.stdout + listed.stderr
            st.nbgrader("fetch_assignment", TOY, "--course", "rnn-course", ex)
            mine = st.home / TOY / f"{TOY}.ipynb"
            assert mine.exists()
            # the student edits their copy (as themselves)
            script = ("import sys; sys.path.insert(0, %r); import nbformat; from classroom_fixtures import "
                      "student_notebook as s; nbformat.write(s(%r, %r), %r)"
                      % (str(Path(__file__).parent), str(mine), variant, str(mine)))
            edit = st.run(sys.executable, "-c", script)
            assert edit.returncode == 0, edit.stderr
            st.nbgrader("submit", TOY, "--course", "rnn-course", ex)
            if unix:
                assert mine.stat().st_uid != 0, "the student's files belong to the student"

        out = course("--root", str(toy), "collect", TOY, "--exchange", str(exchange))
        assert out.returncode == 0, out.stdout + out.stderr
        assert all((toy / "submitted" / n / TOY / f"{TOY}.ipynb").exists() for n in STUDENTS)
        out = course("--root", str(toy), "autograde", TOY, "--jobs", "2")
        assert out.returncode == 0, out.stdout + out.stderr
        for n, variant in zip(STUDENTS, ["solved", "partial"]):
            assert {s.grade_id: s.score for s in read_scores(toy, TOY, n) if s.auto} == expected_auto(variant)
        out = course("--root", str(toy), "feedback", TOY, "--return", "--exchange", str(exchange))
        assert out.returncode == 0, out.stdout + out.stderr

        st = students[1]
        st.nbgrader("fetch_feedback", TOY, "--course", "rnn-course", ex)
        html = list((st.home / TOY / "feedback").rglob(f"{TOY}.html"))
        assert len(html) == 1, "the student got no feedback"
        text = html[0].read_text()
        assert "test_square" in text and "2.0 / 6.0" in text, "feedback of the partial submission: 2 of 6 points"
        # the other student has not fetched anything
        assert not (students[0].home / TOY / "feedback").exists()
    finally:
        for st in students:
            st.remove()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# JupyterHub (deploy/jupyterhub_config.py) smoke test

REPO = Path(__file__).resolve().parents[1]


def _free_port_block() -> int:
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000 and all(_port_free(port + k) for k in (1, 2)):
            return port
    raise RuntimeError("no three free ports in a row")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _get(url: str, token: str):
    import json
    import urllib.request

    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as r:
            body = r.read().decode()
            return r.status, (json.loads(body) if body[:1] in "[{" else body)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


def test_jupyterhub_smoke(tmp_path):
    import secrets
    import urllib.error
    import urllib.request

    install_or_skip("install_hub.sh", "jupyterhub/configurable-http-proxy")
    port, token = _free_port_block(), secrets.token_hex(16)
    hub_dir = tmp_path / "hub"
    env = {**os.environ, "COURSE_HUB_DIR": str(hub_dir), "COURSE_HUB_DEMO": "1", "COURSE_HUB_PORT": str(port),
           "COURSE_HUB_API_TOKEN": token, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = open(tmp_path / "hub.log", "w")
    hub = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(REPO / "deploy" / "jupyterhub_config.py")],
                           cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if _get(f"{base}/hub/api/", token)[0] == 200:
                    break
            except OSError:
                pass
            assert hub.poll() is None and time.time() < deadline, (tmp_path / "hub.log").read_text()[-3000:]
            time.sleep(1)
        for path in ("users/instructor", "users/instructor/server"):
            req = urllib.request.Request(f"{base}/hub/api/{path}", method="POST",
                                         headers={"Authorization": f"token {token}"})
            try:
                urllib.request.urlopen(req, timeout=60)
            except urllib.error.HTTPError as e:
                assert e.code == 409, e  # 409: the user exists already (the config's formgrader group)
        deadline = time.time() + 180
        while True:
            _, user = _get(f"{base}/hub/api/users/instructor", token)
            if user.get("servers", {}).get("", {}).get("ready"):
                break
            assert time.time() < deadline, "the user server did not start:\n" + \
                (tmp_path / "hub.log").read_text()[-3000:]
            time.sleep(1)
        user_url = f"{base}/user/instructor"
        code, status = _get(f"{user_url}/api/status", token)
        assert code == 200 and "started" in status
        # nbgrader's lab extension and its four server extensions answer inside the user's server
        code, exts = _get(f"{user_url}/lab/api/extensions", token)
        nbg = [e for e in exts if "nbgrader" in e["name"]]  # "@jupyter/nbgrader", listed as jupyter-nbgrader
        assert code == 200 and nbg and nbg[0]["enabled"], [e["name"] for e in exts]
        code, courses = _get(f"{user_url}/courses", token)  # assignment_list
        assert code == 200 and courses["success"], courses
        code, graders = _get(f"{user_url}/formgraders", token)  # course_list
        assert code == 200 and graders["success"] and isinstance(graders["value"], list), graders
        code, _ = _get(f"{user_url}/formgrader", token)  # formgrader (redirects to its first page)
        assert code in (200, 302)
        import nbgrader
        code, ver = _get(f"{user_url}/nbgrader_version?version={nbgrader.__version__}", token)
        assert code == 200 and ver["success"], ver
        print(f"hub on {base}: server of 'instructor' up with nbgrader {nbgrader.__version__} extensions")
    finally:
        hub.terminate()
        try:
            hub.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, 9)
            hub.wait()
        log.close()
