"""`jaxexplain sweep`: how a function's trace and compile cost grow with a static value or a
traced argument's dimension: the grid of points, running them, fitting growth laws, budgets."""
