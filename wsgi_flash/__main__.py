"""Command line: ``python -m wsgi_flash checks`` prints the malformed-request
check catalogue."""

from __future__ import annotations

import sys

USAGE = "usage: python -m wsgi_flash checks"


def main(argv: list[str]) -> int:
    if argv == ["checks"]:
        from ._checks import format_checks

        print(format_checks())
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
