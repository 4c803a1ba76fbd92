"""The verification page a verifier's phone opens: one verdict, big, in their language."""

from __future__ import annotations

from datetime import tzinfo
from html import escape

from babel.core import Locale

from bot.i18n import (
    N_,
    _,
    available_locales,
    babel_locale,
    format_day,
    format_moment,
    is_rtl,
    native_name,
    negotiate,
    use_locale,
)
from bot.permits import CATEGORY_LABELS
from bot.verification import Verdict, VerificationResult
from storage.models import PermitStatus

VERDICT_TITLES = {
    Verdict.VALID: N_("VALID"),
    Verdict.INVALID: N_("INVALID"),
    Verdict.EXPIRED_CODE: N_("EXPIRED CODE"),
    Verdict.PERMIT_NOT_VALID: N_("PERMIT NOT VALID"),
}
VERDICT_COLOURS = {
    Verdict.VALID: "#0a7d32",
    Verdict.INVALID: "#b3261e",
    Verdict.EXPIRED_CODE: "#8a5a00",
    Verdict.PERMIT_NOT_VALID: "#b3261e",
}
PURPOSE_LABELS = {
    "general": N_("General check"),
    "employment": N_("Employment check"),
    "residence": N_("Residence permit"),
    "social_insurance": N_("Social insurance"),
}

STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
font-size:20px;line-height:1.4;background:#f4f5f7;color:#111}
main{max-width:36rem;margin:0 auto;padding:1rem}
.verdict{color:#fff;border-radius:1rem;padding:1.5rem 1rem;text-align:center}
.verdict h1{margin:0;font-size:2.6rem;letter-spacing:.04em}
.verdict p{margin:.5rem 0 0;font-size:1.15rem}
dl{background:#fff;border-radius:1rem;padding:1rem;margin:1rem 0}
dt{font-size:.85rem;color:#555;margin-top:.6rem}
dd{margin:0;font-size:1.25rem;font-weight:600;overflow-wrap:anywhere}
footer{font-size:.85rem;color:#444}
nav{margin-top:1rem;display:flex;flex-wrap:wrap;gap:.5rem}
nav a{padding:.3rem .6rem;border-radius:.5rem;background:#fff;color:#0b57d0;text-decoration:none}
nav a[aria-current]{background:#0b57d0;color:#fff}
"""


def page_locale(query_lang: str | None, accept_language: str | None) -> str:
    """`?lang=` if shipped, else the best `Accept-Language` match, else English."""
    if query_lang and query_lang in available_locales():
        return query_lang
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    for _quality, _position, tag in sorted(weighted):
        locale = negotiate(tag)
        if locale:
            return locale
    return "en"


def _message(result: VerificationResult) -> str:
    if result.verdict is Verdict.VALID:
        return _("This work permit is valid.")
    if result.verdict is Verdict.EXPIRED_CODE:
        return _("This code is too old. Ask the holder to show a new one.")
    if result.verdict is Verdict.PERMIT_NOT_VALID:
        if result.holder is not None and result.holder.status is PermitStatus.CANCELLED:
            return _("This work permit has been cancelled.")
        return _("This work permit has expired.")
    return _("This code is not genuine or is damaged. Do not accept it.")


def render_page(result: VerificationResult, locale: str, tz: tzinfo, nonce: str) -> str:
    """The whole HTML page (no scripts; styles allowed by nonce)."""
    with use_locale(locale):
        direction = "rtl" if is_rtl() else "ltr"
        rows: list[tuple[str, str]] = []
        holder = result.holder
        if holder is not None:
            country = Locale.parse(locale).territories.get(holder.nationality, holder.nationality)
            rows += [
                (_("Name (as in passport)"), holder.full_name),
                (_("Nationality"), str(country)),
                (_("Permit category"), _(CATEGORY_LABELS[holder.category])),
                (_("Valid until"), format_day(holder.valid_until)),
                (_("Employer"), holder.employer),
            ]
        if result.purpose is not None:
            rows.append((_("Purpose of this check"), _(PURPOSE_LABELS[result.purpose.value])))
        rows.append((_("Checked at"), format_moment(result.checked_at, tz)))
        details = "".join(
            f"<dt>{escape(label)}</dt><dd><bdi>{escape(value)}</bdi></dd>" for label, value in rows
        )
        links = "".join(
            f'<a href="?lang={escape(code)}" lang="{escape(code.replace("_", "-"))}"'
            + (' aria-current="true"' if code == locale else "")
            + f">{escape(native_name(code))}</a>"
            for code in available_locales()
        )
        title = _(VERDICT_TITLES[result.verdict])
        lang = babel_locale(locale)
        html_lang = "-".join(part for part in (lang.language, lang.script) if part)
        return (
            "<!doctype html>"
            f'<html lang="{escape(html_lang)}" dir="{direction}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(title)} · {escape(_('Work permit check'))}</title>"
            f'<style nonce="{escape(nonce)}">{STYLE}'
            f".verdict{{background:{VERDICT_COLOURS[result.verdict]}}}</style></head>"
            f'<body><main><section class="verdict" data-verdict="{result.verdict.value}">'
            f"<h1>{escape(title)}</h1><p>{escape(_message(result))}</p></section>"
            f"<dl>{details}</dl>"
            "<footer><p>"
            + escape(
                _(
                    "Codes are signed by Work Permit Assistant and checked live against the "
                    "permit records."
                )
            )
            + f'</p><nav aria-label="{escape(_("Language"))}">{links}</nav></footer>'
            "</main></body></html>"
        )


CARD_STYLE = """
:root{--bg:#f4f5f7;--fg:#111;--card:#fff;--hint:#555}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
font-size:19px;line-height:1.4;background:var(--bg);color:var(--fg)}
main{max-width:32rem;margin:0 auto;padding:1rem}
h1{font-size:1.3rem;margin:.2rem 0 1rem}
#status{display:inline-block;color:#fff;border-radius:.6rem;padding:.3rem .8rem;font-weight:700}
dl{background:var(--card);border-radius:1rem;padding:1rem;margin:1rem 0}
dt{font-size:.85rem;color:var(--hint);margin-top:.5rem}
dd{margin:0;font-size:1.2rem;font-weight:600;overflow-wrap:anywhere}
#qr{display:block;width:100%;max-width:22rem;margin:0 auto;background:#fff;border-radius:1rem}
#qr.expired{opacity:.25}
#scan,#countdown{text-align:center;color:var(--hint)}
#message{background:var(--card);border-radius:1rem;padding:1rem}
"""


def render_card_shell(locale: str, nonce: str) -> str:
    """The Mini App page: an empty card the script fills from the API (texts for its states)."""
    with use_locale(locale):
        direction = "rtl" if is_rtl() else "ltr"
        lang = babel_locale(locale)
        html_lang = "-".join(part for part in (lang.language, lang.script) if part)
        states = {
            "loading": _("Loading your permit card…"),
            "unauthorized": _(
                "This card can only be opened from the bot in Telegram. Open it again "
                "with the “My permit card” button."
            ),
            "offline": _("No connection. Connect to the internet and open the card again."),
        }
        data = "".join(f' data-t-{key}="{escape(text)}"' for key, text in states.items())
        return (
            "<!doctype html>"
            f'<html lang="{escape(html_lang)}" dir="{direction}"{data}><head>'
            '<meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(_('My permit card'))}</title>"
            f'<style nonce="{escape(nonce)}">{CARD_STYLE}</style>'
            '<script src="/app/card.js" defer></script></head><body><main>'
            f'<h1 id="title">{escape(_("My permit card"))}</h1>'
            '<p id="message" role="status"></p>'
            '<section id="card" hidden><span id="status"></span><dl id="fields"></dl>'
            '<img id="qr" alt="QR" hidden><p id="scan"></p><p id="countdown"></p></section>'
            "</main></body></html>"
        )
