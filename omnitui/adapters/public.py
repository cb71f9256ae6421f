"""The channel runner's public listener: one-click unsubscribe and broadcast images.

The process that runs the channels (`omnitui serve`, or a console that runs
them) listens on `[broadcast] public_listen`, behind the shop's HTTPS proxy at
`public_url` (the links' shapes are in `omnitui.domain.public_links`):

- `GET /unsubscribe/<token>`: a small page, in the language the broadcast
  spoke to the customer in, naming the shop, with a button. A GET never opts
  anyone out: mail scanners open every link in a message.
- `POST /unsubscribe/<token>` with `List-Unsubscribe=One-Click` (RFC 8058,
  what mail apps send, and what the page's button sends): no more broadcasts
  to exactly the address that link was sent to. Asking twice is asking once.
- `GET /media/<token>`: a broadcast's image as stored; `/preview` the same
  as a JPEG of at most 1 MB and about 1024 px (made once, then kept).

An unknown token is answered 404. Bodies are capped; every refusal is logged
without the body, and a token is never logged whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from omnitui.config import BroadcastConfig, HostPort

if TYPE_CHECKING:
    from aiohttp import web

    from omnitui.store.protocol import StoreProtocol
    from omnitui.store.records import UnsubscribeRecipient

log = logging.getLogger("omnitui.public")

MAX_BODY = 4096  # bytes: an unsubscribe POST is a few dozen
PREVIEW_BYTES = 1_000_000  # LINE's limit for a preview image
PREVIEW_SIDE = 1024  # pixels, the longer side of a preview
ONE_CLICK = "One-Click"  # RFC 8058: the body is List-Unsubscribe=One-Click
# An hour: an image stops being served when its broadcast is cancelled.
IMAGE_CACHE = "public, max-age=3600"
PAGE_CACHE = "no-store"
GREETING = "OmniTUI public listener\n"  # what `GET /` says, so `omnitui doctor` knows it

# The pages, in the customer's language (the broadcast's), not the console's.
PAGES = {
    "ja": {
        "lang": "ja",
        "title": "配信停止",
        "ask": "{shop}からの配信メッセージを停止しますか？",
        "button": "配信を停止する",
        "done": "{shop}からの配信メッセージを停止しました。今後はお送りしません。",
        "after": "お問い合わせへのご返信は、これまでどおりお送りします。",
        "unknown": "このリンクは無効です。",
        "shop": "当店",  # without a [shop] name
    },
    "en": {
        "lang": "en",
        "title": "Unsubscribe",
        "ask": "Stop receiving broadcast messages from {shop}?",
        "button": "Unsubscribe",
        "done": "You will receive no more broadcast messages from {shop}.",
        "after": "Answers to your own questions are not affected.",
        "unknown": "This link is not valid.",
        "shop": "this shop",
    },
}


def shown_token(token: str) -> str:
    """A token as the log may show it: its first characters only."""
    return f"{token[:4]}…" if token else "(none)"


def shown_path(path: str) -> str:
    """A request's path as the log may show it: every part long enough to be
    a token cut short, and the whole at most 80 characters."""
    parts = [shown_token(part) if len(part) >= 16 else part for part in path.split("/")]
    return "/".join(parts)[:80]


def _page(language: str, shop: str, body: str) -> str:
    words = PAGES.get(language, PAGES["en"])
    title = html.escape(f"{words['title']} - {shop}" if shop else words["title"])
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{words["lang"]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title></head>\n"
        '<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto; padding: 0 1em">\n'
        f"<h1>{html.escape(shop or words['title'])}</h1>\n{body}</body></html>\n"
    )


def ask_page(language: str, shop: str, token: str) -> str:
    """The page an unsubscribe link opens: what it does, and a button that does it."""
    words = PAGES.get(language, PAGES["en"])
    ask = html.escape(words["ask"].format(shop=shop or words["shop"]))
    # The form posts the same body a mail app does, to this very link (relative:
    # the shop's proxy may serve it under a path of its own).
    return _page(
        language,
        shop,
        f"<p>{ask}</p>\n"
        f'<form method="post" action="{html.escape(token, quote=True)}">'
        f'<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">'
        f'<button type="submit">{html.escape(words["button"])}</button></form>\n',
    )


def done_page(language: str, shop: str) -> str:
    """The page after the opt-out (or on a link already used)."""
    words = PAGES.get(language, PAGES["en"])
    done = html.escape(words["done"].format(shop=shop or words["shop"]))
    return _page(language, shop, f"<p>{done}</p>\n<p>{html.escape(words['after'])}</p>\n")


def unknown_page(shop: str) -> str:
    """The page for a link the shop does not know, in both languages."""
    return _page(
        "en", shop, "".join(f"<p>{html.escape(PAGES[k]['unknown'])}</p>\n" for k in ("ja", "en"))
    )


def make_preview(data: bytes) -> bytes:
    """`data` (an image) as a JPEG of at most `PREVIEW_BYTES`, its longer side
    at most `PREVIEW_SIDE` pixels. Raises for data Pillow cannot read as an
    image (`OSError` mostly)."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        opened.seek(0)  # an animation: its first frame
        picture = ImageOps.exif_transpose(opened)
        if picture.mode != "RGB":
            background = Image.new("RGB", picture.size, "white")
            rgba = picture.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            picture = background
        side = PREVIEW_SIDE
        while True:
            small = picture.copy()
            small.thumbnail((side, side))
            for quality in (85, 75, 60, 45):
                out = io.BytesIO()
                small.save(out, "JPEG", quality=quality, optimize=True)
                if out.tell() <= PREVIEW_BYTES:
                    return out.getvalue()
            side = side * 3 // 4


class PublicListener:
    """An aiohttp listener on `listen`: `await start()`, `await close()`."""

    def __init__(
        self, listen: HostPort, store: StoreProtocol, *, shop: str = "", max_bytes: int = MAX_BODY
    ) -> None:
        self.listen = listen
        self.max_bytes = max_bytes
        self._store = store
        self._shop = shop
        self._runner: web.AppRunner | None = None
        self._listening = False
        self._previews: dict[str, bytes] = {}  # public token -> its preview JPEG
        self._making: dict[str, asyncio.Task[bytes]] = {}

    @property
    def listening(self) -> bool:
        """It has its address and answers there."""
        return self._listening

    async def start(self) -> None:
        """Listen on `listen`; an address that cannot be had raises `OSError`."""
        from aiohttp import web

        @web.middleware
        async def refusals(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            return await self._refusals(request, handler)

        app = web.Application(client_max_size=self.max_bytes, middlewares=[refusals])
        app.router.add_get("/", self._greet)
        app.router.add_get("/unsubscribe/{token}", self._ask)
        app.router.add_post("/unsubscribe/{token}", self._unsubscribe)
        app.router.add_get("/media/{token}", self._image)
        app.router.add_get("/media/{token}/preview", self._preview)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runner = runner
        try:
            await web.TCPSite(runner, self.listen.bind_host, self.listen.port).start()
        except BaseException:
            await self.close()
            raise
        self._listening = True
        log.info("public listener on %s", self.listen)

    async def close(self) -> None:
        self._listening = False
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for task in self._making.values():
            task.cancel()
        self._making.clear()

    @staticmethod
    def _said(request: web.Request, status: int, why: str) -> None:
        """Log why `request` was not taken (never its body, never a whole token)."""
        log.warning(
            "public listener: refused %s %s from %s: %s (answered %d)",
            request.method,
            shown_path(request.path),
            request.remote,
            why,
            status,
        )

    async def _refusals(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """What the routes do not answer themselves: a path or method no route
        takes, and a store that could not answer (try again later)."""
        from aiohttp import web

        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400:
                self._said(request, exc.status, exc.reason)
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._said(request, 503, f"the store could not answer ({type(exc).__name__}: {exc})")
            return web.Response(
                status=503,
                text="busy, try again later",
                headers={"Retry-After": "60", "Cache-Control": PAGE_CACHE},
            )

    def _refuse(self, request: web.Request, status: int, why: str, page: str = "") -> web.Response:
        """Answer `request` with a refusal, and log why."""
        from aiohttp import web

        self._said(request, status, why)
        if page:
            return web.Response(
                status=status,
                text=page,
                content_type="text/html",
                charset="utf-8",
                headers={"Cache-Control": PAGE_CACHE},
            )
        return web.Response(status=status, text=why, headers={"Cache-Control": PAGE_CACHE})

    def _html(self, page: str) -> web.Response:
        from aiohttp import web

        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Cache-Control": PAGE_CACHE,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",  # the link's token stays here
            },
        )

    async def _greet(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.Response(text=GREETING, headers={"Cache-Control": PAGE_CACHE})

    async def _recipient(self, request: web.Request) -> UnsubscribeRecipient | None:
        return await self._store.unsubscribe_recipient(request.match_info["token"])

    async def _ask(self, request: web.Request) -> web.Response:
        recipient = await self._recipient(request)
        if recipient is None:
            return self._refuse(request, 404, "unknown unsubscribe token", unknown_page(self._shop))
        if recipient.opted_out:
            return self._html(done_page(recipient.language, self._shop))
        token = request.match_info["token"]
        return self._html(ask_page(recipient.language, self._shop, token))

    async def _unsubscribe(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if (request.content_length or 0) > self.max_bytes:
            return self._refuse(request, 413, f"the body is over {self.max_bytes} bytes")
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:  # sent in chunks, without a length
            return self._refuse(request, 413, f"the body is over {self.max_bytes} bytes")
        except ValueError:
            return self._refuse(request, 400, "the body is not a form")
        if form.get("List-Unsubscribe") != ONE_CLICK:
            return self._refuse(request, 400, "not List-Unsubscribe=One-Click")
        recipient = await self._recipient(request)
        if recipient is None:
            return self._refuse(request, 404, "unknown unsubscribe token", unknown_page(self._shop))
        await self._store.set_broadcast_opt_out(
            recipient.kind, recipient.address, True, one_click=True
        )
        if not recipient.opted_out:
            log.info(
                "contact %d asked for no more broadcasts with their unsubscribe link",
                recipient.contact_id,
            )
        return self._html(done_page(recipient.language, self._shop))

    async def _image(self, request: web.Request) -> web.StreamResponse:
        image = await self._store.public_image(request.match_info["token"])
        if image is None:
            return self._refuse(request, 404, "no image under that token")
        return self._bytes(request, image.data, image.content_type)

    async def _preview(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        image = await self._store.public_image(token)  # cancelled since: no longer served
        if image is None:
            return self._refuse(request, 404, "no image under that token")
        preview = self._previews.get(token)
        if preview is None:
            making = self._making.get(token)
            if making is None:  # one request makes it; others at once wait for it
                making = asyncio.create_task(asyncio.to_thread(make_preview, image.data))
                self._making[token] = making
            try:
                preview = await asyncio.shield(making)
            except Exception as exc:  # not an image Pillow can read
                return self._refuse(request, 404, f"the image cannot be read ({exc})")
            finally:
                if making.done():
                    self._making.pop(token, None)
            self._previews[token] = preview
        return self._bytes(request, preview, "image/jpeg")

    def _bytes(self, request: web.Request, data: bytes, content_type: str) -> web.StreamResponse:
        from aiohttp import web

        etag = hashlib.sha256(data).hexdigest()[:32]
        headers = {
            "Cache-Control": IMAGE_CACHE,
            "X-Content-Type-Options": "nosniff",
            "Content-Type": content_type,
        }
        given = request.headers.get("If-None-Match", "")
        if etag in (tag.strip().strip('"').removeprefix('W/"') for tag in given.split(",")):
            response = web.Response(status=304, headers=headers)
        else:
            response = web.Response(body=data, headers=headers)
        response.etag = etag
        return response


def public_listener(
    config: BroadcastConfig, store: StoreProtocol, shop: str
) -> PublicListener | None:
    """The listener `[broadcast] public_listen` asks for, or None."""
    if config.public_listen is None:
        return None
    return PublicListener(config.public_listen, store, shop=shop)


async def check(config: BroadcastConfig) -> list[tuple[bool, str]]:
    """`omnitui doctor`'s line on the listener: OmniTUI answers there, the port is
    free for it, or another program holds the port."""
    import socket

    import aiohttp

    listen = config.public_listen
    if listen is None:
        return []
    # Every interface ("" or 0.0.0.0) answers on loopback too.
    url = (
        f"http://{listen}/"
        if listen.host not in ("", "0.0.0.0")
        else f"http://127.0.0.1:{listen.port}/"
    )
    behind = f"(served at {config.public_url})"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session,
            session.get(url) as answer,
        ):
            said = await answer.text()
    except (aiohttp.ClientError, TimeoutError, OSError):
        said = None
    if said == GREETING:
        return [(True, f"listening on {listen} {behind}")]
    if said is not None:
        return [(False, f"{listen}: the port is taken by another program")]
    family = socket.AF_INET6 if ":" in listen.bind_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((listen.bind_host, listen.port))
        except OSError as exc:
            return [(False, f"{listen}: the port is taken ({exc.strerror or exc})")]
    return [(True, f"{listen} is free; the process that runs the channels listens there {behind}")]


__all__ = ["PublicListener", "check", "make_preview", "public_listener", "shown_token"]
