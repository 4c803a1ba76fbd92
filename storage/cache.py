"""Read caches in front of the database, invalidated when a write to their tables commits.

Every update needs its sender's language, link, journey step and ticket, and /status, the QR
code and the menu need the permit record. Read from the store each time, that is a database
round trip per update; cached here, a returning user costs none.

Correctness does not depend on call sites remembering to invalidate. The engine reports every
INSERT, UPDATE and DELETE it executes (`before_execute`); a statement on a table a cache reads
marks that cache stale for the statement's keys (`cache_keys` execution option) or, without
them, entirely. The marks apply when the transaction commits and are dropped on rollback.
A reader takes a ticket before it queries and may store what it read only if nothing it
could have read was invalidated since (`CommitCache.put`), so a read racing a commit never
leaves an old value behind.

Other processes on the same SQLite file (a CLI import, a second bot) are noticed through a
shared epoch: an 8-byte counter in a file beside the database, bumped under a lock after each
commit that invalidated something. A cache that sees the epoch move without having moved it
itself forgets everything. On PostgreSQL the processes may run on different machines, so
`storage.database.Database` turns the caches off there.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import re
import struct
import threading
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause

V = TypeVar("V")

# Keys of rows to invalidate, passed with a statement: `.execution_options(cache_keys={...})`,
# a mapping of cache name to the keys the statement changes.
KEYS_OPTION = "cache_keys"
_PENDING = "cache_pending"
_WRITES = re.compile(r"\s*(insert|update|delete|replace|upsert|merge|with|truncate)\b", re.I)
_EVERYTHING = object()


class SharedEpoch:
    """A counter in a file that every process writing the database bumps after a commit.

    The caches registered with it forget everything when another process bumped it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # flock excludes processes; this excludes threads
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self.broken = False  # the file cannot be opened: the caches keep nothing
        self.seen = 0
        self.caches: list[CommitCache[Any]] = []

    def _open(self) -> mmap.mmap | None:
        # Opened on first use, beside the database file (which exists by then).
        if self._map is not None or self.broken:
            return self._map
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            with self._exclusive():
                if os.fstat(self._fd).st_size < 8:
                    os.ftruncate(self._fd, 8)
            self._map = mmap.mmap(self._fd, 8)
        except OSError:
            self.broken = True
            return None
        self.seen = self.read()
        return self._map

    def read(self) -> int:
        """The current value."""
        if self._map is None:
            return 0
        value: int = struct.unpack_from("<Q", self._map)[0]
        return value

    def check(self) -> bool:
        """Empty the caches if another process bumped the epoch since this one last looked;
        False when the epoch file cannot be used (then nothing may be served from cache)."""
        if self._open() is None:
            return False
        current = self.read()
        if current != self.seen:
            self.seen = current
            self._forget_all()
        return True

    def bump(self) -> None:
        """Advance the epoch (after a commit that invalidated something)."""
        shared = self._open()
        if shared is None:
            return
        with self._exclusive():
            current = self.read()
            struct.pack_into("<Q", shared, 0, current + 1)
        if current != self.seen:
            self._forget_all()  # another process wrote meanwhile
        self.seen = current + 1

    def _forget_all(self) -> None:
        for cache in self.caches:
            cache.invalidate(None)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        assert self._fd is not None
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Unmap and close the file (it is opened again on next use)."""
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class CommitCache(Generic[V]):
    """A bounded cache of values read from `tables`, keyed by what the reader chooses."""

    def __init__(self, name: str, tables: Iterable[str], size: int, *, ignore: Any = None):
        self.name = name
        self.tables = frozenset(tables)
        self.size = size
        # {table: columns} whose UPDATEs this cache does not read (e.g. users' settings).
        self.ignore: dict[str, frozenset[str]] = {
            table: frozenset(columns) for table, columns in (ignore or {}).items()
        }
        self._values: dict[Hashable, V] = {}
        self._generation = 0
        self._cleared_at = 0  # generation of the last invalidation of everything
        self._dropped_at: dict[Hashable, int] = {}  # key -> generation it was invalidated at
        self.hits = self.misses = 0
        self.epoch: SharedEpoch | None = None

    @property
    def enabled(self) -> bool:
        """Whether this cache keeps anything (size 0 turns it off)."""
        return self.size > 0

    def get(self, key: Hashable) -> V | None:
        """The cached value, or None (then read the store after taking a `ticket`)."""
        if not self.enabled:
            return None
        if self.epoch is not None and not self.epoch.check():
            return None
        value = self._values.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def ticket(self) -> int:
        """Taken before reading the store; `put` refuses values an invalidation overtook."""
        return self._generation

    def put(self, key: Hashable, value: V, ticket: int) -> None:
        """Keep `value`, read after `ticket` was taken, unless it may already be stale."""
        if not self.enabled or ticket < self._cleared_at:
            return
        if self._dropped_at.get(key, -1) > ticket:
            return
        if len(self._values) >= self.size:
            del self._values[next(iter(self._values))]
        self._values[key] = value

    def invalidate(self, keys: Iterable[Hashable] | None) -> None:
        """Forget `keys` (None: everything)."""
        self._generation += 1
        if keys is None or len(self._dropped_at) > 4 * max(self.size, 1024):
            self._values.clear()
            self._dropped_at.clear()
            self._cleared_at = self._generation
            return
        for key in keys:
            self._values.pop(key, None)
            self._dropped_at[key] = self._generation

    def __len__(self) -> int:
        return len(self._values)

    def concerns(self, statement: UpdateBase, parameters: list[dict[str, Any]]) -> bool:
        """Whether a write statement may change what this cache holds."""
        table = getattr(statement.table, "name", None)
        if table not in self.tables:
            return False
        ignored = self.ignore.get(table)
        if ignored and statement.is_update:
            values = getattr(statement, "_values", None)
            if values:  # UPDATE ... SET given in the statement: its columns are what changes
                written = {getattr(column, "key", str(column)) for column in values}
                return not written <= ignored
            # The ORM's UPDATE: its parameters name the changed columns and the row's key
            # (`<table>_id`), which is not written.
            written = set().union(*(p.keys() for p in parameters))
            return not written or not written <= ignored | {"id", f"{table}_id"}
        return True


def watch(engine: Engine, caches: list[CommitCache[Any]]) -> None:
    """Invalidate `caches` whenever `engine` commits a write to one of their tables."""

    def noted(conn: Connection) -> dict[str, Any]:
        pending: dict[str, Any] = conn.info.setdefault(_PENDING, {})
        return pending

    @event.listens_for(engine, "before_execute")
    def before_execute(
        conn: Connection,
        statement: Any,
        multiparams: Any,
        params: Any,
        options: Any,
    ) -> None:
        if isinstance(statement, TextClause):
            # Hand-written SQL (a data migration): if it may write, forget everything.
            if _WRITES.match(statement.text):
                pending = noted(conn)
                for cache in caches:
                    pending[cache.name] = _EVERYTHING
            return
        if not isinstance(statement, UpdateBase):
            return
        parameters = _parameter_sets(multiparams, params)
        keys_by_cache = options.get(KEYS_OPTION) or statement.get_execution_options().get(
            KEYS_OPTION, {}
        )
        for cache in caches:
            if not cache.enabled or not cache.concerns(statement, parameters):
                continue
            pending = noted(conn)
            keys = keys_by_cache.get(cache.name)
            if keys is None or pending.get(cache.name) is _EVERYTHING:
                pending[cache.name] = _EVERYTHING
            else:
                pending.setdefault(cache.name, set()).update(keys)

    @event.listens_for(engine, "commit")
    def commit(conn: Connection) -> None:
        pending = conn.info.pop(_PENDING, None)
        if not pending:
            return
        for epoch in {id(c.epoch): c.epoch for c in caches if c.epoch is not None}.values():
            epoch.bump()
        for cache in caches:
            if cache.name in pending:
                keys = pending[cache.name]
                cache.invalidate(None if keys is _EVERYTHING else keys)

    @event.listens_for(engine, "rollback")
    def rollback(conn: Connection) -> None:
        conn.info.pop(_PENDING, None)


def _parameter_sets(multiparams: Any, params: Any) -> list[dict[str, Any]]:
    sets: list[dict[str, Any]] = []
    for item in multiparams or ():
        if isinstance(item, dict):
            sets.append(item)
        elif isinstance(item, list | tuple):
            sets.extend(p for p in item if isinstance(p, dict))
    if isinstance(params, dict) and params:
        sets.append(params)
    return sets
