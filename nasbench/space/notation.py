"""The architecture notation: ``Architecture.summary()`` read back into an ``Architecture``.

``s16 > res2x32k3 > inv1x64k5e6se.25/2 > relu bn`` is a stem (``s<width>[k<kernel>][/<stride>]``),
stages (``<block><depth>x<width>k<kernel>[d<dilation>][e<expansion>][g<growth>][se<ratio>][/2|/p]``
with block ``conv``, ``res``, ``bot``, ``inv``, ``se`` or ``dense``), and the global choices
(``<activation> bn|gn [head<width>] [drop<rate>] [<side>px]``), joined by `` > ``. What the summary
leaves out (free-form ``extra`` tags) is not part of the notation.
"""

from __future__ import annotations

import re
from typing import NoReturn

from nasbench.errors import ConfigError
from nasbench.space.architecture import ACTIVATION_ALIASES, ACTIVATIONS, Architecture, Stage

_BLOCKS = {"conv": "plain", "res": "residual", "bot": "bottleneck", "inv": "inverted", "se": "se", "dense": "dense"}
_STEM = re.compile(r"s(?P<width>\d+)(?:k(?P<kernel>\d+))?(?:/(?P<stride>\d+))?")
_STAGE = re.compile(
    r"(?P<block>conv|res|bot|inv|dense|se)(?P<depth>\d+)x(?P<width>\d+)k(?P<kernel>\d+)"
    r"(?:d(?P<dilation>\d+))?(?:e(?P<expansion>\d+))?(?:g(?P<growth>\d+))?"
    r"(?:se(?P<se>\d*\.?\d+(?:e-?\d+)?))?(?P<down>/2|/p)?"
)
_NORMS = {"bn": "batch", "gn": "group"}
_EXAMPLE = "e.g. 's16 > conv2x32k3/2 > res1x64k3 > relu bn'"


def parse_architecture(text: str) -> Architecture:
    """The ``Architecture`` that ``text`` (in the notation of ``Architecture.summary()``) describes.

    Raises ConfigError in one line naming the token at fault.
    """
    parts = [p.strip() for p in text.strip().split(">")]
    if len(parts) < 2 or not all(parts):
        raise ConfigError(
            f"architecture {text!r}: expected a stem, stages and the activation and norm joined by ' > ', {_EXAMPLE}."
        )
    stem = _STEM.fullmatch(parts[0])
    if stem is None:
        _bad(text, parts[0], "a stem 's<width>[k<kernel>][/<stride>]'")
    stages = tuple(_stage(text, p) for p in parts[1:-1])
    tail = _tail(text, parts[-1])
    try:
        return Architecture(
            stages=stages,
            stem_width=int(stem["width"]),
            stem_kernel=int(stem["kernel"] or 3),
            stem_stride=int(stem["stride"] or 1),
            **tail,
        )
    except ConfigError as e:
        raise ConfigError(f"architecture {text!r}: {e}") from None


def _bad(text: str, token: str, expected: str) -> NoReturn:
    raise ConfigError(f"architecture {text!r}: bad token {token!r}; expected {expected}, {_EXAMPLE}.")


def _stage(text: str, token: str) -> Stage:
    m = _STAGE.fullmatch(token)
    if m is None:
        _bad(
            text,
            token,
            "a stage '<block><depth>x<width>k<kernel>[d<dilation>][e<expansion>][g<growth>][se<ratio>][/2|/p]' "
            f"with block {', '.join(_BLOCKS)}",
        )
    ratio = m["se"]

    def num(name: str) -> int | None:
        return int(m[name]) if m[name] is not None else None

    try:
        return Stage(
            block=_BLOCKS[m["block"]],
            depth=int(m["depth"]),
            width=int(m["width"]),
            kernel=int(m["kernel"]),
            dilation=num("dilation") or 1,
            downsample={None: "none", "/2": "stride", "/p": "pool"}[m["down"]],
            expansion=num("expansion"),
            growth=num("growth"),
            se_ratio=float(ratio) if ratio is not None else None,
        )
    except ConfigError as e:
        raise ConfigError(f"architecture {text!r}: token {token!r}: {e}") from None


def _tail(text: str, part: str) -> dict:
    tokens = part.split()
    activations = (*ACTIVATIONS, *ACTIVATION_ALIASES)
    if len(tokens) < 2 or tokens[0] not in activations or tokens[1] not in _NORMS:
        bad = next((t for t in tokens[:1] if t not in activations), None)
        bad = bad or next((t for t in tokens[1:2] if t not in _NORMS), part)
        _bad(text, bad, f"the activation ({', '.join(ACTIVATIONS)}) then the norm (bn or gn) last")
    out: dict = {"activation": tokens[0], "norm": _NORMS[tokens[1]]}
    patterns = {
        "head_width": (re.compile(r"head(\d+)"), int),
        "head_dropout": (re.compile(r"drop(\d*\.?\d+)"), float),
        "resolution": (re.compile(r"(\d+)px"), int),
    }
    for token in tokens[2:]:
        for name, (pattern, kind) in patterns.items():
            if (m := pattern.fullmatch(token)) is not None and name not in out:
                out[name] = kind(m[1])
                break
        else:
            _bad(text, token, "at most one each of 'head<width>', 'drop<rate>' and '<side>px' after the norm")
    return out
