"""Writing a reply in the agent's own editor ($VISUAL, then $EDITOR).

The reply goes to a private temporary file (0600, removed afterwards: it is a
customer's conversation), the editor runs in the foreground, and what it
saved comes back. The caller hands the terminal over while it runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from omnitui.errors import OmniError


class EditorError(OmniError):
    """No editor is set, or it could not run; the message says what to do."""


def editor_command() -> list[str]:
    """The agent's editor as a command line: $VISUAL, else $EDITOR."""
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise EditorError(
                    "${variable} cannot be read: {reason}", variable=variable, reason=exc
                ) from None
    raise EditorError("Set $VISUAL or $EDITOR to your editor (for example: export EDITOR=nano)")


def edit(command: list[str], text: str) -> str | EditorError:
    """`text` edited by the editor `command`, or why it could not be (the
    reply stays as it was). Raises nothing: it runs while the console has
    handed the terminal over, and must hand it back whatever happens."""
    try:
        return _edit(command, text)
    except EditorError as exc:
        return exc
    except (OSError, UnicodeError) as exc:
        return EditorError("{reason}", reason=exc)


def _edit(command: list[str], text: str) -> str:
    with tempfile.TemporaryDirectory(prefix="omnitui-reply-") as folder:
        path = Path(folder) / "reply.txt"
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o600)
        try:
            finished = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            raise EditorError(
                "The editor {editor} did not start: {reason}",
                editor=command[0],
                reason=exc.strerror or exc,
            ) from None
        if finished.returncode != 0:
            raise EditorError(
                "The editor exited with status {code}; the reply is as it was",
                code=finished.returncode,
            )
        edited = path.read_text(encoding="utf-8", errors="replace")
    return edited.removesuffix("\n") if not text.endswith("\n") else edited
