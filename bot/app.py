"""The Telegram application: built and wired in this one place.

`build_application` is the factory both `python -m bot run` and the tests
call; every handler and command menu is registered here. Handlers only turn
an Update into text for `Answers` and send the rendered reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import signal
import sys
from http import HTTPStatus
from typing import Any, cast

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageEntityType, MessageLimit, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import admin, announce, media, ops
from bot.answers import Answers
from bot.cli import refuse_damaged
from bot.i18n import LANGUAGES, Translator, pick_language
from bot.logs import RedactingFilter, setup_logging
from bot.parsing import (
    COMMANDS,
    LanguageChoice,
    RankingQuery,
    UnitQuery,
    parse_callback,
)
from bot.render import Button, Reply, to_plain
from bot.settings import Settings
from ranking.catalog import load_catalog
from ranking.publishing import load_shipped_data
from ranking.queries import Rankings
from ranking.store import Store

log = logging.getLogger("rankbot")

# Telegram command names (ASCII, ≤ 32 chars) for each canonical command, menu order.
MENU = [
    "top", "cuoi", "donvi", "sosanh", "bieudo", "xuat", "muc", "nam", "nhom",
    "dangky", "huydangky", "ngonngu", "trogiup",
]  # fmt: skip
MENU_EN = [
    "top", "bottom", "unit", "compare", "chart", "export", "levels", "years", "groups",
    "subscribe", "unsubscribe", "lang", "help",
]  # fmt: skip
MENU_KEYS = [
    "top", "bottom", "unit", "compare", "chart", "export", "levels", "years", "groups",
    "subscribe", "unsubscribe", "language", "help",
]  # fmt: skip
# Admins see these after everyone's (in their own chat's command scope).
ADMIN_MENU = ["tailen", "lichsu", "hoantac", "thongbao", "trangthai", "saoluu", "quantri", "mau"]
ADMIN_MENU_EN = ["upload", "history", "undo", "announce", "status", "backup", "admins", "template"]
ADMIN_MENU_KEYS = [
    "upload",
    "history",
    "undo",
    "announce",
    "status",
    "backup",
    "admins",
    "template",
]
COMMAND_NAMES = sorted({name for name in COMMANDS if " " not in name})
# Leave room under 4096 for what Telegram counts differently from us.
SAFE_TEXT_LENGTH = MessageLimit.MAX_TEXT_LENGTH - 96
SAFE_ENTITIES = 90
INLINE_RESULTS = 50


def answers_of(context: ContextTypes.DEFAULT_TYPE) -> Answers:
    return cast(Answers, context.bot_data["answers"])


async def language_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The user's stored choice, else Telegram's language_code, else Vietnamese."""
    user = update.effective_user
    if user is None:
        return pick_language(None)
    if context.user_data is not None and "lang" in context.user_data:
        return cast(str, context.user_data["lang"])
    stored = await answers_of(context).rankings.store.people.language(user.id)
    lang = stored or pick_language(user.language_code)
    if context.user_data is not None:
        context.user_data["lang"] = lang
    return lang


def keyboard(buttons: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    b.text,
                    callback_data=b.callback,
                    url=b.url,
                    switch_inline_query=b.switch_inline,
                )
                for b in row
            ]
            for row in buttons
        ]
    )


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_prefix(text: str, units: int) -> str:
    """The longest prefix of `text` within `units` UTF-16 code units (Telegram's measure)."""
    total = 0
    for i, ch in enumerate(text):
        total += 2 if ord(ch) > 0xFFFF else 1
        if total > units:
            return text[:i]
    return text


def split_html(markup: str) -> list[str]:
    """Chunks that each fit one message. Our markup never spans lines, so a
    split at a line break keeps every chunk valid HTML."""
    chunks: list[str] = []
    current: list[str] = []
    length = entities = 0
    for line in markup.split("\n"):
        line_len = utf16_len(to_plain(line)) + 1
        line_entities = line.count("</")
        if current and (
            length + line_len > SAFE_TEXT_LENGTH or entities + line_entities > SAFE_ENTITIES
        ):
            chunks.append("\n".join(current).strip("\n"))
            current, length, entities = [], 0, 0
        if line_len > SAFE_TEXT_LENGTH:  # one absurdly long line (a 500-char name × …)
            line = html.escape(utf16_prefix(to_plain(line), SAFE_TEXT_LENGTH - 1)) + "…"
            line_len = SAFE_TEXT_LENGTH
        current.append(line)
        length += line_len
        entities += line_entities
    if current:
        chunks.append("\n".join(current).strip("\n"))
    return [c for c in chunks if c] or [markup[:SAFE_TEXT_LENGTH]]


async def send_reply(message: Message, reply: Reply) -> None:
    chunks = split_html(reply.html)
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        await with_network_retry(
            lambda chunk=chunk, last=last: message.reply_html(
                chunk,
                reply_markup=keyboard(reply.buttons) if last else None,
                do_quote=message.chat.type != ChatType.PRIVATE,
            )
        )


async def with_network_retry(send: Any, attempts: int = 3) -> Any:
    """Retry when the request never reached Telegram; never after a timeout
    (it may have been delivered: a resend would duplicate it)."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            return await send()
        except (TimedOut, BadRequest):
            raise  # may have been delivered / will fail the same way again
        except NetworkError:  # BadRequest and TimedOut are NetworkErrors too: handled above
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    return None  # pragma: no cover


# ---- handlers ------------------------------------------------------------


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every query command, in private chats and groups (/top@bot 5 huyen)."""
    message = update.effective_message
    if message is None or not message.text:
        return
    private = message.chat.type == ChatType.PRIVATE
    lang = await language_of(update, context)
    if not await ops.let_through(update, context, Translator(lang)):
        return
    user_id = update.effective_user.id if update.effective_user else None
    reply = await answers_of(context).to_text(
        message.text, lang=lang, user_id=user_id, private=private
    )
    if reply is not None:
        if reply.language and context.user_data is not None:
            context.user_data["lang"] = reply.language
        await send_reply(message, reply)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown /command in a private chat, or one addressed to us in a group."""
    message = update.effective_message
    if message is None or not message.text:
        return
    first = message.text.split()[0]
    if message.chat.type != ChatType.PRIVATE and f"@{context.bot.username}".lower() not in (
        first.lower()
    ):
        return  # another bot's command in a shared group
    await on_command(update, context)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await on_command(update, context)


async def on_group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, plain text only when it mentions the bot: "@bot bac ha"."""
    message = update.effective_message
    if message is None or not message.text:
        return
    mention = f"@{context.bot.username}"
    mentions = message.parse_entities([MessageEntityType.MENTION]).values()
    if not any(m.lower() == mention.lower() for m in mentions):
        return
    text = message.text.replace(mention, " ").replace(mention.lower(), " ").strip()
    if not text:
        text = "/trogiup"
    lang = await language_of(update, context)
    if not await ops.let_through(update, context, Translator(lang)):
        return
    answers = answers_of(context)
    # A mention is a direct question, so read it as a private chat would.
    reply = await answers.to_text(text, lang=lang, private=True)
    if reply is not None:
        await send_reply(message, reply)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pagination, group/year switches, unit choices and language buttons."""
    query = update.callback_query
    if query is None:
        return
    lang = await language_of(update, context)
    t = Translator(lang)
    if not await ops.let_through(update, context, t):
        return
    answers = answers_of(context)
    data = query.data or ""
    reply: Reply | None = None
    if data.startswith("lang:") and data[5:] in LANGUAGES:
        reply = await answers.to_parsed(
            LanguageChoice(data[5:]), lang=lang, user_id=query.from_user.id
        )
        if context.user_data is not None:
            context.user_data["lang"] = data[5:]
    else:
        parsed = parse_callback(data, answers.catalog)
        if parsed is not None:
            reply = await answers.to_parsed(parsed, lang=lang, user_id=query.from_user.id)
    if reply is None or query.message is None or not isinstance(query.message, Message):
        await query.answer(t("callback.stale"), show_alert=False)
        return
    await query.answer()
    chunks = split_html(reply.html)
    text = chunks[0] if len(chunks) == 1 else chunks[0] + "\n…"
    try:
        await query.edit_message_text(text, reply_markup=keyboard(reply.buttons))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`@bot bắc hà` or `@bot top huyen 2022` in any chat: cards to share."""
    inline = update.inline_query
    if inline is None:
        return
    lang = await language_of(update, context)
    answers = answers_of(context)
    text = inline.query.strip()
    results: list[InlineQueryResultArticle] = []
    if text:
        parsed = answers.parser.parse(text, private=True)
        if isinstance(parsed, RankingQuery):
            reply = await answers.to_parsed(parsed, lang=lang, user_id=None)
            results.append(article("r", to_plain(reply.html).split("\n")[0], reply))
        elif isinstance(parsed, UnitQuery):
            found = await answers.rankings.find_units(parsed.text, parsed.ranking)
            for ref in (found.matches or found.suggestions)[:INLINE_RESULTS]:
                reply = await answers.unit_by_id(ref.unit_id, Translator(lang))
                results.append(article(f"u{ref.unit_id}", ref.name, reply))
    await inline.answer(results, cache_time=60, is_personal=False)


def article(result_id: str, title: str, reply: Reply) -> InlineQueryResultArticle:
    chunk = split_html(reply.html)[0]
    plain = to_plain(chunk).split("\n")
    return InlineQueryResultArticle(
        id=result_id,
        title=title[:100],
        description=" ".join(plain[1:4])[:200],
        input_message_content=InputTextMessageContent(chunk, parse_mode=ParseMode.HTML),
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log (the redacting filter removes the token) and apologise briefly."""
    log.error("update failed: %s", context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        lang = pick_language(
            update.effective_user.language_code if update.effective_user else None
        )
        try:
            await update.effective_message.reply_text(Translator(lang)("error.internal"))
        except TelegramError:
            log.warning("could not send the apology either")
    elif isinstance(update, Update) and update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(Translator("vi")("error.internal"))


# ---- set-up --------------------------------------------------------------


def menu_commands(lang: str) -> list[BotCommand]:
    t = Translator(lang)
    names = MENU_EN if lang == "en" else MENU
    return [
        BotCommand(name, t(f"menu.{canonical}"))
        for name, canonical in zip(
            names,
            MENU_KEYS,
            strict=True,
        )
    ]


def admin_commands(lang: str) -> list[BotCommand]:
    """The admins' menu: everyone's commands plus the admin ones."""
    t = Translator(lang)
    names = ADMIN_MENU_EN if lang == "en" else ADMIN_MENU
    extra = [
        BotCommand(name, t(f"menu.{key}"))
        for name, key in zip(names, ADMIN_MENU_KEYS, strict=True)
    ]
    return menu_commands(lang) + extra


async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    settings: Settings = application.bot_data["settings"]
    await asyncio.to_thread(refuse_damaged, settings.db_path)
    store = await Store.open(settings.db_path)
    try:
        catalog = load_catalog()
        loaded = await load_shipped_data(store, catalog)
    except BaseException:
        await store.close()
        raise
    if loaded:
        log.info("loaded shipped data: %s", ", ".join(loaded))
    application.bot_data["store"] = store
    application.bot_data["answers"] = Answers(Rankings(store, catalog))
    await set_up_menus(application)
    ops.schedule_backups(application)
    # Deliveries left pending by the last run continue now (bot/announce.py).
    await announce.start_outbox(application)


async def set_up_menus(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
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
    settings: Settings = application.bot_data["settings"]
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
    for what, call in calls:
        try:
            await call
        except TelegramError as exc:
            log.warning("set-up call failed (%s): %s", what, exc)


async def post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # The send in flight finishes and is recorded before the process goes away.
    await announce.stop_outbox(application)


async def post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await announce.stop_outbox(application)  # no-op after post_stop; the store closes next
    store = application.bot_data.pop("store", None)
    if store is not None:
        await store.close()


def build_application(
    settings: Settings, *, redacting: RedactingFilter | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    token = settings.token()
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(8)
        .connect_timeout(10)
        .read_timeout(settings.request_timeout)
        .write_timeout(settings.request_timeout)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data["settings"] = settings
    application.bot_data["flood"] = ops.flood_guard(settings)
    # Subscriptions, /thongbao, /trangthai, my_chat_member and migrations: group -1,
    # ahead of the query handlers below (bot/announce.py).
    announce.register(application)
    # /bieudo, /xuat and the chart buttons: group -1 too (bot/media.py).
    media.register(application)
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new_messages = filters.UpdateType.MESSAGE  # an edited message is not a new question
    # Order matters: admin commands and known commands first, then unknown ones,
    # then plain text. Admin handlers check the sender themselves (bot/admin.py).
    for names, callback in (
        (["tailen", "upload"], admin.upload_command),
        (["lichsu", "history"], admin.history_command),
        (["hoantac", "undo"], admin.undo_command),
        (["quantri", "admins"], admin.admins_command),
        (["mau", "template"], admin.template_command),
        (["saoluu", "backup"], ops.backup_command),
    ):
        application.add_handler(CommandHandler(names, callback, filters=new_messages))
    application.add_handler(
        MessageHandler(filters.Document.ALL & private & new_messages, admin.on_document)
    )
    application.add_handler(CommandHandler(COMMAND_NAMES, on_command, filters=new_messages))
    application.add_handler(MessageHandler(filters.COMMAND & new_messages, on_unknown_command))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & private & new_messages, on_private_text)
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT
            & ~filters.COMMAND
            & groups
            & filters.Entity(MessageEntityType.MENTION)
            & new_messages,
            on_group_mention,
        )
    )
    application.add_handler(CallbackQueryHandler(admin.on_action_button, pattern=r"^a:"))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(InlineQueryHandler(on_inline_query))
    application.add_error_handler(on_error)
    return application


def run_bot(settings: Settings) -> int:
    token = settings.token() or ""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    redacting = setup_logging(token, secret)
    application = build_application(settings, redacting=redacting)
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    try:
        _serve(application, settings, secret, stop_signals)
    except InvalidToken:
        print(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)",
            file=sys.stderr,
        )
        return 2
    except NetworkError as exc:
        print(
            f"error: cannot reach the Telegram Bot API: {redacting.redact(str(exc))}",
            file=sys.stderr,
        )
        return 1
    return 0


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


def _serve(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    secret: str,
    stop_signals: tuple[signal.Signals, ...],
) -> None:
    if settings.webhook_url:
        use_constant_time_webhook_secret()
        application.run_webhook(
            listen="0.0.0.0",  # the webhook must be reachable from Telegram
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
            secret_token=secret or None,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
            stop_signals=stop_signals,
        )
    else:
        application.run_polling(
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,  # answer what arrived while the bot was down
            stop_signals=stop_signals,
        )
