"""The sample service's routes: the seed's dashboard API, with its access policy.

Public endpoints answer anyone; admin-only ones answer 401 without valid credentials and 403 to a
member; ``/api/status/incidents`` answers 400 without ``organization_id``; ``POST /api/feedback``
takes a JSON body and an ``X-Api-Key`` header (401 without it, 422 for a bad body), so the smoke
checks' request bodies, headers and response assertions have something real to call;
``/api/dashboard/team`` answers members and admins, and 401 to anyone else. Tokens come from the
same variables the checks send (``LAUNCH_ADMIN_BEARER_TOKEN`` …), so one shell runs both.
The resolved-flags and billing-readiness endpoints apply the ``*_OVERRIDES_JSON`` overrides the
same way, so a service started with other values than the checks is a drifted deployment. The
same flags are served over OpenFeature's remote evaluation protocol (``POST
/ofrep/v1/evaluate/flags`` and ``…/flags/{key}``), the evaluation context's ``targetingKey`` being
the organization, so the OFREP flag source is checked against a real exchange too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_promotion.overrides.entitlements import resolve_entitlements
from pytest_promotion.overrides.flags import ResolvedFlag, resolve_flags
from pytest_promotion.sample import data
from pytest_promotion.sample.auth import Accepted, Role, role_of
from pytest_promotion.settings import PromotionSettings

Handler = Callable[[Request], Awaitable[Response]]
SAMPLE_REVISION = "sample-1"
"""The revision the sample reports unless told otherwise (``--expect-revision sample-1``)."""


OFREP_REASONS = {"org": "TARGETING_MATCH", "env": "STATIC", "db": "DEFAULT"}
"""The OpenFeature reason of each layer: an org override targets, the others are the same for all."""
OFREP_VARIANTS = {"org": "organization-override", "env": "environment-override", "db": "stored"}


def ofrep_evaluation(key: str, flag: ResolvedFlag) -> dict[str, object]:
    """One OFREP evaluation success, as a flag service would answer it."""
    return {
        "key": key,
        "value": flag.value,
        "reason": OFREP_REASONS[flag.source],
        "variant": OFREP_VARIANTS[flag.source],
        "metadata": {},
    }


async def ofrep_targeting_key(request: Request) -> str | Response | None:
    """The request's ``context.targetingKey`` (None without one), or the 400 OFREP answers for a bad context."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        body = None
    context = body.get("context", {}) if isinstance(body, dict) else None
    key = context.get("targetingKey") if isinstance(context, dict) else None
    if not isinstance(context, dict) or (key is not None and not isinstance(key, str)):
        return JSONResponse(
            {"errorCode": "INVALID_CONTEXT", "errorDetails": 'send {"context": {"targetingKey": "…"}}'},
            status_code=400,
        )
    return key or None


def accepted_from(settings: PromotionSettings) -> Accepted:
    """The credentials to accept, from the settings' LAUNCH_* tokens."""
    admin = tuple(t for t in (settings.admin_bearer_token, settings.admin_session_token) if t)
    member = tuple(t for t in (settings.member_bearer_token, settings.member_session_token) if t)
    return Accepted(admin=admin, member=member, cookie_name=settings.session_cookie)


def create_app(
    settings: PromotionSettings,
    database: Path,
    loosened: Mapping[str, set[Role]] | None = None,
    revision: Callable[[], str] = lambda: SAMPLE_REVISION,
) -> Starlette:
    """The app, its SQLite file created and seeded.

    ``loosened`` breaks the access policy on purpose (path -> roles let into an admin-only
    endpoint), so tests can prove that the policy checks catch it. ``revision`` is what the health
    endpoint reports as its deployed revision (``version.commit`` and ``X-Revision``), asked on
    every request so a test can switch it as a rollout would.
    """
    loosened = loosened or {}
    data.create(database)
    accepted = accepted_from(settings)
    # The same variables the checks read: a service started with other values is drifted on purpose.
    overrides = settings.overrides()
    started = time.monotonic()

    def rows(sql: str, *params: object) -> list[dict[str, object]]:
        return data.query(database, sql, *params)

    def admin_only(handler: Callable[[Request], Response]) -> Handler:
        async def guarded(request: Request) -> Response:
            role = role_of(request, accepted)
            if role in loosened.get(request.url.path, set()):
                return handler(request)
            if role in (Role.ANONYMOUS, Role.INVALID):
                return JSONResponse({"error": "authentication required"}, status_code=401)
            if role is not Role.ADMIN:
                return JSONResponse({"error": "admin role required"}, status_code=403)
            return handler(request)

        return guarded

    def members(handler: Callable[[Request], Response]) -> Handler:
        async def signed_in(request: Request) -> Response:
            role = role_of(request, accepted)
            if role in loosened.get(request.url.path, set()):
                return handler(request)
            if role in (Role.ANONYMOUS, Role.INVALID):
                return JSONResponse({"error": "authentication required"}, status_code=401)
            return handler(request)

        return signed_in

    def public(handler: Callable[[Request], Response]) -> Handler:
        async def open_to_all(request: Request) -> Response:
            return handler(request)

        return open_to_all

    def health(request: Request) -> Response:
        rows("SELECT 1")
        current = revision()
        return JSONResponse(
            {"status": "ok", "database": "ok", "version": {"commit": current}},
            headers={"X-Revision": current},
        )

    def analytics(request: Request) -> Response:
        events = rows("SELECT name, count(*) AS count FROM event GROUP BY name ORDER BY name")
        return JSONResponse({"events": {row["name"]: row["count"] for row in events}})

    def home(request: Request) -> Response:
        organizations = rows("SELECT count(*) AS n FROM organization")[0]["n"]
        open_incidents = rows("SELECT count(*) AS n FROM incident WHERE status = 'open'")[0]["n"]
        return JSONResponse({"organizations": organizations, "open_incidents": open_incidents})

    def plan_of(organization: str) -> str | None:
        found = rows("SELECT plan FROM organization WHERE id = ?", organization)
        return str(found[0]["plan"]) if found else None

    def flags(request: Request) -> Response:
        organization = request.query_params.get("organization_id") or None
        if organization is not None and plan_of(organization) is None:
            return JSONResponse({"error": "unknown organization"}, status_code=404)
        resolved = resolve_flags(data.feature_flags(database), overrides, organization)
        return JSONResponse(
            {
                "organization_id": organization,
                "flags": {key: flag.to_json() for key, flag in resolved.items()},
            }
        )

    async def ofrep_flags(request: Request) -> Response:
        organization = await ofrep_targeting_key(request)
        if isinstance(organization, Response):
            return organization
        resolved = resolve_flags(data.feature_flags(database), overrides, organization)
        return JSONResponse({"flags": [ofrep_evaluation(key, flag) for key, flag in resolved.items()]})

    async def ofrep_flag(request: Request) -> Response:
        organization = await ofrep_targeting_key(request)
        if isinstance(organization, Response):
            return organization
        key = request.path_params["key"]
        flag = resolve_flags(data.feature_flags(database), overrides, organization).get(key)
        if flag is None:
            found = {"key": key, "errorCode": "FLAG_NOT_FOUND", "errorDetails": "no such flag"}
            return JSONResponse(found, status_code=404)
        return JSONResponse(ofrep_evaluation(key, flag))

    def billing_readiness(request: Request) -> Response:
        organization = request.query_params.get("organization_id")
        if not organization:
            return JSONResponse({"error": "organization_id is required"}, status_code=400)
        plan_name = plan_of(organization)
        if plan_name is None:
            return JSONResponse({"error": "unknown organization"}, status_code=404)
        plan = data.plan_entitlements(database, plan_name)
        if plan is None:  # an organization on a plan the table lacks: a data bug, not a client error
            return JSONResponse({"error": "the organization's plan is not defined"}, status_code=500)
        resolved = resolve_entitlements(plan, overrides, organization)
        return JSONResponse(
            {"organization_id": organization, "plan": plan_name, "entitlements": resolved.to_json()}
        )

    def customer_health(request: Request) -> Response:
        accounts = rows("SELECT id, name, health_score FROM organization ORDER BY id")
        return JSONResponse({"accounts": accounts})

    def renewal_report(request: Request) -> Response:
        accounts = rows("SELECT id, name, plan, renewal_value FROM organization ORDER BY id")
        total = sum(int(str(account["renewal_value"])) for account in accounts)
        return JSONResponse({"total_renewal_value": total, "accounts": accounts})

    def diagnostics(request: Request) -> Response:
        return JSONResponse({"database": "sqlite", "uptime_s": round(time.monotonic() - started, 1)})

    def team(request: Request) -> Response:
        return JSONResponse({"organizations": rows("SELECT id, name FROM organization ORDER BY id")})

    def incidents(request: Request) -> Response:
        return JSONResponse({"incidents": rows("SELECT * FROM incident ORDER BY id")})

    def sessions(request: Request) -> Response:
        return JSONResponse({"sessions": rows("SELECT * FROM user_session ORDER BY id")})

    def impersonation(request: Request) -> Response:
        return JSONResponse({"sessions": rows("SELECT * FROM impersonation_session ORDER BY id")})

    def status_incidents(request: Request) -> Response:
        organization = request.query_params.get("organization_id")
        if not organization:
            return JSONResponse({"error": "organization_id is required"}, status_code=400)
        if not rows("SELECT id FROM organization WHERE id = ?", organization):
            return JSONResponse({"error": "unknown organization"}, status_code=404)
        found = rows(
            "SELECT id, title, status, severity FROM incident WHERE organization_id = ? ORDER BY id",
            organization,
        )
        return JSONResponse({"organization_id": organization, "incidents": found})

    async def feedback(request: Request) -> Response:
        if not request.headers.get("x-api-key"):
            return JSONResponse({"error": "X-Api-Key header required"}, status_code=401)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send application/json"}, status_code=415)
        try:
            body = await request.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message.strip():
            return JSONResponse({"error": "message must be a non-empty string"}, status_code=422)
        return JSONResponse(
            {
                "status": "received",
                "feedback": {"message": message, "length": len(message)},
                "client": request.headers.get("x-client"),
            },
            status_code=201,
            headers={"X-Feedback-Id": f"fb_{len(message)}"},
        )

    routes = [
        Route("/api/health", public(health)),
        Route("/api/feedback", feedback, methods=["POST"]),
        Route("/api/analytics", public(analytics)),
        Route("/api/dashboard/home", public(home)),
        Route("/api/dashboard/feature-flags/resolved", public(flags)),
        Route("/api/dashboard/billing/readiness", public(billing_readiness)),
        Route("/ofrep/v1/evaluate/flags", ofrep_flags, methods=["POST"]),
        Route("/ofrep/v1/evaluate/flags/{key}", ofrep_flag, methods=["POST"]),
        Route("/api/dashboard/customer-success/health", public(customer_health)),
        Route("/api/dashboard/customer-success/renewal-value-report", public(renewal_report)),
        Route("/api/dashboard/ops/diagnostics", public(diagnostics)),
        Route("/api/dashboard/team", members(team)),
        Route("/api/dashboard/ops/incidents", admin_only(incidents)),
        Route("/api/dashboard/security/sessions", admin_only(sessions)),
        Route("/api/dashboard/support/impersonation/sessions", admin_only(impersonation)),
        Route("/api/status/incidents", public(status_incidents)),
    ]
    return Starlette(routes=routes)
