"""Errors a user sees read in the console's language, and say what went wrong."""

from __future__ import annotations

import ast
import contextvars
from pathlib import Path

from omnitui.errors import OmniError, message
from omnitui.i18n import use_language
from tests.test_i18n import _error_names

PACKAGE = Path(__file__).resolve().parents[1] / "omnitui"


class ShopError(OmniError):
    template = "the shop is closed"


def _in(language: str, exc: BaseException) -> str:
    def run() -> str:
        use_language(language)  # type: ignore[arg-type]
        return message(exc)

    return contextvars.copy_context().run(run)


def test_an_error_keeps_english_for_logs_and_reads_japanese_in_a_japanese_console() -> None:
    exc = OmniError("Not sent: {reason}", reason="Twilio said 21211")
    assert str(exc) == "Not sent: Twilio said 21211"
    assert _in("en", exc) == "Not sent: Twilio said 21211"
    # The template is translated; the provider's words are kept as they were said.
    assert _in("ja", exc) == "送信していません: Twilio said 21211"


def test_an_error_inside_an_error_is_shown_in_the_same_language() -> None:
    inner = ShopError()
    outer = OmniError("Not sent: {reason}", reason=inner)
    assert str(outer) == "Not sent: the shop is closed"
    assert _in("ja", outer).startswith("送信していません: ")


def test_a_template_that_does_not_fit_its_values_still_says_everything() -> None:
    exc = OmniError("contact {contact} is gone", id=7)
    assert "contact" in str(exc) and "7" in str(exc)


def test_other_exceptions_are_shown_as_they_are() -> None:
    assert _in("ja", ValueError("bad")) == "bad"
    assert _in("ja", TimeoutError()) == "TimeoutError"


def test_every_error_a_user_sees_is_one_omni_error() -> None:
    """No exception class of OmniTUI's stands outside OmniError."""
    ours = _error_names()
    outside: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in ours:
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    outside.append(f"{path.relative_to(PACKAGE.parent)}: {node.name}{bases}")
    assert not outside, "exceptions outside OmniError:\n" + "\n".join(outside)


def _worded_before(arg: ast.expr) -> bool:
    """An f-string, a `.format(…)` or a `tr(…)`: text worded before the error was made."""
    if isinstance(arg, ast.JoinedStr):
        return True
    if isinstance(arg, ast.Call):
        func = arg.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in ("format", "tr")
    return False


def test_error_templates_are_written_out_not_formatted_before_raising() -> None:
    """`SomeError(f"…{x}")` would skip translation: templates are plain literals."""
    ours = _error_names()
    formatted: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ours and any(_worded_before(arg) for arg in node.args):
                formatted.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not formatted, "error templates built before raising:\n" + "\n".join(formatted)
