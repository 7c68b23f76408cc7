"""`python -m bot run`, optionally without python-telegram-bot's AIORateLimiter.

`--no-limiter` measures what the bot itself costs per update: the shipped bot
limits every request that names a chat to 30 per second overall (Telegram's
broadcast limit), which caps end-to-end throughput at 30 replies/s.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import bot.channels.telegram.app as telegram_app
from bot import cli


def _no_limiter(**_: Any) -> None:
    return None


def lift_limiter() -> None:
    """Build the application (bot or echo bot) with no rate limiter: the builder's
    `.rate_limiter(None)` is python-telegram-bot's own "no limiter"."""
    setattr(telegram_app, "AIORateLimiter", _no_limiter)  # noqa: B010 - patching a module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--no-limiter", action="store_true")
    args = parser.parse_args()
    if args.no_limiter:
        lift_limiter()
    return cli.run()


if __name__ == "__main__":
    sys.exit(main())
