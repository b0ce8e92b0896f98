"""`course --root` is accepted before and after the verb (argument parsing only: nothing is graded)."""
import pytest

from course_lib.grading.cli import build_parser


@pytest.mark.parametrize("argv, root", [
    (["--root", "A", "export", "a1", "--csv", "x.csv"], "A"),
    (["export", "a1", "--csv", "x.csv", "--root", "B"], "B"),
    (["autograde", "a1", "--root", "C", "--jobs", "2"], "C"),
    (["--root", "A", "check", "nb.ipynb", "--root", "D"], "D"),   # the one after the verb wins
    (["check", "nb.ipynb"], None),
])
def test_root_before_or_after_the_verb(argv, root):
    assert build_parser().parse_args(argv).root == root


def test_help_says_so(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--help"])
    assert "before or after the verb" in capsys.readouterr().out
