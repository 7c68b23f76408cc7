"""The end-to-end harness: the tests' fake Bot API server in this process, the bot
(or a baseline) as a separate process polling it, as `python -m bot run` would.

A separate process gives the bot its own interpreter and core, as in
production; the fake server's clock (`time.monotonic`, `Call.at`) is the one
this process measures with.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bench.common import CACHE, PYTHON, ROOT
from fakes.telegram import FakeBotAPI

TOKEN = "123456789:AAFbenchTOKENabcdefghijklmnopqrstuvwxyz0123"

BOT = ("-m", "bot", "run")
BOT_NO_LIMITER = ("-m", "bench.bot_runner", "--no-limiter")
ECHO = ("-m", "bench.echo_bot")  # built like the bot, with the limiter
ECHO_NO_LIMITER = ("-m", "bench.echo_bot", "--no-limiter")
# an echo bot like ECHO_NO_LIMITER answering with a reply of the bot's size
ECHO_SIZED_NO_LIMITER = ("-m", "bench.echo_bot", "--no-limiter", "--sized")
ECHO_BARE = ("-m", "bench.echo_bot", "--bare")  # PTB's defaults: start-up and memory


def bot_env(srv: FakeBotAPI, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "RANKBOT_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=srv.base_url,
        TELEGRAM_FILE_BASE_URL=srv.base_file_url,
        RANKBOT_DB=str(db),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class Process:
    def __init__(self, proc: asyncio.subprocess.Process, started: float, log: Path) -> None:
        self.proc = proc
        self.started = started  # time.monotonic() just before the spawn
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid


@asynccontextmanager
async def spawned(
    srv: FakeBotAPI, db: Path, argv: Sequence[str], name: str, **extra_env: str
) -> AsyncIterator[Process]:
    """Start `python <argv>` against `srv`; SIGTERM and wait on exit."""
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / f"{name}.log"
    with log.open("wb") as out:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            PYTHON,
            *argv,
            cwd=ROOT,
            env=bot_env(srv, db, **extra_env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
        try:
            yield Process(proc, started, log)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()


async def wait_polling(srv: FakeBotAPI, proc: Process, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until the process has made its first getUpdates call."""
    deadline = time.monotonic() + timeout
    while not srv.calls_since(0, "getUpdates"):
        if proc.proc.returncode is not None:
            raise RuntimeError(f"bot exited with {proc.proc.returncode}: see {proc.log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bot did not poll within {timeout} s: see {proc.log}")
        await asyncio.sleep(0.01)
