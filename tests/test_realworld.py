"""Real-world JAX programs (tests/realworld/) through every command: facts checked against JAX."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import jax
import pytest
from typer.testing import CliRunner

import jaxexplain
from jaxexplain.api import diff_target, trace_target
from jaxexplain.cli import app, parse_assignments
from jaxexplain.errors import UsageError
from jaxexplain.inputs.targets import prepare_target
from jaxexplain.renderers import render
from jaxexplain.tracing import verify

OPTIM = "tests.targets.training.optim"
ATTENTION = "tests.targets.models.attention"
TRAINING = "tests.targets.training.mlp_step"
FAILING = "tests.targets.failures.practitioners"
WRAPPERS = "tests.targets.shapes.wrappers"
TRAINING_DIR = Path(__file__).resolve().parent / "targets" / "training"


def test_source_listing_keeps_line_numbers_and_counts_beside_a_long_badge() -> None:
    report = trace_target(f"{OPTIM}:sgd_step", args_from=f"{OPTIM}:sgd_args", compile=False)
    assert report.ok, report.error
    text = render(report, "text", width=100)
    listing = next(s for s in report.sources if s.function.startswith("clip_by_global_norm"))
    for line in listing.lines:
        if line.equations:
            assert re.search(rf"^{line.number} +{line.equations} eq ", text, re.M), text


def test_diff_with_a_new_style_key_argument_is_verified_against_jax() -> None:
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"batch": '{"x": "f32[8,32]", "y": "i32[8]"}'},
        args_from=f"{TRAINING}:train_args",
        compile=False,
    )
    assert report.ok
    assert report.verification.checked, report.verification.note
    assert report.verification.jax_recompiled and report.verification.agrees
    assert str(jax.typeof(jax.random.key(0)).dtype) in {
        leaf.dtype for leaf in report.a.cache_key.traced
    }


def test_a_second_trace_of_one_signature_records_the_same_decisions() -> None:
    """Module-level helpers under jax.checkpoint/vmap are traced once by JAX's own caches."""
    first = trace_target(
        f"{TRAINING}:train_step", args_from=f"{TRAINING}:train_args", compile=False
    )
    second = trace_target(
        f"{TRAINING}:train_step", args_from=f"{TRAINING}:train_args", compile=False
    )
    lines = {d.line for d in first.decisions}
    assert {d.function for d in first.decisions} >= {"forward"}
    assert [(d.line, d.outcomes) for d in second.decisions] == [
        (d.line, d.outcomes) for d in first.decisions
    ]
    assert len(lines) == 4
    target, plan = prepare_target(f"{TRAINING}:train_step", {}, {}, f"{TRAINING}:train_args")
    args, kwargs = plan.call_args()
    assert second.jaxpr is not None
    assert second.jaxpr.equations == len(
        jax.jit(target.function, static_argnames="config").trace(*args, **kwargs).jaxpr.eqns
    )


def test_diff_of_an_unchanged_inner_helper_reports_no_decision_change() -> None:
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"batch": '{"x": "f32[8,32]", "y": "i32[8]"}'},
        args_from=f"{TRAINING}:train_args",
        compile=False,
        verify_limit=None,
    )
    assert report.ok
    assert report.decision_changes == ()


@pytest.mark.parametrize(
    ("target", "factory"), [("mlp_with_sizes", "mlp_args"), ("momentum_step", "momentum_args")]
)
def test_an_unhashable_static_fails_and_is_not_said_to_recompile(target: str, factory: str) -> None:
    """jit refuses a list or a mutable dataclass as a static argument: no call can recompile."""
    report = trace_target(f"{FAILING}:{target}", args_from=f"{FAILING}:{factory}", compile=False)
    assert report.error is not None and report.error.type == "ValueError"
    assert not any("recompile" in note for note in report.notes), report.notes
    fn, plan = prepare_target(f"{FAILING}:{target}", {}, {}, f"{FAILING}:{factory}")
    args, kwargs = verify.zero_call(plan, as_user_gave=False)
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        fn.obj(*args, **kwargs)


def test_diff_heading_counts_equations_as_the_trace_reports_and_jax_do() -> None:
    """The jaxpr diff counts top-level equations, as each side's trace and jax.make_jaxpr do
    (a change inside a nested jaxpr counts once, on the equation that calls it)."""
    vs = '[{"w": "f32[32,128]", "b": "f32[128]"}, {"w": "f32[128,10]", "b": "f32[10]"}]'
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"params": vs},
        args_from=f"{TRAINING}:train_args",
        compile=False,
        verify_limit=None,
    )
    assert report.ok and report.jaxpr_diff is not None
    target, plan = prepare_target(f"{TRAINING}:train_step", {}, {}, f"{TRAINING}:train_args")
    args, kwargs = plan.call_args()
    jax_count = len(
        jax.jit(target.function, static_argnames="config").trace(*args, **kwargs).jaxpr.eqns
    )
    assert report.a.jaxpr is not None and report.a.jaxpr.equations == jax_count
    assert report.jaxpr_diff.equations_a == jax_count
    assert report.b.jaxpr is not None
    assert report.jaxpr_diff.equations_b == report.b.jaxpr.equations
    text = render(report, "text", width=100)
    heading = next(line for line in text.splitlines() if line.startswith("Jaxpr diff"))
    assert f"  {jax_count} -> {report.b.jaxpr.equations} equations" in heading
    html = render(report, "html")
    assert f"{jax_count} → {report.b.jaxpr.equations}</div><div>equations A → B" in html


def test_watch_of_a_training_script_counts_what_jax_compiled() -> None:
    """Adam with a donated state, a frozen config whose lr decays, and a partial last batch."""
    with jaxexplain.watch() as watcher:
        program = runpy.run_path(str(TRAINING_DIR / "train_script.py"), run_name="not_main")
        program["main"]()
    report = watcher.report()
    steps = [e for e in report.compiles_of("step") if e.kind == "jit"]
    assert len(steps) == program["step"]._cache_size() == 6
    assert {(r.component, r.path) for e in steps for r in e.reasons} == {
        ("static", "config.lr"),
        ("shape", "x"),
        ("shape", "y"),
    }
    (warning,) = [w for w in report.warnings if w.kind == "static_float"]
    assert warning.path == "config.lr"
    assert (
        "static_argnames" not in warning.message and "out of the static `config`" in warning.message
    )


def test_a_rewrite_is_verified_for_a_function_that_takes_a_prng_key() -> None:
    """Comparing the rewrite with the original on random inputs needs random new-style keys."""
    report = trace_target(
        f"{FAILING}:langevin_step", args_from=f"{FAILING}:langevin_args", compile=False
    )
    assert report.error is not None and report.error.type == "TracerBoolConversionError"
    (rewrite,) = [s for s in report.error.suggestions if s.kind == "rewrite"]
    assert rewrite.verified and "jnp.where(step < 100" in rewrite.code
    fn, plan = prepare_target(f"{FAILING}:langevin_step", {}, {}, f"{FAILING}:langevin_args")
    args, kwargs = verify.zero_call(plan, as_user_gave=False)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        fn.obj(*args, **kwargs)


def test_a_named_tuple_argument_is_described_with_its_field_names() -> None:
    report = trace_target(
        "tests.targets.shapes.pytrees:apply_layers",
        args_from="tests.targets.shapes.pytrees:layers_args",
        compile=False,
    )
    batch = next(a for a in report.arguments if a.name == "batch")
    assert batch.aval == {"inputs": "f32[8,16]", "labels": "f32[8]"}
    assert {leaf.path for leaf in report.cache_key.traced} >= {"batch.inputs", "batch.labels"}


def test_vs_changes_one_field_of_a_static_named_tuple_config() -> None:
    report = diff_target(
        f"{ATTENTION}:mha",
        vs={"config.causal": "False"},
        args_from=f"{ATTENTION}:mha_args",
        compile=False,
    )
    assert report.ok, (report.a.error, report.b.error)
    (change,) = report.cache_key_changes
    assert (change.component, change.path) == ("static", "config")
    assert "causal=True" in change.a and "causal=False" in change.b
    assert report.verification.checked and report.verification.agrees
    assert report.verification.jax_recompiled
    assert [(d.source, d.a, d.b) for d in report.decision_changes] == [
        ("config.causal", ("true",), ("false",))
    ]


def test_vs_changes_fields_of_a_dataclass_config_and_a_traced_leaf() -> None:
    report = diff_target(
        f"{TRAINING}:train_step",
        vs={"config.remat": "False", "batch.x": "f32[16,32]"},
        args_from=f"{TRAINING}:train_args",
        compile=False,
    )
    assert report.ok
    assert [(c.component, c.path) for c in report.cache_key_changes] == [("static", "config")]
    assert "remat=False" in report.cache_key_changes[0].b
    assert report.verification.checked and report.verification.agrees


@pytest.mark.parametrize(
    ("vs", "message"),
    [
        ("config.nope", "config is an AttnConfig with fields n_heads, causal, rotary, block_size"),
        ("config.causal.x", "config.causal is a bool, which has no fields"),
    ],
)
def test_vs_on_a_field_that_does_not_exist_is_a_usage_error(vs: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        diff_target(f"{ATTENTION}:mha", vs={vs: "1"}, args_from=f"{ATTENTION}:mha_args")


def test_cli_accepts_a_dotted_vs_and_refuses_a_dotted_static() -> None:
    runner = CliRunner()
    args = ["diff", f"{ATTENTION}:mha", "--args-from", f"{ATTENTION}:mha_args"]
    result = runner.invoke(
        app, [*args, "--vs", "config.rotary=False", "--no-compile", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["recompiles"] is True and document["verified"] is True
    result = runner.invoke(app, [*args, "--vs", "n=1", "--static", "config.rotary=False"])
    assert result.exit_code == 2


@pytest.mark.parametrize("name", ["grad_mse", "batched_loss", "huber_loss"])
def test_transformed_and_partial_targets_trace_as_jax_calls_them(name: str) -> None:
    """`jax.grad(f)` and `jax.vmap(f)` read their arguments by position; the report shows f."""
    from tests.targets.shapes import wrappers

    report = trace_target(f"{WRAPPERS}:{name}", args_from=f"{WRAPPERS}:args", compile=False)
    assert report.ok, report.error
    fn = getattr(wrappers, name)
    kwargs = verify.zeros_like_tree(wrappers.args())
    args = (kwargs["params"], kwargs["x"], kwargs["y"])
    expected = jax.make_jaxpr(fn)(*args)
    assert report.jaxpr is not None and report.jaxpr.equations == len(expected.jaxpr.eqns)
    underlying = "mse" if name == "grad_mse" else "per_example_loss"
    assert report.function.name == underlying and report.function.file.endswith("wrappers.py")
    assert report.cache_key is not None and "0x" not in report.cache_key.function
    assert f"wrappers.{underlying} @ " in report.cache_key.function


def test_diff_of_a_vmapped_target_is_verified() -> None:
    report = diff_target(
        f"{WRAPPERS}:batched_loss",
        vs={"x": "f32[16,4]", "y": "f32[16]"},
        args_from=f"{WRAPPERS}:args",
        compile=False,
    )
    assert report.ok
    assert [(c.component, c.path) for c in report.cache_key_changes] == [
        ("shape", "x"),
        ("shape", "y"),
    ]
    assert report.verification.checked and report.verification.agrees


def test_a_new_style_key_is_spelled_as_the_report_prints_it() -> None:
    """`key<fry>[]` (what reports show for `jax.random.key(0)`) is accepted back by --arg."""
    statics, traced = parse_assignments(["rate=0.5"], ["x=f32[4,8]", "key=key<fry>[]"])
    report = trace_target(f"{FAILING}:dropout", statics, traced, compile=False)
    assert report.ok, report.error
    key = next(a for a in report.arguments if a.name == "key")
    assert key.aval == "key<fry>[]" == f"{jax.typeof(jax.random.key(0)).dtype}[]"
    report = diff_target(
        f"{FAILING}:dropout", statics, traced, {"key": "key<rbg>[]"}, compile=False
    )
    assert report.ok, (report.a.error, report.b.error)
    assert [(c.component, c.a, c.b) for c in report.cache_key_changes] == [
        ("dtype", "key<fry>", "key<rbg>")
    ]
    assert report.verification.checked and report.verification.agrees


def test_a_config_object_on_the_command_line_points_to_a_factory() -> None:
    result = CliRunner().invoke(
        app, ["trace", f"{TRAINING}:train_step", "--static", "config=TrainConfig(remat=False)"]
    )
    assert result.exit_code == 2
    assert "--args-from MOD:FACTORY" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("factory", "fixed"),
    [
        ("named_tuple_config_args", "MLPConfig(widths=(64, 32), activation='tanh')"),
        ("frozen_dataclass_config_args", "FrozenMLPConfig(widths=(64, 32), activation='tanh')"),
    ],
)
def test_a_config_with_a_list_field_gets_a_verified_fix_of_its_own_type(
    factory: str, fixed: str
) -> None:
    report = trace_target(
        f"{FAILING}:mlp_with_config", args_from=f"{FAILING}:{factory}", compile=False
    )
    assert report.error is not None and report.error.type == "ValueError"
    (fix,) = [s for s in report.error.suggestions if s.kind == "hashable"]
    assert fix.verified and "`widths`" in fix.text and fixed in fix.text
    from tests.targets.failures import practitioners as failing

    config = getattr(failing, factory)()["config"]
    repaired = type(config)(**{**vars_of(config), "widths": (64, 32)})
    out = failing.mlp_with_config(jax.numpy.zeros((4, 64)), config=repaired)
    assert out.shape == (4, 32)


def vars_of(config: object) -> dict[str, object]:
    return config._asdict() if hasattr(config, "_asdict") else dict(vars(config))


@pytest.mark.parametrize(("lr", "recompiles"), [(1e-2, False), (5e-3, True)])
def test_a_static_optimizer_object_is_compared_as_jax_compares_it(
    lr: float, recompiles: bool
) -> None:
    """An equal copy of an object with the default repr is no change; other values are."""
    from tests.targets.training import optim

    kwargs = optim.momentum_args()
    report = jaxexplain.diff(
        optim.Momentum.update,
        kwargs.pop("self"),
        vs={"self": optim.Momentum(lr=lr)},
        compile=False,
        **kwargs,
    )
    assert report.verification.checked and report.verification.agrees
    assert report.recompiles is recompiles
    assert [c.component for c in report.cache_key_changes] == (["static"] if recompiles else [])
    assert "0x" not in report.a.arguments[0].value
