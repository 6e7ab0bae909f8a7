"""JAX's persistent compilation cache explained: jaxexplain's own records of its entries, and why a compile missed."""
