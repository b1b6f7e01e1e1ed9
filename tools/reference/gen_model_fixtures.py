"""Writes the backbone / ReID model parity fixtures the Rust side reads (models/tests/fixtures).

    .venv/bin/python tools/reference/gen_model_fixtures.py               # small fixtures (committed)
    .venv/bin/python tools/reference/gen_model_fixtures.py --full DIR    # also real-size ResNet-50 / Swin-T

CPU, float32, seeded, torch.use_deterministic_algorithms(True). The models live in reid_torch_reference.py.

Model fixtures (safetensors): the ReID state dict (`base.*`, `fcneck.weight` when present,
`bottleneck.{weight,bias,running_mean,running_var}`, `classifier.weight`) plus
    __backbone (N,C) = g, __before / __after (N,feat_dim), eval mode,
    __train_logits (N,K) / __train_before (N,feat_dim), train mode on a deep copy (BN batch statistics),
and metadata "config" (JSON). Inputs are not stored: `formula_input` (an integer hash of the element index)
gives them on both sides. swin.safetensors holds one state dict and the outputs of every size under
`__<H>x<W>/<name>`. Swin at 224x224 uses timm's forward_features; at 384x128 / 256x128 the padded
forward of reid_torch_reference.swin_padded_features (which equals timm at 224, asserted below).

Pretrained-import fixtures: the case-1 ResNet backbone and the case-3 Swin backbone as users download them
(torchvision .pth, timm .pth / .safetensors, Microsoft .pth, SOLIDER .pth) and import_expected.safetensors
with their g for the case inputs.

Patch-merging channel orders (checked numerically by `check_merge_orders`):
  * timm 1.0.31: x.reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3), i.e. the 4C vector is
    [x(0,0), x(1,0), x(0,1), x(1,1)] (row offset fastest) = Microsoft's x0=[0::2,0::2], x1=[1::2,0::2],
    x2=[0::2,1::2], x3=[1::2,1::2]. SAME order, so timm <-> Microsoft needs no weight change, only the
    re-indexing of the downsample (Microsoft: end of stage i = `layers.{i}.downsample`, timm: start of stage
    i+1 = `layers.{i+1}.downsample`) and `head.weight` <-> `head.fc.weight`.
  * mmdet / SOLIDER: nn.Unfold(2, stride 2) gives channel index c*4 + j with j = dy*2 + dx (channel-major,
    column offset fastest). With perm = [0, 2, 1, 3] (j -> timm block index), the timm -> mmdet conversion is
        W_mmdet[o, c*4 + j] = W_timm[o, perm[j]*C + c],  n_mmdet[c*4 + j] = n_timm[perm[j]*C + c]
    i.e. reshape(O, 4, C)[:, perm].transpose(1, 2).reshape(O, 4C) -- exactly what mmdet's swin_converter
    `correct_unfold_reduction_order` / `correct_unfold_norm_order` do to Microsoft weights (timm order =
    Microsoft order). The importer (mmdet -> timm) needs the inverse:
        W_timm[o, k*C + c] = W_mmdet[o, c*4 + perm[k]]   (perm is its own inverse),
    reshape(O, C, 4).transpose(1, 2)[:, perm].reshape(O, 4C).
"""

import argparse
import copy
import json
import os
import re
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from safetensors.torch import load_file, save_file
from timm.models.swin_transformer import PatchMerging, SwinTransformer, checkpoint_filter_fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reid_torch_reference as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "models", "tests", "fixtures")

UNFOLD_PERM = [0, 2, 1, 3]  # unfold slot j (dy*2+dx) <-> timm / Microsoft slot k (dx*2+dy); an involution

RESNET_CASES = [
    # name, config, batch, seed
    ("resnet_bottleneck_ls1", dict(backbone="resnet", block="bottleneck", layers=[2, 1, 1, 1], width=8, last_stride=1,
                                   feat_dim=64, neck="bnneck", num_classes=10, input_hw=[64, 32]), 3, 101),
    ("resnet_basic_ls2", dict(backbone="resnet", block="basic", layers=[1, 1, 1, 1], width=8, last_stride=2,
                              feat_dim=64, neck="bnneck", num_classes=7, input_hw=[64, 32]), 2, 102),
]
SWIN_SMALL = dict(backbone="swin", embed_dim=8, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4], window_size=7, mlp_ratio=4,
                  feat_dim=48, neck="bnneck", num_classes=5)
SWIN_SEED = 103
SWIN_SIZES = [("swin_224", [224, 224], 201), ("swin_384x128", [384, 128], 202), ("swin_256x128", [256, 128], 203)]
IMPORT_HEAD_CLASSES = 16  # size of the random classifier heads left in the import checkpoints

FULL_RESNET = dict(backbone="resnet", block="bottleneck", layers=[3, 4, 6, 3], width=64, last_stride=1, feat_dim=256,
                   neck="bnneck", num_classes=751, input_hw=[256, 128])
FULL_SWIN = dict(backbone="swin", embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7, mlp_ratio=4,
                 feat_dim=1024, neck="bnneck", num_classes=751)


def maxdiff(a, b):
    return float((a - b).abs().max())


def seeded_normal(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def formula_input(shape, seed):
    """Model inputs are not stored: both sides compute them from this integer hash of the element index, in
    [-2, 2), bit-identically (Rust: reid_models tests `formula_input`)."""
    n = 1
    for d in shape:
        n *= d
    i = np.arange(n, dtype=np.uint64)
    m = np.uint64(0xFFFFFFFF)
    u = (i * np.uint64(2654435761) + np.uint64(seed * 40503 + 12345)) & m
    u ^= u >> np.uint64(15)
    u = (u * np.uint64(0x2C1B3C6D)) & m
    u ^= u >> np.uint64(12)
    u = (u * np.uint64(0x297A2D39)) & m
    u ^= u >> np.uint64(15)
    x = (u.astype(np.float64) / 4294967296.0) * 4.0 - 2.0
    return torch.from_numpy(x.astype(np.float32).reshape(shape))


# ------------------------------------------------------------------------------------------------ model setup
@torch.no_grad()
def calibrate_bn_(model, x, seed):
    """Keep eval-mode activations well scaled in deep random ResNets: set every BN's running statistics to the
    batch statistics of one train-mode pass on a calibration batch, then perturb them (mean + N(0, 0.2^2) std,
    var * U(0.5, 1.5)), so they are neither trivial nor equal to what train mode would use."""
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    saved = [(m.momentum, m.training) for m in bns]
    model.train()
    for m in bns:
        m.momentum = 1.0
    model(x)
    gen = torch.Generator().manual_seed(seed)
    for m, (mom, _) in zip(bns, saved):
        m.momentum = mom
        std = m.running_var.sqrt()
        m.running_mean.add_(torch.randn(m.running_mean.shape, generator=gen) * 0.2 * std)
        m.running_var.mul_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    model.eval()
    return model


def make_model(cfg, seed):
    model = R.build_resnet(cfg) if cfg["backbone"] == "resnet" else R.build_swin(cfg)
    R.randomize_(model, seed)
    calibrate_bn_(model, seeded_normal((4, 3, *cfg.get("input_hw", [224, 224])), seed + 7), seed + 8)
    return model.eval()


@torch.no_grad()
def run_case(model, cfg, x, impl=None):
    """Fixture tensors for one input: the state dict plus the reference outputs."""
    if impl is not None:
        model.base.impl = impl
    model.eval()
    g, before, after = model.features(x)
    before2, after2 = model(x)
    assert torch.equal(before, before2) and torch.equal(after, after2)
    train = copy.deepcopy(model).train()
    logits, train_before = train(x)
    out = R.reid_state_dict(model)
    out.update({"__backbone": g, "__before": before, "__after": after,
                "__train_logits": logits, "__train_before": train_before})
    return {k: v.detach().contiguous().clone() for k, v in out.items()}


def write_safetensors(path, tensors, metadata=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=metadata)
    os.chmod(path, 0o644)  # save_file creates 0600
    back = load_file(path)
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)


def describe(path):
    print(f"  wrote {os.path.relpath(path, ROOT) if path.startswith(ROOT) else path} ({os.path.getsize(path) / 1024:.0f} KiB)")


# ------------------------------------------------------------------------------------------------ checks
@torch.no_grad()
def check_merge_orders():
    """timm PatchMerging == reid_torch_reference.patch_merge_timm == Microsoft order, and the unfold conversion."""
    C = 5
    pm = PatchMerging(C)
    R.randomize_(pm, 7)
    worst = 0.0
    for H, W in [(6, 4), (7, 5), (3, 8)]:
        x = seeded_normal((2, H, W, C), H * 10 + W)
        ref = pm(x)
        mine = R.patch_merge_timm(x, pm.norm.weight, pm.norm.bias, pm.reduction.weight)
        xp = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        ms = torch.cat([xp[:, 0::2, 0::2], xp[:, 1::2, 0::2], xp[:, 0::2, 1::2], xp[:, 1::2, 1::2]], -1)  # Microsoft
        ms = F.linear(F.layer_norm(ms, (4 * C,), pm.norm.weight, pm.norm.bias, R.LN_EPS), pm.reduction.weight)
        # mmdet: nn.Unfold on NCHW with the converted weights
        uf = F.unfold(xp.permute(0, 3, 1, 2), kernel_size=2, stride=2).transpose(1, 2)
        nw, nb, rw = (unfold_norm_order(pm.norm.weight), unfold_norm_order(pm.norm.bias),
                      unfold_reduction_order(pm.reduction.weight))
        mm = F.linear(F.layer_norm(uf, (4 * C,), nw, nb, R.LN_EPS), rw).reshape(ref.shape)
        assert torch.equal(back_from_unfold_reduction(rw), pm.reduction.weight)
        assert torch.equal(back_from_unfold_norm(nw), pm.norm.weight)
        worst = max(worst, maxdiff(ref, mine), maxdiff(ref, ms), maxdiff(ref, mm))
    assert worst < 1e-5, worst
    print(f"merge orders: timm == Microsoft (x0,x1,x2,x3) == mmdet unfold after conversion, max diff {worst:.2e}")


@torch.no_grad()
def check_resnet_vs_torchvision(block, layers, last_stride, hw=(64, 32), seed=11):
    """Width 64: our ResNetBackbone loads strict into torchvision's ResNet (layer4 stride patched) and agrees."""
    mine = R.randomize_(R.ResNetBackbone(block, layers, 64, last_stride), seed).eval()
    blk = torchvision.models.resnet.Bottleneck if block == "bottleneck" else torchvision.models.resnet.BasicBlock
    tv = torchvision.models.ResNet(blk, list(layers), num_classes=IMPORT_HEAD_CLASSES)
    if last_stride == 1:
        first = tv.layer4[0]
        (first.conv2 if block == "bottleneck" else first.conv1).stride = (1, 1)
        first.downsample[0].stride = (1, 1)
    sd = mine.state_dict()
    sd["fc.weight"], sd["fc.bias"] = tv.fc.weight.clone(), tv.fc.bias.clone()
    tv.load_state_dict(sd, strict=True)
    tv.fc = nn.Identity()
    tv.eval()
    x = seeded_normal((2, 3, *hw), seed)
    d = maxdiff(tv(x), mine(x))
    assert d < 1e-4 * max(1.0, float(tv(x).abs().max())), d
    print(f"ResNet {block} {layers} width 64 last_stride {last_stride} vs torchvision.models.ResNet: max diff {d:.2e}")


# ------------------------------------------------------------------------------------------------ conversions
def unfold_reduction_order(w):
    """timm / Microsoft (O, 4C) reduction weight -> mmdet nn.Unfold order."""
    O, IC = w.shape
    return w.reshape(O, 4, IC // 4)[:, UNFOLD_PERM, :].transpose(1, 2).reshape(O, IC).contiguous()


def unfold_norm_order(v):
    IC = v.shape[0]
    return v.reshape(4, IC // 4)[UNFOLD_PERM, :].transpose(0, 1).reshape(IC).contiguous()


def back_from_unfold_reduction(w):
    """mmdet -> timm (what the Rust importer does)."""
    O, IC = w.shape
    return w.reshape(O, IC // 4, 4).transpose(1, 2)[:, UNFOLD_PERM, :].reshape(O, IC).contiguous()


def back_from_unfold_norm(v):
    IC = v.shape[0]
    return v.reshape(IC // 4, 4).transpose(0, 1)[UNFOLD_PERM, :].reshape(IC).contiguous()


def mmdet_relative_position_index(ws):
    """mmdet WindowMSA's formula (double_step_seq + transpose + flip); equals the Microsoft / timm index."""
    seq = (torch.arange(0, (2 * ws - 1) * ws, 2 * ws - 1)[:, None] + torch.arange(ws)[None, :]).reshape(1, -1)
    return (seq + seq.T).flip(1).contiguous()


def microsoft_attn_mask(H, W, ws, shift):
    """Microsoft's per-block `attn_mask` buffer (persistent there) for a shifted block at resolution HxW."""
    return R.shifted_window_mask(H, W, ws, shift)


def torchvision_checkpoint(backbone, seed):
    """Backbone state dict in torchvision names with num_batches_tracked and a random fc, like resnet50-*.pth."""
    sd = OrderedDict((k, v.detach().clone().contiguous()) for k, v in backbone.state_dict().items())
    gen = torch.Generator().manual_seed(seed)
    sd["fc.weight"] = torch.randn(IMPORT_HEAD_CLASSES, backbone.num_features, generator=gen) * 0.05
    sd["fc.bias"] = torch.randn(IMPORT_HEAD_CLASSES, generator=gen) * 0.05
    assert any(k.endswith("num_batches_tracked") for k in sd)
    return sd


def timm_checkpoint(backbone, seed):
    """timm names, with relative_position_index after each bias table (where older timm versions saved it) and
    a random head.fc."""
    sd = OrderedDict()
    for k, v in backbone.state_dict().items():
        sd[k] = v.detach().clone().contiguous()
        if k.endswith("attn.relative_position_bias_table"):
            sd[k.replace("relative_position_bias_table", "relative_position_index")] = R.relative_position_index(
                backbone.cfg_window)
    gen = torch.Generator().manual_seed(seed)
    sd["head.fc.weight"] = torch.randn(IMPORT_HEAD_CLASSES, backbone.num_features, generator=gen) * 0.05
    sd["head.fc.bias"] = torch.randn(IMPORT_HEAD_CLASSES, generator=gen) * 0.05
    return sd


def microsoft_checkpoint(timm_sd, depths, ws=7, img_hw=(224, 224), patch=4):
    """timm names -> github.com/microsoft/Swin-Transformer layout ({"model": sd}): downsample of timm's stage i+1
    stored as layers.{i}.downsample (same weights, same channel order), head.fc.* -> head.*, persistent
    relative_position_index and, for shifted blocks, attn_mask buffers (Microsoft drops the shift and
    shrinks the window when min(resolution) <= window, so the 7x7 stage at 224 has no mask)."""
    out = OrderedDict()
    res = [(img_hw[0] // patch) >> i for i in range(len(depths))], [(img_hw[1] // patch) >> i for i in range(len(depths))]
    for k, v in timm_sd.items():
        if k.startswith("layers.") and ".downsample." in k:
            continue
        if k.startswith("head.fc."):
            continue
        m = re.match(r"layers\.(\d+)\.blocks\.(\d+)\.norm1\.weight$", k)
        if m:  # a shifted block's own buffer is saved before its children's tensors
            i, j = int(m.group(1)), int(m.group(2))
            H, W = res[0][i], res[1][i]
            if j % 2 == 1 and min(H, W) > ws:
                out[f"layers.{i}.blocks.{j}.attn_mask"] = microsoft_attn_mask(H, W, ws, ws // 2)
        out[k] = v
        m = re.match(r"layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.bias$", k)
        if m:  # after the stage's last block: the merge that timm keeps at the start of the next stage
            i, j = int(m.group(1)), int(m.group(2))
            if j == depths[i] - 1 and i + 1 < len(depths):
                for name in ("reduction.weight", "norm.weight", "norm.bias"):
                    out[f"layers.{i}.downsample.{name}"] = timm_sd[f"layers.{i + 1}.downsample.{name}"]
    # (relative_position_index entries come from timm_sd, right after each bias table, as Microsoft saves them)
    out["head.weight"] = timm_sd["head.fc.weight"]
    out["head.bias"] = timm_sd["head.fc.bias"]
    return {"model": out}


def solider_checkpoint(timm_sd, embed_dim, depths, ws=7, seed=0):
    """timm names -> the SOLIDER released layout {"teacher": sd} (mmdet SwinTransformer inside a DINO wrapper):
        patch_embed.proj.*                  -> backbone.patch_embed.projection.*
        layers.i.blocks.j.attn.*            -> backbone.stages.i.blocks.j.attn.w_msa.*   (+ persistent index)
        layers.i.blocks.j.mlp.fc1.*         -> backbone.stages.i.blocks.j.ffn.layers.0.0.*
        layers.i.blocks.j.mlp.fc2.*         -> backbone.stages.i.blocks.j.ffn.layers.1.*
        layers.i.blocks.j.norm{1,2}.*       -> backbone.stages.i.blocks.j.norm{1,2}.*
        layers.{i+1}.downsample.reduction   -> backbone.stages.i.downsample.reduction   (unfold channel order)
        layers.{i+1}.downsample.norm.*      -> backbone.stages.i.downsample.norm.*      (unfold channel order)
        norm.*                              -> backbone.norm3.*  (norm{num_stages-1})
    plus what those checkpoints also hold and an importer must ignore: backbone.norm0..norm2 (the per-stage
    output norms of out_indices=(0,1,2,3)), backbone.semantic_embed_{w,b}.{0..3} (SOLIDER's semantic
    controller, Linear(2, C_{min(i+1,3)}); SOLIDER-REID uses them at run time with semantic_weight, the
    contract here does not, so the expected g is without them) and a small DINO projection head (head.*)."""
    S = len(depths)
    dims = [embed_dim * 2 ** i for i in range(S)]
    gen = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    out["backbone.patch_embed.projection.weight"] = timm_sd["patch_embed.proj.weight"]
    out["backbone.patch_embed.projection.bias"] = timm_sd["patch_embed.proj.bias"]
    out["backbone.patch_embed.norm.weight"] = timm_sd["patch_embed.norm.weight"]
    out["backbone.patch_embed.norm.bias"] = timm_sd["patch_embed.norm.bias"]
    for i in range(S):
        for j in range(depths[i]):
            t, m = f"layers.{i}.blocks.{j}.", f"backbone.stages.{i}.blocks.{j}."
            out[m + "norm1.weight"], out[m + "norm1.bias"] = timm_sd[t + "norm1.weight"], timm_sd[t + "norm1.bias"]
            out[m + "attn.w_msa.relative_position_bias_table"] = timm_sd[t + "attn.relative_position_bias_table"]
            out[m + "attn.w_msa.relative_position_index"] = mmdet_relative_position_index(ws)
            for n in ("qkv.weight", "qkv.bias", "proj.weight", "proj.bias"):
                out[m + "attn.w_msa." + n] = timm_sd[t + "attn." + n]
            out[m + "norm2.weight"], out[m + "norm2.bias"] = timm_sd[t + "norm2.weight"], timm_sd[t + "norm2.bias"]
            out[m + "ffn.layers.0.0.weight"], out[m + "ffn.layers.0.0.bias"] = timm_sd[t + "mlp.fc1.weight"], timm_sd[t + "mlp.fc1.bias"]
            out[m + "ffn.layers.1.weight"], out[m + "ffn.layers.1.bias"] = timm_sd[t + "mlp.fc2.weight"], timm_sd[t + "mlp.fc2.bias"]
        if i + 1 < S:
            t, m = f"layers.{i + 1}.downsample.", f"backbone.stages.{i}.downsample."
            out[m + "norm.weight"] = unfold_norm_order(timm_sd[t + "norm.weight"])
            out[m + "norm.bias"] = unfold_norm_order(timm_sd[t + "norm.bias"])
            out[m + "reduction.weight"] = unfold_reduction_order(timm_sd[t + "reduction.weight"])
    for i in range(S):
        if i == S - 1:
            out[f"backbone.norm{i}.weight"], out[f"backbone.norm{i}.bias"] = timm_sd["norm.weight"], timm_sd["norm.bias"]
        else:
            out[f"backbone.norm{i}.weight"] = torch.rand(dims[i], generator=gen) + 0.5
            out[f"backbone.norm{i}.bias"] = torch.randn(dims[i], generator=gen) * 0.2
    for kind in ("w", "b"):
        for i in range(S):
            d = dims[min(i + 1, S - 1)]
            out[f"backbone.semantic_embed_{kind}.{i}.weight"] = torch.randn(d, 2, generator=gen) * 0.02
            out[f"backbone.semantic_embed_{kind}.{i}.bias"] = torch.zeros(d)
    hidden, bottleneck, proto = 32, 8, 16
    out["head.mlp.0.weight"] = torch.randn(hidden, dims[-1], generator=gen) * 0.02
    out["head.mlp.0.bias"] = torch.zeros(hidden)
    out["head.mlp.2.weight"] = torch.randn(bottleneck, hidden, generator=gen) * 0.02
    out["head.mlp.2.bias"] = torch.zeros(bottleneck)
    out["head.last_layer.weight_g"] = torch.ones(proto, 1)
    out["head.last_layer.weight_v"] = torch.randn(proto, bottleneck, generator=gen) * 0.02
    return {"teacher": OrderedDict((k, v.detach().clone().contiguous()) for k, v in out.items())}


@torch.no_grad()
def solider_layout_features(sd, depths, num_heads, x, ws=7, always_shift=True):
    """Independent check of the SOLIDER conversion: an mmdet-style forward reading the SOLIDER keys directly
    (tokens as (B, L, C), nn.Unfold patch merging, downsample at the end of a stage, final norm `norm3`).
    always_shift=True is mmdet's rule (every odd block shifts, even when the map fits in one window)."""
    P = lambda k: sd["backbone." + k]  # noqa: E731
    S = len(depths)
    x = F.conv2d(x, P("patch_embed.projection.weight"), P("patch_embed.projection.bias"), stride=4)
    B, C, H, W = x.shape
    t = F.layer_norm(x.flatten(2).transpose(1, 2), (C,), P("patch_embed.norm.weight"), P("patch_embed.norm.bias"))
    for i in range(S):
        for j in range(depths[i]):
            m = f"stages.{i}.blocks.{j}."
            C = t.shape[-1]
            y = F.layer_norm(t, (C,), P(m + "norm1.weight"), P(m + "norm1.bias")).reshape(B, H, W, C)
            pr, pb = (ws - W % ws) % ws, (ws - H % ws) % ws
            y = F.pad(y, (0, 0, 0, pr, 0, pb))
            Hp, Wp = H + pb, W + pr
            shift = ws // 2 if (j % 2 == 1 and (always_shift or not (H <= ws and W <= ws))) else 0
            mask = None
            if shift:
                y = torch.roll(y, (-shift, -shift), (1, 2))
                mask = R.shifted_window_mask(Hp, Wp, ws, shift)
            assert torch.equal(P(m + "attn.w_msa.relative_position_index"), R.relative_position_index(ws))
            a = R.window_attention(R.to_windows(y, ws), P(m + "attn.w_msa.qkv.weight"), P(m + "attn.w_msa.qkv.bias"),
                                   P(m + "attn.w_msa.proj.weight"), P(m + "attn.w_msa.proj.bias"),
                                   P(m + "attn.w_msa.relative_position_bias_table"), num_heads[i], ws, mask)
            y = R.from_windows(a, ws, B, Hp, Wp)
            if shift:
                y = torch.roll(y, (shift, shift), (1, 2))
            t = t + y[:, :H, :W].reshape(B, H * W, C)
            z = F.layer_norm(t, (C,), P(m + "norm2.weight"), P(m + "norm2.bias"))
            z = F.linear(F.gelu(F.linear(z, P(m + "ffn.layers.0.0.weight"), P(m + "ffn.layers.0.0.bias"))),
                         P(m + "ffn.layers.1.weight"), P(m + "ffn.layers.1.bias"))
            t = t + z
        if i + 1 < S:
            m = f"stages.{i}.downsample."
            C = t.shape[-1]
            xm = F.pad(t.transpose(1, 2).reshape(B, C, H, W), (0, W % 2, 0, H % 2))
            H, W = xm.shape[2] // 2, xm.shape[3] // 2
            u = F.unfold(xm, kernel_size=2, stride=2).transpose(1, 2)
            u = F.layer_norm(u, (4 * C,), P(m + "norm.weight"), P(m + "norm.bias"))
            t = F.linear(u, P(m + "reduction.weight"))
    t = F.layer_norm(t, (t.shape[-1],), P(f"norm{S - 1}.weight"), P(f"norm{S - 1}.bias"))
    return t.mean(dim=1)


# ------------------------------------------------------------------------------------------------ cases
def swin_cases(base_cfg, sizes, seed, out_dir, batch=2, suffix="", file_name="swin"):
    """One Swin model, outputs at several sizes in ONE file (the state dict stored once; outputs prefixed
    `__<H>x<W>/`, inputs from formula_input with the per-size seed). Returns (model, {name: tensors}) where each
    value holds the state dict, that size's outputs under the plain `__` names and `__input`."""
    model = make_model(dict(base_cfg, input_hw=[224, 224]), seed)
    results = {}
    merged = None
    for name, hw, in_seed in sizes:
        cfg = dict(base_cfg, input_hw=list(hw))
        x = formula_input((batch, 3, *hw), in_seed)
        with torch.no_grad():
            x224 = x if tuple(hw) == (224, 224) else formula_input((batch, 3, 224, 224), in_seed + 1000)
            d = maxdiff(model.base.forward_features(x224), model.base.padded_features(x224))
            assert d < 1e-5, d
            print(f"{name}: max |padded - timm forward_features| at 224x224 = {d:.2e}")
        tensors = run_case(model, cfg, x, impl="timm" if tuple(hw) == (224, 224) else "padded")
        if merged is None:
            merged = {k: v for k, v in tensors.items() if not k.startswith("__")}
        prefix = f"__{hw[0]}x{hw[1]}/"
        merged.update({prefix + k[2:]: v for k, v in tensors.items() if k.startswith("__")})
        results[name] = dict(tensors, __input=x)
    meta = dict(base_cfg, sizes=[[hw[0], hw[1], in_seed] for _, hw, in_seed in sizes], batch=batch)
    path = os.path.join(out_dir, f"{file_name}{suffix}.safetensors")
    write_safetensors(path, merged, {"config": json.dumps(meta)})
    describe(path)
    return model, results


def resnet_case(name, cfg, batch, seed, out_dir, suffix=""):
    model = make_model(cfg, seed)
    x = formula_input((batch, 3, *cfg["input_hw"]), seed + 1000)
    tensors = run_case(model, cfg, x)
    path = os.path.join(out_dir, f"{name}{suffix}.safetensors")
    write_safetensors(path, tensors, {"config": json.dumps(dict(cfg, batch=batch, input_seed=seed + 1000))})
    tensors["__input"] = x
    g = tensors["__backbone"]
    print(f"{name}: g {tuple(g.shape)} |g|max {float(g.abs().max()):.3f}, fcneck {'fcneck.weight' in tensors}")
    describe(path)
    return model, tensors


@torch.no_grad()
def informational_timm_other_sizes(model, cfg):
    """How timm itself behaves at 384x128 (not a reference, printed for the record)."""
    base = model.base
    params = {k: v for k, v in base.state_dict().items()}
    x = formula_input((2, 3, 384, 128), 202)
    ours = base.padded_features(x)
    try:
        t = SwinTransformer(img_size=(384, 128), num_classes=0, embed_dim=cfg["embed_dim"], depths=cfg["depths"],
                            num_heads=cfg["num_heads"], drop_path_rate=0.0)
        t.load_state_dict(params, strict=True)
        print("  timm img_size=(384,128): loads, diff", maxdiff(t.forward_features(x), ours))
    except RuntimeError as e:
        shapes = sorted({str(tuple(b.attn.relative_position_bias_table.shape)) for s in t.layers for b in s.blocks})
        print(f"  timm img_size=(384,128) cannot load 224 weights strictly (stage-4 window clamps to (7,4), "
              f"bias tables {shapes}): {str(e).splitlines()[1].strip()[:90]}...")
    t = SwinTransformer(img_size=(384, 128), num_classes=0, embed_dim=cfg["embed_dim"], depths=cfg["depths"],
                        num_heads=cfg["num_heads"], drop_path_rate=0.0, always_partition=True)
    t.load_state_dict(params, strict=True)
    print(f"  timm img_size=(384,128) always_partition=True (7x7 windows everywhere, shift 3, but rolls BEFORE "
          f"padding): max |timm - padded| = {maxdiff(t.forward_features(x), ours):.3f} (not the SOLIDER/mmdet forward)")


def write_imports(res_model, res_tensors, swin_model, swin_tensors, swin_cfg, res_cfg, out_dir):
    res_g = res_tensors["__backbone"]
    swin_g = swin_tensors["__backbone"]
    # torchvision ResNet
    tv = torchvision_checkpoint(res_model.base, 301)
    p = os.path.join(out_dir, "import_resnet_torchvision.pth")
    torch.save(tv, p)
    describe(p)
    fresh = R.ResNetBackbone(res_cfg["block"], res_cfg["layers"], res_cfg["width"], res_cfg["last_stride"]).eval()
    fresh.load_state_dict({k: v for k, v in torch.load(p).items() if not k.startswith("fc.")}, strict=True)
    with torch.no_grad():
        d = maxdiff(fresh(res_tensors["__input"]), res_g)
    assert d < 1e-6, d
    # timm
    ts = timm_checkpoint(swin_model.base, 302)
    p = os.path.join(out_dir, "import_swin_timm.pth")
    torch.save(ts, p)
    describe(p)
    p2 = os.path.join(out_dir, "import_swin_timm.safetensors")
    write_safetensors(p2, dict(ts))
    describe(p2)
    fresh = R.SwinBackbone(swin_cfg["embed_dim"], swin_cfg["depths"], swin_cfg["num_heads"]).eval()
    fresh.load_state_dict({k: v for k, v in load_file(p2).items()
                           if not k.startswith("head.") and "relative_position_index" not in k}, strict=True)
    fresh.impl = "timm"
    with torch.no_grad():
        d_timm = maxdiff(fresh(swin_tensors["__input"]), swin_g)
    assert d_timm < 1e-6, d_timm
    # Microsoft
    ms = microsoft_checkpoint(ts, swin_cfg["depths"])
    p = os.path.join(out_dir, "import_swin_official.pth")
    torch.save(ms, p)
    describe(p)
    t = SwinTransformer(img_size=224, num_classes=IMPORT_HEAD_CLASSES, embed_dim=swin_cfg["embed_dim"],
                        depths=swin_cfg["depths"], num_heads=swin_cfg["num_heads"], drop_path_rate=0.0).eval()
    t.load_state_dict(checkpoint_filter_fn(torch.load(p), t), strict=True)  # timm's own converter
    with torch.no_grad():
        d_ms = maxdiff(t.forward_features(swin_tensors["__input"]).mean((1, 2)), swin_g)
    assert d_ms < 1e-6, d_ms
    # SOLIDER / mmdet
    so = solider_checkpoint(ts, swin_cfg["embed_dim"], swin_cfg["depths"], seed=304)
    p = os.path.join(out_dir, "import_swin_solider.pth")
    torch.save(so, p)
    describe(p)
    so = torch.load(p)["teacher"]
    g_rule = solider_layout_features(so, swin_cfg["depths"], swin_cfg["num_heads"], swin_tensors["__input"], always_shift=False)
    g_mmdet = solider_layout_features(so, swin_cfg["depths"], swin_cfg["num_heads"], swin_tensors["__input"], always_shift=True)
    d_so = maxdiff(g_rule, swin_g)
    assert d_so < 1e-5, d_so
    print(f"imports: torchvision -> ResNetBackbone diff {0.0:.1e}; timm -> timm diff {d_timm:.1e}; Microsoft via timm's "
          f"checkpoint_filter_fn diff {d_ms:.1e}; SOLIDER via mmdet-style unfold forward diff {d_so:.2e}")
    print(f"  (mmdet's own rule, which also shifts the single 7x7 window of the last stage at 224, would give "
          f"max |g - swin_g| = {maxdiff(g_mmdet, swin_g):.3f})")
    with torch.no_grad():
        for hw, seed in [((384, 128), 202), ((256, 128), 203)]:
            x = formula_input((2, 3, *hw), seed)
            a = solider_layout_features(so, swin_cfg["depths"], swin_cfg["num_heads"], x, always_shift=True)
            b = swin_model.base.padded_features(x).mean((1, 2))
            d = maxdiff(a, b)
            assert d < 1e-5, d
            print(f"  SOLIDER layout, mmdet rule, at {hw[0]}x{hw[1]} vs padded reference: max diff {d:.2e}")
    exp = {"resnet_g": res_g.clone(), "swin_g": swin_g.clone()}
    # one metadata key: safetensors writes several keys in hash order, which would make the file non-reproducible
    meta = {"resnet": res_cfg, "swin": dict(swin_cfg, input_hw=[224, 224]),
            "resnet_input": "formula_input as in resnet_bottleneck_ls1.safetensors",
            "swin_input": "formula_input as for 224x224 in swin.safetensors"}
    p = os.path.join(out_dir, "import_expected.safetensors")
    write_safetensors(p, exp, {"config": json.dumps(meta)})
    describe(p)


def full(out_dir):
    print(f"--full: real-size models into {out_dir}")
    check_resnet_vs_torchvision("bottleneck", [3, 4, 6, 3], 1, hw=(256, 128))
    resnet_case("resnet50", FULL_RESNET, 2, 401, out_dir, suffix="_full")
    swin_cases(FULL_SWIN, [("swin_tiny_224", [224, 224], 402), ("swin_tiny_384x128", [384, 128], 403)], 404, out_dir,
               suffix="_full", file_name="swin_tiny")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", metavar="DIR", help="also write real-size ResNet-50 / Swin-T fixtures into DIR")
    ap.add_argument("--out", default=FIX, help="fixture folder (default models/tests/fixtures)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    check_merge_orders()
    check_resnet_vs_torchvision("bottleneck", [1, 1, 1, 1], 1)
    check_resnet_vs_torchvision("basic", [1, 1, 1, 1], 2)

    res = {}
    for name, cfg, batch, seed in RESNET_CASES:
        res[name] = resnet_case(name, cfg, batch, seed, args.out)
    swin_model, swin = swin_cases(SWIN_SMALL, SWIN_SIZES, SWIN_SEED, args.out)
    informational_timm_other_sizes(swin_model, SWIN_SMALL)
    res_model, res_tensors = res["resnet_bottleneck_ls1"]
    write_imports(res_model, res_tensors, swin_model, swin["swin_224"], SWIN_SMALL, RESNET_CASES[0][1], args.out)

    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"fixture folder total: {total / 1024:.0f} KiB")
    if args.full:
        os.makedirs(args.full, exist_ok=True)
        full(args.full)


if __name__ == "__main__":
    main()
