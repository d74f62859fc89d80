"""The cache folder: entries written whole or not at all, read only when intact.

Layout (as ruff's): ``.unjam_cache/`` at the project root, holding a ``.gitignore`` of
``*`` and a ``CACHEDIR.TAG`` (backup tools skip it), and one folder per unjam build
(``<version>-<python>-<digest of unjam's own files>``: an edited checkout of unjam never
reads what another build wrote). Entries sit under ``<build>/<kind>/<2 hex>/<hex>``.

Every entry is ``MAGIC``, a checksum of the rest, and a pickle of ``(key, value)``.
It is written to a temporary sibling and renamed into place, so two runs at once
never read half of one (not with ``git.atomic.write_atomically``, which syncs each
file to disk: a user's file must survive a crash, an entry need only be whole or
missing, which the checksum tells); an entry that is truncated, corrupt, of another format or
another key, or that names a class outside unjam's model is ignored (and then
written again). A cache that cannot be written (read-only checkout, full disk) is
said once and the run goes on without it: a cache never changes a result.

Values are unpickled with a loader that only builds unjam's own classes and plain
containers: a ``.unjam_cache`` committed to a repository (the ``.gitignore`` says not
to) cannot run code on the machine that checks it.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from importlib.util import find_spec
from pathlib import Path

from unjam import __version__

CACHE_DIR_NAME = ".unjam_cache"
#: Which folder the cache is in, where ``--cache-dir`` does not say.
CACHE_DIR_VARIABLE = "UNJAM_CACHE_DIR"
#: Set (and not ``0``): no cache, as ``--no-cache``.
NO_CACHE_VARIABLE = "UNJAM_NO_CACHE"
MAGIC = b"unjam-c1"
#: An entry no run has read or written for this long is deleted ...
UNUSED_ENTRY_SECONDS = 30 * 24 * 3600
#: ... and so is the folder of another unjam build no run has used for this long ...
UNUSED_BUILD_SECONDS = 7 * 24 * 3600
#: ... and a temporary file a killed run left; looked at once a day at most.
STALE_TEMPORARY_SECONDS = 3600
PRUNE_EVERY_SECONDS = 24 * 3600
_CHECKSUM = 16
_TEMPORARY_SUFFIX = ".tmp"
#: Written by unjam's own classes and nothing else (see ``_ModelUnpickler``).
_PLAIN = {("builtins", "frozenset"), ("builtins", "set"), ("builtins", "slice")}
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by unjam.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def default_cache_dir(project_root: Path) -> Path:
    """``UNJAM_CACHE_DIR`` when set, else ``.unjam_cache`` in the project's root."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    return Path(chosen) if chosen else project_root / CACHE_DIR_NAME


class Cache:
    """One run's view of the cache folder; ``Cache(None)`` is the disabled cache
    (``--no-cache``), which finds nothing and keeps nothing."""

    def __init__(self, folder: Path | None, warn: Callable[[str], None] | None = None) -> None:
        self.folder = folder
        self._build = folder / build_tag() if folder is not None else None
        self._warn = warn
        self._writable = folder is not None
        self._prepared = False
        self._marked = False
        self._folders: set[Path] = set()
        self._written = 0

    @property
    def enabled(self) -> bool:
        return self._build is not None

    def get(self, kind: str, key: bytes) -> object | None:
        """The value kept under ``key``, or None (absent, unreadable, damaged)."""
        if self._build is None:
            return None
        name = key.hex()
        try:
            data = (self._build / kind / name[:2] / name).read_bytes()
        except OSError:
            return None
        value = _decoded(data, key)
        if value is not None:
            with suppress(OSError):  # in use: ``prune`` keeps it
                os.utime(self._build / kind / name[:2] / name)
                if not self._marked:
                    (self._build / _USED).touch()
                    self._marked = True
        return value

    def put(self, kind: str, key: bytes, value: object) -> None:
        """Keep ``value`` under ``key``, atomically; problems only turn the cache off."""
        if self._build is None or not self._writable:
            return
        name = key.hex()
        folder = self._build / kind / name[:2]
        try:
            payload = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
            data = MAGIC + hashlib.blake2b(payload, digest_size=_CHECKSUM).digest() + payload
            if not self._prepared:
                self._prepare()
            if folder not in self._folders:
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(folder)
            # Unique to this process and write (O_EXCL: never another's file).
            self._written += 1
            temporary = folder / f".{name}.{os.getpid()}.{self._written}{_TEMPORARY_SUFFIX}"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, folder / name)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temporary)
                raise
        except (OSError, pickle.PicklingError, RecursionError) as error:
            self._writable = False
            if self._warn is not None:
                reason = getattr(error, "strerror", None) or str(error)
                self._warn(
                    f"unjam: warning: {self.folder}: cache not written ({reason}); "
                    "results are unaffected"
                )

    def prune(self, now: float | None = None) -> int:
        """Delete what no run has used for a while (see ``UNUSED_ENTRY_SECONDS`` and
        the rest): content-keyed entries pile up as files change. Once a day at most;
        returns how many files and folders went."""
        if self._build is None or self.folder is None or not self._writable:
            return 0
        now = time.time() if now is None else now
        stamp = self.folder / "pruned"
        with suppress(OSError):
            if now - stamp.stat().st_mtime < PRUNE_EVERY_SECONDS:
                return 0
        removed = 0
        try:
            builds = [child for child in self.folder.iterdir() if child.is_dir()]
            for build in builds:
                if build != self._build and now - _last_use(build) > UNUSED_BUILD_SECONDS:
                    shutil.rmtree(build, ignore_errors=True)
                    removed += 1
            for path in self._build.rglob("*"):
                age = now - path.stat().st_mtime
                temporary = path.name.endswith(_TEMPORARY_SUFFIX)
                if (
                    path.is_file()
                    and path.name != _USED
                    and (
                        age > UNUSED_ENTRY_SECONDS or (temporary and age > STALE_TEMPORARY_SECONDS)
                    )
                ):
                    path.unlink()
                    removed += 1
            stamp.touch()
            os.utime(stamp, (now, now))
        except OSError:
            pass  # another run prunes too, or the folder went: next time
        return removed

    def _prepare(self) -> None:
        """The folder's ``.gitignore`` and ``CACHEDIR.TAG``, written once."""
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "*\n"), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            path = self.folder / name
            if not path.exists():
                path.write_text(text, encoding="utf-8")
        assert self._build is not None
        self._build.mkdir(exist_ok=True)
        (self._build / _USED).touch()  # the build's last use (``prune``)
        self._prepared = self._marked = True


#: A file in each build's folder whose time is the build's last use.
_USED = "used"


def _last_use(build: Path) -> float:
    try:
        return (build / _USED).stat().st_mtime
    except OSError:
        return build.stat().st_mtime


def tuple_of(values: object, kind: type) -> bool:
    """Whether ``values`` is a tuple of ``kind``: a kept value is checked field by field
    before use, not trusted (a wrong shape is a miss, not a crash)."""
    return isinstance(values, tuple) and all(isinstance(value, kind) for value in values)


def _decoded(data: bytes, key: bytes) -> object | None:
    header = len(MAGIC) + _CHECKSUM
    if len(data) <= header or not data.startswith(MAGIC):
        return None
    payload = memoryview(data)[header:]
    if hashlib.blake2b(payload, digest_size=_CHECKSUM).digest() != data[len(MAGIC) : header]:
        return None
    try:
        stored = _ModelUnpickler(io.BytesIO(payload)).load()
    except Exception:  # a foreign or damaged pickle is a miss, whatever it raises
        return None
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key):
        return None
    value: object = stored[1]
    return value


class _ModelUnpickler(pickle.Unpickler):
    """Builds unjam's classes and plain containers, nothing else."""

    def find_class(self, module: str, name: str) -> type:
        if module == "unjam" or module.startswith("unjam.") or (module, name) in _PLAIN:
            found: type = super().find_class(module, name)
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of unjam's model")


def build_tag() -> str:
    """unjam's version, the Python running it, and a digest of unjam's own files (their
    paths inside the package and their bytes, 3 ms to read): the same code gives the
    same tag wherever it is installed (a CI job that installs unjam afresh reads what
    the last one kept), and a checkout being edited gets a new one per edit."""
    fingerprint = hashlib.blake2b(digest_size=6)
    for package in ("unjam", "unjam.codemods"):  # finding a spec imports neither
        spec = find_spec(package)
        for folder in sorted(spec.submodule_search_locations or ()) if spec else ():
            base = Path(folder)
            for path in sorted(base.rglob("*")):
                if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
                    fingerprint.update(f"{package}/{path.relative_to(base).as_posix()}\0".encode())
                    fingerprint.update(path.read_bytes())
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return f"{__version__}-{python}-{fingerprint.hexdigest()}"


def remove_cache(folder: Path) -> bool:
    """Delete the cache folder (``unjam clean``); whether there was one. Only a folder
    unjam made (it holds the tag) is removed."""
    if not (folder / "CACHEDIR.TAG").is_file():
        return False
    shutil.rmtree(folder)
    return True
