"""The class-server set-up keeps solutions away from students: deploy/permissions.sh (the step
deploy/README.md documents) leaves the library, lectures and releases readable by every user and the
assignments' sources, rubrics and graded work readable by their owner only."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _other_can_read(p: Path) -> bool:
    return bool(p.stat().st_mode & stat.S_IROTH)


def test_permissions_script_hides_sources(tmp_path):
    copy = tmp_path / "rnn-course"
    for part in ("course_lib", "lectures", "assignments", "deploy"):
        shutil.copytree(REPO / part, copy / part, ignore=shutil.ignore_patterns("__pycache__", "gradebook.db"))
    (copy / "assignments" / "gradebook.db").write_text("grades")
    (copy / "assignments" / "submitted" / "alice").mkdir(parents=True)
    for p in copy.rglob("*"):
        p.chmod(0o777 if p.is_dir() else 0o666)  # worst case: everything open
    out = subprocess.run(["bash", str(REPO / "deploy" / "permissions.sh"), str(copy)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    a = copy / "assignments"
    for secret in [a / "source", *(a / "source").rglob("*"), a / "instructor_notes", a / "gradebook.db",
                   a / "submitted", a / "submitted" / "alice"]:
        assert not _other_can_read(secret), f"{secret.relative_to(copy)} is readable by every user"
        assert not secret.stat().st_mode & (stat.S_IWOTH | stat.S_IWGRP | stat.S_IRGRP)
    for public in [copy / "course_lib" / "__init__.py", copy / "lectures", *(copy / "lectures").glob("*.ipynb"),
                   a / "release", *(a / "release").rglob("*.ipynb"), a / "nbgrader_config.py"]:
        assert _other_can_read(public), f"{public.relative_to(copy)} should be readable by every user"
        assert not public.stat().st_mode & stat.S_IWOTH, f"{public.relative_to(copy)} is writable by every user"
    assert all(_other_can_read(d) and d.stat().st_mode & stat.S_IXOTH for d in (copy, a, a / "release"))
    assert os.access(copy / "course_lib", os.R_OK)
