"""The lake's committed state: which file holds each partition and dataset.

Data files are immutable and uniquely named; a run commits by replacing _state.json in
one atomic rename. Readers go through the catalog built from the state, so a crash at any
instant leaves the previous state whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from warehouse.storage import Storage


@dataclass
class LakeState:
    version: int = 0
    run_id: str | None = None
    partitions: dict[str, str] = field(default_factory=dict)
    quarantine: str | None = None
    manifest: str | None = None
    runs: str | None = None
    retired: dict[str, float] = field(default_factory=dict)  # superseded file -> when (unix time)
    # The parser that made every row (set by a full build); None for a lake from before it was kept.
    parser_version: str | None = None

    def referenced(self) -> set[str]:
        files = set(self.partitions.values())
        files.update(f for f in (self.quarantine, self.manifest, self.runs) if f)
        return files


def load_state(storage: Storage, name: str) -> LakeState:
    raw = storage.read_bytes_if_exists(name)
    if raw is None:
        return LakeState()
    data = json.loads(raw)
    return LakeState(
        version=int(data.get("version", 0)),
        run_id=data.get("run_id"),
        partitions=dict(data.get("partitions", {})),
        quarantine=data.get("quarantine"),
        manifest=data.get("manifest"),
        runs=data.get("runs"),
        retired={str(k): float(v) for k, v in data.get("retired", {}).items()},
        parser_version=data.get("parser_version"),
    )


def commit_state(storage: Storage, name: str, state: LakeState) -> None:
    payload = json.dumps(asdict(state), indent=1, sort_keys=True).encode()
    storage.write_bytes_atomic(name, payload)
