"""Atlas's migration directory format: files, versions and atlas.sum.

The rules are those of Atlas's ``sql/migrate/dir.go`` as written down in
Atlas's ``sql/migrate/dir.go`` (HashFile, LocalFile.Version): only top-level ``*.sql`` files (or
``*.up.sql`` in the golang-migrate format), byte-wise name order, a
cumulative SHA-256 over names and raw bytes, and a lenient sum-file parser.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ChecksumError, MigrationDirError
from ..files import atomic_write

SUM_FILE = "atlas.sum"
FORMATS = ("atlas", "golang-migrate")

# Atlas matches this against the whole file (not line by line): a directive
# counts only on the first line, after printable ASCII.
_DIRECTIVE = re.compile(rb"([ -~]*)atlas:(\w+)(?: +(.+))*")

# A migration file is SQL someone wrote; anything bigger is a mistake (or /dev/zero).
MAX_FILE_BYTES = 128 << 20

CHECKSUM_INTRO = "You have a checksum error in your migration directory."
CHECKSUM_OUTRO = "Please check your migration files and run 'atlas migrate hash' to re-hash the contents"


def first_line_directive(content: bytes) -> tuple[str, str, str] | None:
    """(prefix, name, argument) of the directive Atlas finds in content, if any."""
    m = _DIRECTIVE.match(content)
    if not m:
        return None
    arg = m.group(3) or b""
    return (m.group(1).decode("ascii"), m.group(2).decode("ascii"), arg.decode("utf-8", "surrogateescape"))


def is_sum_ignored(content: bytes) -> bool:
    d = first_line_directive(content)
    return d is not None and d[1] == "sum" and d[2] == "ignore"


@dataclass(frozen=True)
class MigrationFile:
    """One migration file: its name, where it lives, its version and description."""

    dir: Path
    name: str
    format: str = "atlas"
    _content: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.dir / self.name

    @property
    def version(self) -> str:
        stem = self.name[:-4] if self.name.endswith(".sql") else self.name
        return stem.split("_", 1)[0]

    @property
    def description(self) -> str:
        parts = self.name.split("_", 1)
        if len(parts) == 1:
            return ""
        desc = parts[1][:-4] if parts[1].endswith(".sql") else parts[1]
        if self.format == "golang-migrate" and desc.endswith(".up"):
            desc = desc[:-3]
        return desc

    @property
    def layer(self) -> str:
        return self.dir.name

    def read(self) -> bytes:
        """The file's bytes, read once: every later use (hash, scan, apply) sees the same bytes.

        Only regular files are read (a FIFO would block forever, a symlink to
        /dev/zero would never end), and at most MAX_FILE_BYTES of them.
        """
        if self._content is not None:
            return self._content
        data = read_regular(self.path)
        object.__setattr__(self, "_content", data)  # frozen: a cache, not a change of identity
        return data

    def nul_offset(self) -> int:
        """Byte offset of the first NUL byte, or -1."""
        return self.read().find(b"\0")

    def check_nul(self) -> None:
        """Refuse a file holding a NUL byte: libpq would silently end the SQL there."""
        at = self.nul_offset()
        if at >= 0:
            raise MigrationDirError(
                nul_message(self, at),
                "remove the NUL byte (an editor or encoding accident; "
                "save the file as UTF-8 text), then run `inv migrate-hash`",
            )

    def text(self) -> str:
        self.check_nul()
        try:
            return self.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationDirError(
                f"{self.path} is not valid UTF-8 (byte {exc.start})", "save the file as UTF-8"
            ) from None


def nul_message(f: MigrationFile, offset: int) -> str:
    return f"{f.path} contains a NUL byte at byte offset {offset}: PostgreSQL would silently ignore the SQL after it"


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes (following symlinks), or MigrationDirError; never blocks or reads forever."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise MigrationDirError(
            f"{path} is a directory, not a migration file", "rename it so it does not end in .sql"
        ) from None
    except OSError as exc:
        raise MigrationDirError(
            f"cannot read migration file {path}: {exc.strerror}", "check the file's permissions"
        ) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise MigrationDirError(
                f"{path} is a directory, not a migration file", "rename it so it does not end in .sql"
            )
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a FIFO (named pipe)"
                if stat.S_ISFIFO(st.st_mode)
                else "a device"
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket"
                if stat.S_ISSOCK(st.st_mode)
                else "not a regular file"
            )
            raise MigrationDirError(
                f"{path} is {kind}, not a regular file: migration files must be plain files",
                "remove it from the migration directory or rename it so it does not end in .sql",
            )
        if st.st_size > limit:
            raise MigrationDirError(
                f"{path} is {st.st_size} bytes, more than the {limit >> 20} MiB a migration file may have",
                "split it into several migration files",
            )
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise MigrationDirError(
                    f"{path} grew beyond {limit >> 20} MiB while being read", "split it into several migration files"
                )
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise MigrationDirError(
            f"cannot read migration file {path}: {exc.strerror}", "check the file's permissions"
        ) from None
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- sum file


@dataclass(frozen=True)
class SumEntry:
    name: str
    hash: str  # base64, without the h1: prefix


@dataclass(frozen=True)
class HashFile:
    """The parsed or computed content of atlas.sum."""

    entries: tuple[SumEntry, ...]
    stated_total: str | None = None  # line 1 as written, for parsed files

    @property
    def total(self) -> str:
        h = hashlib.sha256()
        for e in self.entries:
            h.update(e.name.encode("utf-8", "surrogateescape"))
            h.update(e.hash.encode("utf-8", "surrogateescape"))
        return base64.b64encode(h.digest()).decode("ascii")

    def by_name(self, name: str) -> str | None:
        for e in self.entries:
            if e.name == name:
                return e.hash
        return None

    def marshal(self) -> bytes:
        lines = [f"h1:{self.total}\n"] + [f"{e.name} h1:{e.hash}\n" for e in self.entries]
        return "".join(lines).encode("utf-8", "surrogateescape")

    @classmethod
    def compute(cls, items: Iterable[tuple[str, bytes]]) -> HashFile:
        """Atlas's cumulative hash over (name, content) pairs, already in order."""
        h = hashlib.sha256()
        out = []
        for name, content in items:
            h.update(name.encode("utf-8", "surrogateescape"))
            if is_sum_ignored(content):
                continue  # the name still went into the running hash
            h.update(content)
            out.append(SumEntry(name, base64.b64encode(h.digest()).decode("ascii")))
        return cls(tuple(out))

    @classmethod
    def parse(cls, data: bytes, source: str = SUM_FILE) -> HashFile:
        """Parse like Atlas: lenient lines, then the stated total must match the entries."""
        text = data.decode("utf-8", "surrogateescape")
        lines = _scan_lines(text)
        first = lines[0] if lines else ""
        total = first[3:] if first.startswith("h1:") else first
        entries = []
        for i, line in enumerate(lines[1:], start=2):
            name, sep, h = line.partition("h1:")
            if not sep:
                raise ChecksumError(
                    f"checksum file format invalid: {source} line {i} has no 'h1:' hash",
                    "regenerate it with `inv migrate-hash` (after checking the files are what you want)",
                    output=render_checksum_report(None),
                )
            entries.append(SumEntry(name.strip(), h))
        hf = cls(tuple(entries), stated_total=total)
        if hf.total != total:
            raise ChecksumError(
                f"checksum mismatch: the total on line 1 of {source} does not match its entries "
                "(edited or badly merged)",
                "regenerate it with `inv migrate-hash` after checking the files are what you want",
                output=render_checksum_report(None),
            )
        return hf


def _scan_lines(text: str) -> list[str]:
    """Go's bufio.ScanLines: split on \\n, drop one trailing \\r, no final empty token."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


@dataclass(frozen=True)
class ChecksumDiff:
    """Where atlas.sum and the files first diverge (Atlas's ChecksumError)."""

    line: int
    file: str
    reason: str  # added | edited | removed


def first_divergence(stated: HashFile, computed: HashFile) -> ChecksumDiff | None:
    if stated.total == computed.total:
        return None
    names = {e.name for e in computed.entries}
    for i, e in enumerate(stated.entries):
        if i < len(computed.entries) and computed.entries[i] == e:
            continue
        if e.name not in names:
            return ChecksumDiff(i + 2, e.name, "removed")
        if i < len(computed.entries) and computed.entries[i].name == e.name:
            return ChecksumDiff(i + 2, e.name, "edited")
        other = computed.entries[i].name if i < len(computed.entries) else e.name
        return ChecksumDiff(i + 2, other, "added")
    n = len(stated.entries)
    return ChecksumDiff(n + 2, computed.entries[n].name if n < len(computed.entries) else "", "added")


def render_checksum_report(diff: ChecksumDiff | None) -> str:
    """The text Atlas prints on stdout for a checksum error."""
    if diff is None:
        return f"{CHECKSUM_INTRO}\n{CHECKSUM_OUTRO}\n\n"
    return f"{CHECKSUM_INTRO}\n\n\tL{diff.line}: {diff.file} was {diff.reason}\n\n{CHECKSUM_OUTRO}\n\n"


# ----------------------------------------------------------------------------- directory


class MigrationDir:
    """A migration directory on disk (one layer)."""

    def __init__(self, path: str | os.PathLike, format: str = "atlas") -> None:
        if format not in FORMATS:
            raise MigrationDirError(f"unknown directory format {format!r}", "use atlas or golang-migrate")
        self.path = Path(path)
        self.format = format
        self._files: list[MigrationFile] | None = None

    def __repr__(self) -> str:
        return f"MigrationDir({str(self.path)!r}, format={self.format!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sum_path(self) -> Path:
        return self.path / SUM_FILE

    def _check_exists(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise MigrationDirError(
                f"migration directory {self.path} does not exist",
                "create it, or pass --dir / --db pointing at an existing directory",
            ) from None
        except OSError as exc:
            raise MigrationDirError(
                f"cannot open migration directory {self.path}: {exc.strerror}", "check its permissions"
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise MigrationDirError(f"{self.path} is not a directory", "pass the directory holding the .sql files")

    def files(self) -> list[MigrationFile]:
        """The migration files, in Atlas's order (byte-wise by name)."""
        if self._files is None:
            self._check_exists()
            suffix = ".up.sql" if self.format == "golang-migrate" else ".sql"
            try:
                names = [n for n in os.listdir(self.path) if n.endswith(suffix)]
            except OSError as exc:
                raise MigrationDirError(f"cannot list {self.path}: {exc.strerror}", "check its permissions") from None
            names.sort(key=lambda n: n.encode("utf-8", "surrogateescape"))
            self._files = [MigrationFile(self.path, n, self.format) for n in names]
        return list(self._files)

    def refresh(self) -> None:
        self._files = None

    def compute_sum(self) -> HashFile:
        return HashFile.compute((f.name, f.read()) for f in self.files())

    def read_sum(self) -> HashFile | None:
        try:
            data = self.sum_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ChecksumError(f"cannot read {self.sum_path}: {exc.strerror}", "check its permissions") from None
        return HashFile.parse(data, str(self.sum_path))

    def write_sum(self, hf: HashFile | None = None) -> HashFile:
        for f in self.files():
            if "\n" in f.name or "\r" in f.name:
                # atlas.sum is line-based: such a name would make a file no one can read back.
                raise MigrationDirError(
                    f"migration file name {f.name!r} in {self.path} contains a line break",
                    "rename the file without the line break, then run `inv migrate-hash`",
                )
        hf = hf or self.compute_sum()
        data = hf.marshal()
        try:
            atomic_write(self.sum_path, data, mode=0o644)
        except OSError as exc:
            raise MigrationDirError(
                f"cannot write {self.sum_path}: {exc.strerror}", "check the directory's permissions"
            ) from None
        return hf

    def nul_files(self) -> list[tuple[MigrationFile, int]]:
        """(file, byte offset) of every file holding a NUL byte."""
        return [(f, f.nul_offset()) for f in self.files() if f.nul_offset() >= 0]

    def validate(self, *, nul_ok: bool = False) -> HashFile:
        """Atlas's Validate: raises ChecksumError (with Atlas's report) or returns the computed sum.

        Unless nul_ok (migrate-hash/validate only warn: Atlas hashes such a file), a
        file holding a NUL byte is refused first: nothing can run it as written.
        """
        self._check_exists()
        computed = self.compute_sum()
        if not nul_ok:
            for f, _ in self.nul_files()[:1]:
                f.check_nul()
        stated = self.read_sum()
        if stated is None:
            if computed.entries or self.files():
                raise ChecksumError(
                    f"checksum file not found: {self.sum_path}",
                    "run `inv migrate-hash` to create it",
                    output=render_checksum_report(None),
                )
            return computed
        diff = first_divergence(stated, computed)
        if diff is not None:
            raise ChecksumError(
                f"checksum mismatch in {self.path}: L{diff.line}: {diff.file} was {diff.reason}",
                output=render_checksum_report(diff),
            )
        return computed

    def versions_check(self) -> None:
        """Our own checks beyond Atlas's: every file has a version, versions are unique."""
        check_versions(self.files())


def version_problems(files: Sequence[MigrationFile]) -> list[tuple[MigrationFile, str, str]]:
    """Our checks beyond Atlas's, as (file, message, hint) in file order.

    Atlas hashes and lists every top-level ``*.sql`` file, dotfiles and
    duplicate versions included (``LocalDir.Files`` in ``sql/migrate/dir.go``),
    so ``migrate-hash`` never runs these; validate, lint and apply do.
    """
    out: list[tuple[MigrationFile, str, str]] = []
    seen: dict[str, MigrationFile] = {}
    for f in files:
        if f.name.startswith("."):
            out.append(
                (
                    f,
                    f"hidden file {f.path}: a migration file name starting with '.' is easy to miss "
                    "(Atlas still hashes and runs it)",
                    "rename it to VERSION_description.sql, or move it out of the migration directory",
                )
            )
            continue
        if not f.version:
            out.append(
                (
                    f,
                    f"invalid migration file name {f.path}: it has no version before the first '_'",
                    "name it VERSION_description.sql, e.g. 20240204000001_initial.sql or 0003_add_x.sql",
                )
            )
            continue
        prev = seen.get(f.version)
        if prev is not None:
            hint = "give one of them a new version (`inv migrate-new` picks the next one) and re-hash"
            if f.format == "atlas" and {prev.name, f.name} <= {
                n for n in (prev.name, f.name) if n.endswith((".up.sql", ".down.sql"))
            }:
                hint = (
                    "these look like golang-migrate up/down files: read the directory with "
                    "--dir-format golang-migrate (only *.up.sql are migrations then)"
                )
            out.append((f, f"duplicate migration version {f.version}: {prev.path} and {f.path}", hint))
            continue
        seen[f.version] = f
    return out


def check_versions(files: Sequence[MigrationFile]) -> None:
    problems = version_problems(files)
    if problems:
        _, message, hint = problems[0]
        raise MigrationDirError(message, hint)
