"""Writes PyTorch reference values for the trainer's losses and learning-rate schedule.

    .venv/bin/python tools/reference/gen_loss_fixtures.py   # -> trainer/tests/fixtures/{losses,schedule}.json

The losses are written here from the formulas of reid-strong-baseline (Luo et al. 2019) as TAO ReIdentificationNet
ships them (`CrossEntropyLabelSmooth`, `euclidean_dist` + `hard_example_mining` + `MarginRankingLoss` /
`SoftMarginLoss`, `CenterLoss` with its all-classes clamp), on the same small inputs as trainer/tests/losses.rs,
with autograd gradients. The schedules run through torch's own `LRScheduler` machinery and are stepped the way the
reference trainers step them (ignite's EPOCH_STARTED for the baseline, Lightning's end-of-epoch step plus TAO's
extra initial `step()`), so the JSON records the rate each 0-based training epoch actually used.
"""

import json
import math
import os
from bisect import bisect_right

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "trainer", "tests", "fixtures")


def ls(t):
    return t.detach().double().reshape(-1).tolist()


# ---------------------------------------------------------------- losses


def smooth_ce(logits, targets, eps):
    n, c = logits.shape
    log_probs = F.log_softmax(logits, dim=1)
    q = torch.zeros_like(log_probs).scatter_(1, targets.unsqueeze(1), 1.0)
    q = (1 - eps) * q + eps / c
    return (-q * log_probs).mean(0).sum()


def pairwise(x):
    sq = x.pow(2).sum(1, keepdim=True)
    d = sq + sq.t() - 2 * x @ x.t()
    return d.clamp(min=1e-12).sqrt()


def hard_mining(dist, labels):
    """The baseline's mining: needs the same number of positives per anchor (P x K batches)."""
    n = dist.shape[0]
    same = labels.expand(n, n).eq(labels.expand(n, n).t())
    ap = dist[same].contiguous().view(n, -1).max(1)[0]
    an = dist[~same].contiguous().view(n, -1).min(1)[0]
    return ap, an


def hard_mining_masked(dist, labels):
    """The same with masks, for batches the baseline cannot take (the anchor stays its own positive)."""
    n = dist.shape[0]
    same = labels.expand(n, n).eq(labels.expand(n, n).t())
    ap = dist.masked_fill(~same, -math.inf).max(1)[0]
    an = dist.masked_fill(same, math.inf).min(1)[0]
    return ap, an


def triplet(x, labels, margin, masked=False):
    ap, an = (hard_mining_masked if masked else hard_mining)(pairwise(x), labels)
    y = torch.ones_like(an)
    if margin is None:
        loss = F.soft_margin_loss(an - ap, y)
    else:
        loss = F.margin_ranking_loss(an, ap, y, margin=margin)
    return loss, ap, an


def center_loss_baseline(x, centers, labels):
    b, c = x.shape[0], centers.shape[0]
    dist = x.pow(2).sum(1, keepdim=True).expand(b, c) + centers.pow(2).sum(1, keepdim=True).expand(c, b).t()
    dist = dist.addmm(x, centers.t(), beta=1, alpha=-2)
    mask = labels.unsqueeze(1).expand(b, c).eq(torch.arange(c).expand(b, c))
    return (dist * mask.float()).clamp(min=1e-12, max=1e12).sum() / b


def losses():
    out = {}
    logits = torch.tensor([[0.0, math.log(2.0), math.log(3.0)], [0.0, 0.0, 0.0]], dtype=torch.float64)
    targets = torch.tensor([2, 0])
    for name, eps in [("ce_plain", 0.0), ("ce_smooth", 0.1)]:
        lg = logits.clone().requires_grad_(True)
        loss = smooth_ce(lg, targets, eps) if eps > 0 else F.cross_entropy(lg, targets)
        loss.backward()
        out[name] = {"logits": ls(logits), "targets": targets.tolist(), "loss": loss.item(), "grad": ls(lg.grad)}

    feats = torch.tensor([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 4.0]], dtype=torch.float64)
    for name, labels, margin, masked in [
        ("triplet_margin", [0, 0, 1, 1], 0.3, False),
        ("triplet_soft", [0, 0, 1, 1], None, False),
        # The baseline's view(n, -1) fails here (uneven positives); masked mining, same formulas.
        ("triplet_singletons_soft", [0, 0, 1, 2], None, True),
        ("triplet_singletons_margin", [0, 0, 1, 2], 3.5, True),
    ]:
        x = feats.clone().requires_grad_(True)
        lab = torch.tensor(labels)
        loss, ap, an = triplet(x, lab, margin, masked)
        loss.backward()
        out[name] = {
            "features": ls(feats),
            "labels": labels,
            "margin": margin,
            "loss": loss.item(),
            "dist_ap": ls(ap),
            "dist_an": ls(an),
            "correct": (an > ap).double().mean().item(),
            "grad": ls(x.grad),
        }

    x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    centers = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0])
    loss = center_loss_baseline(x, centers, labels)
    loss.backward()
    out["center"] = {
        "features": ls(x),
        "centers": ls(centers),
        "labels": labels.tolist(),
        "loss": loss.item(),
        "grad_features": ls(x.grad),
        "grad_centers": ls(centers.grad),
    }
    return out


# ---------------------------------------------------------------- schedules


class MultiStep(torch.optim.lr_scheduler.LRScheduler):
    """The baseline's WarmupMultiStepLR (closed form in last_epoch)."""

    def __init__(self, opt, steps, gamma, warmup_factor, warmup_iters):
        self.steps, self.gamma, self.wf, self.wi = steps, gamma, warmup_factor, warmup_iters
        super().__init__(opt)

    def get_lr(self):
        t = self.last_epoch
        warm = 1.0
        if t < self.wi:
            a = t / self.wi
            warm = self.wf * (1 - a) + a
        return [b * warm * self.gamma ** bisect_right(self.steps, t) for b in self.base_lrs]


class Cosine(torch.optim.lr_scheduler.LRScheduler):
    """TAO's CosineLRScheduler as create_cosine_scheduler configures it (t_mul 1, cycle_limit 1, no noise)."""

    def __init__(self, opt, num_epochs, base_lr, warmup_t):
        self.t_initial, self.lr_min, self.init = num_epochs, 0.002 * base_lr, 0.01 * base_lr
        self.warmup_t, self.t = warmup_t, 0
        self.values = [g["lr"] for g in opt.param_groups]
        self.warm_steps = [(v - self.init) / warmup_t for v in self.values]
        super().__init__(opt)

    def get_lr(self):
        if self.t < self.warmup_t:
            return [self.init + self.t * s for s in self.warm_steps]
        i = self.t // self.t_initial
        if i >= 1:
            return [self.lr_min for _ in self.values]
        t_curr = self.t - self.t_initial * i
        return [self.lr_min + 0.5 * (v - self.lr_min) * (1 + math.cos(math.pi * t_curr / self.t_initial)) for v in self.values]

    def step(self, epoch=None):
        for g, v in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = v
        self.t += 1


def opt(lrs):
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], lr=lrs[0])


def run_baseline(cfg, epochs):
    o = opt(cfg["group_lrs"])
    s = MultiStep(o, cfg["lr_steps"], cfg["gamma"], cfg["warmup_factor"], cfg["warmup_epochs"])
    rows = []
    for _ in range(epochs):  # ignite: scheduler.step() on EPOCH_STARTED
        s.step()
        rows.append([g["lr"] for g in o.param_groups])
    return rows


def run_tao_linear(cfg, epochs):
    o = opt(cfg["group_lrs"])
    s = MultiStep(o, cfg["lr_steps"], cfg["gamma"], cfg["warmup_factor"], cfg["warmup_epochs"])
    s.step()  # configure_optimizers
    rows = []
    for _ in range(epochs):
        rows.append([g["lr"] for g in o.param_groups])
        s.step()  # Lightning, end of epoch
    return rows


def run_tao_cosine(cfg, epochs):
    o = opt(cfg["group_lrs"])
    s = Cosine(o, cfg["num_epochs"], cfg["base_lr"], cfg["warmup_epochs"])
    rows = []
    for _ in range(epochs):
        rows.append([g["lr"] for g in o.param_groups])
        s.step()
    return rows


def schedules():
    out = {}
    cases = {
        "seed": dict(base_lr=0.0008, lr_steps=[40, 70], gamma=0.1, warmup_factor=0.01, warmup_epochs=20, num_epochs=120),
        "small": dict(base_lr=1.0, lr_steps=[2, 4], gamma=0.5, warmup_factor=0.01, warmup_epochs=2, num_epochs=6),
    }
    for name, cfg in cases.items():
        cfg = dict(cfg, group_lrs=[cfg["base_lr"], 2 * cfg["base_lr"]])  # + a bias group (bias_lr_factor 2)
        epochs = cfg["num_epochs"] + 2
        base = run_baseline(cfg, epochs)
        lin = run_tao_linear(cfg, epochs)
        assert all(abs(a - b) < 1e-15 for ra, rb in zip(base, lin) for a, b in zip(ra, rb)), "baseline != TAO linear"
        cos = run_tao_cosine(cfg, epochs)
        out[name] = dict(cfg, linear=lin, cosine=cos)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    for name, data in [("losses", losses()), ("schedule", schedules())]:
        path = os.path.join(OUT, f"{name}.json")
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main()
