"""Rewrites of the user's failing lines offered as fixes: each candidate re-traced and compared
with the user's code (`rewrite_checks`), the first that passes offered, in the user's aliases."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxexplain.explain import rewrites
from jaxexplain.explain.frames import Site, function_object
from jaxexplain.explain.retrace import TRACED, Budget
from jaxexplain.explain.rewrite_checks import (
    GRADIENTS,
    TRACES,
    VERIFIED,
    RewriteCheck,
    verify_rewrite,
)
from jaxexplain.explain.rewrites import Aliases, Rewrite
from jaxexplain.explain.wording import REWRITE_COST, REWRITE_TEXT, TRIED, relative_path
from jaxexplain.inputs.calling import CallPlan
from jaxexplain.report import Suggestion
from jaxexplain.tracing.stages import Target


def rewrite_suggestions(
    target: Target,
    plan: CallPlan,
    site: Site,
    sites: list[Site],
    budget: Budget,
    from_constants: bool = False,
) -> list[Suggestion]:
    """The first rewrite of the failing construct that traces and matches the original."""
    assert site.function is not None and site.construct is not None
    owner = _owner_function(site, sites, target)
    if owner is None:
        return []
    aliases = module_aliases(owner.__globals__)
    tried: list[str] = []
    unchecked: list[Suggestion] = []
    candidates = rewrites.rewrite_for(
        site.function, site.construct, aliases, from_constants=from_constants
    )
    for rewrite in candidates:
        if not budget.take():
            break
        check = verify_rewrite(target, plan, site, owner, rewrite, aliases, sites)
        if check.status == VERIFIED:
            return [_rewrite_suggestion(site, rewrite, aliases, owner, check)]
        if check.status == TRACES:
            unchecked.append(_rewrite_suggestion(site, rewrite, aliases, owner, check))
        else:
            tried.append(f"{REWRITE_TEXT[rewrite.kind].split(' with ')[-1]}: {check.detail}")
    if unchecked:
        return unchecked[:1]
    if tried:
        return [Suggestion("advice", (), TRIED + " (" + "; ".join(tried) + ").")]
    return []


def _rewrite_suggestion(
    site: Site, rewrite: Rewrite, aliases: Aliases, owner: Any, check: RewriteCheck
) -> Suggestion:
    """The rewrite as a fix: the lines it replaces, the imports the user's module lacks for it,
    and how far its check got."""
    lines = (
        f"line {rewrite.first_line}"
        if rewrite.first_line == rewrite.last_line
        else f"lines {rewrite.first_line}-{rewrite.last_line}"
    )
    missing = [
        statement
        for alias, statement in (
            (aliases.jnp, "import jax.numpy as jnp"),
            (aliases.lax.split(".")[0], "from jax import lax"),
            (aliases.np, "import numpy as np"),
            (aliases.jax, "import jax"),
        )
        if alias in rewrite.uses and alias not in owner.__globals__
    ]
    imports = f" (after `{'; '.join(missing)}`)" if missing else ""
    where = f"{relative_path(site.frame.file)}"
    text = f"{REWRITE_TEXT[rewrite.kind]}: replace {lines} of {where}{imports} with the code below"
    if check.status == VERIFIED:
        text += f"; jaxexplain traced it and {compared_text(check)}."
    else:
        text += f"; it traces under jit, but {check.detail}, so check it yourself."
    return Suggestion(
        "rewrite",
        (),
        text,
        code=rewrite.code,
        cost=REWRITE_COST[rewrite.kind],
        verified=check.status == VERIFIED,
        checks=check.checks or (TRACED,),
    )


def compared_text(check: RewriteCheck) -> str:
    """What the comparison with the user's code showed; gradients named only where compared."""
    compared = f"compared it with your code on {check.trials} random inputs"
    if GRADIENTS in check.checks:
        return f"{compared}: the same values and gradients"
    note = f" ({check.detail})" if check.detail else ""
    return f"{compared}: the same values{note}"


def module_aliases(namespace: dict[str, Any]) -> Aliases:
    """The names the user's module gives `jax.numpy`, `jax.lax` and NumPy (`jnp`, `lax`, `np`)."""
    jnp_name = next((k for k, v in namespace.items() if v is jax.numpy), "jnp")
    np_name = next((k for k, v in namespace.items() if v is np), "np")
    lax_name = next((k for k, v in namespace.items() if v is jax.lax), None)
    if lax_name is None:
        jax_name = next((k for k, v in namespace.items() if v is jax), None)
        lax_name = f"{jax_name}.lax" if jax_name else "lax"
    jax_alias = next((k for k, v in namespace.items() if v is jax), "jax")
    return Aliases(jnp=jnp_name, lax=lax_name, np=np_name, jax=jax_alias)


def _owner_function(site: Site, sites: list[Site], target: Target) -> Any:
    """The live function object whose code the failing frame ran (the target or a helper)."""
    code = site.frame.code
    target_fn = function_object(target.function)
    if getattr(target_fn, "__code__", None) is code:
        return target_fn
    for other in sites:
        for value in other.frame.frame.f_globals.values():
            fn = function_object(value) if callable(value) else None
            if getattr(fn, "__code__", None) is code:
                return fn
    return None
