"""Grading helpers: run nbgrader on the course folder and read per-item scores."""
from course_lib.grading.nbgrader_tools import (
    ItemScore,
    assignment_names,
    autograde,
    course_root,
    generate_assignment,
    nbgrader,
    read_scores,
)

__all__ = ["ItemScore", "assignment_names", "autograde", "course_root", "generate_assignment", "nbgrader",
           "read_scores"]
