"""Messages a machine wrote: OmniTUI's automation never answers them."""

from __future__ import annotations

import re

_NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?)([-+_.].*)?$",
    re.IGNORECASE,
)


def automatic_address(address: str) -> bool:
    """Whether a sender's address is one nobody reads (no-reply, mailer-daemon…)."""
    local = address.rpartition("@")[0] if "@" in address else ""
    return bool(local) and bool(_NO_REPLY.match(local))
