"""Real-world JAX programs (optimizers, attention, physics, training, pytrees) used as targets."""
