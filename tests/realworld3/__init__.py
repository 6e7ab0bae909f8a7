"""Third real-world pass: module systems, transforms, recurrent nets, solvers, routers, failures."""
