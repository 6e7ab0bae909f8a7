"""A training script with the usual recompile traps: last short batch, decaying Python-float
learning rate passed static, eval every N steps, metrics with changing keys."""

import jax
import jax.numpy as jnp
import numpy as np

from tests.targets.training.steps import evaluate, init, log_metrics, step_static_lr, train_step


def main():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(100, 8)).astype(np.float32)
    ys = rng.integers(0, 3, size=(100,)).astype(np.int32)
    params = init(jax.random.PRNGKey(0))
    lr = 0.1
    batch = 32
    for _epoch in range(2):
        for start in range(0, len(xs), batch):
            x, y = jnp.asarray(xs[start : start + batch]), jnp.asarray(ys[start : start + batch])
            params, metrics = train_step(params, x, y, lr)
        lr = lr * 0.5
        m = evaluate(params, jnp.asarray(xs), jnp.asarray(ys))
        log_metrics(m)
        log_metrics({"loss": metrics["loss"]})
    for lr_static in (0.1, 0.05, 0.1):
        params, _ = step_static_lr(params, jnp.asarray(xs[:32]), jnp.asarray(ys[:32]), lr_static)
    print("done", float(m["loss"]))


if __name__ == "__main__":
    main()
