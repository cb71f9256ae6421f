"""A shop's customer list in and out: CSV both ways, vCard in.

CSV columns (a header row names them, any order): `name`, `first_name`,
`language`, `email`, `phone`, `telegram`, `tags` (several values separated
by `;`); every
other column becomes a profile field (company, order_id, notes...). A bad
row is reported by its line number and the others are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from omnitui.domain.identity import InvalidAddress, normalize
from omnitui.domain.models import Contact, IdentityKind

FIXED = ("name", "first_name", "language", "email", "phone", "telegram", "line", "tags")
_KINDS = {
    "email": IdentityKind.EMAIL,
    "phone": IdentityKind.PHONE,
    "telegram": IdentityKind.TELEGRAM,
    "line": IdentityKind.LINE,
}


@dataclass(frozen=True, slots=True)
class ContactRecord:
    line: int
    name: str
    first_name: str = ""
    language: str = ""
    identities: tuple[tuple[IdentityKind, str], ...] = ()
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Parsed:
    records: list[ContactRecord]
    problems: list[str]


def _identities(
    values: dict[str, list[str]], region: str | None
) -> tuple[list[tuple[IdentityKind, str]], list[str]]:
    found: list[tuple[IdentityKind, str]] = []
    bad: list[str] = []
    for column, kind in _KINDS.items():
        for raw in values.get(column, []):
            if not raw.strip():
                continue
            try:
                found.append((kind, normalize(kind, raw, region)))
            except InvalidAddress as exc:
                bad.append(str(exc))
    return found, bad


def read_csv(text: str, *, region: str | None = None) -> Parsed:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "name" not in [f.strip().lower() for f in reader.fieldnames]:
        return Parsed([], ["line 1: the header needs at least a `name` column"])
    records: list[ContactRecord] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if None in row:
            problems.append(f"line {line}: more values than columns")
            continue
        identities, bad = _identities({k: clean.get(k, "").split(";") for k in _KINDS}, region)
        if bad:
            problems.append(f"line {line}: {bad[0]}")
            continue
        name = clean.get("name", "")
        if not name and not identities:
            problems.append(f"line {line}: needs a name or an address")
            continue
        records.append(
            ContactRecord(
                line=line,
                name=name or identities[0][1],
                first_name=clean.get("first_name", ""),
                language=clean.get("language", ""),
                identities=tuple(identities),
                tags=tuple(t.strip() for t in clean.get("tags", "").split(";") if t.strip()),
                fields={k: v for k, v in clean.items() if k not in FIXED and v},
            )
        )
    return Parsed(records, problems)


def read_vcards(text: str, *, region: str | None = None) -> Parsed:
    import vobject

    records: list[ContactRecord] = []
    problems: list[str] = []
    try:
        cards = list(vobject.readComponents(text, ignoreUnreadable=True))
    except Exception as exc:  # vobject raises its own ParseError and ValueErrors
        return Parsed([], [f"not a vCard file: {exc}"])
    for n, card in enumerate(cards, start=1):
        contents = card.contents
        name = str(contents["fn"][0].value).strip() if "fn" in contents else ""
        first = ""
        if "n" in contents:
            n_value = contents["n"][0].value
            first = str(getattr(n_value, "given", "") or "").strip()
            if not name:
                family = str(getattr(n_value, "family", "") or "").strip()
                name = f"{family} {first}".strip()
        emails = [str(e.value) for e in contents.get("email", [])]
        phones = [str(t.value) for t in contents.get("tel", [])]
        identities, bad = _identities({"email": emails, "phone": phones}, region)
        if bad:
            problems.append(f"card {n} ({name or '?'}): {bad[0]}")
            continue
        if not name and not identities:
            problems.append(f"card {n}: needs a name or an address")
            continue
        fields: dict[str, str] = {}
        if "org" in contents:
            org = contents["org"][0].value
            fields["company"] = " ".join(org) if isinstance(org, list) else str(org)
        if "note" in contents:
            fields["notes"] = str(contents["note"][0].value)
        records.append(
            ContactRecord(
                line=n,
                name=name or identities[0][1],
                first_name=first,
                identities=tuple(identities),
                fields=fields,
            )
        )
    return Parsed(records, problems)


def write_csv(contacts: Iterable[Contact]) -> str:
    rows = list(contacts)
    extra = sorted({k for c in rows for k in c.profile} - set(FIXED))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*FIXED, *extra])
    for c in rows:
        by_kind: dict[IdentityKind, list[str]] = {}
        for identity in c.identities:
            by_kind.setdefault(identity.kind, []).append(identity.address)
        writer.writerow(
            [
                c.name,
                c.first_name,
                c.language,
                ";".join(by_kind.get(IdentityKind.EMAIL, [])),
                ";".join(by_kind.get(IdentityKind.PHONE, [])),
                ";".join(by_kind.get(IdentityKind.TELEGRAM, [])),
                ";".join(by_kind.get(IdentityKind.LINE, [])),
                ";".join(c.tags),
                *(c.profile.get(k, "") for k in extra),
            ]
        )
    return out.getvalue()
