"""Tracing, the jit cache key, its pure comparison, and the verdict checked against JAX."""
