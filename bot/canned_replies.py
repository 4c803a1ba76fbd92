"""Canned answers staff send with `/reply <key>`, always in the worker's language.

A Chinese-speaking officer answers a Russian-speaking worker correctly: the key picks the
answer, the worker's locale picks the words. Every text is in the gettext catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, _, use_locale


@dataclass(frozen=True, slots=True)
class CannedReply:
    """One canned answer: its key, a short title for staff (shown in STAFF_LOCALE), and the
    text (sent in the worker's language); both marked for translation, rendered where shown."""

    key: str
    title: str
    text: str


CANNED_REPLIES: tuple[CannedReply, ...] = (
    CannedReply(
        "documents",
        N_("document checklist for an extension"),
        N_(
            "📋 For an extension your employer applies online in the Service System for "
            "Foreigners Working in China. Usually needed: your passport, your current work "
            "permit information, the renewed employment contract or appointment letter, and "
            "anything the system asks for in its notice. If the pre-review asks for more, one "
            "consolidated notice lists everything missing."
        ),
    ),
    CannedReply(
        "hours",
        N_("support office hours"),
        N_(
            "🕘 We answer on working days during office hours (Beijing time). Write here at any "
            "time: your message is kept and we reply as soon as we are back."
        ),
    ),
    CannedReply(
        "extend",
        N_("how and when to extend"),
        N_(
            "⏳ Extensions are applied for from 90 days until 30 days before your permit "
            "expires. With fewer than 30 days left the system refuses the application and the "
            "permit lapses. Ask your employer to apply in time; /status shows your own dates."
        ),
    ),
    CannedReply(
        "notification_letter",
        N_("how to get the Notification Letter"),
        N_(
            "📄 The Notification Letter of Foreigner's Work Permit is downloaded by your "
            "employer from the Service System once the permit is approved. You apply for the Z "
            "visa with it. It is valid for 6 months from issue and is not a visa itself."
        ),
    ),
    CannedReply(
        "residence",
        N_("residence permit after entry"),
        N_(
            "🏢 After entering China on the Z visa, apply for the residence permit at the "
            "exit-entry office of the public security bureau where you work, within 30 days of "
            "entry. Bring the Notification Letter or your electronic social security card with "
            "the permit information."
        ),
    ),
    CannedReply(
        "ecard",
        N_("registering the electronic social security card"),
        N_(
            "📱 To register the electronic social security card, use your passport name, your "
            "work permit number and a password of 8 to 16 characters, then pass the face check. "
            "Your permit information then appears on the card."
        ),
    ),
    CannedReply(
        "link",
        N_("linking the Telegram account"),
        N_(
            "🔗 To see your own permit here, send /link and follow the four steps: your name "
            "as in your passport, your work permit number, your social-security number and "
            "your phone number are checked against the records."
        ),
    ),
)

BY_KEY = {reply.key: reply for reply in CANNED_REPLIES}


def canned_text(key: str, locale: str) -> str | None:
    """The canned answer `key` in `locale`, or None for an unknown key."""
    reply = BY_KEY.get(key)
    if reply is None:
        return None
    with use_locale(locale):
        return _(reply.text)
