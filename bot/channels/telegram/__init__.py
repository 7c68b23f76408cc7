"""The Telegram channel (python-telegram-bot). `app.build_application` wires it."""
