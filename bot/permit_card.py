"""The permit card of the Mini App: what the card shows, in the holder's language, with a QR."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from babel.core import Locale
from qrcode import QRCode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage

from bot.credentials import Purpose
from bot.i18n import _, format_day, is_rtl, ngettext, resolve_locale, use_locale
from bot.permits import CATEGORY_LABELS, PERMIT_STATUS_LABELS, PermitService
from bot.verification_codes import CodeIssuer, CodeRefused, Refusal
from bot.webapp_auth import WebAppUser
from storage.database import Database
from storage.models import PermitStatus
from storage.repositories import LinkRepository, UserRepository

STATUS_COLOURS = {
    PermitStatus.VALID: "#0a7d32",
    PermitStatus.EXPIRED: "#b3261e",
    PermitStatus.CANCELLED: "#b3261e",
}


def qr_svg_data_url(data: str) -> str:
    """A QR code of `data` as an SVG data URL (rendered here, no QR library in the page)."""
    code = QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(image_factory=SvgPathImage).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True, slots=True)
class CardService:
    """Builds the card for the user a valid `initData` names."""

    db: Database
    permits: PermitService
    codes: CodeIssuer
    default_locale: str

    async def card(self, user: WebAppUser) -> dict[str, Any]:
        """The card as JSON-ready data, every text already in the user's language."""
        async with self.db.session() as session:
            profile = await UserRepository(session).get(user.id)
            permit_id = await LinkRepository(session).permit_of(user.id)
        locale = resolve_locale(
            profile.locale if profile else None, user.language_code, self.default_locale
        )
        with use_locale(locale):
            base: dict[str, Any] = {
                "lang": locale.replace("_", "-"),
                "dir": "rtl" if is_rtl() else "ltr",
                "title": _("My permit card"),
            }
            if permit_id is None:
                return base | {
                    "linked": False,
                    "message": _(
                        "Your Telegram account is not linked to a work permit yet. Close "
                        "this card and send /link to the bot: it asks for your name, permit "
                        "number, social-security number and phone number."
                    ),
                }
            overview = await self.permits.overview(permit_id)
            if overview is None:
                return base | {"linked": False, "message": _("Please link again with /link.")}
            details = overview.details
            days = overview.extension.days_left
            country = Locale.parse(locale).territories.get(details.nationality, details.nationality)
            fields = [
                (_("Name"), details.full_name),
                (_("Nationality"), str(country)),
                (_("Permit category"), _(CATEGORY_LABELS[details.category])),
                (_("Valid until"), format_day(details.valid_until)),
                (_("Employer"), details.employer_name),
            ]
            if details.status is PermitStatus.VALID and days >= 0:
                days_text = ngettext("{n} day left", "{n} days left", days).format(n=days)
                fields.insert(4, (_("Days left"), days_text))
            card = base | {
                "linked": True,
                "status": _(PERMIT_STATUS_LABELS[details.status]),
                "status_colour": STATUS_COLOURS[details.status],
                "fields": [{"label": label, "value": value} for label, value in fields],
                "qr": None,
                "refusal": None,
                "texts": {
                    "scan": _("Show this code to the officer; it refreshes by itself."),
                    "refresh_in": _("New code in {seconds} s"),
                    "expired": _("This code has expired. Connect to the internet to refresh."),
                },
            }
            try:
                code = await self.codes.issue(permit_id, Purpose.GENERAL)
            except CodeRefused as refused:
                card["refusal"] = (
                    _("No verification code: your work permit has been cancelled.")
                    if refused.refusal is Refusal.CANCELLED
                    else _("No verification code: your work permit has expired.")
                )
                return card
            card["qr"] = {
                "image": qr_svg_data_url(code.url),
                "expires_at": code.expires_at.isoformat(),
                "ttl": self.codes.ttl,
            }
            return card
