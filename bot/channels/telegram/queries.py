"""Questions on Telegram: commands, plain text, mentions, buttons, inline mode.

Each handler only turns an Update into text (or an action token) for `Answers`
and sends the reply it returns.
"""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Message, Update
from telegram.constants import ChatType, MessageEntityType, ParseMode

from bot.channels.telegram.access import language_of, let_through
from bot.channels.telegram.context import BotContext
from bot.channels.telegram.media import send_media
from bot.channels.telegram.sending import edit_reply, send_reply, split_html
from bot.i18n import Translator
from bot.parsing import RankingQuery, UnitQuery
from bot.reply import Reply, to_plain

INLINE_RESULTS = 50


async def respond(message: Message, reply: Reply, t: Translator, context: BotContext) -> None:
    """A reply as Telegram messages: its text and choices, or its picture or file."""
    if reply.language and context.user_data is not None:
        context.user_data.lang = reply.language
    if reply.media is not None:
        await send_media(message, reply.media, Translator(reply.language or t.lang), context)
    else:
        await send_reply(message, reply)


async def answer_text(update: Update, context: BotContext, text: str, *, private: bool) -> None:
    message = update.effective_message
    if message is None:
        return
    lang = await language_of(update, context)
    t = Translator(lang)
    if not await let_through(update, context, t):
        return
    user_id = update.effective_user.id if update.effective_user else None
    reply = await context.answers.to_text(text, lang=lang, user_id=user_id, private=private)
    if reply is not None:
        await respond(message, reply, t, context)


async def on_command(update: Update, context: BotContext) -> None:
    """Every query command, in private chats and groups (/top@bot 5 huyen)."""
    message = update.effective_message
    if message is None or not message.text:
        return
    private = message.chat.type == ChatType.PRIVATE
    await answer_text(update, context, message.text, private=private)


async def on_unknown_command(update: Update, context: BotContext) -> None:
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


async def on_private_text(update: Update, context: BotContext) -> None:
    await on_command(update, context)


async def on_group_mention(update: Update, context: BotContext) -> None:
    """In groups, plain text only when it mentions the bot: "@bot bac ha"."""
    message = update.effective_message
    if message is None or not message.text:
        return
    mention = f"@{context.bot.username}"
    mentions = message.parse_entities([MessageEntityType.MENTION]).values()
    if not any(m.lower() == mention.lower() for m in mentions):
        return
    text = message.text.replace(mention, " ").replace(mention.lower(), " ").strip()
    # A mention is a direct question, so read it as a private chat would.
    await answer_text(update, context, text or "/trogiup", private=True)


async def on_button(update: Update, context: BotContext) -> None:
    """Pagination, group/year switches, unit choices, language and chart buttons."""
    query = update.callback_query
    if query is None:
        return
    lang = await language_of(update, context)
    t = Translator(lang)
    if not await let_through(update, context, t):
        return
    reply = await context.answers.to_action(
        query.data or "", lang=lang, user_id=query.from_user.id
    )
    message = query.message if isinstance(query.message, Message) else None
    if reply is None or message is None:
        await query.answer(t("callback.stale"), show_alert=False)
        return
    await query.answer()
    if reply.language and context.user_data is not None:
        context.user_data.lang = reply.language
    if reply.media is not None:  # a chart is a new message, not an edit
        await send_media(message, reply.media, t, context)
    else:
        await edit_reply(query, reply)


async def on_inline_query(update: Update, context: BotContext) -> None:
    """`@bot bắc hà` or `@bot top huyen 2022` in any chat: cards to share."""
    inline = update.inline_query
    if inline is None:
        return
    lang = await language_of(update, context)
    answers = context.answers
    text = inline.query.strip()
    results: list[InlineQueryResultArticle] = []
    if text:
        parsed = answers.parser.parse(text, private=True)
        if isinstance(parsed, RankingQuery):
            reply = await answers.to_parsed(parsed, lang=lang, user_id=None)
            results.append(article("r", to_plain(reply.text).split("\n")[0], reply))
        elif isinstance(parsed, UnitQuery):
            found = await answers.rankings.find_units(parsed.text, parsed.ranking)
            for ref in (found.matches or found.suggestions)[:INLINE_RESULTS]:
                reply = await answers.unit_by_id(ref.unit_id, Translator(lang))
                results.append(article(f"u{ref.unit_id}", ref.name, reply))
    await inline.answer(results, cache_time=60, is_personal=False)


def article(result_id: str, title: str, reply: Reply) -> InlineQueryResultArticle:
    chunk = split_html(reply.text)[0]
    plain = to_plain(chunk).split("\n")
    return InlineQueryResultArticle(
        id=result_id,
        title=title[:100],
        description=" ".join(plain[1:4])[:200],
        input_message_content=InputTextMessageContent(chunk, parse_mode=ParseMode.HTML),
    )
