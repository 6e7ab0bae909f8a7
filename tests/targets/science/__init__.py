"""Research code of other fields: integrators, solvers, diffusion, flows, GPs, MCMC, GNNs, RL."""
