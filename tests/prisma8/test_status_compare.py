"""The Prisma 8 status comparison as a plain function: the ledger and marker against local packages."""

from __future__ import annotations

from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.status_contract import (
    Contract,
    LedgerRow,
    LocalPackage,
    State,
    compare,
    prefix_problems,
)


def pkg(
    name: str, origin: str, to: str, digest: str | None = None, stored: str | None = None
) -> LocalPackage:
    digest = digest or f"h-{name}"
    return LocalPackage(name, stored or digest, digest, to, origin)


def row(k: int, name: str, to: str, digest: str | None = None) -> LedgerRow:
    return LedgerRow(k, name, digest or f"h-{name}", to, f"2026-12-0{k}")


CHAIN = [pkg("1_a", "empty", "A"), pkg("2_b", "A", "B"), pkg("3_c", "B", "C")]


def states(report: object) -> dict[str, State]:
    return {m.name: m.state for m in report.migrations}  # type: ignore[attr-defined]


def test_a_chain_half_applied_is_pending_from_the_marker_on() -> None:
    report = compare(CHAIN, Contract([row(1, "1_a", "A")], "A"))
    assert states(report) == {"1_a": State.APPLIED, "2_b": State.PENDING, "3_c": State.PENDING}
    assert report.exit_code is ExitCode.PENDING
    assert report.marker_matches


def test_a_branch_the_database_did_not_take_is_not_on_the_path() -> None:
    side = pkg("2_side", "A", "S")  # from A, but the database went A -> B -> C
    rows = [row(1, "1_a", "A"), row(2, "2_b", "B"), row(3, "3_c", "C")]
    report = compare([*CHAIN, side], Contract(rows, "C"))
    assert states(report)["2_side"] is State.OFF_PATH
    assert report.up_to_date
    assert report.exit_code is ExitCode.OK


def test_a_package_after_the_marker_is_pending_even_when_it_loops_on_one_contract() -> None:
    invariant = pkg("4_purge", "C", "C")
    rows = [row(1, "1_a", "A"), row(2, "2_b", "B"), row(3, "3_c", "C")]
    assert states(compare([*CHAIN, invariant], Contract(rows, "C")))["4_purge"] is State.PENDING


def test_the_newest_applied_is_by_ledger_order_not_by_name() -> None:
    rows = [row(1, "1_a", "A"), row(3, "3_c", "C"), row(2, "2_b", "B")]
    report = compare(CHAIN, Contract(rows, "C"))
    assert report.newest_applied == "3_c"
    assert report.up_to_date


def test_a_name_applied_twice_is_judged_by_its_latest_row() -> None:
    rows = [row(1, "1_a", "A", digest="old"), row(2, "1_a", "A")]
    assert states(compare(CHAIN[:1], Contract(rows, "A")))["1_a"] is State.APPLIED


def test_edited_missing_and_invalid_need_a_person() -> None:
    local = [pkg("1_a", "empty", "A", digest="new"), pkg("3_c", "B", "C", digest="x", stored="y")]
    rows = [row(1, "1_a", "A", digest="old"), row(2, "2_b", "B")]
    report = compare(local, Contract(rows, "B"))
    assert states(report) == {"1_a": State.EDITED, "2_b": State.MISSING_LOCALLY, "3_c": State.INVALID}
    assert report.exit_code is ExitCode.NEEDS_ATTENTION
    assert len(prefix_problems(report)) == 3


def test_the_marker_must_be_where_the_newest_applied_package_ends() -> None:
    report = compare(CHAIN[:2], Contract([row(1, "1_a", "A"), row(2, "2_b", "B")], "A"))
    assert not report.marker_matches
    assert report.exit_code is ExitCode.NEEDS_ATTENTION
    assert "marker mismatch" in report.verdict()
    assert prefix_problems(report) == [report.marker_line()]


def test_no_ledger_is_not_managed_and_an_empty_folder_with_it_is_up_to_date() -> None:
    assert compare(CHAIN, None).exit_code is ExitCode.PENDING
    assert compare([], Contract([], None)).up_to_date
