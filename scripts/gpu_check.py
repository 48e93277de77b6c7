"""On a machine with an NVIDIA GPU: train a small transformer for a minute under the tracker, and
print the NVML energy, the measured MFU and aibudget's estimate for the same job.

    pip install -e ".[gpu]" torch && python scripts/gpu_check.py [--seconds 60]

Needs PyTorch with CUDA and nvidia-ml-py. The figures go into docs/tracking.md.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import aibudget
from aibudget import catalog
from aibudget.tracking.actuals import actuals
from aibudget.tracking.ledger import open_ledger


def main() -> None:
    import torch
    from torch import nn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: this check needs one")

    device = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
    acc = catalog.accelerator(name.replace("NVIDIA ", "").split(" PCIe")[0])
    vocab = 32_000
    layer = nn.TransformerEncoderLayer(
        args.width, args.width // 64, 4 * args.width, batch_first=True, norm_first=True
    )
    model = nn.Sequential(
        nn.Embedding(vocab, args.width),
        nn.TransformerEncoder(layer, args.layers),
        nn.Linear(args.width, vocab),
    ).to(device)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    mask = nn.Transformer.generate_square_subsequent_mask(args.seq, device=device)
    loss_fn = nn.CrossEntropyLoss()
    tokens = 0
    ledger = Path(tempfile.mkdtemp()) / "gpu_check.sqlite"
    with aibudget.track("gpu-check", ledger=ledger, interval_s=1.0) as run:
        start = time.monotonic()
        while time.monotonic() - start < args.seconds:
            x = torch.randint(0, vocab, (args.batch, args.seq + 1), device=device)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                h = model[0](x[:, :-1])
                h = model[1](h, mask=mask, is_causal=True)
                logits = model[2](h)
                loss = loss_fn(logits.reshape(-1, vocab).float(), x[:, 1:].reshape(-1))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            tokens += args.batch * args.seq
            run.progress(tokens=tokens)
        torch.cuda.synchronize()
        seconds = time.monotonic() - start
    book = open_ledger(ledger)
    measured = actuals(book, run.id)
    peak = acc.peak_flops_per_s("bf16")
    attention = 12 * args.layers * args.width * args.seq * tokens
    mfu = (6 * params * tokens + attention) / (peak * seconds)
    scenario = {
        "name": "gpu check",
        "model": {"params": params, "layers": args.layers, "d_model": args.width},
        "training": {
            "tokens": tokens,
            "seq_len": args.seq,
            "accelerator": acc.name,
            "chips": 1,
            "hardware": "owned",
        },
        "energy": {"pue": 1.0},
    }
    est = aibudget.estimate(scenario)
    planned = est.to_dict()["training"]
    print(f"GPU: {name} (catalog: {acc.name}, {peak / 1e12:,.0f} TFLOP/s dense bf16)")
    print(f"model: {params / 1e6:,.1f}M parameters, {tokens:,} tokens in {seconds:.1f} s")
    print(f"measured MFU: {mfu:.1%} (6·N·D + attention over the dense peak)")
    print(
        f"NVML energy: {measured.energy_kwh * 1000:,.2f} Wh over {measured.elapsed_s:.1f} s "
        f"= {measured.energy_kwh * 3.6e6 / max(measured.elapsed_s, 1e-9):,.0f} W average "
        f"({measured.methods.get('energy (nvml)', 'no NVML reading')})"
    )
    e = planned["energy_kwh"]
    hours = planned["chip_hours"]
    print(
        f"aibudget estimate (catalog MFU {planned['mfu']['p50']:.1%}, PUE 1): "
        f"{hours['p50'] * 3600:,.0f} s ({hours['p10'] * 3600:,.0f}–{hours['p90'] * 3600:,.0f}), "
        f"{e['p50'] * 1000:,.2f} Wh ({e['p10'] * 1000:,.2f}–{e['p90'] * 1000:,.2f}); "
        f"it includes the host's share of power, NVML counts the GPU alone"
    )
    ratio = (e["p50"] * 1000) / max(measured.energy_kwh * 1000, 1e-9)
    print(f"estimate ÷ measured energy: ×{ratio:.2f}; log ratio {math.log(max(ratio, 1e-9)):+.2f}")


if __name__ == "__main__":
    main()
