"""What people ask about: the intents the bot acts on and its knowledge base of common questions.

Every answer states only facts from the permit rules the bot already applies (the extension
window, the Notification Letter, the residence permit, social insurance, the social security
card) or facts about the bot itself. Texts are English here and translated in the catalogs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

from bot.i18n import N_


class Intent(enum.StrEnum):
    """What a free-text message asks for (the ids are part of the `intent` command's output)."""

    STATUS = "status"
    DEADLINE = "deadline"
    QR = "qr"
    DOCUMENT = "document"
    LINK = "link"
    UNLINK = "unlink"
    FORGET = "forget"
    SOCIAL = "social"
    GUIDE_Z_VISA = "guide_z_visa"
    GUIDE_RESIDENCE = "guide_residence"
    GUIDE_SOCIAL_INSURANCE = "guide_social_insurance"
    GUIDE_ECARD = "guide_ecard"
    NOTIFICATIONS = "notifications"
    LANGUAGE = "language"
    SUPPORT = "support"
    EMPLOYER = "employer"
    GREETING = "greeting"
    THANKS = "thanks"


@dataclass(frozen=True, slots=True)
class Entry:
    """One common question with its answer; `id` is stable, `intent` the journey it belongs to."""

    id: str
    intent: Intent
    question: str
    answer: str


KNOWLEDGE: tuple[Entry, ...] = (
    # --- extension, change and cancellation deadlines -------------------------------------
    Entry(
        "kb.extension.when",
        Intent.DEADLINE,
        N_("When can I apply to extend my work permit?"),
        N_(
            "From 90 days before your work permit expires until 30 days before it expires. "
            "The Service System for Foreigners Working in China refuses extension "
            "applications with fewer than 30 days left."
        ),
    ),
    Entry(
        "kb.extension.too_late",
        Intent.DEADLINE,
        N_("What happens if fewer than 30 days are left before my permit expires?"),
        N_(
            "Then it is too late to extend: the Service System refuses extension applications "
            "with fewer than 30 days left. A work permit that is not extended lapses and is "
            "cancelled. Talk to your employer at once."
        ),
    ),
    Entry(
        "kb.extension.how",
        Intent.DEADLINE,
        N_("How is a work permit extended?"),
        N_(
            "Extensions, like all work-permit applications, are handled online in the Service "
            "System for Foreigners Working in China (外国人来华工作管理服务系统). Apply inside "
            "the window: from 90 until 30 days before the permit expires."
        ),
    ),
    Entry(
        "kb.permit.expired",
        Intent.DEADLINE,
        N_("My work permit has expired. What now?"),
        N_(
            "An expired work permit can no longer be extended; it lapses and is cancelled. You "
            "may not work on it, and your employer has to apply for a new work permit for you."
        ),
    ),
    Entry(
        "kb.change.when",
        Intent.DEADLINE,
        N_("My position or my employer's details changed. What has to be done?"),
        N_(
            "Your employer must file the change in the Service System within 10 working days "
            "of the change. Once your account is linked, /status shows that date for a change "
            "made today."
        ),
    ),
    Entry(
        "kb.cancel.when",
        Intent.DEADLINE,
        N_("I am leaving my job. What happens to my work permit?"),
        N_(
            "When your employment ends, your employer must cancel your work permit in the "
            "Service System within 10 working days."
        ),
    ),
    Entry(
        "kb.deadline.working_days",
        Intent.DEADLINE,
        N_("Which days count as working days for the 10-day rule?"),
        N_(
            "I count Monday to Friday and leave out China's public holidays, so the 10 "
            "working days are usually two calendar weeks or more."
        ),
    ),
    Entry(
        "kb.permit.onsite_check",
        Intent.DEADLINE,
        N_("Do I need to show my original documents after I enter China?"),
        N_(
            "Yes, if your work permit is category B or C: bring your original documents for "
            "the on-site check within 30 days of entering China."
        ),
    ),
    # --- the permit and its applications ---------------------------------------------------
    Entry(
        "kb.permit.number",
        Intent.STATUS,
        N_("What is my work permit number?"),
        N_(
            "It has 18 digits, and each person keeps the same number for life. Once your "
            "account is linked, /status shows it (partly masked)."
        ),
    ),
    Entry(
        "kb.permit.categories",
        Intent.STATUS,
        N_("What do the categories A, B and C mean?"),
        N_(
            "A: high-end talent, 85 points or more, no quota. B: professionals, 60 to 85 "
            "points. C: others, under 60 points, subject to quotas."
        ),
    ),
    Entry(
        "kb.permit.online",
        Intent.STATUS,
        N_("Where are work-permit applications handled?"),
        N_(
            "Online, in the Service System for Foreigners Working in China "
            "(外国人来华工作管理服务系统): applications, extensions, changes and cancellations."
        ),
    ),
    Entry(
        "kb.application.prereview",
        Intent.STATUS,
        N_("How long does the pre-review of an application take?"),
        N_(
            "About 5 working days. If something is missing, you get one notice that lists "
            "everything missing at once."
        ),
    ),
    Entry(
        "kb.application.documents",
        Intent.STATUS,
        N_("My application needs more documents. What should I do?"),
        N_(
            "Upload the documents the notice asks for in the Service System. The pre-review "
            "takes about 5 working days. /status shows the note of your application."
        ),
    ),
    Entry(
        "kb.application.track",
        Intent.STATUS,
        N_("How can I follow my application?"),
        N_(
            "Link your account, then /status shows your applications with their history, "
            "newest first. I also tell you when their status changes."
        ),
    ),
    # --- Z visa and the Notification Letter ------------------------------------------------
    Entry(
        "kb.zvisa.how",
        Intent.GUIDE_Z_VISA,
        N_("How do I get a Z visa?"),
        N_(
            "Your employer downloads the Notification Letter of Foreigner's Work Permit from "
            "the Service System; with it you apply for the Z visa at a Chinese embassy or "
            "consulate."
        ),
    ),
    Entry(
        "kb.letter.what",
        Intent.GUIDE_Z_VISA,
        N_("What is the Notification Letter of Foreigner's Work Permit?"),
        N_(
            "The document (外国人工作许可通知) you need to apply for a Z visa. Your employer "
            "downloads it from the Service System. It is not a visa itself."
        ),
    ),
    Entry(
        "kb.letter.validity",
        Intent.GUIDE_Z_VISA,
        N_("How long is the Notification Letter valid?"),
        N_(
            "6 months from the day it is issued. Enter China on your Z visa before then; if "
            "your account is linked, I remind you before it lapses."
        ),
    ),
    Entry(
        "kb.letter.not_visa",
        Intent.GUIDE_Z_VISA,
        N_("Can I enter China with only the Notification Letter?"),
        N_(
            "No. The Notification Letter is not a visa: use it to apply for a Z visa, and "
            "enter China on the visa."
        ),
    ),
    Entry(
        "kb.letter.where",
        Intent.GUIDE_Z_VISA,
        N_("Where do I get the Notification Letter?"),
        N_(
            "Your employer downloads it from the Service System for Foreigners Working in "
            "China and passes it on to you."
        ),
    ),
    # --- residence permit -----------------------------------------------------------------
    Entry(
        "kb.residence.when",
        Intent.GUIDE_RESIDENCE,
        N_("When do I have to apply for the residence permit?"),
        N_("Within 30 days after you enter China on your Z visa."),
    ),
    Entry(
        "kb.residence.where",
        Intent.GUIDE_RESIDENCE,
        N_("Where do I apply for the residence permit?"),
        N_(
            "At the exit-entry administration of the public security bureau in the place "
            "where you work."
        ),
    ),
    Entry(
        "kb.residence.documents",
        Intent.GUIDE_RESIDENCE,
        N_("What do I bring to apply for the residence permit?"),
        N_(
            "Your passport and the Notification Letter of Foreigner's Work Permit, or your "
            "electronic social security card with the work-permit information."
        ),
    ),
    Entry(
        "kb.residence.verify",
        Intent.GUIDE_RESIDENCE,
        N_("How do the officers check my work permit?"),
        N_(
            "By looking it up in their system, on your electronic social security card, or by "
            "scanning your work permit's QR code. /qr gives you a code to show."
        ),
    ),
    # --- social insurance and the social security card ------------------------------------
    Entry(
        "kb.insurance.how",
        Intent.GUIDE_SOCIAL_INSURANCE,
        N_("How do I get social insurance?"),
        N_(
            "With the Notification Letter or your electronic social security card, on the "
            "online social security service portal or at a social security agency."
        ),
    ),
    Entry(
        "kb.insurance.who",
        Intent.GUIDE_SOCIAL_INSURANCE,
        N_("Who signs me up for social insurance, my employer or me?"),
        N_(
            "Either: your employer, or you yourself, can do it with the Notification Letter "
            "or your electronic social security card."
        ),
    ),
    Entry(
        "kb.insurance.check",
        Intent.GUIDE_SOCIAL_INSURANCE,
        N_("How does the social security agency check my work permit?"),
        N_(
            "The agency verifies your work permit through the Service System for Foreigners "
            "Working in China."
        ),
    ),
    Entry(
        "kb.social.number",
        Intent.SOCIAL,
        N_("How do I get a social-security number?"),
        N_(
            "The social security agency verifies your work permit through the Service System "
            "and issues the number to eligible foreigners. Once your account is linked, "
            "/social shows it (partly masked)."
        ),
    ),
    Entry(
        "kb.social.pickup",
        Intent.SOCIAL,
        N_("Where do I pick up my social security card?"),
        N_(
            "Physical cards are handed out by the social security card service departments. "
            "Once your account is linked, /social shows your card's state and, when it is "
            "ready, where to pick it up."
        ),
    ),
    Entry(
        "kb.social.one_card",
        Intent.SOCIAL,
        N_("What else can I do with my social security card?"),
        N_(
            'Local human resources and social security departments offer "one-card" '
            "services such as business information inquiries and benefit collection, with the "
            "physical or the electronic card. What is offered varies by city."
        ),
    ),
    Entry(
        "kb.social.permit_on_card",
        Intent.SOCIAL,
        N_("Why is my work permit on my social security card?"),
        N_(
            "Since 1 December 2024, work-permit information is carried on the physical and the "
            "electronic social security card, so one card serves both."
        ),
    ),
    # --- the electronic social security card ---------------------------------------------
    Entry(
        "kb.ecard.register",
        Intent.GUIDE_ECARD,
        N_("How do I register for the electronic social security card?"),
        N_(
            "After entering China, install the Electronic Social Security Card app "
            "(电子社保卡) and use the login for work-permit holders: your name as in your "
            "passport, your work permit number, your social-security number and a password, "
            "then identity and face verification."
        ),
    ),
    Entry(
        "kb.ecard.password",
        Intent.GUIDE_ECARD,
        N_("What password does the electronic social security card need?"),
        N_("A password of 8 to 16 characters."),
    ),
    Entry(
        "kb.ecard.physical_holder",
        Intent.GUIDE_ECARD,
        N_("I have a physical social security card. How do I verify for the e-card?"),
        N_(
            "Holders of a physical card can also verify with a bank card, or with a phone "
            "number and an SMS code."
        ),
    ),
    Entry(
        "kb.ecard.services",
        Intent.GUIDE_ECARD,
        N_("What work-permit services does the electronic card offer?"),
        N_(
            "Work-permit information queries, downloads, QR code verification and "
            "notifications about your work permit."
        ),
    ),
    Entry(
        "kb.permit.no_card",
        Intent.GUIDE_ECARD,
        N_("Will I get a physical work permit card?"),
        N_(
            "No. Since 1 December 2024 no physical work permit card is issued after entry: "
            "the information is on your social security card, physical and electronic."
        ),
    ),
    Entry(
        "kb.permit.old_card",
        Intent.GUIDE_ECARD,
        N_("Is my old work permit card still valid?"),
        N_(
            "Yes. An existing card stays valid until your permit is changed or extended; you "
            "do not need to apply for the new form."
        ),
    ),
    # --- this bot -------------------------------------------------------------------------
    Entry(
        "kb.qr.what",
        Intent.QR,
        N_("What does someone see when they scan my QR code?"),
        N_(
            "Whether your permit is valid right now, with your name, nationality, permit "
            "category, valid-until date and employer; never your passport or social-security "
            "numbers. Each code works for a few minutes only."
        ),
    ),
    Entry(
        "kb.qr.expired",
        Intent.QR,
        N_("The checker says my QR code has expired."),
        N_(
            "Codes work for a few minutes only, so a copied code cannot be reused. Send /qr "
            "and show the fresh code."
        ),
    ),
    Entry(
        "kb.document.what",
        Intent.DOCUMENT,
        N_("What is in the permit PDF?"),
        N_(
            "One page of your work permit information in Chinese and English, with a "
            "verification QR code that works for a short time. Send /document to get it."
        ),
    ),
    Entry(
        "kb.link.needed",
        Intent.LINK,
        N_("What do I need to link my permit?"),
        N_(
            "Four details that must match the records: your full name as in your passport, "
            "your 18-digit work permit number, your social-security number and your own phone "
            "number, shared with Telegram's contact button."
        ),
    ),
    Entry(
        "kb.link.paused",
        Intent.LINK,
        N_("Why is linking paused for my account?"),
        N_(
            "After five unsuccessful attempts within an hour, linking pauses for an hour to "
            "protect your permit. Check your details and try again later."
        ),
    ),
    Entry(
        "kb.privacy.kept",
        Intent.FORGET,
        N_("What do you keep about me?"),
        N_(
            "The link to your work permit, your language and settings, unfinished steps and "
            "notifications not yet sent. Passport, social-security and phone numbers are kept "
            "only in a protected form. /forget deletes what I keep about you."
        ),
    ),
    Entry(
        "kb.notifications.reminders",
        Intent.NOTIFICATIONS,
        N_("Will you remind me of my deadlines?"),
        N_(
            "Yes, once your account is linked: when the extension window opens, 60 days "
            "before expiry, in the last week before the cut-off, when the permit has expired, "
            "and before your Notification Letter lapses. /settings switches kinds of "
            "notifications on or off."
        ),
    ),
    Entry(
        "kb.notifications.quiet",
        Intent.NOTIFICATIONS,
        N_("Can I stop notifications at night?"),
        N_(
            "Yes: choose quiet hours in /settings. Notifications that come in those hours "
            "wait until they end; none is lost."
        ),
    ),
    Entry(
        "kb.language.which",
        Intent.LANGUAGE,
        N_("Which languages do you speak?"),
        N_("Send /language to see every language I speak and choose yours."),
    ),
    Entry(
        "kb.bot.what",
        Intent.GREETING,
        N_("What can you do?"),
        N_(
            "I show your work permit, its deadlines and your applications, give you a QR code "
            "and a PDF to prove your permit, explain the Z visa, the residence permit, social "
            "insurance and the electronic social security card, and remind you of deadlines. "
            "Ask me in your own words, or send /help."
        ),
    ),
)


@cache
def entries_by_id() -> dict[str, Entry]:
    """Every knowledge-base entry by its id."""
    return {entry.id: entry for entry in KNOWLEDGE}
