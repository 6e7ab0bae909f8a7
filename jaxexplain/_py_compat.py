"""Every fact of the Python interpreter that jaxexplain relies on and that differs by version.

As coverage.py's `env.PYBEHAVIOR` does, each fact is a named flag or constant with a comment on
what differs, so that the code reads the behaviour it depends on instead of a version number.
tests/test_py_compat.py checks each one against the running interpreter's real behaviour, so
that a Python release that changes one fails there first. Supported: CPython 3.11 to 3.13.
"""

from __future__ import annotations

import dis
import sys

# sys.monitoring (PEP 669, Python 3.12+) reports events only for the code objects a tool asks
# for, so code nobody watches (JAX's) runs at full speed; before it, sys.settrace, which is
# called for every Python frame, is the only way to see lines and instructions run.
HAS_MONITORING = hasattr(sys, "monitoring")

# Without sys.monitoring the decision recorder runs on sys.settrace, which takes CPython 3.11 off
# its fast path for all Python code, JAX's included: a recorded trace takes about 2.3x as long
# as a plain one; with sys.monitoring about 1.05x.
RECORDING_SLOWS_TRACING = not HAS_MONITORING

# From Python 3.12 sys.settrace runs on sys.monitoring: its line and opcode events are
# instrumentation written into the code object, which every frame of that code shares, and
# releases since switch opcode events per code object when a frame sets `f_trace_opcodes`.
# A frame switching them off for its own lines could then hide them from another frame of the
# same code; on 3.11 each frame's `f_trace_opcodes` is its own.
SETTRACE_RUNS_ON_MONITORING = HAS_MONITORING

# From Python 3.12 sys.setprofile runs on sys.monitoring too: setting it rewrites the
# instrumentation of code objects, where the recorder's own events live, and a profile function
# set inside a recorded frame has been seen to end that frame's instruction events (3.12.1).
# On 3.11 the profile function is a hook of its own, which the trace function never sees.
SETPROFILE_DISTURBS_RECORDING = HAS_MONITORING

# The instructions that return from a frame: RETURN_VALUE, and from 3.12 RETURN_CONST, which
# returns a constant without loading it first (3.14 drops it again).
RETURN_OPCODES = frozenset({"RETURN_VALUE", "RETURN_CONST"} & set(dis.opmap))

# The jump instructions: `dis.hasjrel` and `dis.hasjabs` list them up to 3.12; 3.13 adds
# `dis.hasjump`, the list that holds them all from then on.
JUMP_OPCODES = frozenset({*dis.hasjrel, *dis.hasjabs, *getattr(dis, "hasjump", ())})

# List, set and dict comprehensions compile to code objects of their own (`<listcomp>`,
# `<setcomp>`, `<dictcomp>`) up to 3.11; from 3.12 (PEP 709) they are inlined into the code
# around them. A generator expression keeps its own code object (`<genexpr>`) in every version.
COMPREHENSIONS_HAVE_OWN_CODE = sys.version_info < (3, 12)

# `def f[T](x)` (PEP 695, Python 3.12+): `ast.FunctionDef` has a `type_params` field, which a
# parsed function always has and one built by hand lacks on 3.12 (3.13 fills in an empty list).
FUNCTION_DEF_HAS_TYPE_PARAMS = sys.version_info >= (3, 12)
