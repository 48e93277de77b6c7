"""Data acquisition, cleaning, annotation and synthesis."""

from __future__ import annotations

from aibudget import catalog
from aibudget.model.lifecycle import DataInputs
from aibudget.resolution.people import _hourly
from aibudget.resolution.resolver import Resolver
from aibudget.resolution.serving import _api_energy, _api_grid, _api_price


def _data(r: Resolver) -> DataInputs:
    d = r.scenario.data
    zero: dict[str, object] = {f: 0.0 for f in DataInputs.__dataclass_fields__}
    values = dict(zero)
    if d is None:
        return DataInputs.from_values(**values)
    if d.acquisition is not None:
        a = d.acquisition
        if a.tokens:
            values["acquisition_tokens"] = r.given("data.acquisition.tokens", a.tokens, "tokens")
            values["acquisition_usd_per_million_tokens"] = r.given(
                "data.acquisition.usd_per_million_tokens",
                a.usd_per_million_tokens or 0.0,
                "USD/M tokens",
            )
        if a.samples:
            values["acquisition_samples"] = r.given(
                "data.acquisition.samples", a.samples, "samples"
            )
            values["acquisition_usd_per_sample"] = r.given(
                "data.acquisition.usd_per_sample", a.usd_per_sample or 0.0, "USD/sample"
            )
        if a.licence_usd:
            values["licence_usd"] = r.given("data.acquisition.licence_usd", a.licence_usd, "USD")
    if d.cleaning is not None:
        c = d.cleaning
        if c.tokens:
            values["cleaning_tokens"] = r.given("data.cleaning.tokens", c.tokens, "tokens")
            values["cpu_hours_per_billion_tokens"] = r.pick(
                "data.cleaning.cpu_hours_per_billion_tokens",
                c.cpu_hours_per_billion_tokens,
                "core-h/1e9 tokens",
                "cleaning_cpu_hours_per_billion_tokens",
            )
            values["usd_per_cpu_hour"] = r.pick(
                "data.cleaning.usd_per_cpu_hour",
                c.usd_per_cpu_hour,
                "USD/core-hour",
                "usd_per_cpu_hour",
            )
            values["cpu_w_per_core"] = r.constant("data.cleaning.cpu_w_per_core", "cpu_w_per_core")
        if c.people_hours:
            values["cleaning_people_hours"] = r.given(
                "data.cleaning.people_hours", c.people_hours, "hours"
            )
            values["cleaning_usd_per_hour"] = (
                r.given("data.cleaning.usd_per_hour", c.usd_per_hour, "USD/h")
                if c.usd_per_hour is not None
                else _hourly(
                    r, "data.cleaning.usd_per_hour", "data_scientist", "data.cleaning.usd_per_hour"
                )
            )
    if d.annotation is not None:
        ann = d.annotation
        items = r.given("data.annotation.items", ann.items, "items")
        values["rework_fraction"] = (
            r.given("data.annotation.rework_fraction", ann.rework_fraction, "fraction")
            if ann.rework_fraction is not None
            else r.derived(
                "data.annotation.rework_fraction",
                0.0,
                "fraction",
                "no sourced default",
                "no published QA/rework rate was found; set it if labels are reviewed",
            )
        )
        if ann.minutes_per_item is not None:
            values["expert_items"] = items
            values["minutes_per_item"] = r.given(
                "data.annotation.minutes_per_item", ann.minutes_per_item, "minutes"
            )
            values["readers_per_item"] = r.given(
                "data.annotation.readers_per_item", ann.readers_per_item, "readers"
            )
            values["expert_usd_per_hour"] = (
                r.given("data.annotation.usd_per_hour", ann.usd_per_hour, "USD/h")
                if ann.usd_per_hour is not None
                else _hourly(
                    r, "data.annotation.usd_per_hour", ann.role or "", "data.annotation.role"
                )
            )
        else:
            values["crowd_items"] = items
            values["labels_per_item"] = r.given(
                "data.annotation.labels_per_item", ann.labels_per_item, "labels"
            )
            values["usd_per_label"] = (
                r.given("data.annotation.usd_per_label", ann.usd_per_label, "USD/label")
                if ann.usd_per_label is not None
                else r.constant(
                    "data.annotation.usd_per_label", "annotation_usd_per_label", (ann.task or "",)
                )
            )
    if d.synthetic is not None:
        y = d.synthetic
        values["synthetic_output_tokens"] = r.given("data.synthetic.tokens", y.tokens, "tokens")
        values["synthetic_input_tokens"] = r.given(
            "data.synthetic.input_tokens", y.input_tokens, "tokens"
        )
        model = catalog.api_model(y.api) if y.api is not None else None
        if model is not None:
            values["synthetic_usd_per_million_input"] = _api_price(
                r, "data.synthetic.usd_per_million_input", model, "input"
            )
            values["synthetic_usd_per_million_output"] = _api_price(
                r, "data.synthetic.usd_per_million_tokens", model, "output"
            )
        else:
            values["synthetic_usd_per_million_output"] = r.given(
                "data.synthetic.usd_per_million_tokens",
                y.usd_per_million_tokens or 0.0,
                "USD/M tokens",
            )
        values["api_wh_per_output_token"] = _api_energy(r, "data.synthetic.wh_per_token", model)
        values["api_grid_gco2e_per_kwh"] = _api_grid(r, "data.synthetic.grid_gco2e_per_kwh")
    return DataInputs.from_values(**values)
