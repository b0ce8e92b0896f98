import os
import sys
from pathlib import Path

from course_lib.threads import single_thread_env

os.environ.update(single_thread_env(headless=True))  # before torch is imported
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent))
