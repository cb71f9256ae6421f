"""What changed in the store: the kinds of change every console reacts to.

The store writes one row to its change log for each change, with its kind;
the hub reads the log and hands batches of kinds to the consoles. The kinds
are stored as their text, so a `ChangeKind` compares equal to the string that
older rows and other consoles wrote.
"""

from __future__ import annotations

from enum import StrEnum


class ChangeKind(StrEnum):
    INBOUND = "inbound"  # a customer wrote
    MESSAGE = "message"  # a stored message changed (its text, a file kept)
    OUTBOX = "outbox"  # a reply was queued, withdrawn or taken by a sender
    DELIVERY = "delivery"  # a provider said what became of a reply
    CONTACT = "contact"  # a contact's profile, identities or tags
    STATUS = "status"  # open, pending, resolved, snoozed
    READ = "read"  # a thread was read
    ASSIGN = "assign"  # who answers a contact
    MERGE = "merge"  # contacts merged or split
    NOTE = "note"  # an internal note
    DRAFT = "draft"  # a reply being written was kept
    COMPOSING = "composing"  # an agent started or stopped replying
    CONSENT = "consent"  # a customer opted out of, or back into, SMS
    CANNED = "canned"  # the canned replies
    CHANNEL = "channel"  # a channel's health
    AUTOMATION = "automation"  # a rule fired (its line in the thread, a notice)
