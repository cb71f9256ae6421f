"""The one error type a user sees: an English template and its values.

Every error that can reach a person (the console, a toast, the command line,
a log line) is an `OmniError`. It keeps its template and its values apart, so
it can be read in any console's language, long after it was raised:

    raise StoreError("contact {contact} is gone", contact=7)

    str(exc)        -> "contact 7 is gone"            (logs, tests: English)
    exc.message()   -> the same in the active language (what a console shows)

The template is English and is the catalogue key, as for `tr`; a test reads
every `SomeError("…")` in the source and checks that Japanese has it. Values
are filled after translation; a value that is itself an `OmniError` is shown
in the same language. Text from outside (a provider's words, a path, an OS
error) goes in as a value and is never translated.
"""

from __future__ import annotations

from typing import ClassVar

from omnitui.i18n import tr


class OmniError(Exception):
    """An error for a person: a translatable template with named values."""

    # What the error says when raised without a template of its own.
    template: ClassVar[str] = "{reason}"

    def __init__(self, template: str | None = None, /, **values: object) -> None:
        self.text = template if template is not None else type(self).template
        self.values = values
        super().__init__(self._fill(self.text, translate=False))

    def _fill(self, text: str, *, translate: bool) -> str:
        shown = {
            name: (value.message() if translate else str(value))
            if isinstance(value, OmniError)
            else value
            for name, value in self.values.items()
        }
        try:
            return text.format(**shown)
        except (KeyError, IndexError, ValueError):
            # A template that does not fit its values still says something.
            return " ".join([text, *(f"{k}={v}" for k, v in shown.items())])

    def message(self) -> str:
        """The error in the console's language (English when it has no entry)."""
        return self._fill(tr(self.text), translate=True)


def message(exc: BaseException) -> str:
    """What to show a person for any exception: translated when it is ours."""
    if isinstance(exc, OmniError):
        return exc.message()
    return str(exc) or type(exc).__name__
