"""Saving a customer's attachments to the agent's downloads folder.

The name is the customer's, made safe (`safe_filename`); a name already there
gets " (1)", " (2)"... Nothing is overwritten: each file is created with
O_EXCL, so two consoles saving at once cannot write over each other.
"""

from __future__ import annotations

import os
from pathlib import Path

from omnitui.domain.safe_text import safe_filename


def free_name(folder: Path, name: str, n: int) -> Path:
    if n == 0:
        return folder / name
    stem, dot, ext = name.rpartition(".")
    return folder / (f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})")


def save(folder: Path, filename: str, data: bytes) -> Path:
    """Write `data` as the customer's `filename` in `folder`; the path it took.

    Raises OSError (a full disk, a folder that cannot be made or written…)
    for the caller to report: what was written of a failed file is removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_filename(filename)
    for n in range(10_000):
        target = free_name(folder, name, n)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
        except OSError:
            target.unlink(missing_ok=True)
            raise
        return target
    raise FileExistsError(f"{folder / name}: too many files of that name")
