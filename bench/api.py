"""The local API answering `GET /contacts?q=` on the 1,000,000-message store (issue 20).

    python bench/build_store.py && python bench/api.py           # bench/out/bench.db
    python bench/api.py /path/to/bench.db --repeat 20            # a store built elsewhere
    python bench/api.py --postgresql                              # the same store on PostgreSQL

With `--postgresql` the store is the PostgreSQL copy bench/pg_store.py keeps
(a cluster under bench/out/pg, database `bench`; built there when missing).

The store is the one build_store.py makes (5,000 contacts, 1,000,000
messages); it is only read. The API runs as the channel runner runs it (a
`LocalApi` on a loopback port, the bearer token from the environment), and a
script's aiohttp client asks it, over HTTP, for the customers a query finds:
names, addresses, Japanese words, common English words and a rare one. Each
query is asked once first (not counted: cold pages), then `--repeat` times.

The floor is the same search called in the same process, without HTTP or
JSON: `store.search` with the limit the API uses (what the console's `/`
search costs). Target: p95 under 50 ms (DESIGN.md's search target).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import build_store
from run import ms, quantile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

TARGET = 0.050  # seconds, p95
LIMIT = 20  # contacts per answer (the API's default)
TOKEN_ENV = "OMNITUI_BENCH_API_TOKEN"

QUERIES = {
    "name": ["高橋 大輔", "Hannah Baker", "佐藤", "Olivia"],
    "address": ["emma.brown2222@example.com", "+819010002357", "yamamoto48", "704537587"],
    "Japanese": ["予約", "配達", "ありがとう", "ご予約 確認"],
    "common": ["order", "delivery", "thanks", "the"],
    "rare": [build_store.RARE_WORD],
}


async def bench(spec: str, repeat: int) -> int:
    import aiohttp
    from probe import open_bench_store

    from omnitui.adapters.api import SEARCH_FOR_CONTACTS, LocalApi
    from omnitui.config import ApiConfig, HostPort
    from tests.peers.dovecot import free_port

    token = secrets.token_urlsafe(24)
    os.environ[TOKEN_ENV] = token
    store = await open_bench_store(spec)
    port = free_port()
    api = LocalApi(ApiConfig(listen=HostPort("127.0.0.1", port), token_env=TOKEN_ENV), store)
    served = asyncio.create_task(api.run())
    await asyncio.wait_for(api.listening.wait(), 30)
    reach = max(SEARCH_FOR_CONTACTS, 3 * LIMIT)
    times: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    floor: list[float] = []
    found: dict[str, int] = {}
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as session:
            for kind, queries in QUERIES.items():
                for query in queries:
                    params = {"q": query, "limit": str(LIMIT)}
                    for n in range(repeat + 1):
                        started = time.perf_counter()
                        async with session.get("/contacts", params=params) as answer:
                            body = await answer.json()
                        spent = time.perf_counter() - started
                        assert answer.status == 200, body
                        if n:
                            times[kind].append(spent)
                        found[query] = len(body["items"])
                        started = time.perf_counter()
                        await store.search(query, limit=reach)
                        if n:
                            floor.append(time.perf_counter() - started)
            # A page without q (by last activity), for comparison.
            plain: list[float] = []
            for n in range(repeat + 1):
                started = time.perf_counter()
                async with session.get("/contacts", params={"limit": str(LIMIT)}) as answer:
                    await answer.read()
                if n:
                    plain.append(time.perf_counter() - started)
    finally:
        served.cancel()
        await asyncio.gather(served, return_exceptions=True)
        await store.close()

    everything = [t for kind in times.values() for t in kind]
    p50, p95 = statistics.median(everything), quantile(everything, 0.95)
    f50, f95 = statistics.median(floor), quantile(floor, 0.95)
    print(f"store {spec}: GET /contacts?q=...&limit={LIMIT}, {len(everything)} timed requests")
    print(f"{'what':<34} {'p50':>9} {'p95':>9}   {'floor p50':>9} {'floor p95':>9}  ratio")
    for kind, taken in times.items():
        print(
            f"{'  ' + kind + ' (' + str(len(QUERIES[kind])) + ' queries)':<34} "
            f"{ms(statistics.median(taken)):>9} {ms(quantile(taken, 0.95)):>9}"
        )
    print(
        f"{'all queries':<34} {ms(p50):>9} {ms(p95):>9}   {ms(f50):>9} {ms(f95):>9}"
        f"  {p95 / f95:.1f}x"
    )
    print(
        f"{'GET /contacts (no q, a page)':<34} {ms(statistics.median(plain)):>9} "
        f"{ms(quantile(plain, 0.95)):>9}"
    )
    print("contacts answered per query: " + "; ".join(f"{q!r} {n}" for q, n in found.items()))
    ok = p95 < TARGET
    print(f"target: p95 under {ms(TARGET)}: {'ok' if ok else 'MISSED'} ({ms(p95)})")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "path", nargs="?", type=Path, help="store file (default bench/out/bench.db)"
    )
    parser.add_argument("--repeat", type=int, default=10, help="timed runs of each query")
    parser.add_argument(
        "--postgresql", action="store_true", help="the store's copy on PostgreSQL (bench/out/pg)"
    )
    args = parser.parse_args(argv)
    path: Path = args.path or build_store.FULL[0]
    if not args.postgresql:
        if not path.exists():
            parser.error(f"{path} does not exist: build it with `python bench/build_store.py`")
        return asyncio.run(bench(str(path), args.repeat))
    from pg_store import ensure_database

    from tests.peers.postgres import PASSWORD, PgCluster, bindir

    where = bindir()
    if where is None:
        parser.error("PostgreSQL is not installed: apt-get install postgresql")
    cluster = PgCluster.kept_at(build_store.OUT / "pg", where)
    os.environ["OMNITUI_BENCH_PG_PASSWORD"] = PASSWORD
    try:
        _, contacts, messages = build_store.FULL
        url = ensure_database(cluster, "bench", contacts, messages)
        return asyncio.run(bench(url, args.repeat))
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
