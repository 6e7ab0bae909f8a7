"""Fourth real-world pass: optimizers, attention, integrators and training loops."""
