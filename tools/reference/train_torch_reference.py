"""PyTorch reference trainer: the recipe of `reid train` (reid-trainer) written in plain PyTorch.

It trains the strong-baseline ReID network of Luo et al., "Bag of Tricks and a Strong Baseline for Deep Person
Re-identification" (CVPRW 2019; code: github.com/michuanhaohao/reid-strong-baseline), with the recipe that
reid-trainer implements in burn (trainer/specs/quickstart.yaml and trainer/src/{data,loss,optim}), so that the
two can be compared on the same data in images per second and in mAP / rank-1. The defaults are the quick-start
spec (ResNet-18 at 64x32, 8 epochs). Nothing is downloaded: the network starts from random weights.

Usage (a Market-1501-layout folder, e.g. the one `reid dataset synth --out DIR` writes):

    .venv/bin/python tools/reference/train_torch_reference.py --data DIR --json OUT.json
    .venv/bin/python tools/reference/train_torch_reference.py --data DIR --device cuda --workers 8 --json OUT.json

Needs torch, numpy and Pillow (no torchvision: the ResNet and the transforms are written here, in torchvision's
layout and with its semantics). `tools/reference/reid_reference.py` supplies the evaluation protocol.

The recipe
  Data       DIR/{bounding_box_train, query, bounding_box_test}, names `PPPP_cC...jpg`. pid -1 (junk) is dropped
             everywhere; pid 0 (distractor) is kept in the gallery only. Train pids are relabelled 0.. in sorted
             order. Files are taken in sorted name order.
  Model      torchvision-layout ResNet-18/34 (BasicBlock) or -50/101 (Bottleneck v1.5), torchvision's random
             init (kaiming-normal fan_out convs, BN 1/0), layer4's first block at stride `last_stride` (1),
             global average pooling -> g; `fcneck` = Linear(C, feat_dim, bias=False) (PyTorch default init)
             when feat_dim != C; BNNeck = BatchNorm1d(feat_dim) with its bias frozen (requires_grad False,
             hence not optimised) and init 1/0; classifier = Linear(feat_dim, classes, bias=False) ~ N(0, 0.001)
             (the strong baseline's weights_init_classifier). Training returns (logits, pre-BNNeck feature);
             eval returns the post-BNNeck feature (neck_feat: after).
  Transforms train: Resize(HxW, bilinear) -> RandomHorizontalFlip(prob) -> Pad(padding, 0) -> RandomCrop(HxW)
             -> ToTensor -> Normalize(mean, std) -> RandomErasing (strong baseline's: probability re_prob,
             area in [0.02, 0.4), aspect in [0.3, 1/0.3), 100 attempts, fill = pixel_mean per channel in the
             normalised tensor). eval: Resize -> ToTensor -> Normalize.
  Sampler    the strong baseline's RandomIdentitySampler (P = batch_size / K identities x K = num_instances).
  Loss       cross entropy with label smoothing eps 0.1 (CrossEntropyLabelSmooth) on the logits + batch-hard
             triplet loss, margin 0.3 (MarginRankingLoss), on the pre-BNNeck features with the baseline's
             euclidean distances sqrt(clamp(|a|^2 + |b|^2 - 2ab, 1e-12)).
  Optimiser  SGD, momentum 0.9, no dampening; weights: base_lr, weight_decay; biases (`bias` in the name, BN
             shifts included): base_lr * bias_lr_factor, weight_decay_bias (the baseline's make_optimizer; its
             one-group-per-parameter list is merged into two groups, which is the same update).
  Schedule   WarmupMultiStepLR (linear): factor gamma^bisect_right(lr_steps, t) * warm(t), warm(t) =
             warmup_factor * (1 - t / warmup_epochs) + t / warmup_epochs while t < warmup_epochs, else 1; stepped
             once at the start of every epoch as the baseline does on ignite's EPOCH_STARTED, so the 0-based
             epoch e trains at t = e + 1.
  Evaluation embed query and gallery (eval mode), L2-normalise, squared euclidean distances, the Market
             protocol of reid_reference.evaluate (same pid and camera removed, queries without a match
             skipped): mAP, mINP, rank-1/5/10. Run before training ("untrained") and after ("trained").

Replay (`--replay DIR`, what `reid bench train` passes): the sampler and the train transforms above are skipped;
each epoch trains on the batches another trainer recorded (its augmented input tensors, labels), in its order, so
the two runs differ only in their arithmetic. `--init-noise 1e-6` perturbs the initial weights (the noise floor of
that comparison); `--save-final` writes the trained state dict; `--eval-weights` scores another network with this
evaluator and lists the per-tensor differences from it (`weights_difference`). `step_losses` lists every step's loss.

Float64 (`--dtype float64`, what `reid bench train --float f64` passes): the network, its inputs (the replayed
f32 batches and the evaluation images, converted exactly), the losses and the optimiser state compute in float64,
and the hyperparameters burn keeps as f32 (SGD momentum, the weight decays, the triplet margin, the label-smoothing
epsilon) are rounded to f32 as burn holds them (in float32 the tensors' own rounding does the same), so a float64
run and burn's float64 run differ by arithmetic alone. `--init` may then be a float64 state dict (burn's exact
start); `--save-final` writes float64. Embeddings are rounded to f32 before the evaluation, as in float32.

Timing: an epoch's `seconds` runs from asking the loader for the first batch to the end of the last optimiser
step (the GPU is synchronised), validation excluded; `images_per_second` = images / seconds (the top-level value
is the mean over epochs). `images_per_second_after_first_batch` leaves out the wait for the first batch;
`load_average_1min` (at the epoch's end) tells whether other processes shared the CPU.

Output: progress on stdout and, with --json, {"config", "environment", "epochs": [...], "untrained": {...},
"trained": {...}, "images_per_second", "wall_seconds"}.
"""

import argparse
import bisect
import json
import math
import os
import platform
import random
import re
import sys
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reid_reference  # noqa: E402  (the evaluation protocol, in numpy)

LABEL_SMOOTH_EPSILON = 0.1
NAME_RE = re.compile(r"^(-?\d+)_c(\d+)")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


# ------------------------------------------------------------------------------------------------ data
def read_market_dir(directory, keep_distractors):
    """[(path, pid, camera)] of a Market-1501 folder, sorted by file name; junk (pid -1) dropped, distractors
    (pid 0) kept only when `keep_distractors`."""
    items = []
    for name in sorted(os.listdir(directory)):
        if not name.lower().endswith(IMAGE_EXTENSIONS):
            continue
        m = NAME_RE.match(name)
        if m is None:
            raise ValueError(f"{directory}/{name}: not a Market-1501 name (PPPP_cC...)")
        pid, cam = int(m.group(1)), int(m.group(2))
        if pid == -1 or (pid == 0 and not keep_distractors):
            continue
        items.append((os.path.join(directory, name), pid, cam))
    if not items:
        raise ValueError(f"{directory}: no usable images")
    return items


def load_rgb(path):
    with Image.open(path) as img:
        return img.convert("RGB")


def to_tensor(img):
    """PIL RGB -> float CHW in [0, 1] (torchvision's ToTensor)."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255.0)


class RandomErasing:
    """The strong baseline's RandomErasing (data/transforms/transforms.py), on a normalised CHW tensor."""

    def __init__(self, probability, mean, sl=0.02, sh=0.4, r1=0.3):
        self.probability, self.mean, self.sl, self.sh, self.r1 = probability, mean, sl, sh, r1

    def __call__(self, img):
        if random.uniform(0, 1) >= self.probability:
            return img
        _, ih, iw = img.shape
        for _ in range(100):
            area = ih * iw
            target_area = random.uniform(self.sl, self.sh) * area
            aspect_ratio = random.uniform(self.r1, 1 / self.r1)
            h = int(round(math.sqrt(target_area * aspect_ratio)))
            w = int(round(math.sqrt(target_area / aspect_ratio)))
            if w < iw and h < ih:
                x1 = random.randint(0, ih - h)
                y1 = random.randint(0, iw - w)
                for c in range(img.shape[0]):
                    img[c, x1:x1 + h, y1:y1 + w] = self.mean[c]
                return img
        return img


class TrainTransform:
    """Resize -> RandomHorizontalFlip -> Pad + RandomCrop -> ToTensor -> Normalize -> RandomErasing, with
    torchvision's semantics (flip and crop draw from torch's RNG, erasing from Python's, as in the baseline)."""

    def __init__(self, height, width, prob, padding, re_prob, mean, std):
        self.size, self.prob, self.padding = (height, width), prob, padding
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)
        self.erase = RandomErasing(re_prob, mean)

    def __call__(self, img):
        h, w = self.size
        img = img.resize((w, h), Image.BILINEAR)
        if torch.rand(1).item() < self.prob:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        x = to_tensor(img)
        if self.padding > 0:
            p = self.padding
            x = F.pad(x, (p, p, p, p))  # Pad(padding) with fill 0, then RandomCrop back to h x w
            i = torch.randint(0, 2 * p + 1, size=(1,)).item()
            j = torch.randint(0, 2 * p + 1, size=(1,)).item()
            x = x[:, i:i + h, j:j + w].contiguous()
        x = (x - self.mean) / self.std
        return self.erase(x)


class EvalTransform:
    def __init__(self, height, width, mean, std):
        self.size = (height, width)
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __call__(self, img):
        h, w = self.size
        return (to_tensor(img.resize((w, h), Image.BILINEAR)) - self.mean) / self.std


class ImageDataset(Dataset):
    def __init__(self, paths, labels, transform):
        self.paths, self.labels, self.transform = paths, labels, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(load_rgb(self.paths[i])), self.labels[i]


class RandomIdentitySampler(Sampler):
    """reid-strong-baseline's RandomIdentitySampler (data/samplers/triplet_sampler.py): per identity, its images
    shuffled (drawn with replacement up to K when it has fewer) and cut into chunks of K; then, while at least
    P identities have chunks left, P of them are drawn at random and each gives its next chunk. Own RNGs
    (seeded) instead of the global ones."""

    def __init__(self, labels, batch_size, num_instances, seed):
        if batch_size % num_instances:
            raise ValueError(f"batch size {batch_size} is not a multiple of num_instances {num_instances}")
        self.num_instances = num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.index_dic = defaultdict(list)
        for index, pid in enumerate(labels):
            self.index_dic[pid].append(index)
        self.pids = list(self.index_dic.keys())
        if len(self.pids) < self.num_pids_per_batch:
            raise ValueError(f"{self.num_pids_per_batch} identities per batch, but only {len(self.pids)} exist")
        self.rng = random.Random(seed)
        self.np_rng = np.random.RandomState(seed)
        self.length = 0
        for pid in self.pids:
            num = max(len(self.index_dic[pid]), num_instances)
            self.length += num - num % num_instances

    def __iter__(self):
        batch_idxs_dict = defaultdict(list)
        for pid in self.pids:
            idxs = list(self.index_dic[pid])
            if len(idxs) < self.num_instances:
                idxs = self.np_rng.choice(idxs, size=self.num_instances, replace=True).tolist()
            self.rng.shuffle(idxs)
            batch_idxs = []
            for idx in idxs:
                batch_idxs.append(idx)
                if len(batch_idxs) == self.num_instances:
                    batch_idxs_dict[pid].append(batch_idxs)
                    batch_idxs = []
        avai_pids = list(self.pids)
        final_idxs = []
        while len(avai_pids) >= self.num_pids_per_batch:
            for pid in self.rng.sample(avai_pids, self.num_pids_per_batch):
                final_idxs.extend(batch_idxs_dict[pid].pop(0))
                if not batch_idxs_dict[pid]:
                    avai_pids.remove(pid)
        self.length = len(final_idxs)
        return iter(final_idxs)

    def __len__(self):
        return self.length


class ReplayBatches:
    """Recorded batches (see --replay): epoch -> [(x [n, 3, h, w] float32, labels int64)], in step order."""

    def __init__(self, folder, height, width):
        self.images = np.memmap(os.path.join(folder, "images.f32"), dtype="<f4", mode="r")
        self.by_epoch = defaultdict(list)
        with open(os.path.join(folder, "batches.jsonl")) as f:
            for line in f:
                b = json.loads(line)
                self.by_epoch[b["epoch"]].append(b)
        self.shape = (3, height, width)
        plane = 3 * height * width
        for steps in self.by_epoch.values():
            steps.sort(key=lambda b: b["index"])
            for b in steps:
                if b["offset"] + b["n"] * plane > self.images.shape[0]:
                    raise SystemExit(f"--replay {folder}: epoch {b['epoch']} batch {b['index']} runs past images.f32")
                if len(b["labels"]) != b["n"]:
                    raise SystemExit(f"--replay {folder}: epoch {b['epoch']} batch {b['index']}: labels != n")

    def epoch(self, epoch):
        """The batches of `epoch` (1-based) as tensors."""
        plane = int(np.prod(self.shape))
        for b in self.by_epoch.get(epoch, []):
            x = np.array(self.images[b["offset"]:b["offset"] + b["n"] * plane]).reshape((b["n"],) + self.shape)
            yield torch.from_numpy(x), torch.tensor(b["labels"], dtype=torch.int64)


def load_weights(model, path):
    """Loads a safetensors state dict with this model's names (num_batches_tracked may be absent)."""
    from safetensors.torch import load_file
    state = load_file(path)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"{path}: missing {missing}, unexpected {unexpected}")


# ------------------------------------------------------------------------------------------------ model
def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 convolution), as torchvision."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


RESNETS = {
    "resnet_18": (BasicBlock, (2, 2, 2, 2)),
    "resnet_34": (BasicBlock, (3, 4, 6, 3)),
    "resnet_50": (Bottleneck, (3, 4, 6, 3)),
    "resnet_101": (Bottleneck, (3, 4, 23, 3)),
}


class ResNet(nn.Module):
    """torchvision's ResNet without `avgpool`/`fc` (same parameter names), layer4 stride = last_stride."""

    def __init__(self, block, layers, last_stride=1):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], last_stride)
        self.num_features = 512 * block.expansion
        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ReidNet(nn.Module):
    """Backbone -> GAP -> [fcneck] -> BNNeck (frozen bias) -> classifier."""

    def __init__(self, backbone, num_classes, feat_dim=0, last_stride=1):
        super().__init__()
        block, layers = RESNETS[backbone]
        self.base = ResNet(block, layers, last_stride)
        channels = self.base.num_features
        feat_dim = feat_dim or channels
        self.fcneck = nn.Linear(channels, feat_dim, bias=False) if feat_dim != channels else None
        self.bottleneck = nn.BatchNorm1d(feat_dim)
        nn.init.constant_(self.bottleneck.weight, 1.0)
        nn.init.constant_(self.bottleneck.bias, 0.0)
        self.bottleneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(feat_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, x):
        g = F.adaptive_avg_pool2d(self.base(x), 1).flatten(1)
        before = self.fcneck(g) if self.fcneck is not None else g
        after = self.bottleneck(before)
        if self.training:
            return self.classifier(after), before
        return after


# ------------------------------------------------------------------------------------------------ loss
def f32(v):
    """`v` rounded to float32, as burn holds it (see `--dtype float64`)."""
    return float(np.float32(v))


def cross_entropy_label_smooth(logits, targets, epsilon, burn_constants=False):
    """The baseline's CrossEntropyLabelSmooth: q = (1 - eps) onehot + eps / classes, -sum(q log p), batch mean.
    `burn_constants`: 1 - eps and eps / classes computed in f32 from an f32 eps, as the burn trainer does."""
    log_probs = F.log_softmax(logits, dim=1)
    q = torch.zeros_like(log_probs).scatter_(1, targets.unsqueeze(1), 1.0)
    if burn_constants:
        q = f32(1 - f32(epsilon)) * q + f32(f32(epsilon) / logits.shape[1])
    else:
        q = (1 - epsilon) * q + epsilon / logits.shape[1]
    return (-q * log_probs).mean(0).sum()


def euclidean_dist(x, y):
    """The baseline's euclidean_dist: sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, min=1e-12))."""
    xx = x.pow(2).sum(1, keepdim=True)
    yy = y.pow(2).sum(1, keepdim=True).t()
    return torch.addmm(xx + yy, x, y.t(), beta=1, alpha=-2).clamp(min=1e-12).sqrt()


def batch_hard_triplet(features, labels, margin):
    """Batch-hard triplet loss (Hermans et al. 2017) as the baseline's TripletLoss: hardest positive and hardest
    negative per anchor, MarginRankingLoss(dist_an, dist_ap, 1) = mean(relu(dist_ap - dist_an + margin))."""
    dist = euclidean_dist(features, features)
    is_pos = labels.unsqueeze(0) == labels.unsqueeze(1)
    dist_ap = dist.masked_fill(~is_pos, float("-inf")).max(1).values
    dist_an = dist.masked_fill(is_pos, float("inf")).min(1).values
    return F.relu(dist_ap - dist_an + margin).mean()


# ------------------------------------------------------------------------------------------------ optimiser
def make_optimizer(model, a):
    weights, biases = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (biases if "bias" in name else weights).append(p)
    c = f32 if a.dtype == "float64" else float  # burn's f32 constants (see --dtype)
    groups = [
        {"params": weights, "lr": a.base_lr, "weight_decay": c(a.weight_decay)},
        {"params": biases, "lr": a.base_lr * a.bias_lr_factor, "weight_decay": c(a.weight_decay_bias)},
    ]
    return torch.optim.SGD(groups, lr=a.base_lr, momentum=c(a.momentum), dampening=0.0)


def warmup_multistep_factor(t, lr_steps, gamma, warmup_factor, warmup_epochs):
    warm = 1.0
    if t < warmup_epochs:
        alpha = t / warmup_epochs
        warm = warmup_factor * (1 - alpha) + alpha
    return warm * gamma ** bisect.bisect_right(sorted(lr_steps), t)


# ------------------------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def embed(model, loader, device):
    model.eval()
    dtype = next(model.parameters()).dtype
    feats = [model(x.to(device, dtype, non_blocking=True)).float().cpu() for x, _ in loader]
    return torch.cat(feats).numpy()


def validate(model, query_loader, gallery_loader, q, g, device):
    t0 = time.perf_counter()
    qf = reid_reference.l2_normalize(embed(model, query_loader, device))
    gf = reid_reference.l2_normalize(embed(model, gallery_loader, device))
    r = reid_reference.evaluate(reid_reference.sq_euclidean(qf, gf), [p for _, p, _ in q], [p for _, p, _ in g],
                                [c for _, _, c in q], [c for _, _, c in g])
    cmc = r["cmc"]
    return {"mAP": r["mAP"], "mINP": r["mINP"], "rank1": cmc[0], "rank5": cmc[min(4, len(cmc) - 1)],
            "rank10": cmc[min(9, len(cmc) - 1)], "num_valid_queries": r["num_valid_queries"],
            "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="Market-1501-layout folder")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--backbone", default="resnet_18", choices=sorted(RESNETS))
    ap.add_argument("--last-stride", type=int, default=1)
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--feat-dim", type=int, default=128, help="0: the backbone's channels (no fcneck)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--val-batch-size", type=int, default=64)
    ap.add_argument("--num-instances", type=int, default=4)
    ap.add_argument("--base-lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--lr-steps", type=int, nargs="*", default=[5, 7])
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--warmup-epochs", type=int, default=1)
    ap.add_argument("--warmup-factor", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--weight-decay-bias", type=float, default=5e-4)
    ap.add_argument("--bias-lr-factor", type=float, default=1.0)
    ap.add_argument("--margin", type=float, default=0.3, help="triplet margin")
    ap.add_argument("--no-label-smooth", action="store_true")
    ap.add_argument("--padding", type=int, default=2)
    ap.add_argument("--prob", type=float, default=0.5, help="horizontal flip probability")
    ap.add_argument("--re-prob", type=float, default=0.5, help="random erasing probability")
    ap.add_argument("--mean", type=float, nargs=3, default=[0.485, 0.456, 0.406])
    ap.add_argument("--std", type=float, nargs=3, default=[0.229, 0.224, 0.225])
    ap.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-validate", action="store_true", help="skip both validations (throughput only)")
    ap.add_argument("--init", help="initial weights: a safetensors state dict with this model's names (the burn "
                    "trainer's initial network, as `reid bench train` writes it); default: torchvision's init")
    ap.add_argument("--replay", help="train on the batches another trainer recorded in this folder (`images.f32`: "
                    "the augmented input tensors, f32 little-endian, planar, image after image; `batches.jsonl`: "
                    "one step per line with epoch, index, n, offset (floats), labels, cameras) instead of drawing "
                    "sampler order and augmentation here; `reid bench train` records burn's")
    ap.add_argument("--init-noise", type=float, default=0.0,
                    help="multiply every initial float tensor by (1 + this * N(0, 1)) (seeded): a second run with "
                    "1e-6 measures how far f32 training drifts from a start that differs only by rounding")
    ap.add_argument("--save-final", help="write the trained state dict here (safetensors, this model's names)")
    ap.add_argument("--eval-weights", help="after training, also score these weights (a safetensors state dict, "
                    "e.g. the burn trainer's final network) with this script's evaluator: result `eval_weights`")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                    help="what the network, losses and optimiser compute in (float64: see the module doc)")
    ap.add_argument("--json", help="write the results here")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    wall0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the baseline's train.py
    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")

    train = read_market_dir(os.path.join(a.data, "bounding_box_train"), keep_distractors=False)
    query = read_market_dir(os.path.join(a.data, "query"), keep_distractors=False)
    gallery = read_market_dir(os.path.join(a.data, "bounding_box_test"), keep_distractors=True)
    relabel = {pid: i for i, pid in enumerate(sorted({pid for _, pid, _ in train}))}
    num_classes = len(relabel)
    train_labels = [relabel[pid] for _, pid, _ in train]
    print(f"train {len(train)} images / {num_classes} ids, query {len(query)}, gallery {len(gallery)}", flush=True)

    pin = device.type == "cuda"
    loader_kw = {"num_workers": a.workers, "pin_memory": pin, "persistent_workers": a.workers > 0}
    train_set = ImageDataset([p for p, _, _ in train], train_labels,
                             TrainTransform(a.height, a.width, a.prob, a.padding, a.re_prob, a.mean, a.std))
    sampler = RandomIdentitySampler(train_labels, a.batch_size, a.num_instances, a.seed)
    train_loader = DataLoader(train_set, batch_size=a.batch_size, sampler=sampler,
                              generator=torch.Generator().manual_seed(a.seed), **loader_kw)
    eval_tf = EvalTransform(a.height, a.width, a.mean, a.std)
    query_loader = DataLoader(ImageDataset([p for p, _, _ in query], [0] * len(query), eval_tf),
                              batch_size=a.val_batch_size, shuffle=False, **loader_kw)
    gallery_loader = DataLoader(ImageDataset([p for p, _, _ in gallery], [0] * len(gallery), eval_tf),
                                batch_size=a.val_batch_size, shuffle=False, **loader_kw)

    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    model = ReidNet(a.backbone, num_classes, a.feat_dim, a.last_stride).to(dtype)
    if a.init:
        load_weights(model, a.init)
    if a.init_noise > 0:
        g = torch.Generator().manual_seed(a.seed + 1)
        with torch.no_grad():
            for t in model.state_dict().values():
                if t.is_floating_point():
                    t.mul_(1 + a.init_noise * torch.randn(t.shape, generator=g, dtype=t.dtype))
    replay = ReplayBatches(a.replay, a.height, a.width) if a.replay else None
    model = model.to(device)
    optimizer = make_optimizer(model, a)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: warmup_multistep_factor(
        t, a.lr_steps, a.gamma, a.warmup_factor, a.warmup_epochs))
    eps = 0.0 if a.no_label_smooth else LABEL_SMOOTH_EPSILON
    burn_constants = a.dtype == "float64"
    margin = f32(a.margin) if burn_constants else a.margin
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)

    result = {
        "config": vars(a),
        "environment": {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
                        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine(),
                        "num_classes": num_classes, "parameters": sum(p.numel() for p in model.parameters()),
                        "cpu_count": os.cpu_count()},
        "epochs": [],
        "step_losses": [],
    }
    if not a.no_validate:
        v = validate(model, query_loader, gallery_loader, query, gallery, device)
        result["untrained"] = v
        print(f"before training: mAP {v['mAP']:.4f} rank-1 {v['rank1']:.4f}", flush=True)

    for epoch in range(a.epochs):
        scheduler.step()  # at EPOCH_STARTED, as the baseline: epoch e trains at t = e + 1
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        zero = torch.zeros((), device=device)
        sums = {"loss": zero.clone(), "id": zero.clone(), "tri": zero.clone(), "correct": zero.clone()}
        batches, images, first = 0, 0, None
        step_losses = []
        sync()
        t0 = time.perf_counter()
        for x, y in (replay.epoch(epoch + 1) if replay is not None else train_loader):
            if first is None:
                first = time.perf_counter()
            x = x.to(device, dtype, non_blocking=True)
            y = y.to(device, non_blocking=True)
            logits, feat = model(x)
            id_loss = (cross_entropy_label_smooth(logits, y, eps, burn_constants) if eps > 0
                       else F.cross_entropy(logits, y))
            tri_loss = batch_hard_triplet(feat, y, margin)
            loss = id_loss + tri_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                sums["loss"] += loss.detach()
                sums["id"] += id_loss.detach()
                sums["tri"] += tri_loss.detach()
                sums["correct"] += (logits.argmax(1) == y).sum()
                step_losses.append(loss.detach())
            batches += 1
            images += x.shape[0]
        sync()
        t1 = time.perf_counter()
        seconds = t1 - t0
        result["step_losses"].extend(torch.stack(step_losses).tolist() if step_losses else [])
        rec = {"epoch": epoch + 1, "lr": lr, "loss": sums["loss"].item() / batches,
               "id_loss": sums["id"].item() / batches, "triplet_loss": sums["tri"].item() / batches,
               "accuracy": sums["correct"].item() / images, "batches": batches, "images": images,
               "seconds": seconds, "images_per_second": images / seconds,
               "first_batch_seconds": first - t0,
               "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
               "images_per_second_after_first_batch":
                   (images - a.batch_size) / (t1 - first) if batches > 1 else None}
        result["epochs"].append(rec)
        print(f"epoch {epoch + 1}/{a.epochs} lr {lr:.5f} loss {rec['loss']:.4f} (id {rec['id_loss']:.4f} "
              f"tri {rec['triplet_loss']:.4f}) acc {rec['accuracy']:.4f} {images} img in {seconds:.1f} s "
              f"= {rec['images_per_second']:.1f} img/s", flush=True)
        if not math.isfinite(rec["loss"]):
            raise SystemExit(f"diverged at epoch {epoch + 1}")

    if not a.no_validate:
        v = validate(model, query_loader, gallery_loader, query, gallery, device)
        result["trained"] = v
        print(f"after training: mAP {v['mAP']:.4f} rank-1 {v['rank1']:.4f}", flush=True)
    if a.save_final:
        from safetensors.torch import save_file
        save_file({k: t.detach().cpu().contiguous() for k, t in model.state_dict().items()
                   if not k.endswith("num_batches_tracked")}, a.save_final)
    if a.eval_weights and not a.no_validate:
        other = ReidNet(a.backbone, num_classes, a.feat_dim, a.last_stride).to(dtype)
        load_weights(other, a.eval_weights)
        v = validate(other.to(device), query_loader, gallery_loader, query, gallery, device)
        result["eval_weights"] = v
        # How far the two trained networks are apart, tensor by tensor: max |ours - theirs| / max |theirs|.
        theirs = other.state_dict()
        diffs = []
        for k, t in model.state_dict().items():
            if k in theirs and t.is_floating_point():
                o = theirs[k].to(t.device, t.dtype)
                diffs.append((float((t - o).abs().max() / o.abs().max().clamp(min=1e-6)), k))
        diffs.sort(reverse=True)
        result["weights_difference"] = [{"tensor": k, "relative": d} for d, k in diffs]
        print(f"{a.eval_weights} in this evaluator: mAP {v['mAP']:.4f} rank-1 {v['rank1']:.4f}", flush=True)
    ips = [e["images_per_second"] for e in result["epochs"]]
    result["images_per_second"] = float(np.mean(ips)) if ips else None
    result["wall_seconds"] = time.perf_counter() - wall0
    print(f"mean {result['images_per_second']:.1f} img/s over {len(ips)} epochs; wall {result['wall_seconds']:.1f} s",
          flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
