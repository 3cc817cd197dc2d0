# nbgrader configuration of the course (this directory is the course root).
# Paths are taken relative to this file, so a copy of the course in another
# folder (a test's tmp dir, a demo class) gets its own gradebook.
import os

c = get_config()  # noqa: F821 -- provided by nbgrader's config loader

# Grading kernels inherit this process's environment.  A multi-threaded
# OpenBLAS spins its threads while it waits; with several kernels on a few
# cores that made the small matrix products of the numpy assignments ~20x
# slower (a 2-layer net on the digits: 21 s instead of 0.8 s).  One BLAS
# thread per kernel; set the variable yourself to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = _root
c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_root, "gradebook.db")

# The course's assignments, one folder of source/ each (add yours on its own
# line).  nbgrader itself adds an assignment to the gradebook when it is first
# generated; this list is what tests/nbgrader_course.py reads.
COURSE_ASSIGNMENTS = [
    "backprop_numpy",
    "cnn_numpy",
    "gradient_tape",
    "numpy_framework",
    "optimizers_numpy",
    "tf_basics",
    "tf_mlp",
]

# Files never copied into release/ or over a submission.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store", "*.egg-info", ".*",
]

# Per-cell time limit while grading.  The slowest cell of any solution notebook
# (1000 epochs of the 2-512-512-2 model in gradient_tape) took 15-29 s on two
# shared cores, depending on load; 180 s leaves room for a slower machine and
# a student's loop that is a few times slower than the solution's.
c.Execute.timeout = 180
c.Execute.startup_timeout = 120  # kernels start slowly when several run at once
c.Execute.interrupt_on_timeout = True
