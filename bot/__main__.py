"""Command line: `python -m bot run | ask [--lang en] [TEXT] | import FILE [--dry-run] |
restore FILE | has-token`."""

from __future__ import annotations

import argparse
import gc
import sys

if __name__ == "__main__":
    # The cyclic collector is off while the program starts: loading the modules (the
    # bot's and python-telegram-bot's) and building the application allocate a few
    # hundred thousand objects that live as long as the process, and the collections
    # they set off found next to nothing to free (≈ 600 objects) for ≈ 35 ms of CPU, a
    # tenth of the start. `python -m bot run` turns it back on once the channels run
    # (bot/service.py, `started`); every other command before it does its work.
    gc.disable()

from bot import cli  # imported with the collector off


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=cli.DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        help="run the bot on each channel whose token is set (TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN)",
    )
    ask = sub.add_parser("ask", help="print the reply to TEXT, or an interactive console")
    ask.add_argument("text", nargs="*", help="what a user would send in a private chat")
    ask.add_argument("--lang", default="vi", choices=["vi", "en"])
    sub.add_parser(
        "has-token",
        help="exit 0 when a channel's token is set (environment or .env), else 1",
    )
    imp = sub.add_parser("import", help="validate and import a score file (CSV or XLSX)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check and preview only")
    imp.add_argument(
        "--same",
        action="append",
        default=[],
        metavar="NEW=KNOWN",
        help="a name in the file is the unit on record named KNOWN (repeatable)",
    )
    imp.add_argument(
        "--new",
        action="append",
        default=[],
        metavar="NAME",
        help="a name close to one on record is another unit (repeatable)",
    )
    res = sub.add_parser("restore", help="replace the database with a backup (bot stopped)")
    res.add_argument("file")
    res.add_argument(
        "--force", action="store_true", help="replace a current database that cannot be read"
    )
    args = parser.parse_args(argv)
    if args.command != "run":
        gc.enable()
    if args.command == "ask":
        return cli.ask(" ".join(args.text) if args.text else None, lang=args.lang)
    if args.command == "has-token":
        return cli.has_token()
    if args.command == "import":
        return cli.import_file(args.file, dry_run=args.dry_run, same=args.same, new=args.new)
    if args.command == "restore":
        return cli.restore(args.file, force=args.force)
    return cli.run()


if __name__ == "__main__":
    sys.exit(main())
