"""The collectives of a compiled SPMD program, read from XLA's optimized HLO text.

After SPMD partitioning, the communication a sharded `jax.jit` program does is explicit in the
HLO: every all-reduce, all-gather, reduce-scatter, all-to-all and collective-permute, with its
result shape and replica groups. Each instruction's metadata names the jaxpr equation it came
from (`op_name`) and the user's source line: as `source_file`/`source_line` in older XLA, as a
`stack_frame_id` into the module's FileNames/FileLocations/StackFrames tables in newer XLA.
Nothing here imports JAX: the text is `compiled.as_text()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from jaxexplain.report import Collective, CollectiveLine

KINDS = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")
# Async forms whose result tuple holds the operand before the output (XLA's *-start ops).
OPERAND_FIRST = ("all-gather", "collective-permute")
DTYPE_BYTES = {
    "pred": 1, "s8": 1, "u8": 1, "f8e4m3fn": 1, "f8e5m2": 1,
    "s16": 2, "u16": 2, "f16": 2, "bf16": 2,
    "s32": 4, "u32": 4, "f32": 4,
    "s64": 8, "u64": 8, "f64": 8, "c64": 8,
    "c128": 16,
}  # fmt: skip

INSTRUCTION = re.compile(
    r"^\s*(?:ROOT\s+)?%?(?P<name>[\w.\-]+)\s*=\s*(?P<type>.+?)\s+"
    rf"(?P<kind>{'|'.join(KINDS)})(?P<start>-start)?\("
)
ARRAY = re.compile(r"\b([a-z]+\d*(?:e\d+m\d+(?:fn)?)?)\[([\d,]*)\]")
GROUPS = re.compile(r"replica_groups=(.+?)(?:, [a-z_]+=|$)")
PAIRS = re.compile(r"source_target_pairs=(\{.*?\}\})")
OP_NAME = re.compile(r'op_name="([^"]*)"')
SOURCE = re.compile(r'source_file="([^"]*)" source_line=(\d+)')
FRAME_ID = re.compile(r"stack_frame_id=(\d+)")
TABLE_ROW = re.compile(r"^(\d+) (.*)$")
FIELD = re.compile(r"(\w+)=(\d+)")


def collectives_of(hlo: str) -> tuple[Collective, ...]:
    """Every collective in the optimized HLO text of one compiled program, in program order."""
    frames = _frame_table(hlo)
    lines = hlo.splitlines()
    found = []
    for line in lines:
        match = INSTRUCTION.match(line)
        if match is None:
            continue
        kind = match["kind"]
        source_line = _attributed(line, match["name"], lines, frames)
        file, number, function = _source(source_line, frames)
        op_name = OP_NAME.search(source_line)
        found.append(
            Collective(
                kind=kind,
                name=match["name"],
                bytes=_result_bytes(match["type"], bool(match["start"]) and kind in OPERAND_FIRST),
                replica_groups=_groups(line),
                op_name=op_name[1] if op_name else "",
                file=file,
                line=number,
                function=function,
            )
        )
    return tuple(found)


def _attributed(
    line: str, name: str, lines: list[str], frames: dict[int, tuple[str, int, str]]
) -> str:
    """The line whose metadata names the collective's source: its own, or, where the partitioner
    gave it only the operand's name (newer XLA, an all-gather of a parameter), that of the first
    instruction that uses its result: the user's equation that needed the communication."""
    if _source(line, frames)[0] is not None:
        return line
    use = re.compile(rf"%{re.escape(name)}[,)]")
    return next((other for other in lines if use.search(other.partition(" = ")[2])), line)


def per_line(collectives: Iterable[Collective]) -> tuple[CollectiveLine, ...]:
    """The collectives summed per source line, the line with most bytes first."""
    lines: dict[tuple[str | None, int | None], list[Collective]] = {}
    for c in collectives:
        lines.setdefault((c.file, c.line), []).append(c)
    summed = []
    for (file, number), group in lines.items():
        kinds: dict[str, int] = {}
        for c in group:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        summed.append(CollectiveLine(file, number, len(group), sum(c.bytes for c in group), kinds))
    return tuple(sorted(summed, key=lambda s: -s.bytes))


def collective_changes(
    a: Iterable[Collective], b: Iterable[Collective]
) -> tuple[list[Collective], list[Collective]]:
    """The collectives only side B has (added) and only side A has (removed), matched by kind,
    bytes, replica groups, equation and source line, as many times as each occurs (HLO
    instruction names are left out: XLA numbers them anew in every compile)."""
    added = list(b)
    removed = []
    for c in a:
        twin = next((d for d in added if _same_collective(c, d)), None)
        if twin is None:
            removed.append(c)
        else:
            added.remove(twin)
    return added, removed


def _same_collective(c: Collective, d: Collective) -> bool:
    return (c.kind, c.bytes, c.replica_groups, c.op_name, c.file, c.line) == (
        d.kind,
        d.bytes,
        d.replica_groups,
        d.op_name,
        d.file,
        d.line,
    )


def _result_bytes(type_text: str, operand_first: bool) -> int:
    """Bytes of the result per device: every array of a tuple result (an all-reduce combined
    over several operands), or only the outputs of an async start op, whose tuple begins with
    its operand."""
    arrays = ARRAY.findall(type_text)
    if operand_first and len(arrays) > 1:
        arrays = arrays[1:2]
    return sum(_array_bytes(dtype, dims) for dtype, dims in arrays)


def _array_bytes(dtype: str, dims: str) -> int:
    count = 1
    for d in filter(None, dims.split(",")):
        count *= int(d)
    return count * DTYPE_BYTES.get(dtype, 4)


def _groups(line: str) -> str:
    """The replica groups as XLA prints them (`{{0,1},{2,3}}`, `[2,2]<=[4]`, or a mesh form);
    a collective-permute's source-target pairs."""
    groups = GROUPS.search(line) or PAIRS.search(line)
    return groups[1].strip() if groups else ""


def _source(
    line: str, frames: dict[int, tuple[str, int, str]]
) -> tuple[str | None, int | None, str]:
    """The user's file, line and function of one instruction, from either metadata form."""
    direct = SOURCE.search(line)
    if direct:
        return direct[1], int(direct[2]), ""
    frame = FRAME_ID.search(line)
    if frame and int(frame[1]) in frames:
        return frames[int(frame[1])]
    return None, None, ""


def _frame_table(hlo: str) -> dict[int, tuple[str, int, str]]:
    """Stack frame id -> (file, line, function), from the module's tables (newer XLA)."""
    sections: dict[str, dict[int, str]] = {}
    current: dict[int, str] | None = None
    for line in hlo.splitlines():
        if line in ("FileNames", "FunctionNames", "FileLocations", "StackFrames"):
            current = sections.setdefault(line, {})
            continue
        row = TABLE_ROW.match(line) if current is not None else None
        if row is None or current is None:
            current = None if not line.strip() or line.startswith(("%", "ENTRY")) else current
            continue
        current[int(row[1])] = row[2]
    names = {k: v.strip('"') for k, v in sections.get("FileNames", {}).items()}
    functions = {k: v.strip('"') for k, v in sections.get("FunctionNames", {}).items()}
    locations = {k: dict(FIELD.findall(v)) for k, v in sections.get("FileLocations", {}).items()}
    frames = {}
    for frame_id, text in sections.get("StackFrames", {}).items():
        location = locations.get(int(dict(FIELD.findall(text)).get("file_location_id", 0)), {})
        if location:
            frames[frame_id] = (
                names.get(int(location["file_name_id"]), ""),
                int(location["line"]),
                functions.get(int(location.get("function_name_id", 0)), ""),
            )
    return frames
