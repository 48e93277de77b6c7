"""aibudget against two peers on the same inputs, in one run, with the ratios.

- Training time: llm-analysis (PyPI ``llm-analysis``), which counts a transformer's FLOPs from its
  shape and divides by chips x peak x an efficiency.
- Inference energy per request: EcoLogits (PyPI ``ecologits``), whose GPU energy and latency per
  output token are regressions on the ML.ENERGY leaderboard (vLLM on H100 80GB) at a batch of 64.

Every input each peer takes is set from the same case as aibudget's scenario, and printed; where a
peer's model differs (its own FLOP count, no prompt tokens, its own power), the difference is
printed beside the figure rather than tuned away. aibudget runs through ``aibudget.estimate`` and
reads the JSON contract (``Estimate.to_dict()``). Nothing is downloaded: llm-analysis' model and GPU
configs and EcoLogits' model repository ship in their wheels, and the Hugging Face libraries
llm-analysis imports are set offline.

    pip install "aibudget[peers]"          # llm-analysis, ecologits
    python benchmarks/peers.py
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import aibudget

INSTALL = 'pip install "aibudget[peers]"  (or: pip install llm-analysis ecologits)'


@dataclass(frozen=True)
class TrainingCase:
    """One training run both aibudget and llm-analysis can state exactly."""

    name: str
    peer_model: str  # llm-analysis' shipped model config (its shape)
    peer_gpu: str  # llm-analysis' shipped GPU config
    accelerator: str  # aibudget's catalog name for the same chip
    params: float  # the published parameter count, aibudget's model.params
    layers: int
    d_model: int
    tokens: float
    seq_len: int
    chips: int
    mfu: float  # aibudget's training.mfu, llm-analysis' flops_efficiency
    tp: int  # llm-analysis' parallelism (it does not change the time; it must multiply to chips)
    pp: int
    global_batch: int  # sequences per step


TRAINING = (
    TrainingCase(
        "GPT-3 175B, 300B tokens, 1,024 A100 at 0.45",
        "megatron-lm-175b", "a100-sxm-80gb", "A100-80GB",
        175e9, 96, 12288, 300e9, 2048, 1024, 0.45, 8, 16, 1536,
    ),
    TrainingCase(
        "Llama 2 7B, 2T tokens, 256 H100 at 0.40",
        "NousResearch_Llama-2-7b-hf", "h100-sxm-80gb", "H100-80GB",
        6.74e9, 32, 4096, 2e12, 4096, 256, 0.40, 1, 1, 1024,
    ),
    TrainingCase(
        "LLaMA 13B, 1T tokens, 1,024 A100 at 0.45",
        "decapoda-research_llama-13b-hf", "a100-sxm-80gb", "A100-80GB",
        13.0e9, 40, 5120, 1e12, 2048, 1024, 0.45, 2, 1, 2048,
    ),
    TrainingCase(
        "Llama 2 70B, 2T tokens, 2,048 A100 at 0.40",
        "upstage_Llama-2-70b-instruct-v2", "a100-sxm-80gb", "A100-80GB",
        68.98e9, 80, 8192, 2e12, 4096, 2048, 0.40, 8, 4, 1024,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class InferenceCase:
    """One served model both aibudget and EcoLogits can state exactly."""

    name: str
    peer_model: str  # EcoLogits' repository entry (provider huggingface_hub): its parameter counts
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    input_tokens: int
    output_tokens: int


# (name, EcoLogits' entry, layers, d_model, heads, kv_heads), each with no prompt (EcoLogits'
# boundary: output tokens only) and with a 1,000-token prompt (aibudget adds its prefill)
SERVED = (
    ("Llama 3.1 8B", "meta-llama/Meta-Llama-3.1-8B", 32, 4096, 32, 8),
    ("Llama 3.1 70B", "meta-llama/Meta-Llama-3.1-70B", 80, 8192, 64, 8),
    ("Mixtral 8x7B", "mistralai/Mixtral-8x7B-v0.1", 32, 4096, 32, 8),
)
OUTPUT_TOKENS = 250
INFERENCE = tuple(
    InferenceCase(
        f"{name}, {prompt:,} in / {OUTPUT_TOKENS} out",
        peer,
        layers,
        d_model,
        heads,
        kv_heads,
        prompt,
        OUTPUT_TOKENS,
    )
    for name, peer, layers, d_model, heads, kv_heads in SERVED
    for prompt in (0, 1000)
)

BATCH = 64  # EcoLogits' fixed batch; aibudget's serving.max_batch is set to it
SERVED_ON = "H100-80GB"  # the chip EcoLogits' regressions were fitted on


def _mean(d: dict[str, Any], key: str) -> float:
    return float(d[key]["mean"])


def _assumption(d: dict[str, Any], name: str) -> float:
    return float(next(a["value"] for a in d["assumptions"] if a["name"] == name))


def _import_peers() -> tuple[Any, Any] | None:
    """llm-analysis and EcoLogits, or None with the reason printed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # llm-analysis imports transformers
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # its "no PyTorch" notice
    missing = []
    try:
        import llm_analysis.analysis as llm_analysis
    except ImportError:
        missing.append("llm-analysis")
    try:
        import ecologits.impacts.llm as ecologits_llm
    except ImportError:
        missing.append("ecologits")
    if missing:
        print(f"peers benchmark skipped: {', '.join(missing)} not installed. Install: {INSTALL}")
        return None
    logging.getLogger("__name__").setLevel(logging.ERROR)  # llm-analysis' logger, so named
    return llm_analysis, ecologits_llm


def training(la: Any) -> list[tuple[str, float, float, str]]:
    """Training days from aibudget and llm-analysis, with the mapping printed."""
    from llm_analysis.config import (
        ParallelismConfig,
        get_dtype_config_by_name,
        get_gpu_config_by_name,
        get_model_config_by_name,
    )

    print("Training time: aibudget vs llm-analysis")
    rows = []
    for c in TRAINING:
        run: dict[str, Any] = {
            "tokens": c.tokens,
            "seq_len": c.seq_len,
            "accelerator": c.accelerator,
            "chips": c.chips,
            "precision": "bf16",
        }
        model = {"params": c.params, "layers": c.layers, "d_model": c.d_model}
        scenario = {"name": c.name, "model": model, "training": {**run, "mfu": c.mfu}}
        ours = aibudget.estimate(scenario, samples=0).to_dict()
        # the same run at aibudget's own fitted MFU, for context
        default = aibudget.estimate({**scenario, "training": run}, samples=0).to_dict()

        dp = c.chips // (c.tp * c.pp)
        gpu = get_gpu_config_by_name(c.peer_gpu)
        analysis = la.LLMAnalysis(
            get_model_config_by_name(c.peer_model),
            gpu,
            get_dtype_config_by_name("w16a16e16"),
            ParallelismConfig(tp_size=c.tp, pp_size=c.pp, dp_size=dp),
            flops_efficiency=c.mfu,
        )
        summary = analysis.training(
            batch_size_per_gpu=1,
            gradient_accumulation_steps=c.global_batch // dp,
            global_batch_size=c.global_batch,
            seq_len=c.seq_len,
            total_num_tokens=int(c.tokens),
            activation_recomputation=la.ActivationRecomputation.NONE,  # model FLOPs, as MFU
        )
        peer_days = summary["total_training_latency"] / 86_400
        peer_flops_per_token = summary["num_flops_total_per_micro_batch"] / c.seq_len
        our_days = _mean(ours["training"], "wall_clock_days")
        our_flops_per_token = _mean(ours["training"], "flops") / c.tokens
        our_peak = _assumption(ours, f"accelerator.{c.accelerator}.peak_bf16") / 1e12
        print(f"  {c.name}")
        print(
            f"    aibudget: model.params={c.params:.4g} layers={c.layers} d_model={c.d_model}"
            f" training.tokens={c.tokens:.3g} seq_len={c.seq_len} accelerator={c.accelerator}"
            f" ({our_peak:g} TFLOP/s) chips={c.chips} mfu={c.mfu}"
        )
        print(
            f"    llm-analysis: model={c.peer_model} ({summary['num_params_total']:.4g} params"
            f" from its shape) gpu={c.peer_gpu} ({gpu.peak_fp16_TFLOPS:g} TFLOP/s)"
            f" tp={c.tp} pp={c.pp} dp={dp} global_batch={c.global_batch}"
            f" flops_efficiency={c.mfu} recomputation=none (its default efficiency: 1.0)"
        )
        print(
            f"    FLOPs per token: aibudget {our_flops_per_token:.4g},"
            f" llm-analysis {peer_flops_per_token:.4g}"
            f" (x{our_flops_per_token / peer_flops_per_token:.3f});"
            f" aibudget at its own fitted MFU"
            f" {_mean(default['training'], 'mfu'):.3f}:"
            f" {_mean(default['training'], 'wall_clock_days'):.1f} days"
        )
        why = (
            f"FLOPs x{our_flops_per_token / peer_flops_per_token:.3f},"
            f" peak x{gpu.peak_fp16_TFLOPS / our_peak:.4f}"
        )
        rows.append((c.name, our_days, peer_days, why))
    return rows


def inference(eco: Any) -> list[tuple[str, float, float, str]]:
    """Energy per request (Wh) from aibudget and EcoLogits, with the mapping printed."""
    from ecologits.electricity_mix_repository import electricity_mixes
    from ecologits.model_repository import ParametersMoE, models

    world = electricity_mixes.find_electricity_mix(zone="WOR")  # carbon only: not compared here
    if world is None:
        raise SystemExit("EcoLogits ships no world electricity mix (WOR): update the script")
    print("Inference energy per request: aibudget vs EcoLogits")
    rows = []
    for c in INFERENCE:
        entry = models.find_model(provider="huggingface_hub", model_name=c.peer_model)
        if entry is None:
            raise SystemExit(f"EcoLogits' repository has no {c.peer_model}: update the case")
        p = entry.architecture.parameters
        total_b, active_b = (p.total, p.active) if isinstance(p, ParametersMoE) else (p, p)
        model: dict[str, Any] = {
            "params": total_b * 1e9,
            "layers": c.layers,
            "d_model": c.d_model,
            "heads": c.heads,
            "kv_heads": c.kv_heads,
        }
        if isinstance(p, ParametersMoE):
            model |= {"architecture": "moe", "active_params": active_b * 1e9}
        peer_inputs: dict[str, Any] = {
            "model_active_parameter_count": active_b,
            "model_total_parameter_count": total_b,
            "output_token_count": c.output_tokens,
            "request_latency": float("inf"),
            "if_electricity_mix_adpe": world.adpe,
            "if_electricity_mix_pe": world.pe,
            "if_electricity_mix_gwp": world.gwp,
            "if_electricity_mix_wue": world.wue,
            "datacenter_wue": 0.0,
            "batch_size": BATCH,
        }
        # EcoLogits' own GPU count (weights x 1.2 over 80 GB, rounded up to a power of two)
        chips = int(
            eco.compute_llm_impacts_dag(**peer_inputs, datacenter_pue=1.0)["gpu_required_count"]
        )
        scenario = {
            "name": c.name,
            "model": model,
            "serving": {
                # a saturated fleet, as EcoLogits' per-request share of a busy server
                "mode": "autoscaled",
                "min_replicas": 0,
                "spare_replicas": 0,
                "peak_to_mean": 1,
                "headroom": 0,
                "requests_per_day": 100e6,
                "input_tokens_per_request": c.input_tokens,
                "output_tokens_per_request": c.output_tokens,
                "accelerator": SERVED_ON,
                "chips_per_replica": chips,
                "max_batch": BATCH,
                "precision": "bf16",
            },
            "horizon": {"years": 1},
        }
        ours = aibudget.estimate(scenario, samples=0).to_dict()
        serving = ours["serving"]
        # aibudget's PUE for this site is given to EcoLogits, rather than one energy.pue set on
        # both: energy.pue on a scenario without training raises in the model today (reported)
        pue = _assumption(ours, "energy.pue [serving]")
        dag = eco.compute_llm_impacts_dag(**peer_inputs, datacenter_pue=pue)
        peer_wh = float(eco.compute_llm_impacts(**peer_inputs, datacenter_pue=pue).energy.value)
        peer_wh *= 1000.0  # kWh per request -> Wh
        our_wh = _mean(serving, "kwh_per_1000_requests")  # kWh per 1,000 requests = Wh each
        tdp = _assumption(ours, f"accelerator.{SERVED_ON}.tdp_w")
        busy_w = (
            tdp
            * _assumption(ours, "energy.server_power_ratio [serving]")
            * _assumption(ours, "energy.average_power_fraction [serving]")
        )
        our_tps = _mean(serving, "decode_tokens_per_s_per_chip")
        peer_s_per_token = float(dag["generation_latency"]) / c.output_tokens
        peer_tps = BATCH / peer_s_per_token / chips
        # one GPU's energy per token of a request, over a token's time shared by the batch
        peer_gpu_w = float(dag["gpu_energy"]) * 3.6e6 / c.output_tokens * BATCH / peer_s_per_token
        print(f"  {c.name}")
        print(
            f"    aibudget: model.params={total_b}B active={active_b}B layers={c.layers}"
            f" d_model={c.d_model} kv_heads={c.kv_heads} serving.accelerator={SERVED_ON}"
            f" chips_per_replica={chips} max_batch={BATCH} input={c.input_tokens}"
            f" output={c.output_tokens}, autoscaled, no spares or headroom"
            f" (utilisation {_mean(serving, 'utilisation'):.3f}); PUE {pue:g}"
        )
        print(
            f"    EcoLogits: {c.peer_model} ({active_b}B active / {total_b}B), "
            f"{c.output_tokens} output tokens (it takes no prompt), batch {BATCH},"
            f" {chips} GPU(s), PUE {pue:g} (its own for huggingface_hub: 1.09-1.14)"
        )
        print(
            f"    per chip: aibudget {our_tps:,.0f} decode tokens/s at {busy_w:.0f} W busy"
            f" (server share, host included); EcoLogits {peer_tps:,.0f} tokens/s at"
            f" {peer_gpu_w:.0f} W GPU + {1200 / 8:.0f} W host"
        )
        # the ratio is W / tokens/s in decode, times aibudget's prefill time (EcoLogits has none)
        watts = busy_w / (peer_gpu_w + 1200 / 8)
        speed = our_tps / peer_tps
        prompt = our_wh / peer_wh / (watts / speed)
        why = f"W x{watts:.2f}, decode tokens/s x{speed:.2f}, prompt and rest x{prompt:.2f}"
        rows.append((c.name, our_wh, peer_wh, why))
    return rows


def _table(title: str, unit: str, peer: str, rows: list[tuple[str, float, float, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}")
    print(f"  {'case':<{width}}  {'aibudget':>10}  {peer:>12}  {'ratio':>6}  what differs")
    for name, ours, theirs, why in rows:
        print(f"  {name:<{width}}  {ours:>10.4g}  {theirs:>12.4g}  {ours / theirs:>6.3f}  {why}")
    print(f"  ({unit}; ratio = aibudget / {peer})")


def main() -> int:
    peers = _import_peers()
    if peers is None:
        return 0
    la, eco = peers
    train_rows = training(la)
    print()
    serve_rows = inference(eco)
    _table("Training wall-clock days", "days", "llm-analysis", train_rows)
    _table("Energy per request", "Wh per request", "EcoLogits", serve_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
