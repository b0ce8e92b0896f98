"""nbgrader configuration for the RNN course (this folder is the course root).

Run nbgrader commands from this folder (``cd assignments``): nbgrader reads this
file from the current directory only.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

# Grading kernels use one thread: several run at once on a small machine and would
# otherwise fight over cores, and per-cell timeouts would then fail correct work.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"
os.environ["COURSE_PROGRESS"] = "0"
os.environ["COURSE_LIVE_PLOT"] = "0"

c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# A deleted or edited test cell is put back from the source before grading.
c.OverwriteCells.add_missing_cells = True

# Every cell gets a time limit; a cell that runs past it is interrupted and
# counts as an error for that item only.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# a kernel may take long to start while a class is graded in parallel on a busy machine: nbgrader's
# default of 60 s failed one submission once in CI; the per-cell timeout above is what bounds work
c.Execute.startup_timeout = 180
c.Execute.allow_errors = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
