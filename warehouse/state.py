"""The lake's committed state: which files hold each partition and dataset.

Data files are immutable and uniquely named; a run commits by replacing _state.json in one
atomic rename. The catalog reads the stored files the state names, and the Hive tree of links
is made to match the state right after (again by the next run, if this one died meanwhile).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from warehouse.storage import Storage


class LakeDamaged(RuntimeError):
    """A file of the lake cannot be read as what it should be; `newslake repair` rebuilds it."""


REPAIR_HINT = "run `newslake repair --lake LAKE --source SOURCE` to rebuild the lake"


@dataclass
class LakeState:
    version: int = 0
    run_id: str | None = None
    partitions: dict[str, list[str]] = field(default_factory=dict)  # partition name -> its files
    quarantine: str | None = None
    manifest: str | None = None
    runs: str | None = None
    boilerplate: str | None = None  # the lines each feed has learned (BOILERPLATE)
    line_counts: str | None = None  # what they are learned from (LINE_COUNTS, in the store only)
    # The lines one article of their feed carries (LINE_SIGHTINGS, store only): bucket -> its file.
    line_sightings: dict[str, str] = field(default_factory=dict)
    story_signatures: str | None = None  # what stories are found from (STORY_SIGNATURES, store only)
    story_edges: str | None = None  # the pairs of copies stories are made of (STORY_EDGES, store only)
    name_counts: str | None = None  # the (name, code) pairs articles teach (NAME_COUNTS, store only)
    retired: dict[str, float] = field(default_factory=dict)  # superseded file -> when (unix time)
    # The parser that made every row (set by a full build); None for a lake from before it was kept.
    parser_version: str | None = None
    # The row-shaping settings the rows were made with (set by a full build); None: not kept yet.
    row_settings: dict[str, str] | None = None
    # Each data file's size when it was written: a file replaced since (even by valid Parquet)
    # is found at the next run's start. Files written before sizes were kept have none.
    sizes: dict[str, int] = field(default_factory=dict)

    def models(self) -> set[str]:
        """The files of what the lake has learned: a run can recompute them from the rows."""
        named = (
            self.boilerplate,
            self.line_counts,
            self.story_signatures,
            self.story_edges,
            self.name_counts,
        )
        return {f for f in named if f} | set(self.line_sightings.values())

    def referenced(self) -> set[str]:
        files = {f for chunk in self.partitions.values() for f in chunk}
        files.update(
            f
            for f in (
                self.quarantine,
                self.manifest,
                self.runs,
                self.boilerplate,
                self.line_counts,
                self.story_signatures,
                self.story_edges,
                self.name_counts,
            )
            if f
        )
        files.update(self.line_sightings.values())
        return files


def _partitions(raw: object) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise TypeError("partitions is not an object")
    # A lake written before partitions had several files holds one name per partition.
    return {str(k): [str(v)] if isinstance(v, str) else [str(f) for f in v] for k, v in raw.items()}


def _row_settings(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TypeError("row_settings is not an object")
    return {str(k): str(v) for k, v in raw.items()}


def load_state(storage: Storage, name: str) -> LakeState:
    raw = storage.read_bytes_if_exists(name)
    if raw is None:
        return LakeState()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        return LakeState(
            version=int(data.get("version", 0)),
            run_id=data.get("run_id"),
            partitions=_partitions(data.get("partitions", {})),
            quarantine=data.get("quarantine"),
            manifest=data.get("manifest"),
            runs=data.get("runs"),
            boilerplate=data.get("boilerplate"),
            line_counts=data.get("line_counts"),
            line_sightings={str(k): str(v) for k, v in data.get("line_sightings", {}).items()},
            story_signatures=data.get("story_signatures"),
            story_edges=data.get("story_edges"),
            name_counts=data.get("name_counts"),
            retired={str(k): float(v) for k, v in data.get("retired", {}).items()},
            parser_version=data.get("parser_version"),
            row_settings=_row_settings(data.get("row_settings")),
            sizes={str(k): int(v) for k, v in data.get("sizes", {}).items()},
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise LakeDamaged(
            f"{storage.uri(name)} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}): "
            + REPAIR_HINT
        ) from None


def commit_state(storage: Storage, name: str, state: LakeState) -> None:
    payload = json.dumps(asdict(state), indent=1, sort_keys=True).encode()
    storage.write_bytes_atomic(name, payload)
