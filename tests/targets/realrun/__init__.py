"""Programs written as users write them (a config dict closed over by `make_train`, functions
jitted inside a factory, optimizers built in a training script): no wrapper for jaxexplain."""
