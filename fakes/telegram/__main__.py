"""``python -m fakes.telegram --port 8081 [--enforce-limits]``: the fake Bot API standalone.

For a person or a script driving ``python -m bot run`` (with ``TELEGRAM_API_BASE_URL`` and
``TELEGRAM_FILE_BASE_URL`` pointing here) through the control API of
:mod:`fakes.telegram.control`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from fakes.telegram.server import FakeBotAPI


async def _serve(args: argparse.Namespace) -> None:
    srv = FakeBotAPI(
        args.host,
        args.port,
        username=args.username,
        enforce_limits=args.enforce_limits,
        max_poll_timeout=args.max_poll_timeout,
        control_api=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with srv:
        print(f"fake Bot API on {srv.base_url}  (files: {srv.base_file_url})", flush=True)
        print(
            f"control: POST {srv.base_url[:-4]}/_control/updates | GET /_control/calls?since=N "
            "| POST /_control/files | GET /_control/state",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m fakes.telegram", description="a fake Telegram Bot API on 127.0.0.1"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--username", default="laocai_cds_bot")
    parser.add_argument("--enforce-limits", action="store_true")
    parser.add_argument(
        "--max-poll-timeout",
        type=float,
        default=30.0,
        help="cap on getUpdates long polling, seconds (default 30)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
