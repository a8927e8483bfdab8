"""One training loop for every model: in-memory batches, per-batch augmentation, one-cycle AdamW, checkpoints, and
CUDA graphs on a GPU.

`fit` trains on whatever tensors it is given; `train_variant` feeds it MNIST and writes the shipped files.
"""

import contextlib
import hashlib
import io
import math
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from digitlib import __version__
from digitlib.constants import WEIGHTS_DIR
from digitlib.data.augment import distort
from digitlib.data.mnist import data_checksum, load_mnist
from digitlib.models import weights
from digitlib.models.infer import evaluate, predict_logits
from digitlib.models.zoo import build, count_params, variant
from digitlib.reading.answers import accuracy
from digitlib.training.calibration import fit_temperature
from digitlib.training.device import autocast, pick_device, pick_precision


def resume(checkpoint, settings):
    """The state saved at checkpoint by a run with the same settings, else None; another run's is set aside."""
    try:
        # on the CPU: the random generators' states must stay there; load_state_dict moves the rest to the model
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except (RuntimeError, EOFError, KeyError, ValueError, pickle.UnpicklingError):
        state = None
    saved = state.get("settings") if isinstance(state, dict) else None
    if saved == settings:
        return state
    changed = [k for k in settings if not isinstance(saved, dict) or saved.get(k) != settings[k]]
    why = "is unreadable" if state is None else f"was written with another {', '.join(changed)}"
    stale = f"{checkpoint}.stale"
    with contextlib.suppress(FileNotFoundError):  # another run may have just finished and removed it
        os.replace(checkpoint, stale)
    print(f"checkpoint {checkpoint} {why}: set aside as {stale}; training from the start", file=sys.stderr)
    return None


def data_fingerprint(*tensors):
    """sha256 of the tensors' shapes and values: a checkpoint resumes only on the data it was trained on."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy())
    return h.hexdigest()


def channels_last(recipe, precision):
    """Whether to train in NHWC layout: as the recipe says, else with bf16 or fp16, whose convolutions (oneDNN on
    CPUs, cuDNN on GPUs) run fastest on it; measured here, float32 ones ran slower in it."""
    return precision != "fp32" if recipe.channels_last is None else recipe.channels_last


class GraphedStep:
    """A forward and backward pass recorded once as a CUDA graph and replayed for every batch of the same size. A
    small net's step on a GPU is mostly the CPU launching its hundred-odd kernels one by one; a replay launches them
    all at once (`fast` on an H100: 3.5 ms a step eager, 0.5 ms replayed). The optimizer steps as before, on the
    gradients the replay writes."""

    def __init__(self, forward_backward, model, x, y):
        self.x, self.y = x.clone(), y.clone()
        # a graph records only work that has run once before (cuDNN's choices): one pass on a side stream, then batch
        # norm's statistics and dropout's generator put back as they were
        buffers = [b.clone() for b in model.buffers()]
        rng = torch.cuda.get_rng_state()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            forward_backward(self.x, self.y)
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():
            for b, saved in zip(model.buffers(), buffers):
                b.copy_(saved)
        torch.cuda.set_rng_state(rng)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = forward_backward(self.x, self.y)
        self.grads = [(p, p.grad) for p in model.parameters()]

    def __call__(self, x, y):
        self.x.copy_(x)
        self.y.copy_(y)
        self.graph.replay()
        for p, grad in self.grads:  # an eager pass in between (a last, smaller batch) left others in their place
            p.grad = grad
        return self.out


class Checkpoint:
    """fit's state after each epoch, in one file: a run started again with the same settings resumes from it.

    parts: {name: object with state_dict()} (model, optimizer, scheduler, scaler); the random generators go with them.
    """

    def __init__(self, path, settings, parts, generator, device):
        self.path, self.settings, self.parts, self.generator, self.device = path, settings, parts, generator, device

    def restore(self):
        """Load a matching saved state into the parts and generators; the history so far ([] if none)."""
        state = resume(self.path, self.settings)
        if not state:
            return []
        for key, obj in self.parts.items():
            obj.load_state_dict(state[key])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("device_rng") is not None:
            torch.get_device_module(self.device).set_rng_state(state["device_rng"])
        return state["history"]

    def save(self, history):
        state = {key: obj.state_dict() for key, obj in self.parts.items()}
        state.update(
            generator=self.generator.get_state(),
            torch_rng=torch.get_rng_state(),
            # on a GPU, dropout draws from the GPU's own generator
            device_rng=None if self.device.type == "cpu" else torch.get_device_module(self.device).get_rng_state(),
            history=history,
            settings=self.settings,
        )
        buffer = io.BytesIO()
        torch.save(state, buffer)
        weights.write_atomic(self.path, buffer.getvalue())


def fit(model, recipe, train_data, val_data, *, seed=0, device=None, checkpoint=None, max_batches=None, progress=True):
    """Train model by recipe on train_data (x [N, 1, 28, 28], y [N]), scored on val_data after each epoch; return
    the per-epoch history.

    checkpoint: a file path; written after every epoch, and an interrupted run with the same settings and data resumes
    from it. max_batches: stop each epoch early (for quick smoke runs). A seed makes a CPU run repeatable.
    """
    device = pick_device(device)
    precision = pick_precision(device, recipe.precision)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # shuffling and augmentation
    (x_train, y_train), (x_val, y_val) = train_data, val_data
    x_train, y_train = x_train.to(device), y_train.to(device)  # held on the device: no copy per batch on a GPU
    model.to(device, memory_format=torch.channels_last if channels_last(recipe, precision) else torch.preserve_format)
    steps = math.ceil(len(x_train) / recipe.batch_size)
    if max_batches:
        steps = min(steps, max_batches)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, fused=device.type in ("cpu", "cuda")
    )  # one kernel for all parameters
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")  # fp16 gradients would underflow
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, total_steps=recipe.epochs * steps)
    saver = None
    if checkpoint:
        settings = dict(
            model=repr(model),
            recipe=recipe.to_dict(),
            seed=seed,
            device=device.type,
            precision=precision,
            data=data_fingerprint(x_train, y_train, x_val, y_val),
            max_batches=max_batches,
        )
        parts = dict(model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler)
        saver = Checkpoint(checkpoint, settings, parts, generator, device)
    history = saver.restore() if saver else []
    step = Step(model, recipe, optimizer, scaler, scheduler, device, precision)
    for epoch in range(len(history), recipe.epochs):
        augment = recipe.augment if epoch < recipe.epochs - recipe.clean_epochs else None
        order = torch.randperm(len(x_train), generator=generator).to(device)
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{recipe.epochs}", disable=not progress, leave=False)
        train_loss, train_accuracy, seconds = train_epoch(step, (x_train, y_train), order, bar, augment, generator)
        with autocast(device, precision):  # scored in the training precision: in bf16 at half the time of float32
            val_loss, val_accuracy = evaluate(model, x_val, y_val, device)
        history.append(
            dict(
                epoch=epoch + 1,
                train_loss=train_loss,
                train_accuracy=train_accuracy,
                val_loss=val_loss,
                val_accuracy=val_accuracy,
                seconds=seconds,
            )
        )
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{recipe.epochs}: train loss {history[-1]['train_loss']:.4f} "
                f"acc {history[-1]['train_accuracy']:.4f} | val loss {val_loss:.4f} acc {val_accuracy:.4f} | "
                f"{seconds:.1f}s"
            )
        if saver:
            saver.save(history)
    return history


class Step:
    """One optimiser step on a batch: forward and backward (replayed as a CUDA graph for full batches on a GPU),
    then the optimizer, the loss scaler and the schedule. Returns the batch's loss and logits, detached."""

    def __init__(self, model, recipe, optimizer, scaler, scheduler, device, precision):
        self.model, self.recipe, self.optimizer, self.scaler, self.scheduler = (
            model,
            recipe,
            optimizer,
            scaler,
            scheduler,
        )
        self.device, self.precision = device, precision
        self.graph = None

    def forward_backward(self, x, y):
        with autocast(self.device, self.precision):
            logits = self.model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=self.recipe.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        return loss.detach(), logits.detach()  # kept alive, an autograd graph would tie its nodes to one CUDA stream

    def __call__(self, x, y):
        if self.device.type == "cuda" and len(y) == self.recipe.batch_size:
            self.graph = self.graph or GraphedStep(self.forward_backward, self.model, x, y)
            loss, logits = self.graph(x, y)
        else:
            loss, logits = self.forward_backward(x, y)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return loss, logits


def train_epoch(step, train_data, order, bar, augment, generator):
    """One pass over train_data (x, y on the device) in the given order, batch by batch through step: (train loss,
    train accuracy, seconds). bar: the batches' indices, shown as a progress bar."""
    (x_train, y_train), device, batch_size = train_data, step.device, step.recipe.batch_size
    step.model.train()
    # summed on the device, read every 20 steps: a GPU is not made to wait on every step
    loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), dtype=torch.long, device=device), 0
    start = time.perf_counter()
    for i in bar:
        idx = order[i * batch_size : (i + 1) * batch_size]
        x, y = x_train[idx], y_train[idx]
        if augment:
            x = distort(x, augment, generator)
        loss, logits = step(x, y)
        loss_sum += loss * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
        if not bar.disable and (i % 20 == 0 or i == len(bar) - 1):
            bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.4f}")
    if device.type == "cuda":
        torch.cuda.synchronize()  # the GPU's time, not only the time to queue its work
    seconds = time.perf_counter() - start
    return loss_sum.item() / seen, correct.item() / seen, seconds


def measured_meta(model, about, recipe, history, *, seed, val, test, device, smoke):
    """What NAME.json says of every trained model: about (its name, description, arch and args: enough to rebuild it),
    how it was made, its validation and test accuracy, and the temperature that calibrates it (fitted on val)."""
    (x_val, y_val), (x_test, y_test) = val, test
    val_logits = predict_logits(model, x_val, device)  # in float32, as the model is used
    return dict(
        **about,
        kind=model.kind,
        params=count_params(model),
        recipe=recipe.to_dict(),
        epochs=recipe.epochs,
        seed=seed,
        train_seconds=round(sum(h["seconds"] for h in history), 2),
        device=str(device),
        precision=pick_precision(device, recipe.precision),
        torch_threads=torch.get_num_threads(),
        val_accuracy=accuracy(val_logits.argmax(1), y_val),
        test_accuracy=evaluate(model, x_test, y_test, device)[1],
        temperature=fit_temperature(val_logits, y_val),
        digitlib_version=__version__,
        data_md5=data_checksum(),
        smoke=smoke,
        history=history,
    )


def train_variant(
    name,
    *,
    epochs=None,
    seed=0,
    out=WEIGHTS_DIR,
    device=None,
    precision=None,
    limit=None,
    max_batches=None,
    progress=True,
):
    """Train a registered variant by its recipe, measure it, and write out/NAME.safetensors and NAME.json.

    Returns the metadata written. An interrupted run, started again with the same settings, resumes from
    out/NAME.ckpt.pt. epochs, precision: in place of the recipe's. limit: only the first `limit` images of each
    split; max_batches: batches per epoch (smoke runs).
    """
    v = variant(name)
    recipe = replace(v.recipe, **{k: x for k, x in dict(epochs=epochs, precision=precision).items() if x})
    device = pick_device(device)
    torch.manual_seed(seed)
    train_data = load_mnist("train", limit=limit)
    model = build(v.arch, v.args, images=train_data[0])
    Path(out).mkdir(parents=True, exist_ok=True)
    checkpoint = Path(out) / f"{name}.ckpt.pt"
    x_val, y_val = load_mnist("val", limit=limit)
    run = dict(seed=seed, device=device, max_batches=max_batches, progress=progress)
    history = fit(model, recipe, train_data, (x_val, y_val), checkpoint=checkpoint, **run)
    x_test, y_test = load_mnist("test", limit=limit)
    about = dict(name=name, description=v.description, arch=v.arch, args=v.args)
    data = dict(val=(x_val, y_val), test=(x_test, y_test))
    meta = measured_meta(
        model, about, recipe, history, seed=seed, **data, device=device, smoke=bool(limit or max_batches)
    )
    meta = weights.save(model, name, meta, out)
    checkpoint.unlink(missing_ok=True)
    return meta
