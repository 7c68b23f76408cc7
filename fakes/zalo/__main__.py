"""``python -m fakes.zalo --port 8082``: the fake Zalo Bot API for a manual run.

Point the bot at it with ``ZALO_API_BASE_URL=http://127.0.0.1:8082/bot`` and any token
of the form ``<digits>:<secret>`` (or the one given with ``--token``). Then, for example::

    curl -d '{"text": "bac ha"}' http://127.0.0.1:8082/_control/updates
    curl -d '{"text": "/top 10 huyen 2022", "group_id": "7a1c0e5b9d3f2a4c6e80"}' \\
        http://127.0.0.1:8082/_control/updates
    curl http://127.0.0.1:8082/_control/calls?since=0
    curl -X POST http://127.0.0.1:8082/_control/chats/7a1c0e5b9d3f2a4c6e80/unreachable
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from fakes.zalo.server import FakeZaloBotAPI


async def _serve(args: argparse.Namespace) -> None:
    srv = FakeZaloBotAPI(
        args.host,
        args.port,
        valid_tokens=[args.token] if args.token else None,
        max_poll_timeout=args.max_poll_timeout,
        error_http_status=args.error_http_status,
        enforce_limits=args.enforce_limits,
        fetch_photos=args.fetch_photos,
        control_api=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with srv:
        root = srv.base_url.removesuffix("/bot")
        print(f"fake Zalo Bot API: ZALO_API_BASE_URL={srv.base_url}", flush=True)
        print(
            f"control: POST {root}/_control/updates | POST {root}/_control/chats/ID/unreachable"
            f" | GET {root}/_control/calls?since=N | GET {root}/_control/state",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fakes.zalo", description="A fake Zalo Bot API on this machine."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", help="accept only this token (default: any well-formed)")
    parser.add_argument(
        "--max-poll-timeout",
        type=float,
        default=30.0,
        help="cap on getUpdates long polling, seconds (default 30)",
    )
    parser.add_argument(
        "--error-http-status",
        choices=["200", "mirror"],
        default="200",
        help="HTTP status of error answers: 200, or the error code itself",
    )
    parser.add_argument("--enforce-limits", action="store_true", help="assumed rate limits")
    parser.add_argument("--fetch-photos", action="store_true", help="download sendPhoto URLs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
