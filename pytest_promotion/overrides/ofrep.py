"""The flag checks over OpenFeature's remote evaluation protocol (OFREP), for any compliant flag service.

``flag_source = "ofrep"`` in ``[tool.promotion.smoke]`` makes the ``flags`` items ask
``POST /ofrep/v1/evaluate/flags`` (bulk evaluation) with the organization as the evaluation
context's ``targetingKey``, instead of the resolved-flags report of the contract. OFREP carries no
layer: where the contract says ``org``/``env``/``db``, an OFREP answer gives a ``reason``. So a flag
item checks the value, and — where the service gives a reason the protocol defines — that the
reason fits the kind of override: an organization's override is a targeting match; the
environment's is the flag's static or default value for everyone. A reason that contradicts the
override (``SPLIT``, ``DISABLED``, ``ERROR``, a default where the organization is targeted …)
fails the item even when the value happens to agree, because the next change of the rollout
would not. Reasons OFREP leaves open (``UNKNOWN``, ``CACHED``, a vendor's own) are shown, not judged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_promotion.core.checks import CheckFailed
from pytest_promotion.overrides.flags import ResolvedFlag
from pytest_promotion.overrides.items import (
    FLAG_VARIABLES,
    ReportItem,
    flag_report_headers,
    require_answer,
    shown,
)
from pytest_promotion.overrides.items import same as same_json
from pytest_promotion.service.client import Call, Exchange
from pytest_promotion.service.run import ServiceRun

SPEC = "See https://github.com/open-feature/protocol (service/openapi.yaml) for the bulk evaluation contract."
DETAILS_LIMIT = 200
"""Characters of a service's ``errorDetails`` shown, after scrubbing."""
VALUE_LIMIT = 200
"""Characters of an evaluated value shown, after scrubbing."""

FITTING_REASONS: Mapping[str, frozenset[str]] = {
    "org": frozenset({"TARGETING_MATCH"}),
    "env": frozenset({"STATIC", "DEFAULT"}),
}
"""Per override layer, the reasons that say the service applied that kind of override."""

CONTRADICTING = {
    "SPLIT": "A fractional rollout decided it, not an override",
    "DISABLED": "The flag is disabled, so the service serves the code's default",
    "ERROR": "The evaluation failed",
    "STALE": "The value is stale: the flag service has not caught up",
}
"""Reasons that never fit an override, whatever its layer, and what they mean."""


@dataclass(frozen=True)
class Evaluation:
    """One flag of a bulk answer: its value, variant and reason, or its error code."""

    key: str
    has_value: bool = False
    """False for an error, or when the service defers to the code's default (no ``value``)."""
    value: Any = None
    value_text: str = ""
    """The value as JSON, scrubbed and cut: what a failure shows."""
    reason: str | None = None
    variant: str | None = None
    error_code: str | None = None
    error_details: str | None = None

    def described(self) -> str:
        """``true (reason STATIC, variant on)``: what the service evaluated, in one phrase."""
        if self.error_code:
            details = f": {self.error_details}" if self.error_details else ""
            return f"error {self.error_code}{details}"
        told = self.value_text if self.has_value else "no value (the code's default)"
        extras = [
            f"reason {self.reason}" if self.reason else "no reason",
            *([f"variant {self.variant}"] if self.variant else []),
        ]
        return f"{told} ({', '.join(extras)})"


def parse_bulk(document: object, cut: Callable[[str, int], str]) -> dict[str, Evaluation]:
    """The ``flags`` array of a bulk answer by key; ValueError names what breaks the protocol.

    ``cut`` scrubs and shortens what the service wrote before it is kept for failure messages
    (the value's text, reason, variant and error): a hostile or broken service may echo anything.
    """
    flags = document.get("flags") if isinstance(document, dict) else None
    if not isinstance(flags, list):
        raise ValueError("answered without a 'flags' array")
    evaluations: dict[str, Evaluation] = {}
    for index, entry in enumerate(flags):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
            raise ValueError(f"answered a 'flags' entry without a key (entry {index})")
        key: str = entry["key"]
        if key in evaluations:
            raise ValueError(f"answered flag {cut(key, 80)!r} twice")
        reason, variant = entry.get("reason"), entry.get("variant")
        code, details = entry.get("errorCode"), entry.get("errorDetails")
        evaluations[key] = Evaluation(
            key=key,
            has_value="value" in entry and not code,
            value=entry.get("value"),
            value_text=cut(shown(entry.get("value")), VALUE_LIMIT),
            reason=cut(reason, 40) if isinstance(reason, str) and reason else None,
            variant=cut(variant, 60) if isinstance(variant, str) and variant else None,
            error_code=cut(str(code), 40) if code else None,
            error_details=cut(details, DETAILS_LIMIT) if isinstance(details, str) and details else None,
        )
    return evaluations


def reason_problem(layer: str, reason: str | None, organization: str | None) -> str | None:
    """Why ``reason`` does not fit an override from ``layer`` (``org`` or ``env``); None when it fits or is not judged."""
    if reason is None:
        return None
    reason = reason.upper()  # OpenFeature spells reasons in capitals; a service may not
    if reason in FITTING_REASONS[layer]:
        return None
    if reason in CONTRADICTING:
        return CONTRADICTING[reason]
    if layer == "org" and reason in FITTING_REASONS["env"]:
        return f"The service does not target organization {organization} with this flag, so its override is not applied"
    if layer == "env" and reason == "TARGETING_MATCH":
        whom = f"organization {organization}" if organization else "this evaluation context"
        return (
            f"A targeting rule for {whom} decided it: the deployed {FLAG_VARIABLES['org']} (or a rule of the "
            "flag service) overrides this flag, and this run's configuration does not"
        )
    return None  # UNKNOWN, CACHED, a vendor's own reason: OFREP does not say what it means


@dataclass
class OfrepReport:
    """The bulk evaluation for the run's organization, asked once per process."""

    run: ServiceRun
    path: str
    _outcome: dict[str, Evaluation] | CheckFailed | None = None
    """The evaluations, or why there are none: asked once, so a failing service is not asked per item."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self) -> Call:
        """POST the evaluation context (the organization as ``targetingKey``), as the admin when set."""
        organization = self.run.target.organization_id
        context = {"targetingKey": organization} if organization else {}
        return Call(
            method="POST",
            path=self.path,
            headers=flag_report_headers(
                self.run, {"Content-Type": "application/json", "Accept": "application/json"}
            ),
            content=json.dumps({"context": context}).encode(),
            retry=True,  # an evaluation changes nothing: retrying it is as safe as a GET
            keep_json=True,
        )

    def document(self) -> dict[str, Evaluation]:
        """The evaluations by flag key, or a CheckFailed that says why the service gave none."""
        with self._lock:
            if self._outcome is None:
                try:
                    self._outcome = self._evaluations(self.run.transport.call(self.call()))
                except CheckFailed as failed:
                    self._outcome = failed
        if isinstance(self._outcome, CheckFailed):  # a fresh exception per item: tracebacks stay short
            raise CheckFailed(self._outcome.summary, self._outcome.text)
        return self._outcome

    def _evaluations(self, exchange: Exchange) -> dict[str, Evaluation]:
        what = f"POST {self.path}"
        require_answer(what, exchange, "the flag service")
        if exchange.status != 200:
            raise CheckFailed(*self._refusal(what, exchange))
        try:
            return parse_bulk(exchange.document, self.run.redactor.cut)
        except ValueError as exc:
            summary = f"{what} {exc}"
            raise CheckFailed(
                summary, f"{summary}, so it does not speak OFREP bulk evaluation.\n{SPEC}"
            ) from None

    def _refusal(self, what: str, exchange: Exchange) -> tuple[str, str]:
        """The summary and text of a non-200 answer, in OFREP's terms."""
        document = exchange.document if isinstance(exchange.document, dict) else {}
        code, details = document.get("errorCode"), document.get("errorDetails")
        told = f" {self.run.redactor.cut(str(code), 40)}" if code else ""
        if isinstance(details, str) and details:
            told += f": {self.run.redactor.cut(details, DETAILS_LIMIT)}"
        summary = f"{what} answered {exchange.status}{told}, expected 200"
        if exchange.status in (401, 403):
            hint = (
                "The flag service refused the credentials (the admin's LAUNCH_ADMIN_* token, and flags_headers): "
                'give it a key it accepts, e.g. flags_headers = { "X-API-Key" = { env = "OFREP_API_KEY" } }.'
            )
        elif exchange.status == 400:
            hint = 'The flag service refused the evaluation context ({"targetingKey": the organization}): check SMOKE_ORGANIZATION_ID.'
        elif exchange.status == 404:
            hint = f"Nothing answers OFREP there: set flags_path in [tool.promotion.smoke] to the service's bulk evaluation path. {SPEC}"
        else:
            hint = "Check the flag service's logs."
        body = f"\nbody: {exchange.body}" if exchange.body and not told else ""
        return summary, f"{summary}{body}\n{hint}"


class OfrepFlagItem(ReportItem):
    """One overridden flag: the service evaluates it to the configured value, for a fitting reason."""

    def __init__(self, *, key: str, expected: ResolvedFlag, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.key = key
        self.expected = expected

    def verify(self) -> None:
        """Compare the value, then the reason, with the configured override."""
        evaluations: Mapping[str, Evaluation] = self.fetched()
        expected, variable = self.expected, FLAG_VARIABLES[self.expected.source]
        layer = "organization override" if expected.source == "org" else "environment override"
        want = f"{shown(expected.value)} ({layer})"
        evaluation = evaluations.get(self.key)
        if evaluation is None:
            summary = f"flag {self.key}: expected {want}, the service does not evaluate it"
            raise CheckFailed(
                summary, f"{summary}.\nThe flag service does not know this flag, which {variable} overrides."
            )
        got = evaluation.described()
        if (
            evaluation.error_code
            or not evaluation.has_value
            or not same_json(expected.value, evaluation.value)
        ):
            summary = f"flag {self.key}: expected {want}, the service evaluates {got}"
            if evaluation.error_code == "FLAG_NOT_FOUND":
                hint = f"The flag service does not know this flag, which {variable} overrides."
            elif evaluation.error_code:
                hint = "The flag service could not evaluate it: see its error above and its logs."
            else:
                hint = (
                    f"The service does not apply {variable} as configured here: compare the deployed value."
                )
            raise CheckFailed(summary, f"{summary}\n{hint}")
        problem = reason_problem(expected.source, evaluation.reason, self.run.target.organization_id)
        if problem:
            summary = f"flag {self.key}: {shown(expected.value)} as configured, but reason {evaluation.reason} does not fit an {layer}"
            raise CheckFailed(summary, f"{summary}\n{problem}.\nThe service evaluates {got}.")


class OfrepDriftItem(ReportItem):
    """No flag is targeted at the organization that this configuration does not override for it."""

    def __init__(self, *, expected: Mapping[str, ResolvedFlag], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.expected = expected

    def verify(self) -> None:
        """List every flag evaluated by a targeting match that this configuration does not override.

        A configured flag with the wrong reason is its own item's failure, not drift.
        """
        evaluations: Mapping[str, Evaluation] = self.fetched()
        stale = [
            f"  {self.run.redactor.cut(key, 80)} = {evaluation.described()}"
            for key, evaluation in sorted(evaluations.items())
            if (evaluation.reason or "").upper() == "TARGETING_MATCH" and key not in self.expected
        ]
        if stale:
            summary = f"the service targets {len(stale)} flag(s) at this organization that this configuration does not override"
            raise CheckFailed(
                summary,
                f"{summary}:\n"
                + "\n".join(stale)
                + f"\nRemove the stale targeting from the flag service, or add the override to "
                f"{FLAG_VARIABLES['org']} here so that it is checked. (OFREP names no layer, so a stale "
                "environment-wide override cannot be told from the flag's stored value.)",
            )
