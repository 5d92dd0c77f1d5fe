"""What a person watching sees: one line per phase in a log, a live line on a terminal."""

from __future__ import annotations

import io
import re

from pytest_promotion.database.exit_codes import ExitCode
from pytest_promotion.database.progress import Phases
from tests.database.conftest import SECRET_FORMS, Project
from tests.database.test_rollback import MUTATE, take_backup

PHASE = re.compile(r"^phase ([a-z ]+): (\d+\.\d\d) s(?: \((.*)\))?$")


def test_a_rollback_in_a_log_prints_each_phase_with_its_duration(project: Project) -> None:
    take_backup(project)
    project.db.sql(MUTATE)

    result = project.cli("rollback", "--yes")  # stderr is not a terminal here

    assert result.code == ExitCode.OK, result.err
    phases = [PHASE.match(line) for line in result.err.splitlines() if line.startswith("phase ")]
    assert all(phases), result.err
    assert [m.group(1) for m in phases if m] == ["checks", "safety dump", "restore", "analyze", "status"]
    details = {m.group(1): m.group(3) for m in phases if m}
    assert re.fullmatch(r"[\d.]+ KiB of SQL, [\d.]+ [KM]iB/s", details["restore"])
    assert "of SQL" in details["safety dump"]
    assert "\r" not in result.err  # no live line in a log
    for secret in (*SECRET_FORMS, project.db.url):
        assert secret not in result.out + result.err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_restore_shows_share_rate_and_eta_then_one_line() -> None:
    screen = Terminal()
    phases = Phases(screen)
    report = phases.restore_progress()
    assert report is not None

    report(40 * 2**20, 10 * 2**20, 40 * 2**20)
    phases.done("restore", 1.5, "160 MiB of SQL")

    text = screen.getvalue()
    assert re.search(r"^\rrestore: 40\.0 MiB of SQL, 25% of the backup, [\d.]+ [KMGT]iB/s, ETA \d+", text)
    assert text.endswith("\rphase restore: 1.50 s (160 MiB of SQL)\n")  # the live line cleared first
    assert Phases(io.StringIO()).restore_progress() is None  # nothing live in a log
