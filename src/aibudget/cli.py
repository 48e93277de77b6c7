"""The ``aibudget`` command line: a thin layer over the Python API.

Every command validates through the same models as the API and prints errors as one paragraph
naming the field and what would be valid, with a non-zero exit and no traceback.
"""

# No ``from __future__ import annotations`` here: typer evaluates every command's string
# annotations (twice) on each run, tens of milliseconds; annotations as objects cost nothing.

import dataclasses
import gc
import json
import os
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from aibudget import __version__
from aibudget._errors import FROM_CLI, AibudgetError
from aibudget.defaults import DEFAULT_SAMPLES

app = typer.Typer(
    name="aibudget",
    help="What an AI model will really cost: time, energy, carbon and money, every number sourced.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")
R = TypeVar("R")

#: Exit status for bad input (a scenario, a name, a model that does not fit).
EXIT_BAD_INPUT = 2


def _reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn aibudget's own errors into a message on stderr and exit status 2."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = FROM_CLI.set(True)  # errors name the command's options (--set)
        try:
            return command(*args, **kwargs)
        except AibudgetError as error:
            _say_error(_stderr(), error)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        finally:
            FROM_CLI.reset(token)

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aibudget {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    catalog_dirs: Annotated[
        list[str] | None,
        typer.Option(
            "--catalog",
            metavar="DIR",
            help="A price pack: a folder of CSV files named and shaped like the shipped tables, "
            "laid over them (repeatable: later packs over earlier ones). Replaces "
            "$AIBUDGET_CATALOG. Check one with `aibudget catalog check DIR`.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """What an AI model will really cost: time, energy, carbon and money, every number sourced."""
    if catalog_dirs is None and "aibudget.catalog.packs" not in sys.modules:
        return  # nothing to set or reset, and the catalog need not load for --help
    from aibudget.catalog import packs

    try:
        packs.set_process_layers(catalog_dirs)
    except AibudgetError as error:
        _say_error(_stderr(), error)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _shown(number: float) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:g}"


def _number_option(
    flag: str,
    help: str,
    low: float,
    high: float | None = None,
    whole: bool = True,
    **options: Any,
) -> Any:
    """A number option from ``low`` to ``high`` (whole when ``whole``), read as a person writes
    it (10000, 1e6, 10k, 2M); its help ends with the range, and anything outside it is an error
    saying what would be valid (click's own says "'1e6' is not a valid int range")."""
    kind = "a whole number" if whole else "a number"
    span = (
        f"from {_shown(low)} to {_shown(high)}" if high is not None else f"of {_shown(low)} or more"
    )

    def parse(value: object) -> Any:
        from aibudget.units import parse_quantity

        text = str(value).strip().replace("_", "").replace(",", "")
        try:  # digits alone exactly (a seed may pass 2**53), the rest as quantities
            number = int(text) if whole and text.isdigit() else parse_quantity(value)
        except ValueError:
            number = None
        if number is None or (whole and number != int(number)):
            raise typer.BadParameter(f"{value!r} is not {kind}: give one {span}")
        if number < low or (high is not None and number > high):
            raise typer.BadParameter(f"{value} is out of range: give {kind} {span}")
        return int(number) if whole else float(number)

    metavar = "N" if whole else "SECONDS"
    return typer.Option(
        flag, parser=parse, metavar=metavar, help=f"{help} Valid: {kind} {span}.", **options
    )


#: Upper bound on --samples, the Python API's (``api.MAX_SAMPLES``): memory is bounded whatever the
#: draws (an estimate keeps ``defaults.KEPT_DRAWS`` of them), time is not (1e8: minutes).
MAX_SAMPLES = 100_000_000

Samples = Annotated[
    int,
    _number_option(
        "--samples",
        "Monte Carlo draws of the uncertain assumptions (0: the point estimate, every "
        "assumption at its median); 1e6 or 10k read as numbers.",
        0,
        MAX_SAMPLES,
    ),
]
Seed = Annotated[
    int, _number_option("--seed", "Random seed: the same seed gives the same numbers.", 0)
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a field: section.field=value, e.g. training.chips=1024, or a range: "
        "'training.mfu={p10: 0.3, p90: 0.5}'. Repeatable.",
    ),
]


@app.command()
@_reports_errors
def estimate(
    scenario: Annotated[
        str,
        typer.Argument(
            help="A scenario file (.yaml, .toml, .json) or a built-in example's name. "
            "Default: the GPT-3 175B case study.",
            show_default=False,
        ),
    ] = "gpt3-175b",
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each figure's formula and inputs.")
    ] = False,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
) -> None:
    """Estimate a scenario's lifecycle bill: every phase's cost, energy and carbon, with the
    training run's time and the serving fleet, each with its likely range and the assumptions
    that move it most."""
    from aibudget.estimation.run import estimate as run_estimate

    result = run_estimate(scenario, set_ or (), samples=samples, seed=seed)
    if as_json:
        data = result.to_dict()
        if explain:
            data["explanations"] = [dataclasses.asdict(e) for e in result.explanations]
        _dump(data)
        return
    from aibudget.report.console import console
    from aibudget.report.terminal import render_estimate, render_explanations

    out = console()
    if explain:
        render_explanations(result, out)
    else:
        render_estimate(result, out)


@app.command()
@_reports_errors
def compare(
    scenarios: Annotated[
        list[str],
        typer.Argument(
            help="Two or more scenario files or built-in example names; the first is the baseline.",
            show_default=False,
        ),
    ],
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
) -> None:
    """Compare scenarios side by side: phases and totals, the differences and ratios against
    the first, and the probability that it costs less, from paired draws."""
    from aibudget.analysis.comparison import compare as run_compare

    result = run_compare(scenarios, set_ or (), samples=samples, seed=seed)
    if as_json:
        _dump(result.to_dict())
        return
    from aibudget.report.choices import render_comparison
    from aibudget.report.console import console

    render_comparison(result, console())


@app.command()
@_reports_errors
def sweep(
    scenario: Annotated[str, typer.Argument(help="A scenario file or a built-in example's name.")],
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            "-v",
            help="A field and its values: training.accelerator=A100-80GB,H100-80GB, or a range "
            "model.params=1B..70B:6 (log-spaced; add :linear for even steps). Repeatable: the "
            "sweep covers every combination.",
            show_default=False,
        ),
    ],
    set_: SetOption = None,
    pareto: Annotated[
        str | None,
        typer.Option(
            "--pareto",
            help="Keep only the points no other point beats on both of two figures, e.g. "
            "usd,co2e_kg or usd,training_days (lower is better).",
        ),
    ] = None,
    csv_path: Annotated[
        str | None,
        typer.Option("--csv", help="Also write the table as CSV to this file ('-': stdout)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sweep as JSON.")] = False,
    samples: Annotated[
        int,
        _number_option(
            "--samples",
            "Monte Carlo draws per point (0: point estimates, the fastest).",
            0,
            100_000,
        ),
    ] = 0,
    seed: Seed = 0,
) -> None:
    """Estimate a scenario over a grid of values and tabulate the key figures of each point."""
    from aibudget.analysis.comparison import parse_vary
    from aibudget.analysis.comparison import sweep as run_sweep
    from aibudget.report.console import console

    axes = [parse_vary(v) for v in vary]
    err = console(stderr=True)
    total = 1
    for axis in axes:
        total *= len(axis.values)
    if err.is_terminal and total > 20:
        from rich.progress import Progress

        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("estimating", total=total)
            result = run_sweep(
                scenario,
                axes,
                set_ or (),
                samples,
                seed,
                progress=lambda done, _: bar.update(task, completed=done),
            )
    else:
        result = run_sweep(scenario, axes, set_ or (), samples, seed)
    if pareto is not None:
        x, _, y = pareto.partition(",")
        result = result.pareto(x.strip(), y.strip())
    if csv_path == "-":
        sys.stdout.write(result.to_csv())
        return
    if csv_path is not None:
        from pathlib import Path

        Path(csv_path).write_text(result.to_csv(), "utf-8")
    if as_json:
        _dump(result.to_dict())
        return
    from aibudget.report.choices import render_sweep

    render_sweep(result, console(), pareto)


@app.command()
@_reports_errors
def tradeoffs(
    scenario: Annotated[
        str,
        typer.Argument(help="A scenario file or a built-in example's name."),
    ] = "gpt3-175b",
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trade-offs as JSON.")] = False,
    samples: Annotated[
        int,
        _number_option("--samples", "Paired Monte Carlo draws per variant.", 0, 100_000),
    ] = 2_000,
    seed: Seed = 0,
) -> None:
    """The choices for the final training run: rent or buy (break-even utilisation and
    payback), spot or on-demand, which region, now or later, and model size."""
    from aibudget.analysis.tradeoffs import tradeoffs as run_tradeoffs
    from aibudget.scenario.files import load_scenario

    result = run_tradeoffs(load_scenario(scenario, set_ or ()), samples=samples, seed=seed)
    if as_json:
        _dump(result.to_dict())
        return
    from aibudget.report.choices import render_tradeoffs
    from aibudget.report.console import console

    render_tradeoffs(result, console())


@app.command("serving")
@_reports_errors
def serving_view(
    scenario: Annotated[
        str,
        typer.Argument(
            help="A scenario file or a built-in example's name, with a serving section."
        ),
    ] = "llama-3.1-70b-serving-h100",
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the curve as JSON.")] = False,
) -> None:
    """Throughput against traffic: the fleet's cost per million tokens from a trickle of
    requests to saturation, dedicated and autoscaled, beside the hosted APIs of the same model,
    and the traffic where self-hosting gets cheaper."""
    from aibudget.estimation.run import estimate as run_estimate

    result = run_estimate(scenario, set_ or (), samples=0)
    if as_json:
        _dump(result.to_dict().get("serving_curve", {}))
        return
    from aibudget.report.console import console
    from aibudget.report.serving import render_serving_curve

    render_serving_curve(result, console())


@app.command()
@_reports_errors
def validate(
    runs: Annotated[
        str | None,
        typer.Option(
            "--runs",
            help="A CSV of runs: the schema of the packaged reference runs (`aibudget catalog "
            "runs --json`) or Epoch AI's 'Data on Notable AI Models'; hardware names are mapped "
            "through the catalog's aliases. Default: the packaged runs.",
        ),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit",
            help="With --runs: also refit the shipped model's form on the file's own runs, "
            "leaving each run out, as a second column.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the validation as JSON.")] = False,
    plot: Annotated[
        str | None,
        typer.Option("--plot", help="Also write predicted against published as .svg or .png."),
    ] = None,
    samples: Annotated[
        int,
        _number_option("--samples", "Monte Carlo draws per run.", 0, 100_000),
    ] = 2_000,
    seed: Seed = 0,
    serving: Annotated[
        bool,
        typer.Option(
            "--serving",
            help="Validate serving instead: predict the MLPerf Inference LLM results from each "
            "accelerator's datasheet, leaving each accelerator out of the fit in turn.",
        ),
    ] = False,
) -> None:
    """Predict published training runs from their inputs alone and report the errors: chip-hours,
    wall clock, energy, CO2e and cost, for the tool as shipped, refitted without each run (out of
    sample), the sourced defaults and 6ND at 40% MFU.
    With --serving: MLPerf Inference throughput per accelerator, out of sample."""
    if serving:
        from aibudget.analysis.serving_validation import validate_serving

        checked = validate_serving()
        if as_json:
            _dump(checked.to_dict())
            return
        from aibudget.report.console import console
        from aibudget.report.serving import render_serving_validation

        render_serving_validation(checked, console())
        return
    from aibudget.analysis.validation import validate as run_validate

    if plot is not None:
        from aibudget.report.validation import check_plot_path

        check_plot_path(plot)  # before the work, so a bad path fails at once
    result = run_validate(runs, samples=samples, seed=seed, refit=refit)
    if plot is not None:
        from aibudget.report.validation import write_chart

        write_chart(result, plot)
    if as_json:
        _dump(result.to_dict())
        return
    from aibudget.report.console import console
    from aibudget.report.validation import render_validation

    render_validation(result, console())


class ReportFormat(StrEnum):
    """Formats of ``report``."""

    html = "html"
    md = "md"


@app.command()
@_reports_errors
def report(
    scenarios: Annotated[
        list[str],
        typer.Argument(
            help="One or more scenario files or built-in example names (several: side by side).",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="The file to write ('-': stdout).")
    ] = "-",
    form: Annotated[
        ReportFormat,
        typer.Option("--format", help="html (self-contained, charts inline) or md."),
    ] = ReportFormat.html,
    set_: SetOption = None,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
) -> None:
    """Write a report to send: the bill by phase, the training run, the ranges and what drives
    them, and every assumption with its source; several scenarios side by side."""
    from aibudget.analysis.comparison import compare as run_compare
    from aibudget.estimation.run import estimate as run_estimate
    from aibudget.report.document import render_html, render_markdown

    if len(scenarios) > 1:
        comparison = run_compare(scenarios, set_ or (), samples=samples, seed=seed)
        estimates, compared = comparison.estimates, comparison
    else:
        estimates = (run_estimate(scenarios[0], set_ or (), samples=samples, seed=seed),)
        compared = None
    render = render_html if form is ReportFormat.html else render_markdown
    text = render(estimates, compared)
    if output == "-":
        sys.stdout.write(text)
        return
    from pathlib import Path

    Path(output).write_text(text, "utf-8")
    _stderr().print(_styled(f"wrote {output}", "dim"))


class ExportFormat(StrEnum):
    """The forms ``aibudget export`` writes."""

    model_card = "model-card"
    eu_gpai = "eu-gpai"
    sci = "sci"
    json = "json"
    csv = "csv"


class TrainingType(StrEnum):
    """A model card's training_type."""

    pre_training = "pre-training"
    fine_tuning = "fine-tuning"


@app.command("export")
@_reports_errors
def export_command(
    scenario: Annotated[
        str,
        typer.Argument(help="A scenario file or a built-in example's name.", show_default=False),
    ],
    form: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            "-f",
            help="model-card (Hugging Face co2_eq_emissions, YAML), eu-gpai (the EU Code of "
            "Practice's Model Documentation Form: compute and energy), sci (Software Carbon "
            "Intensity per --per), json (as estimate --json) or csv (the bill's lines).",
            show_default=False,
        ),
    ],
    per: Annotated[
        str | None,
        typer.Option(
            "--per",
            help="sci: the functional unit R, e.g. '1000 requests', '1M tokens' or 'training "
            "run' (default: 1000 requests when the scenario serves, else training run).",
        ),
    ] = None,
    training_type: Annotated[
        TrainingType | None,
        typer.Option(
            "--training-type",
            help="model-card: pre-training or fine-tuning (default: fine-tuning for "
            "training.method lora, else pre-training).",
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="The file to write ('-': stdout).")
    ] = "-",
    set_: SetOption = None,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
) -> None:
    """Export an estimate as a form people file: a model card's co2_eq_emissions, the EU AI
    Act's model documentation (compute and energy), a Software Carbon Intensity score, the JSON
    or the bill's lines as CSV; each field from the estimate, sourced in docs/exports.md."""
    from aibudget.estimation.run import estimate as run_estimate
    from aibudget.report.exports import render

    result = run_estimate(scenario, set_ or (), samples=samples, seed=seed)
    text = render(
        result,
        form.value,
        per=per,
        training_type=training_type.value if training_type is not None else None,
    )
    if output == "-":
        sys.stdout.write(text)
        return
    from pathlib import Path

    try:
        Path(output).write_text(text, "utf-8")
    except OSError as error:
        raise AibudgetError(f"cannot write {output}: {error.strerror or error}") from None
    _stderr().print(_styled(f"wrote {output}", "dim"))


@app.command()
@_reports_errors
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, _number_option("--port", "Port.", 1, 65535)] = 8000,
    workers: Annotated[
        int | None,
        _number_option(
            "--workers",
            "Processes computing estimates, comparisons and reports, one request at a time "
            "each. Default: one per CPU core, at most 4.",
            1,
            64,
            show_default=False,
        ),
    ] = None,
    queue: Annotated[
        int,
        _number_option(
            "--queue",
            "Estimates, comparisons and reports that may wait for a free worker; more are "
            "refused at once (503 with Retry-After).",
            0,
            10_000,
        ),
    ] = 32,
    timeout: Annotated[
        float,
        _number_option(
            "--timeout",
            "Seconds a request may take, waiting included; past it its worker is killed and "
            "the answer is 503.",
            0.1,
            3600,
            whole=False,
        ),
    ] = 20.0,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="Also answer requests whose Host header names this (repeatable; *.example.org "
            "allows its subdomains). Others get 400: a page elsewhere cannot reach the server "
            "through a name it controls (DNS rebinding).",
            show_default=False,
        ),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help="The team ledger nodes' batches are written to (POST /api/ingest) and "
            "/metrics reads: a path or postgresql://user@host/db. Default: $AIBUDGET_LEDGER.",
        ),
    ] = None,
) -> None:
    """Serve the web planner at / and the JSON API under /api (OpenAPI docs at /docs)."""
    import uvicorn

    FROM_CLI.set(False)  # the API's errors name its fields ("overrides"), not this CLI's --set

    if ledger is not None:
        from aibudget.tracking.ledger import refuse_password_in_url

        refuse_password_in_url(ledger)
        os.environ["AIBUDGET_LEDGER"] = ledger  # the team routes open it

    from aibudget.catalog import packs

    chosen = packs.layers()  # server-side only: no request can name a pack
    if chosen:
        os.environ[packs.ENV] = os.pathsep.join(str(p) for p in chosen)  # for the workers
    from aibudget.web.app import ServeSettings, create_app, default_workers
    from aibudget.web.guard import allowed_hosts

    settings = ServeSettings(
        host=host,
        allow_hosts=tuple(allow_host or ()),
        workers=workers or default_workers(),
        queue=queue,
        timeout=timeout,
    )
    err = _stderr()
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            _styled(f"serving on {host}: anyone who can reach it can use it (no login)", "yellow")
        )
    names = ", ".join(allowed_hosts(host, settings.allow_hosts))
    plural = "s" if settings.workers != 1 else ""
    err.print(
        f"aibudget planner: http://{host}:{port}/  (API docs: /docs; {settings.workers} "
        f"worker{plural}; answers to Host {names})",
        highlight=False,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


LedgerOption = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        help="The ledger: an SQLite file, or a team's PostgreSQL database as "
        "postgresql://user@host:port/db (the password from PGPASSWORD or ~/.pgpass). Default: "
        "$AIBUDGET_LEDGER, else aibudget/ledger.sqlite in your data directory.",
    ),
]


def _ledger_target(ledger: str | None) -> str:
    """The ledger named by --ledger (never with a password in it), else the default."""
    from aibudget.tracking.ledger import default_target, refuse_password_in_url

    if ledger is not None:
        refuse_password_in_url(ledger)
        return ledger
    return default_target()


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    no_args_is_help=True,
)
@_reports_errors
def track(
    ctx: typer.Context,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="The scenario this run carries out (prices the actuals)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The run's name.")] = None,
    ledger: LedgerOption = None,
    interval: Annotated[
        float,
        _number_option("--interval", "Seconds between samples.", 0.05, whole=False),
    ] = 5.0,
    forward: Annotated[
        str | None,
        typer.Option(
            "--forward",
            help="A team server (aibudget serve) to forward the samples to, e.g. "
            "http://ledger.internal:8000; the ledger is then this node's spool. The token comes "
            "from $AIBUDGET_INGEST_TOKEN.",
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", help="The project the run is charged to ($AIBUDGET_PROJECT)."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        _number_option("--metrics-port", "Serve Prometheus metrics on 127.0.0.1.", 1, 65535),
    ] = None,
) -> None:
    """Run a command and track its whole process tree: aibudget track -- python train.py.
    Exits with the command's exit code."""
    from aibudget.tracking.command import run_command, write_failure

    code, tracker = run_command(
        ctx.args,
        name,
        scenario,
        _ledger_target(ledger),
        interval,
        forward=forward,
        token=os.environ.get("AIBUDGET_INGEST_TOKEN"),
        metrics_port=metrics_port,
        project=project,
    )
    err = _stderr()
    failure = write_failure(tracker)
    if tracker.forwarder is not None:
        from aibudget.tracking.spool import forwarding_failure

        failure = failure or forwarding_failure(
            tracker.forwarder.result, tracker.forwarder.url, tracker.ledger.path
        )
    if failure is not None:
        _say_error(err, failure, soft_wrap=True)
    else:
        err.print(
            _styled(
                f"aibudget: run {tracker.id} ({tracker.name}) recorded in "
                f"{tracker.ledger.path}; `aibudget ledger show {tracker.id}`",
                "dim",
            )
        )
    raise typer.Exit(code)


def _stderr() -> Any:
    from aibudget.report.console import console

    return console(stderr=True)


def _styled(text: str, style: str) -> Any:
    """``text`` drawn in ``style`` as written: a name or a path with ``[brackets]`` or
    ``:colons:`` in it is never read as rich markup or an emoji code."""
    from rich.text import Text

    return Text(text, style=style)


def _say_error(err: Any, error: object, soft_wrap: bool = False) -> None:
    from rich.text import Text

    err.print(Text.assemble(("error:", "bold red"), " ", str(error)), soft_wrap=soft_wrap)


ledger_app = typer.Typer(
    help="The runs the tracker recorded: list, show, export, and compare against a plan.",
    no_args_is_help=True,
)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("list")
@_reports_errors
def ledger_list(
    ledger: LedgerOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
) -> None:
    """Every run in the ledger, newest first."""
    from aibudget.tracking.ledger import display_url, is_url, open_ledger

    target = _ledger_target(ledger)
    runs = []
    try:
        if not is_url(target):
            os.stat(target)
    except FileNotFoundError:  # no ledger yet: no runs (reading never creates one)
        pass
    except OSError:
        runs = open_ledger(target, readonly=True).runs()  # says what is wrong with the path
    else:
        runs = open_ledger(target, readonly=True).runs()
    path = display_url(target) if is_url(target) else target
    if as_json:
        _dump([r.to_dict() for r in runs])
        return
    from aibudget.report.console import console
    from aibudget.report.tracking import render_runs

    render_runs(runs, path, console())


@ledger_app.command("show")
@_reports_errors
def ledger_show(
    run: Annotated[str, typer.Argument(help="A run's id (or a unique prefix, or its name).")],
    ledger: LedgerOption = None,
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="Price the actuals like this scenario.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the actuals as JSON.")] = False,
) -> None:
    """A run's actuals: time, CPU, chip-hours, energy, carbon and cost, each with its method."""
    from aibudget.scenario.files import load_scenario
    from aibudget.tracking.actuals import actuals
    from aibudget.tracking.ledger import open_ledger

    book = open_ledger(_ledger_target(ledger), readonly=True)
    result = actuals(book, run, load_scenario(scenario) if scenario else None)
    if as_json:
        _dump(result.to_dict())
        return
    from aibudget.report.console import console
    from aibudget.report.tracking import render_actuals

    render_actuals(result, console())


@ledger_app.command("export")
@_reports_errors
def ledger_export(
    run: Annotated[str, typer.Argument(help="A run's id (or a unique prefix, or its name).")],
    ledger: LedgerOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Every sample as CSV.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The run and its samples as JSON.")
    ] = False,
) -> None:
    """Every sample of a run, as CSV (default) or JSON."""
    from aibudget.tracking.ledger import export_rows, open_ledger

    book = open_ledger(_ledger_target(ledger), readonly=True)
    found = book.run(run)
    rows = export_rows(book.samples(found.id))
    if as_json and not as_csv:
        _dump({"run": found.to_dict(), "samples": rows})
        return
    import csv

    from aibudget._files import csv_cell

    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["seq"])
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)


@ledger_app.command("push")
@_reports_errors
def ledger_push(
    spool: Annotated[str, typer.Option("--spool", help="The node's spool (an SQLite ledger).")],
    to: Annotated[str, typer.Option("--to", help="The team server, e.g. http://host:8000.")],
) -> None:
    """Send a spool's samples to a team server (each stored once, however often sent); the
    token comes from $AIBUDGET_INGEST_TOKEN."""
    from aibudget.tracking.ledger import open_ledger
    from aibudget.tracking.spool import Forwarder

    token = os.environ.get("AIBUDGET_INGEST_TOKEN")
    if not token:
        raise AibudgetError("set AIBUDGET_INGEST_TOKEN to an ingest token of the server's")
    result = Forwarder(open_ledger(spool, readonly=True), to, token).push()
    _stderr().print(
        f"sent {result.sent} samples to {to}: {result.stored} new, "
        f"{result.sent - result.stored} already there",
        highlight=False,
    )
    if result.error:
        raise AibudgetError(f"{result.error}; {result.pending} samples not sent, kept in {spool}")


class SummaryBy(StrEnum):
    """How the summary groups runs."""

    project = "project"
    user = "user"
    job = "job"
    month = "month"


@ledger_app.command("summary")
@_reports_errors
def ledger_summary(
    by: Annotated[SummaryBy, typer.Option("--by", help="Group the runs by this.")] = (
        SummaryBy.project
    ),
    ledger: LedgerOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """The runs rolled up by project, user, job or month: spent, budget, burn rate and the
    estimate at completion."""
    from aibudget.tracking.ledger import open_ledger
    from aibudget.tracking.summary import summarize_ledger

    book = open_ledger(_ledger_target(ledger), readonly=True)
    groups = summarize_ledger(book, by.value)
    if as_json:
        _dump({"by": by.value, "ledger": book.path, "groups": [g.to_dict() for g in groups]})
        return
    from aibudget.report.console import console
    from aibudget.report.tracking import render_summary

    render_summary(groups, by.value, book.path, console())


budget_app = typer.Typer(help="Budgets per project, kept in the ledger.", no_args_is_help=True)
ledger_app.add_typer(budget_app, name="budget")


@budget_app.command("set")
@_reports_errors
def budget_set(
    project: Annotated[str, typer.Argument(help="The project.")],
    usd: Annotated[float, typer.Argument(help="Its budget in US dollars.")],
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="The scenario it plans (the planned cost).")
    ] = None,
    ledger: LedgerOption = None,
) -> None:
    """Set a project's budget (again: replaced)."""
    from aibudget.tracking.ledger import open_ledger

    open_ledger(_ledger_target(ledger)).set_budget(project, usd, scenario)
    _stderr().print(f"budget of {project}: ${usd:,.0f}", highlight=False)


import_app = typer.Typer(help="Actuals of jobs nobody wrapped.", no_args_is_help=True)
ledger_app.add_typer(import_app, name="import")


@import_app.command("slurm")
@_reports_errors
def import_slurm(
    source: Annotated[
        str, typer.Argument(help="A file of `sacct --json` or `sacct --parsable2` output, or -.")
    ],
    ledger: LedgerOption = None,
) -> None:
    """Import Slurm's own records: elapsed, allocated GPUs (TRES) and ConsumedEnergy."""
    from aibudget._files import MAX_RUNS_BYTES, read_user_text
    from aibudget.tracking.imports import record, slurm_jobs
    from aibudget.tracking.ledger import open_ledger

    text = (
        sys.stdin.read(MAX_RUNS_BYTES)
        if source == "-"
        else read_user_text(source, what="sacct output", max_bytes=MAX_RUNS_BYTES)
    )
    jobs = slurm_jobs(text)
    added, skipped = record(open_ledger(_ledger_target(ledger)), jobs)
    _stderr().print(f"{added} jobs imported, {skipped} already in the ledger", highlight=False)


@import_app.command("prometheus")
@_reports_errors
def import_prometheus(
    url: Annotated[str, typer.Option("--url", help="The Prometheus server, http://host:9090.")],
    job: Annotated[str, typer.Option("--job", help="The job's id in the ledger.")],
    start: Annotated[str, typer.Option("--start", help="The window's start (ISO 8601).")],
    end: Annotated[str, typer.Option("--end", help="The window's end (ISO 8601).")],
    selector: Annotated[
        str, typer.Option("--selector", help='Label matchers, e.g. Hostname=~"gpu0[1-4]".')
    ] = "",
    exporter: Annotated[
        str, typer.Option("--exporter", help="dcgm (GPUs) or kepler (containers).")
    ] = "dcgm",
    project: Annotated[str | None, typer.Option("--project", help="Its project.")] = None,
    ledger: LedgerOption = None,
) -> None:
    """Import a job's energy from Prometheus (DCGM's or Kepler's counters) over a window."""
    import datetime as dt

    from aibudget.tracking.imports import prometheus_energy, record
    from aibudget.tracking.ledger import open_ledger

    def when(text: str, name: str) -> float:
        try:
            return dt.datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise AibudgetError(f"--{name} {text!r} is not an ISO 8601 time") from None

    imported = prometheus_energy(
        url, job, when(start, "start"), when(end, "end"), selector, exporter, project=project
    )
    added, skipped = record(open_ledger(_ledger_target(ledger)), [imported])
    _stderr().print(
        f"{job}: {(imported.energy_j or 0) / 3.6e6:.4g} kWh on {imported.gpus} GPUs; "
        f"{added} imported, {skipped} already in the ledger",
        highlight=False,
    )


token_app = typer.Typer(help="Ingest tokens of a team ledger.", no_args_is_help=True)
ledger_app.add_typer(token_app, name="token")


@token_app.command("add")
@_reports_errors
def token_add(
    scope: Annotated[str, typer.Argument(help="A project the token may write, or * for any.")],
    ledger: LedgerOption = None,
) -> None:
    """A new ingest token for nodes forwarding to `aibudget serve` (printed once: only its
    hash is stored)."""
    from aibudget.tracking.ledger import open_ledger

    typer.echo(open_ledger(_ledger_target(ledger)).add_token(scope))


@ledger_app.command("compare")
@_reports_errors
def ledger_compare(
    run: Annotated[str, typer.Argument(help="A run's id (or a unique prefix, or its name).")],
    scenario: Annotated[str, typer.Argument(help="The scenario the run carries out.")],
    ledger: LedgerOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Plan against actual per measure, the estimate at completion from the progress so far,
    and the measured MFU to write back into the scenario."""
    from aibudget.tracking.actuals import compare_to_plan
    from aibudget.tracking.ledger import open_ledger

    result = compare_to_plan(open_ledger(_ledger_target(ledger), readonly=True), run, scenario)
    if as_json:
        _dump(result.to_dict())
        return
    from aibudget.report.console import console
    from aibudget.report.tracking import render_plan_comparison

    render_plan_comparison(result, console())


class CatalogTable(StrEnum):
    """The catalog's tables."""

    accelerators = "accelerators"
    prices = "prices"
    grid = "grid"
    apis = "apis"
    constants = "constants"
    runs = "runs"
    wages = "wages"
    electricity = "electricity"
    price_history = "price_history"  # the order of catalog.TABLES (a test checks)
    check = "check"  # not a table: `aibudget catalog check DIR` checks a price pack


#: Row fields a filter word is not matched against (free text that would match too much).
_UNFILTERED = {
    "notes",
    "source_url",
    "source_name",
    "description",
    "interconnect",
    "family",
    "purchase_price_kind",
    "purchase_price_source_url",
}


def _matches(row: Any, words: Iterable[str]) -> bool:
    """Every word must match: an accelerator's exact catalog name selects that chip only;
    any other word is a case-insensitive substring of the row's identifying fields."""
    from aibudget.catalog.hardware import accelerators
    from aibudget.catalog.rows import normalize_name

    exact = {normalize_name(a.name): a.name for a in accelerators()}
    values = {k: v for k, v in dataclasses.asdict(row).items() if k not in _UNFILTERED}
    text = " ".join(str(v) for v in values.values()).lower()
    for word in words:
        name = exact.get(normalize_name(word))
        if name is not None:
            if name not in (values.get("accelerator"), values.get("name")):
                return False
        elif word.lower() not in text:
            return False
    return True


@app.command("catalog")
@_reports_errors
def catalog_command(
    table: Annotated[
        CatalogTable,
        typer.Argument(help="Which table to list (or check, then a price-pack folder)."),
    ],
    filters: Annotated[
        list[str] | None,
        typer.Argument(
            help="Words every listed row must contain, e.g. H100 spot.", show_default=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """List the sourced catalog: accelerators, cloud prices, grid carbon intensity, hosted API
    prices, constants, published runs, wages and electricity by country, dated cloud prices.
    `aibudget catalog check DIR` checks a price pack instead: exit 2 with each problem's file,
    line and column, or 0 with what the pack replaces and adds."""
    from aibudget import catalog

    if table is CatalogTable.check:
        _check_packs(filters or [], as_json)
        return
    rows = catalog.table(table.value)
    words = filters or []
    rows = [row for row in rows if _matches(row, words)]
    if as_json:
        _dump([dataclasses.asdict(row) for row in rows])
        return
    from aibudget.report.catalog import render_catalog
    from aibudget.report.console import console

    render_catalog(table.value, rows, console(), words)


def _check_packs(folders: list[str], as_json: bool) -> None:
    from aibudget.catalog import packs
    from aibudget.report.catalog import render_check
    from aibudget.report.console import console

    if not folders:
        raise typer.BadParameter("give the price-pack folder to check", param_hint="DIR")
    results = [packs.check(folder) for folder in folders]
    if as_json:
        _dump([r.to_dict() for r in results] if len(results) > 1 else results[0].to_dict())
    else:
        out = console()
        for result in results:
            render_check(result, out)
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_BAD_INPUT)


def _only_command(name: str) -> typer.Typer | None:
    """``app`` with its top-level command ``name`` alone (its options, callback and settings),
    or None when ``name`` names no such command (an option, a group such as ``ledger``).

    typer turns every command of an app into a click command on each run (their signatures,
    their options), tens of commands for the one the command line names; what the command
    prints, its help and its errors are the same either way."""
    from copy import copy

    from typer.main import get_command_name

    for info in app.registered_commands:
        callback = info.callback
        given = info.name or (get_command_name(callback.__name__) if callback else None)
        if given == name:
            only = copy(app)
            only.registered_commands = [info]
            only.registered_groups = []
            return only
    return None


#: How many allocations (less deallocations) of objects the collector tracks start a
#: collection of the youngest ones, in a command (Python's default: 700).
GC_YOUNG_THRESHOLD = 100_000


def main() -> None:
    """Entry point of the ``aibudget`` console script."""
    from aibudget._plugins import skip_plugin_loader

    skip_plugin_loader()  # pydantic's plugins found without importlib.metadata: none installed
    # A command's start-up (its imports, pydantic's schemas) allocates ~100,000 objects that all
    # live to the end: collected for cycles every 700 allocations (the default), they are traced
    # over and over for no garbage, ~5% of `aibudget estimate`. Every 100,000 instead: the
    # collector still runs (a long command's cycles are still freed), a few times a command.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    only = _only_command(sys.argv[1]) if len(sys.argv) > 1 else None
    try:
        (only or app)()
    finally:
        # The process ends here: its objects (the modules, pydantic's schemas, the estimate)
        # move to the collector's permanent generation, which the interpreter's shutdown does
        # not trace for cycles nor free (the command has closed its files; the operating system
        # takes the memory back): tens of milliseconds of a short command's time.
        gc.freeze()
