"""Templates, their filters and the one way pages are rendered.

Text in templates goes through ``_("English msgid", name=value)``, the same catalogs as the API
(``{name}`` placeholders), so one test covers both. Money is fen everywhere and shown as ¥;
times are stored in UTC and shown in the shop's time zone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from shangliao import __version__
from shangliao.core.i18n import SUPPORTED_LOCALES, current_locale, gettext
from shangliao.core.money import format_yuan
from shangliao.customers.pii import region_parts
from shangliao.notifications.views import TITLES as NOTIFICATION_TITLES
from shangliao.orders.couriers import courier_name
from shangliao.orders.state import STATUS_LABELS, Status

TEMPLATE_DIR = Path(__file__).resolve().parent / "console" / "templates"
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}


def _translate(message: str, **params: Any) -> str:
    return gettext(message, None, **params)


def local_time(value: datetime | None, timezone: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime(fmt) if value else ""


def status_label(status: str) -> str:
    return _translate(STATUS_LABELS[Status(status)])


def region_line(address: Any) -> str:
    """Province, city and district as one line, a municipality named once (北京市朝阳区, not
    北京市北京市朝阳区); ``address`` is a dict or a model with those attributes."""

    def part(name: str) -> str:
        value = address.get(name) if isinstance(address, dict) else getattr(address, name, None)
        return value or ""

    return "".join(region_parts(part("province"), part("city"), part("district")))


def courier_label(code: str | None) -> str | None:
    return courier_name(code, current_locale.get())


def is_htmx(request: Request) -> bool:
    """An HTMX request wants a fragment; a plain navigation wants the whole page, and so does
    htmx going back or forward to a pushed address (it swaps the page's body from the answer)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-boosted") != "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


@pass_context
def can(context: Any, permission: str) -> bool:
    """Whether the signed-in reader holds ``permission``: the console shows only the links, buttons
    and forms whose route the reader may call (the route refuses the others with 403 anyway)."""
    actor = context.get("actor")
    return actor is not None and permission in actor.permissions


env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,  # a typo in a template is an error in the tests, not a blank
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(
    _=_translate,
    can=can,
    version=__version__,
    locales=[(code, LOCALE_NAMES[code]) for code in SUPPORTED_LOCALES],
    # What each kind of notification says, for the live toast (alerts.js fills in the numbers).
    notification_titles=NOTIFICATION_TITLES,
)
env.filters.update(
    yuan=format_yuan, local=local_time, status=status_label, courier=courier_label, region=region_line
)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("actor", getattr(request.state, "actor", None))
    html = env.get_template(template).render(request=request, locale=current_locale.get(), **context)
    return HTMLResponse(html, status_code=status_code)


def page_error(request: Request, status: int, code: str, message: str) -> Response:
    """How the console shows a refusal: what happened and what to do, never a stack trace."""
    htmx = request.headers.get("hx-request") == "true"
    if status == 401:
        target = "/login?next=" + request.url.path if request.method == "GET" else "/login"
        if htmx:
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if htmx:
        # Shown in the page's message area, whatever element (and hx-select) the request meant.
        response = render(request, "_toast.html", status, message=message, code=code, kind="error")
        response.headers.update({"HX-Retarget": "#toast", "HX-Reswap": "innerHTML", "HX-Reselect": ".toast"})
        return response
    return render(request, "error.html", status, message=message, code=code, status=status)
