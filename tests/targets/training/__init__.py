"""Training steps, optimizers and training scripts with their recompile traps."""
