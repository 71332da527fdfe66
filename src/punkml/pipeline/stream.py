"""The durable stream: an append-only log of records between the collector and the deliveries.

It plays the role of a Kinesis data stream. Records are put with a partition key and get strictly
increasing integer sequence numbers; independent consumers (``raw``, ``cleaned``) each keep their own
checkpoint; a lease per consumer makes sure only one process delivers it at a time; records older
than the retention period are trimmed, and a consumer that had not read them is told so.

The backend is chosen by URI (``Settings.stream_uri``): ``sqlite:///path/stream.sqlite`` (the
local default, below) or any scheme added with ``add_stream_backend`` (``punkml.backends`` adds
``kinesis://NAME`` from ``punkml.aws``; the pipeline itself never names it). Every backend
implements the ``Stream`` protocol.
"""

from __future__ import annotations

import math
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlparse

from punkml.closing import Closeable
from punkml.config import Settings
from punkml.errors import ConfigError, StreamError

MAX_RECORD_BYTES = 1024 * 1024
"""Largest record the stream accepts (bytes), as for one Kinesis record."""
MAX_PARTITION_KEY_CHARS = 256
# A consumer name: 1-64 letters, digits (as str.isalnum says: \w), '_' or '-'.
_CONSUMER_NAME = re.compile(r"[\w-]{1,64}")
DEFAULT_RETENTION_HOURS = 24.0
BUSY_TIMEOUT_MS = 30_000


class LeaseLostError(StreamError):
    """This process no longer holds the consumer's lease (it expired and another took over)."""


class Record(NamedTuple):
    """One record read from the stream.

    A named tuple rather than a frozen dataclass: a delivery makes one per record it reads, and
    a tuple is built four times faster (a tenth of the cleaned delivery's Python time went there).
    """

    seq: int
    partition_key: str
    arrived_at_ms: int
    """When the stream accepted the record (milliseconds since the Unix epoch, UTC)."""
    data: bytes


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof that ``holder`` may deliver ``consumer`` until ``expires_at_ms`` unless renewed."""

    consumer: str
    holder: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class ConsumerState:
    """Where a consumer stands: its checkpoint, a batch in flight, and who holds its lease."""

    name: str
    checkpoint: int
    """Sequence number of the last record delivered and checkpointed (0: none yet)."""
    pending_first: int | None
    pending_last: int | None
    """A batch that was planned (and maybe written) but not checkpointed: replay it exactly."""
    lease_holder: str | None
    lease_expires_at_ms: int | None
    expired_unread: int
    """Records trimmed by retention before this consumer had checkpointed them."""
    updated_at_ms: int | None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """A summary of the stream for ``punkml status``."""

    uri: str
    length: int
    oldest_seq: int | None
    newest_seq: int | None
    oldest_arrived_at_ms: int | None
    newest_arrived_at_ms: int | None
    last_seq: int
    """Highest sequence number ever assigned (survives trimming)."""
    retention_hours: float
    trimmed: int
    """Records deleted by retention so far."""
    consumers: tuple[ConsumerState, ...]

    def lag(self, checkpoint: int) -> int:
        """Records on the stream a consumer at ``checkpoint`` has not checkpointed: sequence
        numbers are dense, so those are the newest ones, and trimmed records are not among them."""
        if self.newest_seq is None:
            return 0
        return min(self.length, max(0, self.newest_seq - checkpoint))


@runtime_checkable
class Stream(Protocol):
    """What the collector and the deliveries need from a stream backend."""

    uri: str

    def put(self, records: Sequence[tuple[str, bytes]]) -> list[int]:
        """Append ``(partition_key, data)`` records atomically; return their sequence numbers."""
        ...

    def read(
        self, after: int, limit: int, *, max_bytes: int | None = None, until: int | None = None
    ) -> list[Record]:
        """Records with ``after < seq (<= until)`` in order, at most ``limit`` and ~``max_bytes``."""
        ...

    def consumer(self, name: str) -> ConsumerState:
        """The consumer's state (created with checkpoint 0 if new)."""
        ...

    def acquire_lease(self, consumer: str, holder: str, ttl_seconds: float) -> Lease | None:
        """Take the consumer's lease if free, expired or held by a dead process; else ``None``."""
        ...

    def renew_lease(self, lease: Lease, ttl_seconds: float) -> Lease:
        """Extend the lease; raise ``LeaseLostError`` if another holder took it."""
        ...

    def release_lease(self, lease: Lease) -> None:
        """Give the lease up (no error if it was already lost)."""
        ...

    def begin_batch(self, lease: Lease, first: int, last: int) -> None:
        """Record the batch ``first..last`` as in flight, before anything is written."""
        ...

    def commit_batch(self, lease: Lease, last: int) -> None:
        """Move the checkpoint to ``last`` and clear the in-flight batch, atomically."""
        ...

    def trim(self, now_ms: int | None = None) -> int:
        """Delete records older than the retention period; return how many."""
        ...

    def info(self) -> StreamInfo:
        """Length, bounds, retention and every consumer's state."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...


def now_ms() -> int:
    """Current time in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def new_holder_id() -> str:
    """A lease holder id naming this host and process, unique per call."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


StreamOpener = Callable[[str, Settings], Stream]
"""Opens a stream from its URI (and the deployment's settings, for local state files)."""


def open_stream(settings: Settings) -> Stream:
    """Open the deployment's stream, ``settings.stream_uri``, with the backend of its scheme."""
    uri = settings.stream_uri
    opener = _STREAM_BACKENDS.get(urlparse(uri).scheme)
    if opener is None:
        known = ", ".join(f"{name}://" for name in _STREAM_BACKENDS)
        raise ConfigError(f"stream URI {uri!r} has an unknown scheme; use one of {known}")
    return opener(uri, settings)


def add_stream_backend(scheme: str, opener: StreamOpener) -> None:
    """Serve ``scheme://`` stream URIs with ``opener`` (see ``punkml.backends``)."""
    _STREAM_BACKENDS[scheme] = opener


def parse_sqlite_uri(uri: str) -> tuple[Path, float]:
    """``sqlite:///abs/path.sqlite?retention_hours=24`` → (path, retention hours).

    A path after ``sqlite://`` that does not start with ``/`` is relative to the working directory.
    """
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite":
        raise ConfigError(f"not a sqlite:// stream URI: {uri!r}")
    raw_path = parsed.netloc + parsed.path
    if not raw_path:
        raise ConfigError(f"stream URI {uri!r} names no file; use sqlite:///path/stream.sqlite")
    query = parse_qs(parsed.query)
    return Path(raw_path), retention_from_query(uri, query)


def retention_from_query(uri: str, query: dict[str, list[str]]) -> float:
    """The ``retention_hours`` of a stream URI's query (default 24), checked to be above 0."""
    if "retention_hours" not in query:
        return DEFAULT_RETENTION_HOURS
    try:
        retention = float(query["retention_hours"][-1])
    except ValueError:
        retention = math.nan  # not a number: refused below, as "nan" is
    if not retention > 0:
        raise ConfigError(f"stream URI {uri!r}: retention_hours must be a number greater than 0")
    return retention


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    partition_key TEXT NOT NULL,
    arrived_at_ms INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_arrived ON records (arrived_at_ms);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS consumers (
    name TEXT PRIMARY KEY,
    checkpoint INTEGER NOT NULL DEFAULT 0,
    pending_first INTEGER,
    pending_last INTEGER,
    lease_holder TEXT,
    lease_expires_ms INTEGER,
    expired_unread INTEGER NOT NULL DEFAULT 0,
    updated_at_ms INTEGER
);
"""


class SqliteStream(Closeable):
    """The stream in one SQLite file in WAL mode: safe with producers and consumers in any process.

    Every write is one ``BEGIN IMMEDIATE`` transaction, so sequence numbers are assigned under the
    database's write lock and are strictly increasing across processes. ``synchronous=NORMAL`` in
    WAL mode survives any process crash (only an OS crash could lose the last commits).
    """

    def __init__(self, path: Path, *, retention_hours: float = DEFAULT_RETENTION_HOURS) -> None:
        self.path = Path(path)
        self.retention_hours = retention_hours
        self.uri = f"sqlite://{self.path}"
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection per stream object, shareable between threads under ``_lock``; its
            # busy timeout is the pragma's (nothing locks before it is set).
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._set_up()
        except sqlite3.Error as exc:
            raise StreamError(f"cannot open the stream {self.path}: {exc}") from exc

    def _set_up(self) -> None:
        """WAL mode and the tables, retried while another process is creating the same file.

        Switching a new file to WAL needs an exclusive lock, and SQLite may answer "locked" at
        once instead of waiting, when several producers and deliverers start together.
        """

        def create() -> None:
            if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

        retry_while_busy(create, BUSY_TIMEOUT_MS / 1000)

    @classmethod
    def from_uri(cls, uri: str, settings: Settings) -> SqliteStream:
        path, retention = parse_sqlite_uri(uri)
        return cls(path, retention_hours=retention)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding SQLite's write lock from the start."""
        db = self._db
        with self._lock:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StreamError(f"cannot lock the stream {self.path}: {exc}") from exc
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    # -- producing -------------------------------------------------------------------------------

    def put(self, records: Sequence[tuple[str, bytes]]) -> list[int]:
        if not records:
            return []
        for key, data in records:
            check_record(key, data)
        arrived = now_ms()
        try:
            with self._write() as db:
                first = self._meta(db, "last_seq") + 1
                seqs = list(range(first, first + len(records)))
                db.executemany(
                    "INSERT INTO records (seq, partition_key, arrived_at_ms, data) VALUES (?,?,?,?)",
                    [(seq, key, arrived, data) for seq, (key, data) in enumerate(records, first)],
                )
                self._set_meta(db, "last_seq", seqs[-1])
        except sqlite3.Error as exc:
            raise StreamError(f"cannot append to the stream {self.path}: {exc}") from exc
        return seqs

    # -- consuming -------------------------------------------------------------------------------

    def read(
        self, after: int, limit: int, *, max_bytes: int | None = None, until: int | None = None
    ) -> list[Record]:
        upper = until if until is not None else 2**62
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, partition_key, arrived_at_ms, data FROM records "
                    "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                    (after, upper, max(1, limit)),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StreamError(f"cannot read the stream {self.path}: {exc}") from exc
        if max_bytes is not None:
            rows = rows[: _fitting(rows, max_bytes)]
        return list(map(Record._make, rows))

    def consumer(self, name: str) -> ConsumerState:
        _check_consumer_name(name)
        with self._lock:
            row = self._db.execute(
                "SELECT name, checkpoint, pending_first, pending_last, lease_holder, "
                "lease_expires_ms, expired_unread, updated_at_ms FROM consumers WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            with self._write() as db:
                db.execute("INSERT OR IGNORE INTO consumers (name) VALUES (?)", (name,))
            return ConsumerState(name, 0, None, None, None, None, 0, None)
        return ConsumerState(*row)

    # -- leases and checkpoints ------------------------------------------------------------------

    def acquire_lease(self, consumer: str, holder: str, ttl_seconds: float) -> Lease | None:
        _check_consumer_name(consumer)
        now = now_ms()
        expires = now + int(ttl_seconds * 1000)
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO consumers (name) VALUES (?)", (consumer,))
            current, current_expiry = db.execute(
                "SELECT lease_holder, lease_expires_ms FROM consumers WHERE name = ?", (consumer,)
            ).fetchone()
            # A holder is always written with its expiry (and cleared with it).
            free = (
                current is None
                or current == holder
                or current_expiry <= now
                or holder_is_dead(current)
            )
            if not free:
                return None
            db.execute(
                "UPDATE consumers SET lease_holder = ?, lease_expires_ms = ? WHERE name = ?",
                (holder, expires, consumer),
            )
        return Lease(consumer, holder, expires)

    def renew_lease(self, lease: Lease, ttl_seconds: float) -> Lease:
        expires = now_ms() + int(ttl_seconds * 1000)
        with self._write() as db:
            self._fenced_update(db, lease, "UPDATE consumers SET lease_expires_ms = ?", (expires,))
        return Lease(lease.consumer, lease.holder, expires)

    def release_lease(self, lease: Lease) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE consumers SET lease_holder = NULL, lease_expires_ms = NULL "
                "WHERE name = ? AND lease_holder = ?",
                (lease.consumer, lease.holder),
            )

    def begin_batch(self, lease: Lease, first: int, last: int) -> None:
        with self._write() as db:
            self._fenced_update(
                db,
                lease,
                "UPDATE consumers SET pending_first = ?, pending_last = ?",
                (first, last),
            )

    def commit_batch(self, lease: Lease, last: int) -> None:
        with self._write() as db:
            self._fenced_update(
                db,
                lease,
                "UPDATE consumers SET checkpoint = max(checkpoint, ?), pending_first = NULL, "
                "pending_last = NULL, updated_at_ms = ?",
                (last, now_ms()),
            )

    def _fenced_update(
        self, db: sqlite3.Connection, lease: Lease, update: str, params: tuple[object, ...]
    ) -> None:
        """Run ``update`` on the consumer's row only if ``lease`` still holds it."""
        done = db.execute(
            f"{update} WHERE name = ? AND lease_holder = ?",
            (*params, lease.consumer, lease.holder),
        )
        if done.rowcount != 1:
            raise LeaseLostError(
                f"the lease on consumer {lease.consumer!r} was taken over by another process; "
                "this deliverer stops"
            )

    # -- retention and status --------------------------------------------------------------------

    def trim(self, now_ms_: int | None = None) -> int:
        cutoff = (now_ms_ if now_ms_ is not None else now_ms()) - int(
            self.retention_hours * 3_600_000
        )
        with self._write() as db:
            newest = db.execute(
                "SELECT max(seq) FROM records WHERE arrived_at_ms < ?", (cutoff,)
            ).fetchone()[0]
            if newest is None:
                return 0
            # Say which consumers lose records they had not checkpointed, before deleting them.
            db.execute(
                "UPDATE consumers SET expired_unread = expired_unread + ("
                "SELECT count(*) FROM records WHERE seq <= ? AND seq > consumers.checkpoint)",
                (newest,),
            )
            deleted = db.execute("DELETE FROM records WHERE seq <= ?", (newest,)).rowcount
            self._set_meta(db, "trimmed", self._meta(db, "trimmed") + deleted)
        return deleted

    def info(self) -> StreamInfo:
        with self._lock:
            return self._info()

    def _info(self) -> StreamInfo:
        db = self._db
        length, oldest, newest = db.execute(
            "SELECT count(*), min(seq), max(seq) FROM records"
        ).fetchone()
        oldest_at = newest_at = None
        if oldest is not None:
            oldest_at = db.execute(
                "SELECT arrived_at_ms FROM records WHERE seq = ?", (oldest,)
            ).fetchone()[0]
            newest_at = db.execute(
                "SELECT arrived_at_ms FROM records WHERE seq = ?", (newest,)
            ).fetchone()[0]
        names = [row[0] for row in db.execute("SELECT name FROM consumers ORDER BY name")]
        return StreamInfo(
            uri=self.uri,
            length=length,
            oldest_seq=oldest,
            newest_seq=newest,
            oldest_arrived_at_ms=oldest_at,
            newest_arrived_at_ms=newest_at,
            last_seq=self._meta(db, "last_seq"),
            retention_hours=self.retention_hours,
            trimmed=self._meta(db, "trimmed"),
            consumers=tuple(self.consumer(name) for name in names),
        )

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _meta(db: sqlite3.Connection, key: str) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: int) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def retry_while_busy(action: Callable[[], None], timeout_seconds: float) -> None:
    """Run ``action``; while it fails with SQLite's "locked" or "busy", run it again every 50 ms,
    for up to ``timeout_seconds``; any other error, or the last one, is raised."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def holder_is_dead(holder: str) -> bool:
    """True if ``holder`` (``host:pid:nonce``) names a process on this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's process: only the expiry can free its lease
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A killed child its parent has not reaped yet is a zombie: it delivers nothing any more.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _fitting(rows: list[tuple[int, str, int, bytes]], max_bytes: int) -> int:
    """How many of ``rows`` (at least one) fit in ``max_bytes`` of data."""
    size = 0
    for count, (_, _, _, data) in enumerate(rows):
        size += len(data)
        if size > max_bytes:
            return max(1, count)
    return len(rows)


def check_record(key: str, data: bytes) -> None:
    """Refuse a record every backend refuses: not bytes, over 1 MiB, or a bad partition key."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StreamError(f"a stream record must be bytes, not {type(data).__name__}")
    if len(data) > MAX_RECORD_BYTES:
        raise StreamError(
            f"a stream record is {len(data)} bytes, over the {MAX_RECORD_BYTES}-byte limit"
        )
    if not key or len(key) > MAX_PARTITION_KEY_CHARS:
        raise StreamError(
            f"a partition key must have 1 to {MAX_PARTITION_KEY_CHARS} characters, got {len(key)}"
        )


def _check_consumer_name(name: str) -> None:
    if not _CONSUMER_NAME.fullmatch(name):
        raise StreamError(
            f"consumer name {name!r} must be 1-64 letters, digits, '-' or '_' characters"
        )


_STREAM_BACKENDS: dict[str, StreamOpener] = {"sqlite": SqliteStream.from_uri}
"""Stream backends by URI scheme: the local one here, the others added by ``punkml.backends``."""
