"""Fifth real-world pass: research code of other fields (meta-learning, GPs, MCMC, RL, diffusion, flows, GNNs)."""
