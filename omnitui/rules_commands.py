"""`omnitui rules test`: which automation rules a message would fire, changing nothing.

With `--from ADDRESS` the customer's tags and language come from the store when
the address is a known identity. The event is `message`; it is also
`new_conversation` when the customer is unknown, has never written, or their
conversation is resolved, as it would be for a message arriving now.
Both events are evaluated separately, `new_conversation` first, each with its
own `stop`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from omnitui.adapters.runner import configured_channels
from omnitui.cli import EXIT_OK
from omnitui.domain.rule_words import describe
from omnitui.i18n import tr

if TYPE_CHECKING:
    from omnitui.config import Settings
    from omnitui.domain.models import CannedReply, Contact
    from omnitui.domain.rules import Rule
    from omnitui.store import Store


def shop_open(settings: Settings) -> bool | None:
    """Whether the shop is open now, for the rules' `hours` condition.

    None: no `[hours]` is configured (rules then treat the shop as open)."""
    hours = settings.business_hours()
    if hours is None:
        return None
    from datetime import UTC, datetime

    return hours.is_open(datetime.now(UTC))


def unknown_replies(rules: Sequence[Rule], shortcuts: set[str]) -> list[tuple[str, str]]:
    """(rule name, shortcut) for each rule whose reply names no canned reply."""
    return [(r.name, r.then.reply) for r in rules if r.then.reply and r.then.reply not in shortcuts]


async def _customer(store: Store, address: str) -> tuple[Contact | None, bool]:
    """The customer with `address`, and whether their next message starts a
    conversation (unknown, never written, or their conversation resolved)."""
    from omnitui.domain.models import ThreadStatus

    contact = await _known(store, address)
    if contact is None:
        return None, True
    if contact.status is ThreadStatus.RESOLVED:
        return contact, True
    counts = await store.identity_message_counts(contact.id)
    return contact, not any(counts.values())


async def _known(store: Store, address: str) -> Contact | None:
    from omnitui.domain.identity import normalize
    from omnitui.domain.models import IdentityKind

    for kind in IdentityKind:
        try:
            normal = normalize(kind, address)
        except ValueError:  # not an address of this kind (InvalidAddress is one)
            continue
        owner = await store.address_owner(kind, normal)
        if owner is not None:
            return await store.get_contact(owner)
    return None


async def cmd_rules_test(
    settings: Settings, text: str, channel: str | None, address: str | None
) -> int:
    from omnitui.domain.rules import Event, evaluate

    rules = settings.rules()
    shortcuts: set[str] = set()
    contact, starts = None, True
    if settings.store_exists():  # never made here: the test changes nothing
        store = await settings.open_store()
        try:
            shortcuts = {c.shortcut for c in await store.canned_replies()}
            if address:
                contact, starts = await _customer(store, address)
        finally:
            await store.close()
    for name, shortcut in unknown_replies(rules, shortcuts):
        print(
            tr("warning: rule {rule} replies with /{shortcut}, which is no canned reply").format(
                rule=name, shortcut=shortcut
            )
        )
    kind, name = channel or "", ""
    for configured in configured_channels(settings):
        if configured.account == channel:
            kind, name = str(configured.kind), configured.account
    if address:
        print(
            tr("customer: {name}").format(name=contact.name or address)
            if contact
            else tr("customer: unknown ({address})").format(address=address)
        )
    events = ["message"]
    if starts:
        events.insert(0, "new_conversation")
    fired = False
    for event_kind in events:
        event = Event(
            kind=event_kind,
            text=text,
            channel_kind=kind,
            channel_name=name,
            tags=frozenset(contact.tags) if contact else frozenset(),
            language=contact.language if contact else "",
            open=shop_open(settings),
        )
        for firing in evaluate(rules, event):
            fired = True
            print(tr("{rule} (on {event}):").format(rule=firing.rule, event=event_kind))
            for line in describe(firing):
                print(f"  {line}")
    if not fired:
        print(tr("no rule fires"))
    return EXIT_OK


def unfilled_placeholders(
    rules: Sequence[Rule], replies: Sequence[CannedReply], shop_values: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(rule, shortcut, placeholder) for each placeholder of a rule's canned reply
    that a customer's profile may lack and that has no fallback: such a reply
    is not sent to that customer (its ⚙ line says so)."""
    from omnitui.domain.templates import PLACEHOLDER

    always = {k.lower() for k in shop_values} | {"name", "first_name"}
    found: list[tuple[str, str, str]] = []
    for rule in rules:
        shortcut = rule.then.reply
        for reply in (r for r in replies if shortcut and r.shortcut == shortcut):
            for match in PLACEHOLDER.finditer(reply.body):
                name, fallback = match.group(1), match.group(2)
                if name and fallback is None and name.lower() not in always:
                    entry = (rule.name, reply.shortcut, name)
                    if entry not in found:
                        found.append(entry)
    return found


def _stored_canned(settings: Settings) -> list[CannedReply] | None:
    """The store's canned replies; None when the store cannot be read (the
    doctor's store line says why)."""
    import asyncio

    async def canned() -> list[CannedReply] | None:
        if not settings.store_exists():
            return None
        try:
            store = await settings.open_store()
        except Exception:  # the store line above says why
            return None
        try:
            return await store.canned_replies()
        finally:
            await store.close()

    return asyncio.run(canned())


def doctor_csat(settings: Settings) -> bool:
    """`omnitui doctor`'s line for the satisfaction survey: an `ask` that names
    no canned reply fails (nobody would be asked)."""
    csat = settings.csat
    replies = _stored_canned(settings)
    if replies is not None and not any(r.shortcut == csat.ask for r in replies):
        print(f"FAIL  csat     ask = /{csat.ask} is no canned reply: nobody is asked")
        return False
    print(f"ok    csat     asks with /{csat.ask}, once per customer in {csat.every_days} days")
    return True


def doctor_rules(settings: Settings) -> bool:
    """`omnitui doctor`'s lines for the rules: each rule, an unknown canned reply,
    and a placeholder an automatic reply may not be able to fill."""
    rules = settings.rules()
    replies = _stored_canned(settings)
    known = {c.shortcut for c in replies} if replies is not None else None
    missing = dict(unknown_replies(rules, known)) if known is not None else {}
    for rule in rules:
        if rule.name in missing:
            print(f"FAIL  rule     {rule.name}: /{missing[rule.name]} is no canned reply")
        else:
            print(f"ok    rule     {rule.name} (on {rule.on})")
    for name, shortcut, placeholder in unfilled_placeholders(
        rules, replies or [], settings.shop_values()
    ):
        print(
            f"--    rule     {name}: /{shortcut} uses {{{placeholder}}} without a fallback; "
            f"customers without it get no automatic reply (write {{{placeholder}|…}})"
        )
    return not missing
