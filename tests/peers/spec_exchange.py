"""An aiohttp request and answer as openapi-core reads them (the spec-checked peers)."""

from __future__ import annotations

from aiohttp import web


class SpecRequest:
    """An aiohttp request as openapi-core reads one, on the provider's own `host`."""

    def __init__(self, request: web.Request, body: bytes, host: str) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = host
        self.path = request.path
        self.method = request.method.lower()
        self.body = body or None
        self.content_type = request.content_type if body else ""
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.query.items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class SpecResponse:
    """An aiohttp answer as openapi-core reads one."""

    def __init__(self, response: web.Response) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = response.status
        self.content_type = response.content_type
        self.headers = Headers(list(response.headers.items()))
        body = response.body
        self.data = body if isinstance(body, bytes) else None
