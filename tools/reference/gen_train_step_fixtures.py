"""Writes the training-step parity fixtures (trainer/tests/fixtures/train_step/) that trainer/tests/train_step.rs
reads: the same small ReID network trained in plain PyTorch from the same initial weights on the same batches
for 20 steps, with the recipe of each case.

    .venv/bin/python tools/reference/gen_train_step_fixtures.py        (CPU, float32, seeded, deterministic)

What is PyTorch's here (the reference the burn trainer has to match), following the recipes the trainer claims
(reid-strong-baseline = Luo et al. 2019, github.com/michuanhaohao/reid-strong-baseline, as TAO
ReIdentificationNet uses it; TransReID's additions, github.com/damo-cv/TransReID):
  * network: reid_torch_reference.build_resnet / build_swin (torchvision-layout ResNet with a base width, timm
    SwinTransformer through the padded forward), GAP -> fcneck -> BNNeck (BatchNorm1d, bias frozen:
    requires_grad False) -> bias-free classifier; train mode returns (logits, pre-BNNeck feature), eval mode
    the post-BNNeck feature (neck_feat: after). BatchNorm in train mode normalises with the batch's biased
    variance and updates running_var with the UNBIASED one (PyTorch's definition), momentum 0.1.
  * initial weights: torchvision's init for the ResNet (kaiming-normal fan_out convolutions, BN 1/0), PyTorch
    default for fcneck, the baseline's weights_init_classifier (N(0, 0.001)) for the classifier; timm's init
    for the Swin. Saved as init_<net>.safetensors (PyTorch names) and loaded by the Rust test.
  * losses: CrossEntropyLabelSmooth (eps 0.1), TripletLoss with hard_example_mining (euclidean_dist with
    clamp(1e-12).sqrt(), MarginRankingLoss(margin) or SoftMarginLoss), CenterLoss (distmat over all classes,
    masked, clamp(1e-12, 1e12), sum / batch); total = id + triplet [+ center_loss_weight * center].
  * parameter groups: make_optimizer of the baseline / TransReID: one group per parameter; `bias` in the name
    -> base_lr * bias_lr_factor and weight_decay_bias; large_fc_lr -> `classifier` in the name at 2 * base_lr.
    SGD(momentum, dampening 0, no nesterov), Adam / AdamW (torch defaults: betas (0.9, 0.999), eps 1e-8) with
    each group's weight_decay (L2 for Adam, decoupled for AdamW).
  * center loss: its own torch.optim.SGD(lr=center_lr) over the centers, whose gradient is multiplied by
    1 / center_loss_weight after the backward pass (the baseline's do_train_with_center).
  * clip_grad_norm: torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) between backward and step.
  * schedules, stepped per epoch (2 steps = 1 epoch here, 10 epochs): linear = the baseline's
    WarmupMultiStepLR stepped at every EPOCH_STARTED (epoch e trains at last_epoch e + 1); cosine = timm's
    CosineLRScheduler(t_initial=num_epochs, lr_min=0.002 base_lr, warmup_lr_init=warmup_factor base_lr,
    warmup_t=warmup_epochs) at t = e: TAO's create_cosine_scheduler builds the same scheduler (its own copy of
    TransReID's, a torch LRScheduler whose construction steps once at t = 0, then Lightning steps it after
    every epoch), as trainer/src/optim/schedule.rs documents.

Files: batches.safetensors (`images` [10, 8, 3, 32, 32] normalised, `labels` [10, 8] int64; step s trains on
batch s % 10), init_resnet /
init_swin.safetensors, and per case <name>.safetensors: the state dict after 20 steps (parameters and BN
running statistics, `centers` with the center loss), `__loss`, `__id`, `__triplet`, `__center` [20] (the values
of each step, before its update), `__lr` [20] (the weights' rate), `__eval` [8, feat_dim] (the eval-mode
embedding of batch 0 after training). cases.json: the base spec, each case's spec overrides and network.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from timm.scheduler import CosineLRScheduler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reid_torch_reference as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "trainer", "tests", "fixtures", "train_step")

STEPS, STEPS_PER_EPOCH, NUM_EPOCHS = 20, 2, 10
P, K, NUM_CLASSES, H, W = 4, 2, 6, 32, 32
BATCHES = 10  # distinct recorded batches; step s trains on batch s % BATCHES (keeps the fixture near 1 MB)
LABEL_SMOOTH_EPSILON = 0.1

# The spec every case starts from (overrides below change it); the Rust test parses it with reid-trainer's
# spec parser. Dataset folders are never read by the step test.
BASE_SPEC = f"""\
results_dir: /nonexistent/train_step
model:
  backbone: resnet_18
  last_stride: 1
  pretrain_choice: ""
  input_width: {W}
  input_height: {H}
  neck: bnneck
  feat_dim: 16
  neck_feat: after
  metric_loss_type: triplet
  no_margin: False
  with_center_loss: False
  label_smooth: True
dataset:
  train_dataset_dir: /nonexistent/train
  num_classes: {NUM_CLASSES}
  batch_size: {P * K}
  num_instances: {K}
  sampler: softmax_triplet
  num_workers: 1
train:
  num_epochs: {NUM_EPOCHS}
  clip_grad_norm: 0
  seed: 1
  optim:
    name: SGD
    base_lr: 0.05
    momentum: 0.9
    weight_decay: 0.0005
    weight_decay_bias: 0.0
    bias_lr_factor: 2
    large_fc_lr: False
    lr_steps: [6, 8]
    gamma: 0.1
    warmup_factor: 0.1
    warmup_epochs: 3
    warmup_method: linear
    triplet_loss_margin: 0.3
    center_loss_weight: 0.0005
    center_lr: 0.5
"""

# Reduced networks: the ResNet-18 layout (BasicBlock, [2, 2, 2, 2]) at base width 4 (channels 4..32), and a
# timm-layout Swin at embed_dim 8. `feat_dim` 16 < the backbone's channels, so the fcneck is in play.
RESNET_NET = dict(backbone="resnet", block="basic", layers=[2, 2, 2, 2], width=4, last_stride=1, feat_dim=16,
                  num_classes=NUM_CLASSES)
SWIN_NET = dict(backbone="swin", embed_dim=8, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4], window_size=7, mlp_ratio=4,
                feat_dim=16, num_classes=NUM_CLASSES)

CASES = [
    # name, network, spec overrides (on BASE_SPEC)
    ("resnet_sgd_linear", "resnet", {}),
    # TAO's cosine warm-up starts at 0.01 base_lr whatever warmup_factor says; the trainer reads warmup_factor,
    # so the case sets it to 0.01, where both agree.
    ("resnet_sgd_cosine", "resnet", {"train.optim.warmup_method": "cosine", "train.optim.warmup_factor": 0.01}),
    ("resnet_adam", "resnet", {"train.optim.name": "Adam", "train.optim.base_lr": 0.001}),
    ("resnet_adamw", "resnet", {"train.optim.name": "AdamW", "train.optim.base_lr": 0.001,
                                "train.optim.weight_decay": 0.05, "train.optim.weight_decay_bias": 0.01}),
    ("resnet_soft_margin", "resnet", {"model.no_margin": True}),
    ("resnet_center", "resnet", {"model.with_center_loss": True, "model.metric_loss_type": "triplet_center"}),
    ("resnet_large_fc_lr", "resnet", {"train.optim.large_fc_lr": True}),
    ("resnet_clip", "resnet", {"train.clip_grad_norm": 10.0}),
    ("swin_sgd_linear", "swin", {"model.backbone": "swin_tiny_patch4_window7_224", "model.drop_path": 0.0}),
]


# ------------------------------------------------------------------------------------------------ settings
def spec_value(text):
    """A scalar of BASE_SPEC as the YAML would read it (numbers, True/False, lists of ints, strings)."""
    text = text.strip().strip('"')
    if text in ("True", "False"):
        return text == "True"
    if text.startswith("["):
        return [int(v) for v in text.strip("[]").split(",") if v.strip()]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def base_settings():
    """{"section.key": value} of BASE_SPEC (two levels: section.key and train.optim.key)."""
    out, path = {}, []
    for line in BASE_SPEC.splitlines():
        indent = (len(line) - len(line.lstrip())) // 2
        key, _, value = line.strip().partition(":")
        path = path[:indent] + [key]
        if value.strip():
            out[".".join(path)] = spec_value(value)
    return out


def override_text(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


# ------------------------------------------------------------------------------------------------ data
def make_batches(seed=7):
    """BATCHES P x K batches of synthetic identities: a fixed random template per identity plus noise, already
    'normalised' (what the loader hands the network)."""
    gen = torch.Generator().manual_seed(seed)
    templates = torch.randn((NUM_CLASSES, 3, H, W), generator=gen)
    images, labels = [], []
    for _ in range(BATCHES):
        ids = torch.randperm(NUM_CLASSES, generator=gen)[:P].sort().values
        y = ids.repeat_interleave(K)
        x = templates[y] + 0.5 * torch.randn((P * K, 3, H, W), generator=gen)
        images.append(x)
        labels.append(y)
    return torch.stack(images).contiguous(), torch.stack(labels).to(torch.int64).contiguous()


# ------------------------------------------------------------------------------------------------ network
def build(net, seed):
    torch.manual_seed(seed)
    if net == "resnet":
        model = R.build_resnet(RESNET_NET)
        for m in model.base.modules():  # torchvision's ResNet init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
    else:
        model = R.build_swin(SWIN_NET)
        model.base.impl = "padded"
    nn.init.constant_(model.bottleneck.weight, 1.0)
    nn.init.constant_(model.bottleneck.bias, 0.0)
    nn.init.normal_(model.classifier.weight, std=0.001)  # the baseline's weights_init_classifier
    return model


def f32(v):
    """`v` rounded to float32: burn keeps these hyperparameters as f32 (SGD momentum, every weight decay, Adam's
    betas and epsilon, the label-smoothing epsilon, the triplet margin, the center loss weight in the total). The
    float64 run uses the same rounded constants, so the two differ by arithmetic alone (about 3e-8 relative in
    the constants otherwise, which 20 chaotic steps amplify beyond the tolerances)."""
    return float(np.float32(v))


# ------------------------------------------------------------------------------------------------ losses
def cross_entropy_label_smooth(logits, targets, epsilon):
    log_probs = F.log_softmax(logits, dim=1)
    q = torch.zeros_like(log_probs).scatter_(1, targets.unsqueeze(1), 1.0)
    q = f32(1 - f32(epsilon)) * q + f32(f32(epsilon) / logits.shape[1])
    return (-q * log_probs).mean(0).sum()


def euclidean_dist(x, y):
    xx = x.pow(2).sum(1, keepdim=True).expand(x.shape[0], y.shape[0])
    yy = y.pow(2).sum(1, keepdim=True).expand(y.shape[0], x.shape[0]).t()
    dist = (xx + yy).addmm(x, y.t(), beta=1, alpha=-2)
    return dist.clamp(min=1e-12).sqrt()


def triplet(features, labels, margin):
    """The baseline's TripletLoss(margin)(global_feat, labels) with hard_example_mining (P x K batches)."""
    n = features.shape[0]
    dist = euclidean_dist(features, features)
    is_pos = labels.expand(n, n).eq(labels.expand(n, n).t())
    is_neg = labels.expand(n, n).ne(labels.expand(n, n).t())
    dist_ap, _ = torch.max(dist[is_pos].contiguous().view(n, -1), 1, keepdim=True)
    dist_an, _ = torch.min(dist[is_neg].contiguous().view(n, -1), 1, keepdim=True)
    dist_ap, dist_an = dist_ap.squeeze(1), dist_an.squeeze(1)
    y = torch.ones_like(dist_an)
    if margin is None:
        return F.soft_margin_loss(dist_an - dist_ap, y)
    return F.margin_ranking_loss(dist_an, dist_ap, y, margin=margin)


def center_loss(centers, x, labels):
    """The baseline's CenterLoss.forward."""
    batch, classes = x.shape[0], centers.shape[0]
    distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch, classes) + \
        torch.pow(centers, 2).sum(dim=1, keepdim=True).expand(classes, batch).t()
    distmat = distmat.addmm(x, centers.t(), beta=1, alpha=-2)
    mask = labels.unsqueeze(1).expand(batch, classes).eq(torch.arange(classes).expand(batch, classes))
    dist = distmat * mask.float()
    return dist.clamp(min=1e-12, max=1e12).sum() / batch


# ------------------------------------------------------------------------------------------------ optimiser
def make_optimizer(model, s):
    """The baseline's make_optimizer with TransReID's large_fc_lr: one group per trainable parameter."""
    params = []
    for key, value in model.named_parameters():
        if not value.requires_grad:
            continue
        lr, weight_decay = s["train.optim.base_lr"], s["train.optim.weight_decay"]
        if "bias" in key:
            lr = s["train.optim.base_lr"] * s["train.optim.bias_lr_factor"]
            weight_decay = s["train.optim.weight_decay_bias"]
        if s["train.optim.large_fc_lr"] and "classifier" in key:
            lr = s["train.optim.base_lr"] * 2
        params.append({"params": [value], "lr": lr, "weight_decay": f32(weight_decay), "name": key})
    name = s["train.optim.name"]
    if name == "SGD":
        return torch.optim.SGD(params, lr=s["train.optim.base_lr"], momentum=f32(s["train.optim.momentum"]))
    betas, eps = (f32(0.9), f32(0.999)), f32(1e-8)  # torch's defaults, as burn stores them
    if name == "AdamW":
        return torch.optim.AdamW(params, lr=s["train.optim.base_lr"], weight_decay=f32(s["train.optim.weight_decay"]),
                                 betas=betas, eps=eps)
    return getattr(torch.optim, name)(params, betas=betas, eps=eps)


class WarmupMultiStepLR(torch.optim.lr_scheduler.LRScheduler):
    """The baseline's solver/lr_scheduler.py WarmupMultiStepLR (linear warm-up)."""

    def __init__(self, optimizer, milestones, gamma, warmup_factor, warmup_iters):
        self.milestones, self.gamma = list(milestones), gamma
        self.warmup_factor, self.warmup_iters = warmup_factor, warmup_iters
        super().__init__(optimizer, -1)

    def get_lr(self):
        warmup_factor = 1
        if self.last_epoch < self.warmup_iters:
            alpha = self.last_epoch / self.warmup_iters
            warmup_factor = self.warmup_factor * (1 - alpha) + alpha
        import bisect
        return [base_lr * warmup_factor * self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class Schedule:
    """Per-epoch stepping of the case's scheduler; `start_epoch(e)` before 0-based epoch e."""

    def __init__(self, optimizer, s):
        self.method = s["train.optim.warmup_method"]
        base = s["train.optim.base_lr"]
        if self.method == "linear":
            self.sched = WarmupMultiStepLR(optimizer, s["train.optim.lr_steps"], s["train.optim.gamma"],
                                           s["train.optim.warmup_factor"], s["train.optim.warmup_epochs"])
        else:
            self.sched = CosineLRScheduler(optimizer, t_initial=s["train.num_epochs"], lr_min=0.002 * base,
                                           warmup_lr_init=s["train.optim.warmup_factor"] * base,
                                           warmup_t=s["train.optim.warmup_epochs"], cycle_limit=1, t_in_epochs=True)

    def start_epoch(self, e):
        if self.method == "linear":
            self.sched.step()  # the baseline's EPOCH_STARTED handler: epoch e trains at last_epoch e + 1
        elif self.method == "cosine":
            self.sched.step(e)  # TAO's stepping as the trainer documents it: epoch e trains at t = e
        else:  # transreid_cosine: TransReID's scheduler.step(epoch) with epoch counted from 1
            self.sched.step(e + 1)


# ------------------------------------------------------------------------------------------------ training
def train_case(net, settings, init_state, images, labels):
    torch.manual_seed(0)
    model = build(net, 0)
    model.load_state_dict(init_state, strict=False)
    model = model.double()
    images = images.double()
    model.bottleneck.bias.requires_grad_(False)
    model.train()
    s = settings
    optimizer = make_optimizer(model, s)
    schedule = Schedule(optimizer, s)
    eps = LABEL_SMOOTH_EPSILON if s["model.label_smooth"] else 0.0
    margin = None if s["model.no_margin"] else f32(s["train.optim.triplet_loss_margin"])
    with_center = s["model.with_center_loss"]
    weight = s["train.optim.center_loss_weight"]
    centers = None
    if with_center:
        centers = nn.Parameter(torch.randn((NUM_CLASSES, s["model.feat_dim"]),
                                           generator=torch.Generator().manual_seed(5)).double())
        initial_centers = centers.detach().clone()
        center_opt = torch.optim.SGD([centers], lr=s["train.optim.center_lr"])
    clip = s["train.clip_grad_norm"]
    rec = {k: [] for k in ("loss", "id", "triplet", "center", "lr", "norm")}
    for step in range(STEPS):
        if step % STEPS_PER_EPOCH == 0:
            schedule.start_epoch(step // STEPS_PER_EPOCH)
        x, y = images[step % BATCHES], labels[step % BATCHES]
        logits, feat = model(x)
        id_loss = cross_entropy_label_smooth(logits, y, eps) if eps > 0 else F.cross_entropy(logits, y)
        tri_loss = triplet(feat, y, margin)
        loss = id_loss + tri_loss
        c_loss = torch.zeros((), dtype=torch.float64)
        if with_center:
            c_loss = center_loss(centers, feat, y)
            loss = loss + f32(weight) * c_loss
        optimizer.zero_grad(set_to_none=True)
        if with_center:
            center_opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else float("inf"))
        optimizer.step()
        if with_center:
            centers.grad.data *= 1.0 / weight
            center_opt.step()
        for k, v in (("loss", loss), ("id", id_loss), ("triplet", tri_loss), ("center", c_loss)):
            rec[k].append(v.item())
        rec["lr"].append(optimizer.param_groups[0]["lr"])
        if os.environ.get("TRAIN_STEP_SNAPSHOTS"):  # debugging aid: the state after every step
            snap = R.reid_state_dict(model)
            snap["__feat"] = feat.detach().contiguous()
            snap["__logits"] = logits.detach().contiguous()
            save_file(snap, os.path.join(os.environ["TRAIN_STEP_SNAPSHOTS"], f"{s['__name']}_{step}.safetensors"))
        rec["norm"].append(norm.item())
    model.eval()
    with torch.no_grad():
        _, after = model(images[0])
    out = {k: v.float() for k, v in R.reid_state_dict(model).items()}
    if with_center:
        out["centers"] = centers.detach().float()
        out["__initial_centers"] = initial_centers.float()
    for k in ("loss", "id", "triplet", "center", "lr", "norm"):
        out["__" + k] = torch.tensor(rec[k], dtype=torch.float64)
    out["__eval"] = after.float()
    return {k: v.detach().contiguous().clone() for k, v in out.items()}, rec


def write(path, tensors, metadata=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=metadata)
    os.chmod(path, 0o644)
    back = load_file(path)
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)
    print(f"  wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) / 1024:.0f} KiB)")


def main():
    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    images, labels = make_batches()
    write(os.path.join(OUT, "batches.safetensors"), {"images": images, "labels": labels})
    inits = {}
    for net in ("resnet", "swin"):
        inits[net] = R.reid_state_dict(build(net, 11 if net == "resnet" else 12))
        write(os.path.join(OUT, f"init_{net}.safetensors"), inits[net])
    base = base_settings()
    cases = []
    for name, net, overrides in CASES:
        settings = {**base, **overrides, "__name": name}
        tensors, rec = train_case(net, settings, inits[net], images, labels)
        if settings["train.clip_grad_norm"] > 0:
            clipped = sum(n > settings["train.clip_grad_norm"] for n in rec["norm"])
            assert clipped >= STEPS // 2, f"{name}: only {clipped} steps clipped: raise the norm bar"
        write(os.path.join(OUT, f"{name}.safetensors"), tensors)
        print(f"    {name}: loss {rec['loss'][0]:.4f} -> {rec['loss'][-1]:.4f}, lr {min(rec['lr']):.2e}.."
              f"{max(rec['lr']):.2e}, grad norm {min(rec['norm']):.3f}..{max(rec['norm']):.3f}")
        network = dict(RESNET_NET if net == "resnet" else SWIN_NET)
        cases.append({"name": name, "network": network, "init": f"init_{net}.safetensors",
                      "overrides": [f"{k}={override_text(v)}" for k, v in overrides.items()]})
    doc = {"generator": "tools/reference/gen_train_step_fixtures.py", "torch": torch.__version__,
           "steps": STEPS, "steps_per_epoch": STEPS_PER_EPOCH, "spec": BASE_SPEC, "cases": cases}
    path = os.path.join(OUT, "cases.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"  wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
