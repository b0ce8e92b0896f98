"""nbgrader configuration for the RNN course (this folder is the course root).

Run nbgrader commands from this folder (``cd assignments``): nbgrader reads this
file from the current directory only.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

# Grading kernels use one thread: several run at once on a small machine and would
# otherwise fight over cores, and per-cell timeouts would then fail correct work.
from course_lib.threads import single_thread_env  # noqa: E402

os.environ.update(single_thread_env(headless=True))

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# A deleted or edited test cell is put back from the source before grading.
c.OverwriteCells.add_missing_cells = True

# Grading (autograde, also the stock `nbgrader autograde`): the submission's metadata is repaired from
# the gradebook first (duplicate, unknown or toggled cells), then it is run *judged*: the student's cells
# in a sandboxed process, the tests in the grader's own process (course_lib/grading/judge.py). Every
# cell gets a time limit; a cell past it is stopped and costs only its item.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,  # noqa: E402
                                    DeduplicateIds, IgnorePattern, LimitOutput, OverwriteKernelspec,
                                    SaveAutoGrades)

from course_lib.grading.preprocessors import JudgedExecute, RepairSubmission, RobustOverwriteCells  # noqa: E402

c.Autograde.sanitize_preprocessors = [RepairSubmission, ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      RobustOverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [JudgedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.JudgedExecute.timeout = 120
c.JudgedExecute.sandbox = os.environ.get("COURSE_SANDBOX", "auto")   # "off": a single-user machine you trust

# Feedback handed back to students shows the test cells without their hidden tests (the instructor's
# choice: COURSE_FEEDBACK_HIDDEN=show, or `course feedback --show-hidden`, shows them)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from course_lib.grading.preprocessors import HideHiddenTests  # noqa: E402

if os.environ.get("COURSE_FEEDBACK_HIDDEN") != "show":
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# `nbgrader validate` (the Validate button) still runs the notebook in one kernel, as the student sees it
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 180
c.Execute.allow_errors = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
