"""The public addresses the channel runner serves behind the shop's HTTPS proxy.

`[broadcast] public_url` is where the shop's proxy forwards to the runner's
`public_listen`. Under it:

- `/unsubscribe/<token>`: a customer's one-click unsubscribe link (RFC 8058),
  a page on GET and the opt-out itself on POST;
- `/media/<token>`: a broadcast's image, which LINE and Twilio fetch by URL;
- `/media/<token>/preview`: the same image made small (LINE's preview, at
  most 1 MB).

Tokens are unguessable and carry no meaning: a link names one recipient (or
one broadcast's image) and nothing else.
"""

from __future__ import annotations

import secrets

UNSUBSCRIBE_PATH = "/unsubscribe/"
MEDIA_PATH = "/media/"
PREVIEW_SUFFIX = "/preview"


def new_token() -> str:
    """A fresh unguessable token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _base(public_url: str) -> str:
    return public_url.rstrip("/")


def unsubscribe_url(public_url: str, token: str) -> str:
    """A recipient's one-click unsubscribe link."""
    return _base(public_url) + UNSUBSCRIBE_PATH + token


def media_url(public_url: str, token: str) -> str:
    """Where a broadcast's image is fetched from."""
    return _base(public_url) + MEDIA_PATH + token


def preview_url(public_url: str, token: str) -> str:
    """Where a broadcast's image, made small for a preview, is fetched from."""
    return media_url(public_url, token) + PREVIEW_SUFFIX
