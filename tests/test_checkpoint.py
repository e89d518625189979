"""Exact resume without re-reading batches, the run signature, the scaler state, bad input."""

import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler, TensorDataset

from resnet_lib import training
from resnet_lib.schedule import lr_at
from resnet_lib.tools import checkpoint as ckpt
from resnet_lib.tools.data import AugmentedDataset, make_loaders, make_shapes
from resnet_lib.tools.sampler import ResumableSampler, resumable_sampler
from resnet_lib.training import train


def small_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


class Counting(Dataset):
    """A dataset that counts how many images were read."""

    def __init__(self, dataset):
        self.dataset, self.reads = dataset, 0

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        self.reads += 1
        return self.dataset[index]


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(160, 32, image_size=16, seed=2)  # 5 steps of 32 per epoch


def run(shapes, **kwargs):
    """Seeded model and loaders (augmented, as in notebook 06): the same batches every call."""
    torch.manual_seed(0)
    counting = Counting(AugmentedDataset(shapes[0], padding=2))
    loaders = make_loaders(counting, shapes[1], batch_size=32, seed=0)
    model = small_net()
    history = train(model, *loaders, epochs=3, lr=0.05, schedule="step", progress=False, **kwargs)
    return model, history, counting.reads


@pytest.mark.parametrize("stop", [3, 5, 12])  # mid-epoch, at an epoch's end, in the third epoch
def test_resume_is_exact_and_reads_only_the_new_batches(shapes, tmp_path, stop):
    straight, straight_history, _ = run(shapes)
    path = tmp_path / "run.pt"
    _, first, reads = run(shapes, stop_at_step=stop, checkpoint=path)
    assert reads == stop * 32 and len(first["step_loss"]) == stop
    torch.manual_seed(123)  # whatever happens in between: the checkpoint restores the random state
    resumed, history, reads = run(shapes, resume_from=path, checkpoint=path)
    assert reads == (15 - stop) * 32  # the skipped batches were not read again
    assert history == straight_history
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def reference_train(model, loader, epochs, lr, schedule):
    """The loop as it was written before the rewrite (float32 on the CPU, a read per step)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    total, step, history = epochs * len(loader), 0, {"step_loss": [], "lr": [], "train_loss": []}
    for _ in range(epochs):
        model.train()
        loss_sum, seen = 0.0, 0
        for images, labels in loader:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, lr, schedule)
            loss = F.cross_entropy(model(images).float(), labels)
            value = loss.item()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history["step_loss"].append(value)
            history["lr"].append(optimizer.param_groups[0]["lr"])
            loss_sum, seen, step = loss_sum + value * len(labels), seen + len(labels), step + 1
        history["train_loss"].append(loss_sum / seen)
    return history


def test_a_fresh_run_draws_and_computes_what_the_old_loop_did(shapes):
    """Same batches, same random crops, same numbers, bit for bit, as a plain loop over a shuffled loader."""
    results = []
    for loop in ("old", "new"):
        torch.manual_seed(0)
        data = AugmentedDataset(shapes[0], padding=2)
        if loop == "old":  # the loader make_loaders built before it had a ResumableSampler
            loader = DataLoader(
                data, 32, shuffle=True, generator=torch.Generator().manual_seed(0), drop_last=True
            )
            history = reference_train(small_net(), loader, 2, 0.05, "cosine")
        else:
            history = train(
                small_net(), make_loaders(data, shapes[1], 32)[0], epochs=2, lr=0.05, progress=False
            )
        results.append(({k: history[k] for k in ("step_loss", "lr", "train_loss")}, torch.get_rng_state()))
    assert results[0][0] == results[1][0]
    assert torch.equal(results[0][1], results[1][1])  # the crops drew as many random numbers


def test_the_losses_are_read_once_per_epoch_not_per_step(shapes, monkeypatch):
    reads = []
    original = training.EpochSums.read
    monkeypatch.setattr(
        training.EpochSums,
        "read",
        lambda self, history: reads.append(len(self.losses)) or original(self, history),
    )
    run(shapes)
    assert reads == [5, 5, 5]  # one read of 5 steps per epoch: no wait for the device at every step


def test_train_saves_the_precision_of_the_one_policy(shapes, tmp_path):
    from resnet_lib.precision import training_precision

    loaders = make_loaders(shapes[0], shapes[1], 32)
    train(small_net(), *loaders, max_steps=1, amp=False, progress=False, checkpoint=tmp_path / "c.pt")
    saved = ckpt.load_checkpoint(tmp_path / "c.pt")["run"]
    assert saved["precision"] == training_precision(torch.device("cpu"), False) == "fp32"


# ---------------------------------------------------------------- the sampler


def test_the_sampler_draws_what_random_sampler_draws_and_resumes_part_way():
    data = list(range(10))
    plain = RandomSampler(data, generator=torch.Generator().manual_seed(3))
    resumable = ResumableSampler(RandomSampler(data, generator=torch.Generator().manual_seed(3)))
    epochs = [list(plain) for _ in range(2)]
    assert [list(resumable) for _ in range(2)] == epochs and len(resumable) == 10
    again = ResumableSampler(RandomSampler(data, generator=torch.Generator().manual_seed(99)))
    state = resumable.state_dict()  # the state the second epoch started from
    again.resume(state, skip=4)
    assert list(again) == epochs[1][4:]
    assert list(again) == list(plain)  # and the following epochs as well
    sequential = ResumableSampler(SequentialSampler(data))
    sequential.resume(sequential.state_dict(), skip=7)
    assert list(sequential) == [7, 8, 9] and sequential.state_dict() == {"generator": None}


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: ResumableSampler([1, 2]), TypeError, "sampler must be a torch Sampler, got [1, 2]"),
        (lambda: ResumableSampler(RandomSampler(range(4))), ValueError, "RandomSampler without generator="),
        (
            lambda: ResumableSampler(SequentialSampler(range(4))).resume({"generator": None}, skip=-1),
            ValueError,
            "skip must be an int >= 0, got -1",
        ),
        (
            lambda: ResumableSampler(SequentialSampler(range(4))).resume({}, skip=0),
            ValueError,
            "state must be a ResumableSampler.state_dict()",
        ),
        (
            lambda: resumable_sampler(DataLoader(range(4), 2, shuffle=True)),
            ValueError,
            "checkpoints need a train_loader whose sampler is a ResumableSampler",
        ),
    ],
)
def test_the_sampler_refuses_bad_input(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_a_checkpointed_run_needs_a_resumable_loader(tmp_path):
    loader = DataLoader(
        TensorDataset(torch.randn(8, 3, 8, 8), torch.zeros(8, dtype=torch.long)), 4, shuffle=True
    )
    with pytest.raises(ValueError, match="make it with resnet_lib.tools.data.make_loaders"):
        train(small_net(), loader, checkpoint=tmp_path / "c.pt", progress=False)


# ---------------------------------------------------------------- the signature and the scaler


def test_a_checkpoint_of_another_device_or_precision_is_refused(shapes, tmp_path):
    path = tmp_path / "run.pt"
    run(shapes, stop_at_step=2, checkpoint=path)
    saved = ckpt.load_checkpoint(path)
    assert saved["run"]["device"] == "cpu" and saved["run"]["precision"] == "fp32" and saved["scaler"] == {}
    saved["run"].update(device="cuda", precision="bf16")  # as if saved on a GPU
    with pytest.raises(ValueError, match=re.escape("saved on cuda in bf16, this run is on cpu in fp32")):
        run(shapes, resume_from=saved)
    with pytest.raises(ValueError, match="no run signature"):
        run(shapes, resume_from={"format": ckpt.CHECKPOINT_FORMAT, "model": {}})
    with pytest.raises(ValueError, match="has format 1, this resnet_lib resumes format 2 only"):
        run(shapes, resume_from={**saved, "format": 1})  # saved before the sampler state was


def test_an_empty_scaler_state_is_not_loaded_into_an_enabled_scaler():
    enabled = torch.amp.GradScaler("cpu", enabled=True, init_scale=2.0**10)
    with pytest.raises(RuntimeError, match="empty"):
        enabled.load_state_dict({})  # what torch does with a disabled scaler's state
    ckpt.load_scaler_state(enabled, {})  # an fp32 or bf16 run's state: start afresh
    assert enabled.get_scale() == 2.0**10
    other = torch.amp.GradScaler("cpu", enabled=True, init_scale=8.0)
    ckpt.load_scaler_state(other, enabled.state_dict())
    assert other.get_scale() == 2.0**10
    disabled = torch.amp.GradScaler("cpu", enabled=False)
    ckpt.load_scaler_state(disabled, enabled.state_dict())  # nothing to scale: ignored
    assert disabled.state_dict() == {}


def test_a_resume_with_another_process_count_is_refused(shapes, tmp_path):
    path = tmp_path / "run.pt"
    run(shapes, stop_at_step=2, checkpoint=path)
    saved = ckpt.load_checkpoint(path)
    saved["rng_state"] = saved["rng_state"] * 2  # as if saved by 2 processes
    saved["sampler"] = {0: saved["sampler"][0], 1: saved["sampler"][0]}
    with pytest.raises(ValueError, match=re.escape("of 2 process(es), this run has 1")):
        run(shapes, resume_from=saved)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda p: ckpt.save_checkpoint(3, small_net()), TypeError, "path"),
        (lambda p: ckpt.save_checkpoint(p, "net"), TypeError, "model"),
        (lambda p: ckpt.load_checkpoint(None), TypeError, "path"),
        (lambda p: training.evaluate(small_net(), [1]), TypeError, "loader"),
        (lambda p: training.evaluate(small_net(), None, amp="yes"), TypeError, "amp"),
        (lambda p: train("net", DataLoader(range(4))), TypeError, "model"),
        (lambda p: train(small_net(), DataLoader(range(4)), checkpoint=1), TypeError, "checkpoint"),
        (lambda p: train(small_net(), DataLoader(range(4)), resume_from=[]), TypeError, "resume_from"),
    ],
)
def test_bad_input_is_named(tmp_path, call, error, argument):
    with pytest.raises(error, match=re.escape(argument)):
        call(tmp_path / "c.pt")


def test_nan_losses_are_found_at_the_epoch_end_with_their_step(shapes):
    loaders = make_loaders(shapes[0], shapes[1], 32)
    with pytest.raises(FloatingPointError, match=r"the loss is (nan|inf) at step \d+: try a smaller lr"):
        train(small_net(), loaders[0], lr=1e30, momentum=0.0, progress=False)


def test_resuming_a_finished_run_trains_no_further(shapes, tmp_path):
    # The run ends mid-epoch (12 steps, 5 an epoch): its last checkpoint is at step 12.
    path = tmp_path / "run.pt"
    model, history, _ = run(shapes, max_steps=12, checkpoint=path)
    resumed, again, reads = run(shapes, max_steps=12, resume_from=path)
    assert reads == 0 and again == history and len(again["step_loss"]) == 12
    for a, b in zip(model.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
