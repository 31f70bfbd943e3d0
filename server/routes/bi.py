"""/v1/bi: patent analytics over the analytical store, live indicators and flexible reports.

The routes only parse and check the query (every parameter, unknown ones included: a typo
such as ``contry=RU`` is a 400 rather than a silently unfiltered answer) and serialise; the
counting lives in :mod:`ipsim.platform.bi`. Handlers are plain functions (FastAPI's thread
pool), since DuckDB and the platform database block; the SSE stream is the one coroutine.

``GET /v1/bi/indicators/stream`` is a server-sent-event stream: an ``indicators`` event with
the snapshot at once and on every change, and a comment line (``: heartbeat``) after
:data:`HEARTBEAT_S` seconds of quiet so proxies keep the connection open. It ends when the
client goes away (Starlette cancels the generator on ``http.disconnect``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from ipsim.engine.errors import InvalidInput
from ipsim.platform.bi.analytics import BY, PERIODS, BiService, check_choice, parse_selection
from ipsim.platform.bi.anomalies import THRESHOLD
from ipsim.platform.bi.indicators import IndicatorBoard
from ipsim.platform.bi.reports import parse_report
from ipsim.server.deps import READ, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/bi", tags=["business intelligence"])
ERRORS = error_responses(400, 401, 403, 503)
HEARTBEAT_S = 15.0
MIN_THRESHOLD, MAX_THRESHOLD = 2.0, 20.0
_SERIES_PARAMS = ("by", "period", "field", "country", "kind", "from", "to")


def get_bi(request: Request) -> BiService:
    return platform_of(request).bi


BiDep = Annotated[BiService, Depends(get_bi)]
Text = Annotated[str | None, Query()]
Country = Annotated[str | None, Query(description="ISO 3166-1 alpha-2 codes, comma-separated.")]
Field = Annotated[str | None, Query(description="WIPO field numbers 1-35, comma-separated.")]
Kind = Annotated[str | None, Query(description="invention, utility_model…, comma-separated.")]
From = Annotated[str | None, Query(alias="from", description="First filing year.")]
To = Annotated[str | None, Query(alias="to", description="Last filing year.")]
By = Annotated[str, Query(description="`field` or `country`: one series per value.")]
Period = Annotated[str, Query(description="`year` or `quarter`.")]


def known_params(request: Request, allowed: Iterable[str]) -> None:
    """400 naming the first query parameter this route does not take."""
    names = set(allowed)
    for name in request.query_params:
        if name not in names:
            raise InvalidInput(name, f"unknown parameter; this route takes {', '.join(names)}")


@router.get("/technology-fields", dependencies=[READ], responses=ERRORS)
def technology_fields(
    request: Request,
    bi: BiDep,
    country: Country = None,
    kind: Kind = None,
    year_from: From = None,
    year_to: To = None,
) -> dict[str, Any]:
    """Counts and shares of the 35 WIPO fields per country (fractional counting)."""
    known_params(request, ("country", "kind", "from", "to"))
    return bi.technology_fields(parse_selection(country, None, kind, year_from, year_to))


@router.get("/trends", dependencies=[READ], responses=ERRORS)
def trends(
    request: Request,
    bi: BiDep,
    by: By = "field",
    period: Period = "year",
    field: Field = None,
    country: Country = None,
    kind: Kind = None,
    year_from: From = None,
    year_to: To = None,
) -> dict[str, Any]:
    """Counts per period per field or country, growth rates and a log-linear trend."""
    known_params(request, _SERIES_PARAMS)
    selection = parse_selection(country, field, kind, year_from, year_to)
    return bi.trends(
        check_choice("by", by, BY), check_choice("period", period, tuple(PERIODS)), selection
    )


@router.get("/anomalies", dependencies=[READ], responses=ERRORS)
def anomalies(
    request: Request,
    bi: BiDep,
    by: By = "field",
    period: Period = "quarter",
    field: Field = None,
    country: Country = None,
    kind: Kind = None,
    year_from: From = None,
    year_to: To = None,
    threshold: Annotated[str | None, Query(description="Robust z cut-off (default 3.5).")] = None,
) -> dict[str, Any]:
    """Points that break their series' trend or season, with their robust z-score."""
    known_params(request, (*_SERIES_PARAMS, "threshold"))
    selection = parse_selection(country, field, kind, year_from, year_to)
    return bi.anomalies(
        check_choice("by", by, BY),
        check_choice("period", period, tuple(PERIODS)),
        selection,
        _threshold(threshold),
    )


@router.get("/indicators", dependencies=[READ], responses=ERRORS)
def indicators(request: Request, bi: BiDep) -> dict[str, Any]:
    """The live counters: `{"at", "indicators": {...}}`."""
    known_params(request, ())
    bi.indicators.poll()
    return bi.indicators.snapshot()


@router.get("/indicators/stream", dependencies=[READ], responses=ERRORS)
async def indicator_stream(request: Request, bi: BiDep) -> StreamingResponse:
    """Server-sent events: `event: indicators` with the snapshot, on every change."""
    known_params(request, ())
    return StreamingResponse(
        indicator_events(bi.indicators, HEARTBEAT_S),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/query", dependencies=[READ], responses=ERRORS)
def query(bi: BiDep, body: dict[str, Any]) -> Response:
    """A flexible report: whitelisted dimensions, measures and filters; JSON or CSV."""
    report = parse_report(body)
    table = bi.run(report)
    if report.format == "csv":
        return Response(
            table.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="report.csv"'},
        )
    return Response(json.dumps(table.to_json()), media_type="application/json")


async def indicator_events(board: IndicatorBoard, heartbeat_s: float) -> AsyncIterator[str]:
    """The SSE frames: the snapshot now, again on every change, a heartbeat when quiet."""
    version = await board.refresh()
    yield _frame(board.snapshot())
    while True:
        latest = await board.wait_change(version, heartbeat_s)
        if latest == version:
            yield ": heartbeat\n\n"
        else:
            version = latest
            yield _frame(board.snapshot())


def _frame(snapshot: dict[str, Any]) -> str:
    return f"event: indicators\ndata: {json.dumps(snapshot)}\n\n"


def _threshold(value: str | None) -> float:
    if value is None:
        return THRESHOLD
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not MIN_THRESHOLD <= number <= MAX_THRESHOLD:
        raise InvalidInput("threshold", f"must be a number {MIN_THRESHOLD}-{MAX_THRESHOLD}")
    return number
