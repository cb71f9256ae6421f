"""Canned replies as a TOML file, so a shop can keep its replies in git.

[[reply]]
shortcut = "thanks"
language = "ja"          # optional: the variant for contacts in this language
title = "お礼"
body = "{name|お客様}様、ご連絡ありがとうございます。"
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

from omnitui.domain.models import CannedReply


@dataclass(frozen=True, slots=True)
class ImportResult:
    replies: list[tuple[str, str, str, str]]  # (shortcut, title, body, language)
    problems: list[str]


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def dump(replies: Iterable[CannedReply]) -> str:
    out = ["# OmniTUI canned replies: `omnitui canned import` reads this file back.", ""]
    for reply in replies:
        out.append("[[reply]]")
        out.append(f"shortcut = {_string(reply.shortcut)}")
        if reply.language:
            out.append(f"language = {_string(reply.language)}")
        out.append(f"title = {_string(reply.title)}")
        out.append(f"body = {_string(reply.body)}")
        out.append("")
    return "\n".join(out)


def load(text: str) -> ImportResult:
    """Parse a canned-replies file; a bad entry is reported and the rest kept."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ImportResult([], [f"not valid TOML: {exc}"])
    entries = data.get("reply", [])
    problems = [f"unknown key {key!r}" for key in data if key != "reply"]
    if not isinstance(entries, list):
        return ImportResult([], ["`reply` must be a list of [[reply]] tables"])
    replies: list[tuple[str, str, str, str]] = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"reply {n}: not a table")
            continue
        unknown = set(entry) - {"shortcut", "language", "title", "body"}
        values = {k: entry.get(k, "") for k in ("shortcut", "language", "title", "body")}
        bad = [k for k, v in values.items() if not isinstance(v, str)]
        if unknown or bad or not values["shortcut"] or not values["body"]:
            why = (
                f"unknown key {sorted(unknown)[0]!r}"
                if unknown
                else f"{bad[0]} must be text"
                if bad
                else "needs a shortcut and a body"
            )
            problems.append(f"reply {n}: {why}")
            continue
        shortcut = str(values["shortcut"]).strip().lstrip("/")
        replies.append(
            (shortcut, str(values["title"]), str(values["body"]), str(values["language"]))
        )
    return ImportResult(replies, problems)
