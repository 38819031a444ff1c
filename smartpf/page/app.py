"""The routes. Reads are GET; every change is a POST form carrying the CSRF token (a GET on an action's
address is refused, 405); terminate asks for a confirmation first. Every request passes the ``Guard``."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates

from smartpf.cli.portfolio import PortfolioCommandError
from smartpf.cli.view import records_csv

from .actions import KINDS, Steering
from .guard import REALM, Guard
from .reads import ReadError, Snapshot, Source

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
SHOWN_RECORDS = 100  # the page lists the latest ones; the CSV has them all
MAX_FORM = 16_384  # bytes: the page's forms are a few fields
# same-origin, not no-referrer: with no-referrer a browser posts forms with "Origin: null", which is refused
HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
           "X-Content-Type-Options": "nosniff"}


def create_app(source: Source, steering: Steering, guard: Guard) -> FastAPI:
    app = FastAPI(title="smartpf", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def checked(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = request.headers.get("host")
        if not guard.host_ok(host):
            return PlainTextResponse(f"host {host!r} refused: without a password the page answers only to "
                                     "127.0.0.1 / localhost", status_code=421)
        if not guard.authorised(request.headers.get("authorization")):
            return PlainTextResponse("the page's password is needed", status_code=401,
                                     headers={"WWW-Authenticate": REALM})
        if request.method == "POST" and not guard.same_origin(request.headers.get("origin"), host):
            return PlainTextResponse("a form from another site is refused", status_code=403)
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, {"csrf": guard.csrf, **context}, status_code=status)

    def problem(request: Request, exc: Exception, status: int) -> HTMLResponse:
        return render(request, "outcome.html", status, ok=False, message=str(exc), title="The portfolio")

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        try:
            snap = source.read()
        except PortfolioCommandError as exc:
            return problem(request, exc, 404)
        except ReadError as exc:
            return problem(request, exc, 503)
        return render(request, "page.html", **page_context(snap, source.chart(snap)))

    @app.get("/plotly.min.js")
    def plotly_js() -> Response:
        from plotly.offline import get_plotlyjs

        return Response(get_plotlyjs(), media_type="application/javascript",
                        headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/records.csv")
    def records_file(since: str | None = None) -> Response:
        snap, error = _api_read(source, since)
        if error is not None:
            return error
        assert snap is not None
        return Response(records_csv(snap.records), media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="records-{snap.portfolio_id}.csv"'})

    @app.get("/api/portfolio")
    def api_portfolio() -> Response:
        snap, error = _api_read(source)
        return error or JSONResponse(finite(snap.api_portfolio() if snap else {}))

    @app.get("/api/records")
    def api_records(since: str | None = None) -> Response:
        snap, error = _api_read(source, since)
        return error or JSONResponse(finite({"portfolio_id": snap.portfolio_id, "records": snap.records}
                                            if snap else {}))

    @app.get("/api/why")
    def api_why() -> Response:
        snap, error = _api_read(source)
        return error or JSONResponse(finite({"portfolio_id": snap.portfolio_id, "reasons": snap.reasons,
                                             "rejected": snap.rejected} if snap else {}))

    @app.post("/actions/{kind}", response_class=HTMLResponse)
    async def action(request: Request, kind: str) -> HTMLResponse:
        body = await request.body()
        if len(body) > MAX_FORM:
            return render(request, "outcome.html", 413, ok=False, message="the form is too large", title=kind)
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        if not guard.token_ok(form.pop("csrf", None)):
            return render(request, "outcome.html", 403, ok=False, title=kind, message=(
                "the form's token is missing or stale (the page was served by an earlier run, or the form came "
                "from elsewhere): reload the page and try again; nothing changed"))
        if kind not in KINDS:
            return render(request, "outcome.html", 404, ok=False, title=kind, message=f"no action {kind!r}")
        from starlette.concurrency import run_in_threadpool  # reads and changes wait on the database lock

        if kind == "terminate" and form.get("confirm") != "yes":
            return await run_in_threadpool(confirm_terminate, request, form.get("how", ""))
        outcome = await run_in_threadpool(steering.run, kind, form)
        return render(request, "outcome.html", 200 if outcome.ok else 400, ok=outcome.ok, message=outcome.message,
                      title=kind)

    def confirm_terminate(request: Request, how: str) -> HTMLResponse:
        if how not in ("sell", "keep"):
            return render(request, "outcome.html", 400, ok=False, title="terminate",
                          message=f"how {how!r}: choose sell (every coin sold) or keep (the coins stay); nothing "
                          "changed")
        try:
            snap = source.read()
        except (PortfolioCommandError, ReadError) as exc:
            return problem(request, exc, 503)
        held = ", ".join(f"{c['holding']:g} {c['coin']}" for c in snap.view["coins"] if c["holding"] > 0) or "no coin"
        said = (f"Every coin ({held}) is sold at market to {snap.currency}; the portfolio then trades no more."
                if how == "sell" else
                f"The portfolio stops trading now; its coins ({held}) stay in the account, no order is placed.")
        return render(request, "confirm.html", how=how, said=said, portfolio_id=snap.portfolio_id,
                      title="terminate")

    return app


def _api_read(source: Source, since: str | None = None) -> tuple[Snapshot | None, Response | None]:
    try:
        return source.read(since), None
    except PortfolioCommandError as exc:
        status = 400 if str(exc).startswith("--since") else 404
        return None, JSONResponse({"error": str(exc)}, status_code=status)
    except ReadError as exc:
        return None, JSONResponse({"error": str(exc)}, status_code=503)


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number (a price never seen, say) is sent as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def page_context(snap: Snapshot, chart: str) -> dict[str, Any]:
    view = snap.view
    now = time.time()
    return {"title": f"Smart Portfolio {snap.portfolio_id}", "snap": snap, "view": view, "cur": snap.currency,
            "chart": chart, "has_chart": 'id="chart-value"' in chart,
            "records": snap.records[-SHOWN_RECORDS:][::-1], "record_count": len(snap.records),
            "prices_age": _age(view.get("prices_at"), now), "seen_age": _age(view.get("last_seen"), now),
            "premium": None if view["value"] is None or view["hodl_value"] is None
            else view["value"] - view["hodl_value"],
            "reasons": [_reason(r) for r in snap.reasons[::-1]]}


def _reason(reason: dict[str, Any]) -> dict[str, str]:
    """A reason as ``smartpf why`` words it: its time, code, message and numbers."""
    from smartpf.cli.portfolio import detail_text

    at = reason.get("at")
    numbers = {k: v for k, v in (reason.get("details") or {}).items() if isinstance(v, int | float | str)}
    return {"when": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(at, int | float)
            else "?", "code": str(reason.get("code")), "message": str(reason.get("message")),
            "details": ", ".join(f"{k}={detail_text(k, v)}" for k, v in numbers.items())}


def _age(moment: str | None, now: float) -> str | None:
    if not moment:
        return None
    seconds = max(0, int(now - datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
