"""Sequence alignment near-linear on what jaxprs look like: difflib-style opcodes from common
runs, unique anchors (patience diff) and Myers' O(ND) diff, within a work budget."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

DEFAULT_BUDGET = 1_500_000
MYERS_MAX_D = 256

Opcode = tuple[str, int, int, int, int]


@dataclass
class Budget:
    """Work left for exact alignment; past it, regions are reported as replaced (honestly)."""

    left: int = DEFAULT_BUDGET
    approximate: int = 0

    def spend(self, amount: int) -> bool:
        self.left -= amount
        return self.left >= 0


def align(
    a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget | None = None
) -> list[Opcode]:
    """difflib-style opcodes between two sequences, near-linear on what jaxprs look like.

    Common prefix and suffix first, then elements unique on both sides as anchors (patience
    diff), and Myers' O(ND) diff in the gaps with galloping snakes (slice comparisons run in
    C). Past the work budget a gap becomes one "replace" block, counted in
    `budget.approximate`.

    Args:
        a: the first sequence (hashable items; equal items are what may match).
        b: the second sequence.
        budget: work allowance shared by several calls.

    Returns:
        Opcodes ("equal", "replace", "delete", "insert", i1, i2, j1, j2) covering both sequences.
    """
    budget = budget or Budget()
    ids: dict[Hashable, int] = {}
    xa = [ids.setdefault(item, len(ids)) for item in a]
    xb = [ids.setdefault(item, len(ids)) for item in b]
    blocks = sorted(_matching_blocks(xa, xb, budget))
    return _opcodes(_merge_blocks(blocks), len(xa), len(xb))


def _matching_blocks(a: list[int], b: list[int], budget: Budget) -> list[tuple[int, int, int]]:
    """Matching runs (i, j, size), increasing on both sides."""
    blocks: list[tuple[int, int, int]] = []
    regions = [(0, len(a), 0, len(b))]
    while regions:
        alo, ahi, blo, bhi = regions.pop()
        head = _common_prefix(a, b, alo, ahi, blo, bhi)
        if head:
            blocks.append((alo, blo, head))
            alo, blo = alo + head, blo + head
        tail = _common_suffix(a, b, alo, ahi, blo, bhi)
        if tail:
            blocks.append((ahi - tail, bhi - tail, tail))
            ahi, bhi = ahi - tail, bhi - tail
        if alo == ahi or blo == bhi:
            continue
        anchors = _unique_anchors(a, b, alo, ahi, blo, bhi, budget)
        if anchors:
            previous = (alo, blo)
            for i, j in anchors:
                blocks.append((i, j, 1))
                regions.append((previous[0], i, previous[1], j))
                previous = (i + 1, j + 1)
            regions.append((previous[0], ahi, previous[1], bhi))
            continue
        found = _myers(a, b, alo, ahi, blo, bhi, budget)
        if found is None:
            budget.approximate += 1
            continue
        found_blocks, (x, y) = found
        blocks.extend(found_blocks)
        if (alo + x, blo + y) != (ahi, bhi):
            regions.append((alo + x, ahi, blo + y, bhi))
    return blocks


def _common_prefix(a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int) -> int:
    """Length of the common run at (alo, blo), found by galloping over C-level slice compares."""
    limit = min(ahi - alo, bhi - blo)
    if limit == 0 or a[alo] != b[blo]:
        return 0
    good, step = 1, 1
    while good < limit:
        bad = min(good + step, limit)
        if a[alo + good : alo + bad] == b[blo + good : blo + bad]:
            good, step = bad, step * 2
            continue
        while bad - good > 1:
            mid = (good + bad) // 2
            if a[alo + good : alo + mid] == b[blo + good : blo + mid]:
                good = mid
            else:
                bad = mid
        return good
    return good


def _common_suffix(a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int) -> int:
    """Length of the common run ending at (ahi, bhi)."""
    limit = min(ahi - alo, bhi - blo)
    if limit == 0 or a[ahi - 1] != b[bhi - 1]:
        return 0
    good, step = 1, 1
    while good < limit:
        bad = min(good + step, limit)
        if a[ahi - bad : ahi - good] == b[bhi - bad : bhi - good]:
            good, step = bad, step * 2
            continue
        while bad - good > 1:
            mid = (good + bad) // 2
            if a[ahi - mid : ahi - good] == b[bhi - mid : bhi - good]:
                good = mid
            else:
                bad = mid
        return good
    return good


def _unique_anchors(
    a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int, budget: Budget
) -> list[tuple[int, int]]:
    """Items occurring once on each side, in the longest order-preserving chain (patience)."""
    budget.spend((ahi - alo + bhi - blo) // 8)
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    where_b = {x: j for j, x in enumerate(b[blo:bhi], blo) if count_b[x] == 1 and count_a[x] == 1}
    if not where_b:
        return []
    pairs = [(i, where_b[x]) for i, x in enumerate(a[alo:ahi], alo) if x in where_b]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of pairs increasing in j (they already increase in i): patience sorting."""
    tails: list[int] = []
    tail_index: list[int] = []
    back = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[pos] = j
            tail_index[pos] = k
        back[k] = tail_index[pos - 1] if pos else -1
    chain = []
    k = tail_index[-1] if tail_index else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


def _myers(
    a: list[int], b: list[int], alo: int, ahi: int, blo: int, bhi: int, budget: Budget
) -> tuple[list[tuple[int, int, int]], tuple[int, int]] | None:
    """Myers' shortest edit script between two regions, as matching blocks and the point reached.

    Past MYERS_MAX_D edits the furthest-reaching path so far is taken and the rest of the
    region is left to the caller (GNU diff's heuristic for costly regions); None past the budget.
    """
    n, m = ahi - alo, bhi - blo
    if not set(a[alo:ahi]).intersection(b[blo:bhi]):
        return [], (n, m)
    limit = min(n + m, MYERS_MAX_D)
    offset = limit + 1
    frontier = [0] * (2 * offset + 1)
    history: list[list[int]] = []
    for d in range(limit + 1):
        if not budget.spend(d + 1):
            return None
        history.append(frontier[offset - d : offset + d + 1])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and frontier[offset + k - 1] < frontier[offset + k + 1]):
                x = frontier[offset + k + 1]
            else:
                x = frontier[offset + k - 1] + 1
            y = x - k
            if x < n and y < m:
                x += _common_prefix(a, b, alo + x, ahi, blo + y, bhi)
            frontier[offset + k] = x
            if x >= n and x - k >= m:
                return _myers_blocks(history, frontier, offset, d, k, alo, blo), (n, m)
    d = limit
    reachable = [
        k
        for k in range(-d, d + 1, 2)
        if frontier[offset + k] <= n and 0 <= frontier[offset + k] - k <= m
    ]
    if not reachable:
        return None
    k = max(reachable, key=lambda kk: 2 * frontier[offset + kk] - kk)
    x = frontier[offset + k]
    return _myers_blocks(history, frontier, offset, d, k, alo, blo), (x, x - k)


def _myers_blocks(
    history: list[list[int]],
    frontier: list[int],
    offset: int,
    d: int,
    k: int,
    alo: int,
    blo: int,
) -> list[tuple[int, int, int]]:
    """Walks Myers' frontiers back from the end, collecting the diagonal runs (snakes)."""
    blocks = []
    x = frontier[offset + k]
    while d > 0:
        previous = history[d]

        def at(kk: int, row: list[int] = previous, dd: int = d) -> int:
            return row[kk + dd]

        if k == -d or (k != d and at(k - 1) < at(k + 1)):
            prev_k = k + 1
            start_x = at(prev_k)
        else:
            prev_k = k - 1
            start_x = at(prev_k) + 1
        start_y = start_x - k
        if x > start_x:
            blocks.append((alo + start_x, blo + start_y, x - start_x))
        x = at(prev_k)
        k = prev_k
        d -= 1
    if x > 0:
        blocks.append((alo, blo, x))
    return blocks


def _merge_blocks(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    merged: list[tuple[int, int, int]] = []
    for i, j, size in blocks:
        if size <= 0:
            continue
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        else:
            merged.append((i, j, size))
    return merged


def _opcodes(blocks: list[tuple[int, int, int]], n: int, m: int) -> list[Opcode]:
    codes: list[Opcode] = []
    i = j = 0
    for bi, bj, size in [*blocks, (n, m, 0)]:
        if i < bi and j < bj:
            codes.append(("replace", i, bi, j, bj))
        elif i < bi:
            codes.append(("delete", i, bi, j, j))
        elif j < bj:
            codes.append(("insert", i, i, j, bj))
        if size:
            codes.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return codes
