"""Flash message values and their cookie payload
================================================

What a flashed message may be (str, ``Markup``, JSON values), and the JSON
payload the flash cookie carries: ``[[category, message], ...]``, with a
third element ``1`` marking ``Markup``.
"""

from __future__ import annotations

import json
import math
import typing as t

from markupsafe import Markup

from ._signing import InvalidToken

Message = tuple[str, t.Any]

# ASCII output: a lone surrogate in a message must not fail at start_response time.
# Sorted keys: Flask's session JSON sorts them, so dict messages read back alike.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=True, allow_nan=False, sort_keys=True
)
#: The most digits of an int message: Python 3.11's default limit for
#: converting between int and str, here on every version, so what flash()
#: stores can always be written and read back.
MAX_INT_DIGITS = 4300
_INT_BOUND = 10**MAX_INT_DIGITS


def _parse_int(text: str) -> int:
    # A longer number is no int flash() stored; refused before int() works on it.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError("int too long")
    return int(text)


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999: flash() stores only finite floats
        raise ValueError("float out of range")
    return number


def _refuse_constant(name: str) -> t.NoReturn:
    # NaN, Infinity, -Infinity: not JSON, and never written by flash().
    raise ValueError(f"{name} is not JSON")


# One decoder for every cookie: json.loads with these hooks would build a new
# one (and its scanner) per call, which costs as much as the parsing.
_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
)


def storable(message: t.Any) -> t.Any:
    """``message`` as it will be stored; TypeError names what cannot be."""
    html = getattr(message, "__html__", None)
    if html is not None:
        return message if type(message) is Markup else Markup(html())
    if isinstance(message, str):
        return str(message)
    problem = _json_problem(message)
    if problem:
        raise TypeError(
            f"flash() can store str, Markup and JSON values (dict with str keys, list, str, int,"
            f" finite float, bool, None), not {problem}"
        )
    return message


def _json_problem(value: t.Any, depth: int = 0) -> str | None:
    kind = type(value)
    if kind is int:
        return None if -_INT_BOUND < value < _INT_BOUND else "an int of over 4300 digits"
    if kind in (str, bool) or value is None:
        return None
    if kind is float:
        return None if math.isfinite(value) else f"the float {value!r}"
    if depth > 32:
        return "a value nested over 32 levels deep"
    if kind is list:
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return f"a dict key of type {type(key).__name__}"
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    return f"a {kind.__name__}" + (" (use a list)" if kind is tuple else "")


def dump(messages: list[Message]) -> bytes:
    """The cookie payload for ``messages``: what ``_ENCODER.encode`` writes
    for the list of rows (the tests check it byte for byte).

    Str messages, the usual case, are written row by row from
    ``_ENCODER.encode`` of each string, which needs no set-up: encoding the
    whole list sets up a C encoder per call, which for one message costs
    17,100 instructions against 7,700 (a whole request that flashes costs
    about 63,000).
    """
    rows = []
    for category, message in messages:
        if type(category) is not str or type(message) is not str:
            break
        rows.append(f"[{_ENCODER.encode(category)},{_ENCODER.encode(message)}]")
    else:  # all str
        return f"[{','.join(rows)}]".encode("ascii")
    return _ENCODER.encode(
        [[c, str(m), 1] if type(m) is Markup else [c, m] for c, m in messages]
    ).encode("utf-8")


def parse(payload: bytes) -> list[Message]:
    """The messages in a verified payload; InvalidToken if malformed."""
    try:
        text = payload.decode("utf-8")
        data = _DECODER.decode(text)
    except ValueError:
        raise InvalidToken("payload not JSON") from None
    except RecursionError:
        # Only a holder of the key can sign such a payload (flash() refuses
        # values nested over 32 levels), but it is still no reason for a 500.
        raise InvalidToken("payload nests too deeply") from None
    if type(data) is not list:
        raise InvalidToken("payload of the wrong shape")
    messages: list[Message] = []
    for entry in data:
        if type(entry) is not list or type(entry[0] if entry else None) is not str:
            raise InvalidToken("payload of the wrong shape")
        if len(entry) == 2:
            message = entry[1]
            # What flash() would refuse (nested over 32 levels) could fail
            # when the cookie is written again: no messages, not a 500 later.
            if type(message) is not str and _json_problem(message):
                raise InvalidToken("payload holds a value flash() cannot store")
            messages.append((entry[0], message))
        elif len(entry) == 3 and entry[2] == 1 and type(entry[1]) is str:
            messages.append((entry[0], Markup(entry[1])))
        else:
            raise InvalidToken("payload of the wrong shape")
    return messages
