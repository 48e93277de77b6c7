"""The terminal at 80 columns: nothing cut, tiny values in units that read, "measured" only for
what a sensor measured.

The CLI tests run the real command at ``COLUMNS=80`` (and 60 for the bill) and check every line
fits and no cell was cut: rich marks a cut with "…" glued to what it cut ("$13,782,6…").
"""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from aibudget import formatting as fmt
from aibudget.report.console import MAX_WIDTH, MIN_WIDTH, console_width
from aibudget.report.tracking import energy_basis, render_actuals
from aibudget.tracking import Tracker
from aibudget.tracking.actuals import actuals
from aibudget.tracking.ledger import open_ledger
from aibudget.tracking.sensors import ReplaySensor

Run = Callable[..., subprocess.CompletedProcess[str]]

EXAMPLES = sorted(
    p.name.removesuffix(".yaml")
    for p in Path(str(resources.files("aibudget").joinpath("examples"))).glob("*.yaml")
)
#: A cut cell: "…" right after what it cut. (Prose may use "…" between spaces: "1, 2, 4 … 64".)
CUT = re.compile(r"\S…")
#: What tiny values must never read like.
UNREADABLE = re.compile(r"\de[-+]?0\d|0\.0000")


def _check_fits(out: str, width: int) -> None:
    assert out.strip(), "nothing printed"
    for line in out.splitlines():
        assert cell_len(line) <= width, f"wider than {width}: {line!r}"
        assert not CUT.search(line), f"cut: {line!r}"


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("kwh", "shown"),
    [
        (0.0, "0 kWh"),
        (2.77e-6, "2.77 mWh"),  # was "0.00000277 kWh"
        (0.000486, "486 mWh"),  # was "0.000486 kWh"
        (0.5, "500 Wh"),
        (0.99996, "1.00 kWh"),  # rounds up into the next unit, not "1,000 Wh"
        (512.0, "512 kWh"),
        (999.6, "1.00 MWh"),
        (2.15e6, "2.15 GWh"),
        (1e-7, "0.360 J"),  # under a mWh: joules
        (1e-13, "< 0.001 J"),
        (-2.77e-6, "-2.77 mWh"),
        (float("nan"), "n/a"),
        (float("inf"), "n/a"),
    ],
)
def test_energy_reads_in_its_unit(kwh: float, shown: str) -> None:
    assert fmt.energy(kwh) == shown


@pytest.mark.parametrize(
    ("kg", "shown"),
    [
        (0.0, "0 kgCO2e"),
        (0.000184, "0.184 gCO2e"),
        (0.5, "500 gCO2e"),
        (310.0, "310 kgCO2e"),
        (5190.0, "5.19 tCO2e"),
        (1.62e6, "1.62 ktCO2e"),
        (1e-7, "< 0.001 gCO2e"),
    ],
)
def test_carbon_reads_in_its_unit(kg: float, shown: str) -> None:
    assert fmt.co2e(kg) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "0"),
        (4.06e-5, "4.06×10⁻⁵"),  # was "4.060e-05"
        (0.000602, "0.000602"),
        (0.0835, "0.0835"),
        (999.96, "1,000"),  # not "1e+03"
        (20_256.0, "20,256"),
        (5.15e6, "5.15M"),
        (999_999_999.0, "1B"),  # not "1e+03M"
        (3.237e23, "3.237e+23"),  # FLOP counts keep their usual form
    ],
)
def test_numbers_never_read_as_exponents_when_small(value: float, shown: str) -> None:
    assert fmt.number(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0, "0"), (4.06e-5, "< 0.001"), (0.0031, "0.00310"), (201.4, "201"), (12_345.6, "12,346")],
)
def test_equivalents_say_less_than_a_thousandth(value: float, shown: str) -> None:
    assert fmt.approx(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.003, "<$0.01"),
        (0.09, "$0.09"),
        (74.97, "$74.97"),
        (13_782_687.0, "$13.8M"),
        (999_999.0, "$1M"),  # not "$1e+03k"
    ],
)
def test_money(value: float, shown: str) -> None:
    assert fmt.usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.69, "$2.69"), (1.735, "$1.735"), (0.00036, "$0.00036"), (1.2e-5, "<$0.0001"),
     (12_345.0, "$12,345"), (0.0, "$0")],
)  # fmt: skip
def test_prices_per_unit(value: float, shown: str) -> None:
    assert fmt.usd_rate(value) == shown


@pytest.mark.parametrize(
    ("days", "shown"),
    [(21.4, "21.4 days (3.1 weeks)"), (0.0592, "1.42 hours"), (0.006, "8.64 minutes"),
     (1e-4, "8.64 seconds")],
)  # fmt: skip
def test_durations(days: float, shown: str) -> None:
    assert fmt.days(days) == shown


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.000602, "Wh/token", "2.17 J/token"),
        (10_715.0, "kWh/yr", "10,715 kWh/yr"),  # a sourced figure stays as written
        (0.00036, "USD/M tokens", "$0.00036/M tokens"),
        (2.69, "USD/chip-hour", "$2.69/chip-hour"),
        (1e-5, "fraction", "1.00×10⁻⁵"),
        (0.0031, "household-years", "0.00310 household-years"),
        (4e-5, "car-years", "< 0.001 car-years"),
        (0.000184, "kgCO2e", "0.184 gCO2e"),
        (0.000486, "kWh", "486 mWh"),
    ],
)
def test_assumption_values(value: float, unit: str, shown: str) -> None:
    assert fmt.value_with_unit(value, unit) == shown


@pytest.mark.parametrize(
    ("low", "high", "show", "shown"),
    [
        (1.0e6, 3.79e6, fmt.energy_span, "1.00–3.79 GWh"),
        (430e3, 1.62e6, fmt.co2e_span, "430–1,620 tCO2e"),  # was "430 tCO2e–1.62 ktCO2e"
        (0.228, 0.817, fmt.energy_span, "228–817 Wh"),
        (1e-3, 5e3, fmt.energy_span, "1.00 Wh–5.00 MWh"),  # too far apart for one unit
    ],
)
def test_ranges_write_their_unit_once(
    low: float, high: float, show: Callable[[float, float], str], shown: str
) -> None:
    assert show(low, high) == shown


@pytest.mark.parametrize("exponent", range(-16, 16))
def test_no_formatter_prints_an_exponent_or_a_run_of_zeros(exponent: int) -> None:
    value = 2.7182818 * 10.0**exponent
    for text in (fmt.energy(value), fmt.co2e(value), fmt.usd(value), fmt.usd_rate(value),
                 fmt.approx(value), fmt.days(value)):  # fmt: skip
        assert not UNREADABLE.search(text), (value, text)
        assert "nan" not in text.lower()
        assert "inf" not in text.lower()
    if abs(value) < 1e15:  # FLOP-sized numbers keep their exponent form
        assert not UNREADABLE.search(fmt.number(value)), (value, fmt.number(value))


def test_every_figure_keeps_three_significant_figures() -> None:
    for exponent in range(-6, 10):  # a mWh and up (below it, joules)
        value = 1.23456 * 10.0**exponent
        digits = re.sub(r"[^0-9]", "", fmt.energy(value)).lstrip("0")
        assert digits[:3] == "123", fmt.energy(value)
        assert math.isfinite(value)


# --------------------------------------------------------------------------- the console


@pytest.mark.parametrize(
    ("is_terminal", "terminal", "environ", "width"),
    [
        (True, 80, {}, 80),  # a real 80-column terminal
        (False, 80, {"COLUMNS": "80"}, 80),  # COLUMNS=80 aibudget ... | less: the same layout
        (True, 200, {"COLUMNS": "80"}, 80),  # COLUMNS wins, as rich has it
        (False, 80, {}, MAX_WIDTH),  # a file or a pipe: 100
        (True, 240, {}, MAX_WIDTH),  # never wider than 100
        (True, 20, {}, MIN_WIDTH),  # never narrower than 40
        (False, 80, {"COLUMNS": "wide"}, MAX_WIDTH),  # not a number: ignored
    ],
)
def test_console_width(
    is_terminal: bool, terminal: int, environ: dict[str, str], width: int
) -> None:
    assert console_width(is_terminal, terminal, environ) == width


def test_columns_and_a_real_terminal_give_the_same_layout(run_cli: Run) -> None:
    """The bill drawn in a pseudo-terminal 80 columns wide (no COLUMNS) is line for line the
    bill drawn to a pipe with COLUMNS=80."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    args = ["estimate", "llama-7b-h100-cloud", "--samples", "200"]
    piped = run_cli(*args, env={"COLUMNS": "80"})
    assert piped.returncode == 0, piped.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 80, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    process = subprocess.Popen(
        [sys.executable, "-m", "aibudget", *args],
        stdin=follower, stdout=follower, stderr=follower, env={**environ, "TERM": "xterm"},
    )  # fmt: skip
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)
    assert [line.rstrip() for line in plain.splitlines()] == [
        line.rstrip() for line in piped.stdout.splitlines()
    ]


def test_output_to_a_pipe_is_100_columns(run_cli: Run) -> None:
    out = run_cli("estimate", env={"COLUMNS": None}).stdout
    assert max(cell_len(line) for line in out.splitlines()) == MAX_WIDTH


# --------------------------------------------------------------------------- every command


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_fits_80_columns(run_cli: Run, example: str) -> None:
    result = run_cli("estimate", example, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    _check_fits(result.stdout, 80)
    assert not UNREADABLE.search(_without_flop_counts(result.stdout))


def _without_flop_counts(out: str) -> str:
    """The output less huge counts in exponent form (3.237e+23 FLOP), which are meant."""
    return re.sub(r"\d\.\d+e\+\d+", "", out)


@pytest.mark.parametrize("example", ["gpt3-175b", "1b-owned-a100", "support-assistant-selfhosted"])
def test_the_bill_fits_60_columns(run_cli: Run, example: str) -> None:
    result = run_cli("estimate", example, "--samples", "500", env={"COLUMNS": "60"})
    assert result.returncode == 0, result.stderr
    _check_fits(result.stdout, 60)


@pytest.mark.parametrize("example", ["gpt3-175b-serving", "startup-1b", "tradeoff-model-size"])
def test_explain_fits_80_columns(run_cli: Run, example: str) -> None:
    result = run_cli("estimate", example, "--explain", "--samples", "500", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    _check_fits(result.stdout, 80)


def test_the_range_is_whole_at_80_columns(run_cli: Run) -> None:
    """The reported cut: "$560k–$89…" in the headline range."""
    out = run_cli("estimate", env={"COLUMNS": "80"}).stdout
    assert "$6.34M–$24M" in out
    assert "1.00–3.79 GWh" in out
    assert "430–1,620 tCO2e" in out


COMMANDS = [
    ["compare", "tradeoff-pretrain-8b", "tradeoff-finetune-lora", "--samples", "500"],
    ["compare", "support-assistant-api", "support-assistant-selfhosted", "startup-1b",
     "--samples", "500"],
    ["sweep", "tradeoff-model-size", "--vary", "model.params=1B..70B:4"],
    ["sweep", "llama-7b-h100-cloud", "--vary", "training.chips=64,128", "--vary",
     "training.cloud.price_usd_per_chip_hour=1,2", "--samples", "100"],
    ["tradeoffs", "tradeoff-rent-or-buy-h100", "--samples", "200"],
    ["tradeoffs", "gpt3-175b", "--samples", "200"],
    ["serving", "llama-3.1-70b-serving-h100"],
    ["serving", "support-assistant-api"],
    ["validate", "--samples", "100"],
    ["validate", "--serving"],
    *(["catalog", table] for table in ("accelerators", "prices", "grid", "apis", "constants",
                                       "runs", "wages", "electricity", "price_history")),
]  # fmt: skip


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c)[:50])
def test_every_command_fits(run_cli: Run, command: list[str], width: int) -> None:
    if width == 60 and command[0] in ("validate", "tradeoffs"):
        pytest.skip("60 columns checked where cheap")
    result = run_cli(*command, env={"COLUMNS": str(width)})
    assert result.returncode == 0, result.stderr
    _check_fits(result.stdout, width)


def test_narrow_listings_say_what_they_left_out(run_cli: Run) -> None:
    out = run_cli("catalog", "accelerators", env={"COLUMNS": "60"}).stdout
    assert "Left out at this width:" in " ".join(out.split())
    wide = run_cli("catalog", "accelerators", env={"COLUMNS": "100"}).stdout
    assert "Left out" not in wide


def test_the_ledger_views_fit_80_columns(run_cli: Run, tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger.sqlite")
    tracked = run_cli(
        "track", "--ledger", ledger, "--name", "tiny", "--scenario", "startup-1b",
        "--interval", "0.1", "--", sys.executable, "-c", "sum(range(10**5))",
    )  # fmt: skip
    assert tracked.returncode == 0, tracked.stderr
    for command in (["ledger", "list"], ["ledger", "show", "tiny"], ["ledger", "summary"],
                    ["ledger", "compare", "tiny", "startup-1b"]):  # fmt: skip
        result = run_cli(*command, "--ledger", ledger, env={"COLUMNS": "80"})
        assert result.returncode == 0, result.stderr
        _check_fits(result.stdout, 80)
        assert not UNREADABLE.search(result.stdout), result.stdout


# --------------------------------------------------------------------------- measured or modelled


MODEL = "model: CPU seconds × 3.5 W per core (a source)"


@pytest.mark.parametrize(
    ("methods", "basis"),
    [
        ({"energy (nvml)": "NVML total energy counter"}, "measured"),
        ({"energy (rapl)": "RAPL powercap energy counters"}, "measured"),
        ({"energy (cpu-model)": MODEL}, "modelled"),  # the reported "measured" CPU model
        (
            {"energy (nvml)": "NVML total energy counter", "energy (cpu-model)": MODEL},
            "measured (nvml) and modelled (cpu-model)",
        ),
        ({"wall clock": "monotonic clock"}, "not measured (no energy sensor)"),
    ],
)
def test_energy_says_measured_only_when_measured(methods: dict[str, str], basis: str) -> None:
    assert energy_basis(methods) == basis


@pytest.mark.parametrize(
    ("sensors", "basis"),
    [
        ([("cpu-model", MODEL)], "modelled"),
        ([("rapl", "RAPL powercap energy counters")], "measured"),
        ([("nvml", "NVML counter"), ("cpu-model", MODEL)], "measured (nvml) and modelled"),
    ],
)
def test_the_run_view_labels_its_energy(
    tmp_path: Path, sensors: list[tuple[str, str]], basis: str
) -> None:
    replays = [ReplaySensor([0.0, 3600.0], name=n, method=m) for n, m in sensors]
    with Tracker("job", ledger=tmp_path / "l.sqlite", interval_s=0.05, sensors=replays) as run:
        time.sleep(0.2)
    result = actuals(open_ledger(tmp_path / "l.sqlite"), run.id)
    out = Console(width=160, record=True, file=io.StringIO())  # each row on one line
    render_actuals(result, out)
    text = out.export_text()
    energy = next(line for line in text.splitlines() if line.startswith("Energy"))
    assert basis in " ".join(text.split())
    if basis == "modelled":
        assert "measured" not in energy


def test_a_replica_size_the_draws_disagree_on_is_shown_as_sizes_not_their_mean() -> None:
    import numpy as np

    import aibudget
    from aibudget.report.terminal import _replica_sizes

    assert _replica_sizes(np.array([8.0, 8.0, 16.0])) == "8 or 16 (8 in 67% of draws)"
    assert _replica_sizes(np.array([8.0])) == "8"
    est = aibudget.estimate("gpt3-175b-serving", samples=500)
    assert est.serving is not None
    shown = _replica_sizes(est.serving.chips_per_replica)
    assert shown.startswith("8 or 16 (")  # its draws pick 8 or 16 chips; their mean is neither
