"""`watch`: every jit compilation of a running program, and why it recompiled."""
