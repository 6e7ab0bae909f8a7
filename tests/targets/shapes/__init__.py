"""Targets of unusual shapes: pytrees, wrappers, partials, packages, recompile puzzles."""
