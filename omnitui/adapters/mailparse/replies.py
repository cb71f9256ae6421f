"""The new part of a reply: quoted history, quote headers and signatures folded away."""

from __future__ import annotations

# Quote folding runs regexes over the text; a megabyte of bug-tracker mail
# needs no folding beyond its head.
_REPLY_SCAN_CHARS = 30_000
FORWARD_LINE = "---------- Forwarded message ----------"


def fold_reply(text: str) -> str:
    """The new part of a message body: quoted history, quote headers ("On … wrote:",
    "2022年1月1日(金) 9:00 田中太郎 <…>:", Outlook "From:/Sent:") and signatures folded
    away. Returns `text` unchanged when there is nothing to fold."""
    if not text.strip():
        return text
    from mailparser_reply import EmailMessage  # loaded with the first mail, not at start-up

    try:
        found = EmailMessage(
            text=text[:_REPLY_SCAN_CHARS], languages=["ja", "en"], keep_hyphen_lists=True
        ).read()
        first = found.replies[0] if found.replies else None
        folded = first is not None and (len(found.replies) > 1 or first.headers or first.signatures)
        reply = _original_lines(text, str(first.body).strip()) if first and folded else text
        if len(found.replies) > 1:
            reply = "\n\n".join(filter(None, (reply, _answer_below(text, found.replies[1].body))))
    except Exception:  # a heuristic must never cost us the message
        return text
    reply = _trim_quotes(reply)
    if reply.endswith(FORWARD_LINE):  # a forward with no comment of its own
        reply = reply[: -len(FORWARD_LINE)].rstrip()
    if not reply.strip() or (not folded and reply.strip() == text.strip()):
        return text
    return reply


def _answer_below(text: str, fragment: str) -> str:
    """Text written below a '>' quote (bottom-posting, inline answers), which the
    reply parser would fold away with the quote."""
    lines = str(fragment).strip().split("\n")
    if not lines[0].startswith(">"):
        return ""  # an Outlook-style quote: its body is not marked, so all of it is history
    rest = _trim_quotes("\n".join(lines))
    return "" if rest.startswith(">") else _original_lines(text, rest)


def _trim_quotes(text: str) -> str:
    """Drop '>' quoted blocks above (Thunderbird top-quote) and below the new text;
    quotes in the middle are kept as context of an inline answer."""
    lines = text.split("\n")

    def quoted(line: str) -> bool:
        return not line.strip() or line.lstrip().startswith(">")

    start, end = 0, len(lines)
    while start < end and quoted(lines[start]):
        start += 1
    while end > start and quoted(lines[end - 1]):
        end -= 1
    return "\n".join(lines[start:end]) if start < end else text


def _original_lines(text: str, reply: str) -> str:
    """The reply parser strips every line (losing a leading full-width space, say);
    when the reply is a run of the text's lines, give those lines back as written."""
    wanted = reply.split("\n")
    lines = text.split("\n")
    stripped = [line.strip() for line in lines]
    for start, line in enumerate(stripped):
        if line == wanted[0] and stripped[start : start + len(wanted)] == wanted:
            return "\n".join(lines[start : start + len(wanted)]).rstrip()
    return reply
