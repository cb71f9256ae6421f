"""Desktop notifications for new customer messages, beside the console's toast.

Terminals show one when the program writes an escape sequence: OSC 9 (iTerm2,
WezTerm, kitty, Windows Terminal) or OSC 777 (foot, urxvt, GNOME Terminal and
other VTE terminals). On a local desktop `notify-send` works with any
terminal. `[ui] desktop_notifications` picks one, or "auto" guesses from the
environment; over SSH or inside tmux, "auto" stays quiet (neither passes the
sequence on).

Names in a notification come from customers: every control character (and
the `;` that separates OSC 777's fields) is taken out before anything is
written to the terminal.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from typing import Literal

Mode = Literal["auto", "osc9", "osc777", "notify-send", "off"]
MODES: tuple[Mode, ...] = ("auto", "osc9", "osc777", "notify-send", "off")

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069;]")


def resolve(mode: Mode, env: Mapping[str, str] | None = None) -> Mode:
    """The mode to use: "auto" made concrete for this terminal ("off" if none fits)."""
    if mode != "auto":
        return mode
    env = os.environ if env is None else env
    if env.get("TMUX") or env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        return "off"
    program = env.get("TERM_PROGRAM", "")
    if (
        program in ("iTerm.app", "WezTerm")
        or env.get("TERM") == "xterm-kitty"
        or env.get("WT_SESSION")
    ):
        return "osc9"
    if env.get("VTE_VERSION") or env.get("TERM", "").startswith(("foot", "rxvt")):
        return "osc777"
    if (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")) and shutil.which("notify-send"):
        return "notify-send"
    return "off"


def clean(text: str, limit: int = 120) -> str:
    """Text safe inside an escape sequence: no control characters, no `;`."""
    return " ".join(_UNSAFE.sub(" ", text).split())[:limit]


def sequence(mode: Mode, title: str, body: str) -> str:
    """The escape sequence that shows `title` and `body` ("" for the other modes)."""
    if mode == "osc9":
        return f"\x1b]9;{clean(title)}: {clean(body)}\x07"
    if mode == "osc777":
        return f"\x1b]777;notify;{clean(title)};{clean(body)}\x07"
    return ""


def command(title: str, body: str) -> list[str]:
    """The notify-send command line (arguments, never a shell)."""
    return ["notify-send", "--app-name=OmniTUI", clean(title), clean(body)]
