"""The Telegram application: built and wired in this one place.

`build_application` is the factory both `python -m bot run` and the tests call;
`start_channel` / `stop_channel` run it on the loop of `python -m bot run`
(bot/service.py), beside the other channels and on their shared store.
Every handler is registered here, from one table: each command of
bot/commands.py gets a CommandHandler (its own handler when the channel answers
it, the generic query handler otherwise), then documents, unknown commands,
plain text, mentions, buttons and inline queries, all in one handler group:
the first handler that matches answers, and a failure goes to the one error
handler instead of falling through to another handler. A second group holds one
handler only, which notes that the first update has been handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from http import HTTPStatus
from typing import Any, cast

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import MessageEntityType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.announcements import finish_announcements
from bot.answers import Answers
from bot.backup import refuse_damaged
from bot.channels.telegram import admin, announce, ops, queries
from bot.channels.telegram.access import Handler, let_through, translator
from bot.channels.telegram.context import CONTEXT_TYPES, BotApp, BotContext
from bot.channels.telegram.errors import on_error
from bot.channels.telegram.outbox import Outbox
from bot.channels.telegram.sending import ReplyRequest
from bot.commands import COMMANDS, Scope, menu, telegram_names
from bot.flood import FloodGuard
from bot.i18n import LANGUAGES, Translator
from bot.logs import RedactingFilter
from bot.settings import Settings
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store

log = logging.getLogger("rankbot")
SET_UP_GRACE = 2.0  # seconds the set-up calls may still take at shutdown
SET_UP_AFTER = 1.0  # seconds the set-up calls wait at most for a first update to be handled

# The commands Telegram answers with handlers of their own (bot/commands.py: channel=True).
CHANNEL_HANDLERS: dict[str, Handler] = {
    "subscribe": announce.subscribe_command,
    "unsubscribe": announce.unsubscribe_command,
    "upload": admin.upload_command,
    "history": admin.history_command,
    "undo": admin.undo_command,
    "announce": announce.announce_command,
    "status": announce.status_command,
    "backup": ops.backup_command,
    "admins": admin.admins_command,
    "template": admin.template_command,
}


def flood_guarded(handler: Handler) -> Handler:
    """The per-user limit before anything that costs a reply or a write (query
    handlers check it themselves, with the user's language)."""

    async def guarded(update: Update, context: BotContext) -> None:
        if await let_through(update, context, await translator(update, context)):
            await handler(update, context)

    guarded.__name__ = handler.__name__
    return guarded


def handlers() -> list[BaseHandler[Update, BotContext, Any]]:
    """Every handler, in the order they are tried."""
    new_messages = filters.UpdateType.MESSAGE  # an edited message is not a new question
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    missing = {c.key for c in COMMANDS if c.channel} - CHANNEL_HANDLERS.keys()
    if missing:  # a row of bot/commands.py without its handler: a programming error
        raise RuntimeError(f"no Telegram handler for {sorted(missing)}")
    table: list[BaseHandler[Update, BotContext, Any]] = [
        CommandHandler(
            telegram_names(c),
            flood_guarded(CHANNEL_HANDLERS[c.key]) if c.channel else queries.on_command,
            filters=new_messages,
        )
        for c in COMMANDS
    ]
    return [
        *table,
        MessageHandler(
            filters.Document.ALL & private & new_messages, flood_guarded(admin.on_document)
        ),
        MessageHandler(filters.COMMAND & new_messages, queries.on_unknown_command),
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & private & new_messages, queries.on_private_text
        ),
        MessageHandler(
            filters.TEXT
            & ~filters.COMMAND
            & groups
            & filters.Entity(MessageEntityType.MENTION)
            & new_messages,
            queries.on_group_mention,
        ),
        MessageHandler(filters.StatusUpdate.MIGRATE, announce.on_migrate),
        ChatMemberHandler(announce.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        CallbackQueryHandler(flood_guarded(admin.on_action_button), pattern=r"^a:"),
        CallbackQueryHandler(flood_guarded(announce.on_announce_button), pattern=r"^n:"),
        CallbackQueryHandler(queries.on_button),
        InlineQueryHandler(queries.on_inline_query),
    ]


def menu_commands(lang: str, scope: Scope = "everyone") -> list[BotCommand]:
    t = Translator(lang)
    return [BotCommand(c.name(lang), t(c.menu_key)) for c in menu(scope)]


def admin_commands(lang: str) -> list[BotCommand]:
    """The admins' menu: everyone's commands plus the admin ones."""
    return menu_commands(lang, "admin")


async def post_init(application: BotApp) -> None:
    data = application.bot_data
    assert data.settings is not None
    if data.store is None:  # else `python -m bot run` opened it for every channel
        await asyncio.to_thread(refuse_damaged, data.settings.db_path)
        store = await Store.open(data.settings.db_path)
        try:
            catalog = load_catalog()
            loaded = await load_shipped_data(store, catalog, data.settings.data_dir)
        except BaseException:
            await store.close()
            raise
        if loaded:
            log.info("loaded shipped data: %s", ", ".join(loaded))
        data.store = store
        data.owns_store = True
        data.answers = Answers(Rankings(store, catalog))
        await finish_announcements(data.answers.rankings)  # a crash may have left one
    elif data.answers is None:
        data.answers = Answers(Rankings(data.store, load_catalog()))
    # Menus and descriptions (ten calls to the Bot API) go out after the first update
    # is handled, not before the first poll nor beside it: a question that waited for
    # the start is not kept waiting by them (they cost the loop ≈ 15 ms of CPU, and the
    # English catalog is read for them). post_stop waits for the task.
    data.set_up = asyncio.create_task(set_up_soon(application), name="telegram set-up calls")
    await asyncio.to_thread(ops.sweep_leftovers, application)
    ops.schedule_backups(application)
    # Deliveries left pending by the last run continue now.
    await start_outbox(application)


async def set_up_soon(application: BotApp) -> None:
    """set_up_menus once the first update has been handled, or after SET_UP_AFTER
    seconds without one."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(application.bot_data.first_handled.wait(), SET_UP_AFTER)
    application.bot_data.set_up_begun = True
    await set_up_menus(application)


async def first_handled(update: object, context: BotContext) -> None:
    """After every other handler (group 1): the first update has had its answer."""
    context.bot_data.first_handled.set()


async def set_up_menus(application: BotApp) -> None:
    """Command menus and descriptions; a failure is logged, the bot carries on."""
    bot = application.bot
    calls: list[tuple[str, Any]] = []
    for scope in (
        BotCommandScopeDefault(),
        BotCommandScopeAllPrivateChats(),
        BotCommandScopeAllGroupChats(),
    ):
        calls.append(("commands", bot.set_my_commands(menu_commands("vi"), scope=scope)))
        calls.append(
            (
                "commands en",
                bot.set_my_commands(menu_commands("en"), scope=scope, language_code="en"),
            )
        )
    for lang in LANGUAGES:
        t = Translator(lang)
        code = None if lang == "vi" else lang
        calls.append(
            ("description", bot.set_my_description(t("bot.description"), language_code=code))
        )
        calls.append(
            (
                "short description",
                bot.set_my_short_description(t("bot.short_description"), language_code=code),
            )
        )
    settings = application.bot_data.settings
    assert settings is not None
    for admin_id in sorted(settings.admin_ids):
        admin_scope = BotCommandScopeChat(chat_id=admin_id)
        calls.append(
            ("admin commands", bot.set_my_commands(admin_commands("vi"), scope=admin_scope))
        )
        calls.append(
            (
                "admin commands en",
                bot.set_my_commands(admin_commands("en"), scope=admin_scope, language_code="en"),
            )
        )
    try:
        for what, call in calls:
            try:
                await call
            except TelegramError as exc:
                log.warning("set-up call failed (%s): %s", what, exc)
    finally:
        for _, call in calls:
            call.close()  # those not reached when a shutdown cancelled the set-up


async def post_stop(application: BotApp) -> None:
    # The send in flight finishes and is recorded before the process goes away.
    await stop_outbox(application)
    await stop_set_up(application)


async def stop_set_up(application: BotApp) -> None:
    """The set-up calls, if still going at shutdown, end before the HTTP client does.

    They are let finish first (they take milliseconds): a request cancelled while it
    connects can leave its socket unclosed. Only one held past SET_UP_GRACE (Telegram
    unreachable) is cancelled, so the stop is never held by them; calls not begun yet
    (no update handled yet) are cancelled at once: nothing is in flight."""
    task, application.bot_data.set_up = application.bot_data.set_up, None
    if task is None:
        return
    if not application.bot_data.set_up_begun:
        task.cancel()
    done, _ = await asyncio.wait({task}, timeout=SET_UP_GRACE)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def start_outbox(application: BotApp, **pacing: float) -> None:
    """The delivery worker (idempotent while it runs); pacing as Outbox takes it."""
    data = application.bot_data
    if data.outbox is not None and data.outbox.task is not None and not data.outbox.task.done():
        return
    assert data.store is not None
    data.outbox = await Outbox.start(application.bot, data.store, **pacing)


async def stop_outbox(application: BotApp) -> None:
    """Let the send in flight finish, then stop (before the store is closed)."""
    outbox, application.bot_data.outbox = application.bot_data.outbox, None
    if outbox is not None:
        await outbox.stop()


async def post_shutdown(application: BotApp) -> None:
    await stop_outbox(application)  # no-op after post_stop; the store closes next
    await stop_set_up(application)
    store, application.bot_data.store = application.bot_data.store, None
    if store is not None and application.bot_data.owns_store:
        await store.close()


def application_builder(settings: Settings) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """How the application is built, without its handlers and hooks: the benchmarks'
    echo bot (bench/echo_bot.py) is built with it, so the two differ only in what
    they do with an update."""
    token = settings.token()
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    # One TLS context for both HTTP clients (getUpdates' and every other call's), the
    # one httpx builds for each by default: reading the CA bundle into it is ≈ 25 ms of
    # CPU, once instead of twice at every start.
    tls = httpx.create_ssl_context()
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .context_types(CONTEXT_TYPES)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(8)
        # every call but getUpdates: the pool size the builder would give it (256)
        .request(
            ReplyRequest(
                connection_pool_size=256,
                connect_timeout=10,
                read_timeout=settings.request_timeout,
                write_timeout=settings.request_timeout,
                httpx_kwargs={"verify": tls},
            )
        )
        # what the builder would make for getUpdates (one connection, PTB's timeouts)
        .get_updates_request(HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls}))
    )


def build_application(settings: Settings, *, redacting: RedactingFilter | None = None) -> BotApp:
    builder = application_builder(settings)  # ValueError without a token
    token = settings.token() or ""
    built = builder.post_init(post_init).post_stop(post_stop).post_shutdown(post_shutdown).build()
    # ApplicationBuilder's generics cannot follow .context_types(); the types are ours
    application = cast(BotApp, built)
    application.bot_data.settings = settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    application.bot_data.redacting = redacting or RedactingFilter((token, secret))
    if settings.flood_per_minute:
        application.bot_data.flood = FloodGuard(
            rate=settings.flood_per_minute, per=60.0, burst=settings.flood_burst
        )
    application.add_handlers(handlers())
    application.add_handler(TypeHandler(Update, first_handled), group=1)
    application.add_error_handler(on_error)
    return application


async def start_channel(
    settings: Settings, *, store: Store, answers: Answers, redacting: RedactingFilter
) -> BotApp:
    """Telegram on the running loop, sharing the store and answers of `python -m bot
    run` (bot/service.py) with the other channels: what run_polling / run_webhook do,
    without owning the loop or the signals. InvalidToken and NetworkError (from getMe)
    come out of here, with nothing left running."""
    application = build_application(settings, redacting=redacting)
    data = application.bot_data
    data.store, data.answers, data.owns_store = store, answers, False
    await application.initialize()
    try:
        await post_init(application)
        updater = application.updater
        assert updater is not None

        def error_callback(exc: TelegramError) -> None:
            # as run_polling does: a failed getUpdates goes to the error handler
            application.create_task(application.process_error(error=exc, update=None))

        if settings.webhook_url:
            use_constant_time_webhook_secret()
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
            await updater.start_webhook(
                listen="0.0.0.0",  # the webhook must be reachable from Telegram
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
                secret_token=secret or None,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        else:
            await updater.start_polling(
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,  # answer what arrived while the bot was down
                error_callback=error_callback,
            )
        await application.start()
    except BaseException:
        await stop_channel(application)
        raise
    return application


async def stop_channel(application: BotApp) -> None:
    """As run_polling ends: updates stop, the outbox's send in flight is recorded,
    then the application shuts down (the shared store stays open for its owner)."""
    updater = application.updater
    if updater is not None and updater.running:
        await updater.stop()
    if application.running:
        await application.stop()
    await post_stop(application)
    await application.shutdown()
    await post_shutdown(application)


def use_constant_time_webhook_secret() -> None:
    """python-telegram-bot 22 checks the webhook's secret with `!=` (a timing side
    channel) and logs a wrong one at DEBUG; check it with hmac.compare_digest
    instead, with the same 403 answers. Pinned by tests/test_security.py."""
    import tornado.web
    from telegram.ext._utils import webhookhandler

    def validate_post(self: Any) -> None:
        if self.request.headers.get("Content-Type", None) != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        if self.secret_token is not None:
            sent = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token") or ""
            if not hmac.compare_digest(sent.encode(), str(self.secret_token).encode()):
                raise tornado.web.HTTPError(
                    HTTPStatus.FORBIDDEN, reason="wrong or missing secret token"
                )

    webhookhandler.TelegramHandler._validate_post = validate_post  # type: ignore[method-assign]
