"""Files: bounded reading of the inputs, and atomic writing of regular files only.

Reading: an input is a regular file, a FIFO or standard input ('-'), read up to a bound; a
directory, a device (/dev/zero) or a socket is refused. Writing: gradcli writes a complete new file
beside the target and renames it over the target, so a reader or a crash sees the old file or the
new one, never a part. The target is the real path behind any symbolic links (the link stays a
link); it must be a regular file (or not exist yet), with no other hard link (renaming would split
the links, and writing in place could not be atomic), and not one of the command's inputs.
`updating` adds, for `step --write`, a lock (fcntl.flock, where the system has it) held from reading
the file to replacing it, and refuses to replace a file that changed in the meantime.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO

from gradcli import deadline
from gradcli.errors import GradcliError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the content check still refuses a changed file
    fcntl = None

MAX_PROGRAM_BYTES = 8 << 20  # a program file: parsing takes about 80 bytes of memory a byte
MAX_DOCUMENT_BYTES = 64 << 20  # an --expect JSON document
MAX_LINE_CHARS = 16 << 20  # one line of a --points CSV file
LOCK_POLL = 0.05  # seconds between tries for the lock another `step --write` holds


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


# ---- reading -------------------------------------------------------------------------------------


def check_input(path: str) -> None:
    """Refuse (GradcliError) an input that is missing or neither a regular file nor a FIFO."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise GradcliError(f"cannot read {path}: {error.strerror}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise GradcliError(f"cannot read {path}: it is {_kind(mode)}, not a file")


def _too_large(name: str, limit: int) -> GradcliError:
    return GradcliError(f"{name} is larger than {limit >> 20} MiB, more than gradcli reads")


def read_bounded(path: str, limit: int) -> bytes:
    """The bytes of `path` ('-': standard input); GradcliError beyond `limit` bytes."""
    if path == "-":
        if sys.stdin is None:
            raise GradcliError("cannot read standard input: it is closed")
        try:
            data = sys.stdin.buffer.read(limit + 1)
        except OSError as error:
            raise GradcliError(f"cannot read standard input: {error.strerror}") from None
        name = "standard input"
    else:
        check_input(path)
        try:
            with open(path, "rb") as stream:
                data = stream.read(limit + 1)
        except OSError as error:
            raise GradcliError(f"cannot read {path}: {error.strerror}") from None
        name = path
    if len(data) > limit:
        raise _too_large(name, limit)
    return data


def bounded_lines(stream: IO[str], name: str) -> Iterator[str]:
    """The lines of a text stream; GradcliError for a line longer than MAX_LINE_CHARS."""
    while line := stream.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise GradcliError(f"{name}: a line longer than {MAX_LINE_CHARS >> 20} M characters")
        yield line


# ---- writing -------------------------------------------------------------------------------------


def output_path(path: str, inputs: Iterable[str] = ()) -> str:
    """The real path that writing `path` replaces. GradcliError if its directory is missing, or it
    is not a regular file, is read-only, has other hard links, or is one of `inputs` (paths; '-'
    is skipped)."""
    real = os.path.realpath(path)
    try:
        status = os.stat(real)
    except FileNotFoundError:
        if not os.path.isdir(os.path.dirname(real)):
            raise GradcliError(f"cannot write {path}: its directory does not exist") from None
        return real
    except OSError as error:
        raise GradcliError(f"cannot write {path}: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise GradcliError(
            f"will not write {path}: it is {_kind(status.st_mode)}; gradcli writes regular files"
        )
    if not os.access(real, os.W_OK):
        raise GradcliError(f"will not write {path}: it is read-only")
    if status.st_nlink > 1:
        raise GradcliError(
            f"will not write {path}: it has {status.st_nlink - 1} other hard link(s), which replacing "
            "it would split; write to another name"
        )
    for source in inputs:
        with contextlib.suppress(OSError):
            if source != "-" and os.path.samestat(os.stat(source), status):
                raise GradcliError(f"will not write {path}: it is the input {source}")
    return real


def _new_file_mode(target: str) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def replacing(path: str, inputs: Iterable[str] = (), text: bool = False) -> Iterator[IO]:
    """A stream (binary, or UTF-8 text with `text`) to a new file that replaces `path` (see
    output_path) when the block ends without error, and is removed otherwise."""
    import tempfile  # not at the top: `gradcli --help` does without it

    target = output_path(path, inputs)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".gradcli-", dir=os.path.dirname(target))
    except OSError as error:
        raise GradcliError(f"cannot write {path}: {error.strerror}") from None
    try:
        options = {"mode": "w", "encoding": "utf-8", "newline": ""} if text else {"mode": "wb"}
        with os.fdopen(handle, **options) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _new_file_mode(target))
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise GradcliError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def write_atomically(path: str, data: bytes, inputs: Iterable[str] = ()) -> None:
    """Replace `path` (see output_path) with `data`."""
    with replacing(path, inputs) as stream:
        stream.write(data)


# ---- read, compute, replace: step --write -----------------------------------------------------------


class Update:
    """A file read under a lock; `replace` writes its new content if nobody changed it meanwhile."""

    def __init__(self, path: str, target: str, descriptor: int, data: bytes):
        self.path = path
        self.data = data
        self._target = target
        self._descriptor = descriptor

    def replace(self, data: bytes) -> None:
        """Write `data` over the file; GradcliError, nothing written, if it changed since it was read."""
        try:
            same = os.path.samestat(os.stat(self._target), os.fstat(self._descriptor))
            same = same and _read_descriptor(self._descriptor, self.path) == self.data
        except OSError:
            same = False
        if not same:
            raise GradcliError(f"{self.path} changed while gradcli worked on it; nothing written (run again)")
        write_atomically(self._target, data)


@contextlib.contextmanager
def updating(path: str) -> Iterator[Update]:
    """The file at `path` (see output_path), read and locked against other `updating` calls (other
    gradcli processes) until the block ends."""
    target = output_path(path)
    descriptor = _open_locked(target, path)
    try:
        yield Update(path, target, descriptor, _read_descriptor(descriptor, path))
    finally:
        os.close(descriptor)  # releases the lock


def _open_locked(target: str, path: str) -> int:
    """A descriptor of `target`, locked; if the holder before us replaced the file (renamed a new
    one over it), the lock we got is on the old one, so lock the new one instead."""
    while True:
        try:
            descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as error:
            raise GradcliError(f"cannot read {path}: {error.strerror}") from None
        try:
            mode = os.fstat(descriptor).st_mode
            if not stat.S_ISREG(mode):
                raise GradcliError(f"will not write {path}: it is {_kind(mode)}")
            _lock(descriptor)
            if os.path.samestat(os.stat(target), os.fstat(descriptor)):
                return descriptor
        except FileNotFoundError:
            pass  # replaced and not yet renamed into place: try again
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)


def _lock(descriptor: int) -> None:
    """Wait for the exclusive lock (checking the time limit). Where the system or the file system
    has no locks, go on without: Update.replace still refuses a file that changed."""
    if fcntl is None:
        return
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            deadline.check()
            time.sleep(LOCK_POLL)
        except OSError:  # e.g. ENOLCK on some network file systems
            return


def _read_descriptor(descriptor: int, path: str) -> bytes:
    chunks, size = [], 0
    os.lseek(descriptor, 0, os.SEEK_SET)
    while size <= MAX_PROGRAM_BYTES and (chunk := os.read(descriptor, 1 << 20)):
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_PROGRAM_BYTES:
        raise _too_large(path, MAX_PROGRAM_BYTES)
    return b"".join(chunks)
