"""Fakes of the outside services the bot talks to, for the tests and the benchmarks.

``fakes.telegram`` is the Telegram Bot API; a fake of another messenger's API would sit
beside it. Not shipped: the installed packages are ``bot`` and ``ranking`` only.
"""
