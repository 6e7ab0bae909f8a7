"""Shardings, meshes and jit placement options as cache-key components of their own, each change
checked against JAX's dispatch cache on the suite's 2 CPU devices, and collectives against the
compiled HLO text."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxexplain import _jax_compat, api
from jaxexplain.tracing.key_compare import ambient_axes, compare_keys
from jaxexplain.tracing.shardings import placement_of, placement_options, sharding_text


def scaled_sum(x: jax.Array) -> jax.Array:
    return (x * 2).sum(0)


def grad_step(w: jax.Array, x: jax.Array) -> jax.Array:
    g = jax.grad(lambda w: jnp.mean(jnp.tanh(x @ w) ** 2))(w)
    return w - 0.1 * g


def mesh_of(name: str) -> Mesh:
    return Mesh(np.array(jax.devices()[:2]), (name,))


def placed(mesh: Mesh, spec: P) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct((8, 4), jnp.float32, sharding=NamedSharding(mesh, spec))


def entries_after_both(a: NamedSharding, b: NamedSharding) -> int:
    """JAX's own count: one jit wrapper called on arrays placed as a, then as b."""
    jitted = jax.jit(scaled_sum)
    jitted(jax.device_put(jnp.zeros((8, 4)), a))
    jitted(jax.device_put(jnp.zeros((8, 4)), b))
    return _jax_compat.cache_size(jitted)


def test_a_spec_change_reads_as_the_two_specs() -> None:
    mesh = mesh_of("data")
    report = api.diff(scaled_sum, placed(mesh, P("data", None)), vs={"x": placed(mesh, P())})
    changes = [(c.component, c.path, c.a, c.b) for c in report.cache_key_changes]
    assert changes == [("sharding", "x", "P('data', None)", "P()")]
    jax_entries = entries_after_both(NamedSharding(mesh, P("data", None)), NamedSharding(mesh, P()))
    assert report.recompiles is (jax_entries == 2)
    assert report.verification.agrees


def test_a_mesh_axis_renamed_reads_as_the_mesh_change() -> None:
    a, b = mesh_of("data"), mesh_of("batch")
    report = api.diff(scaled_sum, placed(a, P("data")), vs={"x": placed(b, P("batch"))})
    by_component = {c.component: (c.a, c.b) for c in report.cache_key_changes}
    assert by_component["mesh"] == ("data=2", "batch=2")
    jax_entries = entries_after_both(NamedSharding(a, P("data")), NamedSharding(b, P("batch")))
    assert report.recompiles is (jax_entries == 2)


def test_the_same_devices_in_another_order_read_as_a_device_change() -> None:
    devices = jax.devices()[:2]
    a = Mesh(np.array(devices), ("data",))
    b = Mesh(np.array(devices[::-1]), ("data",))
    report = api.diff(scaled_sum, placed(a, P("data")), vs={"x": placed(b, P("data"))})
    changes = [(c.component, c.a, c.b) for c in report.cache_key_changes]
    ids = [d.id for d in devices]
    assert changes == [("device", f"devices {ids[0]},{ids[1]}", f"devices {ids[1]},{ids[0]}")]
    jax_entries = entries_after_both(NamedSharding(a, P("data")), NamedSharding(b, P("data")))
    assert report.recompiles is (jax_entries == 2)


def test_placement_split_from_a_real_sharding() -> None:
    mesh = mesh_of("data")
    sharding = NamedSharding(mesh, P("data", None))
    placement = placement_of(sharding)
    assert placement.spec == str(sharding.spec)
    assert [(a.name, a.size) for a in placement.mesh] == list(dict(mesh.shape).items())
    assert placement.devices == tuple(d.id for d in mesh.devices.flat)
    assert placement.memory_kind == sharding.memory_kind
    single = placement_of(jax.device_put(jnp.zeros(2), jax.devices()[1]).sharding)
    assert single.spec is None and single.devices == (jax.devices()[1].id,)


def test_jit_options_in_shardings_and_donation_are_components() -> None:
    mesh = mesh_of("data")
    row, whole = NamedSharding(mesh, P("data", None)), NamedSharding(mesh, P())
    a = api.trace(jax.jit(scaled_sum, in_shardings=row), "f32[8,4]", compile=False)
    b = api.trace(
        jax.jit(scaled_sum, in_shardings=whole, donate_argnums=0), "f32[8,4]", compile=False
    )
    assert a.cache_key.jit_placement == {"in_shardings": sharding_text(row)}
    options = _jax_compat.jit_options(jax.jit(scaled_sum, in_shardings=whole, donate_argnums=0))
    assert b.cache_key.jit_placement == placement_options(options)
    changes = {c.component: (c.path, c.a, c.b) for c in compare_keys(a.cache_key, b.cache_key)}
    assert changes["in_shardings"] == ("in_shardings", "P('data', None) on data=2", "P() on data=2")
    assert changes["donation"] == ("donated", "<unset>", "('x',)")


def set_mesh() -> object:
    found = getattr(jax, "set_mesh", None) or getattr(jax.sharding, "use_mesh", None)
    if found is None:
        pytest.skip("this JAX has neither jax.set_mesh nor jax.sharding.use_mesh")
    return found


def test_the_ambient_mesh_is_a_mesh_component() -> None:
    outside = api.trace(scaled_sum, "f32[8,4]", compile=False)
    with set_mesh()(mesh_of("data")):
        inside = api.trace(scaled_sum, "f32[8,4]", compile=False)
    changes = [c for c in compare_keys(outside.cache_key, inside.cache_key)]
    assert [(c.component, c.a, c.b) for c in changes] == [("mesh", "none", "data=2")]
    assert changes[0].path.startswith("ambient mesh")


def test_ambient_axes_from_both_mesh_reprs() -> None:
    mesh = mesh_of("data")
    assert ambient_axes(repr(mesh)) == "data=2"
    assert ambient_axes(f"({mesh!r},)") == "data=2"
    assert ambient_axes("None") == "none"


def test_collectives_of_the_trace_report_are_those_of_the_hlo() -> None:
    mesh = mesh_of("data")
    w = jax.ShapeDtypeStruct((16, 4), jnp.float32, sharding=NamedSharding(mesh, P()))
    x = jax.ShapeDtypeStruct((8, 16), jnp.float32, sharding=NamedSharding(mesh, P("data", None)))
    report = api.trace(grad_step, w, x)
    hlo = jax.jit(grad_step).lower(w, x).compile().as_text()
    in_hlo = sum(
        1 for line in hlo.splitlines() if " all-reduce(" in line or "all-reduce-start(" in line
    )
    assert in_hlo > 0
    assert [c.kind for c in report.compile.collectives] == ["all-reduce"] * in_hlo
    assert sum(line.count for line in report.compile.collective_lines) == in_hlo
    assert all(c.file == __file__ for c in report.compile.collectives)


def test_a_one_device_program_has_no_collectives() -> None:
    report = api.trace(scaled_sum, "f32[8,4]")
    assert report.compile.collectives == ()
