"""The Hugging Face Trainer and Lightning callbacks against the real libraries, on the CPU: a
tiny model built from a config (no downloaded weights) trained for a few steps. Skipped, saying
so, where PyTorch and the framework are not installed (.ci/run installs them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aibudget.tracking.actuals import measured_throughput
from aibudget.tracking.ledger import open_ledger


def test_the_trainer_callback_records_the_trainers_tokens_and_flops(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (.ci/run installs it)")
    transformers = pytest.importorskip(
        "transformers", reason="transformers is not installed (.ci/run installs it)"
    )
    from aibudget.tracking.integrations import huggingface_callback

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=128, n_positions=32, n_embd=32, n_layer=2, n_head=2)
    model = transformers.GPT2LMHeadModel(config)  # from a config: no weights downloaded
    data = [
        {"input_ids": ids, "labels": ids}
        for ids in torch.randint(0, 128, (64, 32), generator=torch.Generator().manual_seed(1))
    ]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=12,
        per_device_train_batch_size=4,
        logging_steps=3,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        include_num_input_tokens_seen=True,
        disable_tqdm=True,
    )
    ledger = tmp_path / "ledger.sqlite"
    callback = huggingface_callback("tiny-gpt2", ledger=ledger, interval_s=0.05)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])
    trainer.train()
    book = open_ledger(ledger, readonly=True)
    (run,) = book.runs()
    assert run.status == "finished"
    samples = book.samples(run.id)
    tokens = max(s.tokens or 0 for s in samples)
    assert tokens == trainer.state.num_input_tokens_seen == 12 * 4 * 32
    assert max(s.step or 0 for s in samples) == 12
    # the measured MFU's numerator, 6·N·tokens, set against the Trainer's own FLOP count
    # (transformers counts 6 × tokens × the parameters without the embeddings)
    params = model.num_parameters(exclude_embeddings=True)
    measured = measured_throughput(book, run.id, params)
    assert measured.tokens == tokens
    assert measured.flops == pytest.approx(trainer.state.total_flos, rel=1e-6)
    assert measured.seconds > 0
    assert measured.flop_per_s == pytest.approx(measured.flops / measured.seconds)


# Lightning 2.6 on PyTorch 2.13 warns about PyTorch's own deprecation, not about this code.
@pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")
def test_the_lightning_callback_records_steps_and_tokens(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (.ci/run installs it)")
    pl = pytest.importorskip("lightning.pytorch", reason="lightning is not installed")
    from aibudget.tracking.integrations import lightning_callback

    class Tiny(pl.LightningModule):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(16, 16)

        def training_step(self, batch: object, index: int) -> object:
            (x,) = batch  # type: ignore[misc]
            return torch.nn.functional.mse_loss(self.layer(x), x)

        def configure_optimizers(self) -> object:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(64, 16)), batch_size=8
    )
    ledger = tmp_path / "ledger.sqlite"
    trainer = pl.Trainer(
        max_steps=6,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[
            lightning_callback("tiny", tokens_per_step=8 * 16, ledger=ledger, interval_s=0.05)
        ],
    )
    trainer.fit(Tiny(), data)
    book = open_ledger(ledger, readonly=True)
    (run,) = book.runs()
    assert run.status == "finished"
    samples = book.samples(run.id)
    assert max(s.step or 0 for s in samples) == 6
    assert max(s.tokens or 0 for s in samples) == 6 * 8 * 16
