"""A flax.linen + optax training script as people write it: an MLP classifier, a `TrainState`,
a jitted train step and eval step, a data loader whose last batch is smaller, and the loss logged
every few steps with `float(...)`."""

import flax.linen as nn
import jax
import numpy as np
import optax
from flax.training import train_state

BATCH = 32
EPOCHS = 3


class MLP(nn.Module):
    hidden: int = 64
    classes: int = 10

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Dense(self.hidden)(x)
        x = nn.relu(x)
        x = nn.Dropout(0.1, deterministic=not train)(x)
        return nn.Dense(self.classes)(x)


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20)).astype(np.float32)
    y = (x[:, :10].argmax(axis=1)).astype(np.int32)
    return x, y


def batches(x, y, size):
    for start in range(0, len(x), size):
        yield x[start : start + size], y[start : start + size]


@jax.jit
def train_step(state, x, y, dropout_key):
    def loss_fn(params):
        logits = state.apply_fn({"params": params}, x, train=True, rngs={"dropout": dropout_key})
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    return state.apply_gradients(grads=grads), loss


@jax.jit
def eval_step(state, x, y):
    logits = state.apply_fn({"params": state.params}, x)
    return (logits.argmax(-1) == y).mean()


def main():
    x, y = make_data(200)
    xt, yt = make_data(72, seed=1)
    model = MLP()
    params = model.init(jax.random.PRNGKey(0), x[:1])["params"]
    schedule = optax.cosine_decay_schedule(1e-2, decay_steps=EPOCHS * 7)
    state = train_state.TrainState.create(
        apply_fn=model.apply, params=params, tx=optax.adamw(schedule)
    )
    key = jax.random.PRNGKey(1)
    steps = 0
    for epoch in range(EPOCHS):
        for xb, yb in batches(x, y, BATCH):
            key, sub = jax.random.split(key)
            state, loss = train_step(state, xb, yb, sub)
            steps += 1
            if steps % 5 == 0:
                print(f"step {steps} loss {float(loss):.4f}")
        accuracy = np.mean([float(eval_step(state, xb, yb)) for xb, yb in batches(xt, yt, BATCH)])
        print(f"epoch {epoch} accuracy {accuracy:.3f}")
    print(f"train_step calls {steps}")


if __name__ == "__main__":
    main()
