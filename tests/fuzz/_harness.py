"""Shared runner for the atheris fuzz targets
============================================

Each ``fuzz_<name>.py`` defines ``fuzz_one_input(data: bytes)``, which
raises on a broken invariant, and ends with ``main(fuzz_one_input,
"<name>")``. Run one with libFuzzer's options::

    python tests/fuzz/fuzz_forwarded.py -max_total_time=60

Unless told otherwise, the run starts from the seed corpus in
``tests/fuzz/corpus/<name>/`` (read, never written: new inputs stay in
memory unless a corpus directory is given) and uses the dictionary
``tests/fuzz/<name>.dict``. A failing input is written to
``crash-<sha1>`` in the current directory; replay it with
``python tests/fuzz/fuzz_<name>.py crash-<sha1>``.

Without atheris, :func:`replay` runs a target over its seeds and
deterministic mutations of them, which is what ``make test`` does
(``tests/test_fuzz_targets.py``).
"""

from __future__ import annotations

import gc
import logging
import random
import sys
import types
import typing as t
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
Target = t.Callable[[bytes], None]


def seeds(name: str) -> list[bytes]:
    """The seed corpus of target ``name``, in file name order."""
    return [path.read_bytes() for path in sorted((FUZZ_DIR / "corpus" / name).iterdir())]


def dictionary(name: str) -> list[bytes]:
    """The tokens of ``<name>.dict`` (libFuzzer's ``"..."`` lines with
    ``\\xNN``, ``\\\\`` and ``\\"`` escapes)."""
    path = FUZZ_DIR / f"{name}.dict"
    tokens = []
    for line in path.read_text("ascii").splitlines():
        line = line.strip()
        if line.startswith('"') and line.endswith('"') and len(line) > 1:
            tokens.append(line[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1"))
    return tokens


class LogCheck(logging.Handler):
    """Fails the input if a ``wsgi_flash`` log record is not one printable
    line, or carries a traceback (a check or parser that blew up and was
    caught); keeps the records of the current input for the target."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if record.exc_info is not None:
            raise AssertionError(f"{record.name} logged an exception: {line!r}")
        if not line.isprintable():
            raise AssertionError(f"{record.name} logged a non-printable line: {line!r}")
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


LOG = LogCheck()


def install_log_check() -> t.Callable[[], None]:
    """Route every ``wsgi_flash`` record to :data:`LOG` only (no output);
    returns a function that undoes it."""
    package = logging.getLogger("wsgi_flash")
    saved = package.level, package.propagate
    package.setLevel(logging.DEBUG)
    package.propagate = False
    package.addHandler(LOG)
    LOG.take()

    def undo() -> None:
        package.removeHandler(LOG)
        package.setLevel(saved[0])
        package.propagate = saved[1]
        LOG.take()

    return undo


def mutations(name: str, count: int, seed: int) -> t.Iterator[bytes]:
    """``count`` inputs made from the seeds of ``name`` by a few random
    edits each (bit flips, dictionary tokens, splices, cuts, repeats), the
    same ones for the same ``seed``."""
    rng = random.Random(seed)
    corpus = seeds(name)
    tokens = [*dictionary(name), b"\x00", b"\r\n", b"\x7f", b"\x80", b"\xff", b"%", b"\\"]
    for _ in range(count):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 4)):
            where = rng.randint(0, len(data))
            operation = rng.randrange(7)
            if operation == 0 and data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif operation == 1:
                data[where:where] = rng.choice(tokens)
            elif operation == 2 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif operation == 3:
                del data[where : where + rng.randint(1, 8)]
            elif operation == 4:
                other = rng.choice(corpus)
                data[where:] = other[rng.randint(0, len(other)) :]
            elif operation == 5:
                data[where:where] = data[where : where + rng.randint(1, 16)] * rng.randint(2, 40)
            else:
                data = data[:where]
        yield bytes(data)


def replay(target: Target, name: str, count: int, seed: int = 1) -> int:
    """Run ``target`` over the seeds of ``name`` and ``count`` mutations;
    return how many inputs ran. An exception names the input."""
    undo = install_log_check()
    ran = 0
    try:
        for data in [*seeds(name), *mutations(name, count, seed)]:
            try:
                target(data)
            except Exception as error:
                shown = repr(data[:300]) + (f"... ({len(data)} bytes)" if len(data) > 300 else "")
                raise AssertionError(f"fuzz_{name} failed on input {shown}") from error
            ran += 1
    finally:
        undo()
    return ran


# wsgi_flash and the pure-Python parsers it leans on. atheris's own
# instrument_all() also covers typing, Werkzeug and the rest of what was
# imported, and takes about 45 s to start.
INSTRUMENTED = ("wsgi_flash", "ipaddress", "json", "urllib", "itsdangerous", "markupsafe")


def instrument(atheris: t.Any) -> None:
    """Add coverage feedback to every loaded function of :data:`INSTRUMENTED`."""
    for obj in gc.get_objects():
        if (
            type(obj) is types.FunctionType
            and isinstance(obj.__module__, str)
            and obj.__module__.partition(".")[0] in INSTRUMENTED
        ):
            atheris.instrument_func(obj)


def main(target: Target, name: str) -> None:
    """Fuzz ``target`` with atheris, from the seeds of ``name``."""
    import atheris

    argv = list(sys.argv)
    options = [arg for arg in argv[1:] if arg.startswith("-")]
    paths = [arg for arg in argv[1:] if not arg.startswith("-")]
    # Replaying files (crash reproducers) needs neither seeds nor dictionary.
    if not any(Path(path).is_file() for path in paths):
        if not any(option.startswith("-seed_inputs=") for option in options):
            files = sorted((FUZZ_DIR / "corpus" / name).iterdir())
            argv.append("-seed_inputs=" + ",".join(str(path) for path in files))
        if not any(option.startswith("-dict=") for option in options):
            argv.append(f"-dict={FUZZ_DIR / f'{name}.dict'}")
    install_log_check()
    # Comparisons inside regexes guide the mutations. Not atheris's "str"
    # hook: it hands a str method's literal argument to its regex generator
    # unescaped, so the target's own value.startswith("[") raises inside
    # atheris (seen with atheris 2.3 on Python 3.9), a crash of the fuzzer,
    # not of the code under test.
    atheris.enabled_hooks.add("RegEx")
    instrument(atheris)
    atheris.Setup(argv, target)
    atheris.Fuzz()
