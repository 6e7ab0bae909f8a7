"""A module that writes to stdout below sys.stdout, on import and while traced: os.write on fd 1,
sys.__stdout__, a subprocess's echo and C's printf. stdout must stay the JSON report."""

import ctypes
import os
import subprocess
import sys

os.write(1, b"raw fd write on import\n")
sys.__stdout__.write("dunder stdout on import\n")
subprocess.run(["echo", "subprocess echo on import"], check=True)


def noisy(x):
    os.write(1, b"raw fd write while tracing\n")
    ctypes.CDLL(None).printf(b"C printf while tracing\n")
    return x + 1
