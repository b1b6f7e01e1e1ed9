"""Writes the TransReID ReID-network parity fixtures (models/tests/fixtures/transreid_*, timm_vit_small*).

    .venv/bin/python tools/reference/gen_transreid_fixtures.py             # small fixtures (committed)
    .venv/bin/python tools/reference/gen_transreid_fixtures.py --full DIR  # also ViT-B/16 sizes (~750 MB)

Needs torch, timm, safetensors, numpy (scripts/pyenv.sh --torch). CPU, float32, deterministic.

The reference is TransReID's whole network (He et al., "TransReID: Transformer-based Object Re-Identification",
ICCV 2021, section 3), written from model/make_model.py of github.com/damo-cv/TransReID (`build_transformer`,
`build_transformer_local`, `shuffle_unit`) on the ViT of gen_vit_fixtures.py (model/backbones/vit_pytorch.py):
    build_transformer:        g = base(x)[:, 0] after all blocks and the norm; feat = bottleneck(g) (BatchNorm1d);
                              train: classifier(feat), g; eval: feat (neck_feat after) or g (before).
    build_transformer_local:  t = tokens after every block but the last (base with local_feature);
                              global = b1(t)[:, 0] with b1 = (copy of the last block, copy of the norm);
                              shuffle_unit: rotate the patch tokens by shift_num, pad with the second-to-last token
                              when shuffle_group does not divide them, read column-wise from group rows;
                              (or the patch tokens in order when re_arrange is off);
                              local_i = b2([cls ; patches[i*L:(i+1)*L]])[:, 0], L = P // devide_length;
                              each through bottleneck_i; train: classifier_i(bottleneck_i(local_i));
                              eval: cat(feat, local_bn_i / 4) (after) or cat(global, local_i / 4) (before).
TransReID's code always makes four local features and divides by 4; the reference loops over devide_length
groups and divides by devide_length (the paper's k), and is asserted equal to a literal transcription of
TransReID's four-branch forward when devide_length is 4 (`transreid_local_forward_literal`). One case uses k = 3,
which is this project's generalisation, not TransReID's code.

Weights: each case's state dict, in TransReID's names (`base.*` with the unused `base.fc`, `b1.0.*`, `b1.1.*`,
`b2.*`, `bottleneck[_i].*` with BatchNorm running statistics, `classifier[_i].weight`), is not stored: every
tensor is `f32(formula(i, seed) * scale + offset)` with the same integer hash as the inputs (formula_input), and
the fixture's metadata "weights" lists [name, shape, dtype, seed, scale * 2^16, offset * 2^16] in state-dict
order, so the Rust test writes the same state dict (bit for bit) and imports it. Running means / variances are
random (mean +-0.25, var in [0.5, 1.5)), so eval-mode BNNecks matter. One case (transreid_jpm_pth) is also saved
as a real TransReID checkpoint: `torch.save` of the DataParallel-wrapped state dict (`module.` prefixes).

Outputs per case (safetensors, float32): __test_after / __test_before (N, D * (1 + k)) eval test features,
__train_logits (1 + k, N, classes) and __train_features (1 + k, N, D) in train mode (BN batch statistics),
__camera (N,) int64; metadata "config" (JSON).

timm: timm_vit_small.safetensors is a small timm VisionTransformer's own state dict (timm names, `head.*`),
timm_vit_small.outputs.safetensors its forward_features(x)[:, 0] at 224 x 224 (__cls) and the TransReID
reference after TransReID's `load_param` of that file into a stride-12 96 x 48 model (pos_embed resized,
head skipped) (__transreid_global).
"""

import argparse
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model_fixtures import FIX, ROOT, describe, formula_input, write_safetensors  # noqa: E402
from gen_vit_fixtures import TransReIDViT, grid, resize_pos_embed  # noqa: E402

Q = 65536  # scales and offsets are stored as integers over 2^16 (exact in JSON and f64 on both sides)

# name, vit config, jpm (None: build_transformer), num_classes, batch, seed, cameras of the batch
CASES = [
    # 21 patches: shuffle_group 2 pads one token (shuffle_unit's except branch).
    ("transreid_jpm_s12_sie",
     dict(embed_dim=64, depth=3, num_heads=4, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, stride=[12, 12],
          image=[96, 48], cameras=3, views=0, sie_coe=3.0),
     dict(shift_num=5, shuffle_group=2, devide_length=4, re_arrange=True), 5, 3, 501, [2, 0, 1]),
    ("transreid_jpm_s16_plain",
     dict(embed_dim=128, depth=2, num_heads=4, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, stride=[16, 16],
          image=[128, 64], cameras=0, views=0, sie_coe=3.0),
     dict(shift_num=5, shuffle_group=2, devide_length=4, re_arrange=False), 7, 3, 502, [0, 0, 0]),
    ("transreid_jpm_w192_g3",
     dict(embed_dim=192, depth=4, num_heads=6, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, stride=[16, 16],
          image=[112, 48], cameras=6, views=0, sie_coe=1.5),
     dict(shift_num=3, shuffle_group=3, devide_length=4, re_arrange=True), 4, 2, 503, [5, 3]),
    # build_transformer, TransReID's ViT-S style attention (no qkv bias, fixed logit scale, MLP ratio 3).
    ("transreid_global_s12",
     dict(embed_dim=96, depth=2, num_heads=3, mlp_ratio=3.0, qkv_bias=False, qk_scale=96 ** -0.5, stride=[12, 12],
          image=[64, 32], cameras=2, views=0, sie_coe=3.0),
     None, 6, 3, 504, [1, 0, 1]),
    # devide_length 3: the paper's k groups, this project's generalisation (TransReID's code fixes 4).
    ("transreid_jpm_k3",
     dict(embed_dim=64, depth=2, num_heads=2, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, stride=[16, 16],
          image=[64, 64], cameras=0, views=0, sie_coe=3.0),
     dict(shift_num=2, shuffle_group=4, devide_length=3, re_arrange=True), 3, 2, 505, [0, 0]),
]
# Also written as a real `.pth` (DataParallel names).
PTH_CASE = ("transreid_jpm_pth",
            dict(embed_dim=64, depth=2, num_heads=4, mlp_ratio=3.0, qkv_bias=False, qk_scale=64 ** -0.5,
                 stride=[16, 16], image=[64, 32], cameras=2, views=0, sie_coe=3.0),
            dict(shift_num=5, shuffle_group=2, devide_length=4, re_arrange=True), 5, 2, 506, [1, 0])
# TransReID's Market config at full size: ViT-B/16, stride 12, 256 x 128, 6 cameras, JPM.
FULL_CASE = ("transreid_vit_base_full",
             dict(embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                  stride=[12, 12], image=[256, 128], cameras=6, views=0, sie_coe=3.0),
             dict(shift_num=5, shuffle_group=2, devide_length=4, re_arrange=True), 751, 2, 507, [5, 2])
TIMM_SMALL = dict(embed_dim=32, depth=2, num_heads=2)
TIMM_TRANSREID = dict(embed_dim=32, depth=2, num_heads=2, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                      stride=[12, 12], image=[96, 48], cameras=0, views=0, sie_coe=3.0)


def shuffle_unit(features, shift, group, begin=1):
    """TransReID's shuffle_unit, verbatim."""
    batchsize = features.size(0)
    dim = features.size(-1)
    feature_random = torch.cat([features[:, begin - 1 + shift:], features[:, begin:begin - 1 + shift]], dim=1)
    x = feature_random
    try:
        x = x.view(batchsize, group, -1, dim)
    except Exception:
        x = torch.cat([x, x[:, -2:-1, :]], dim=1)
        x = x.view(batchsize, group, -1, dim)
    x = torch.transpose(x, 1, 2).contiguous()
    x = x.view(batchsize, -1, dim)
    return x


def base_features(base, x, cam, view, local_feature):
    """TransReID.forward_features: blocks[:-1] without the norm for JPM, else the class token after the norm."""
    x = base.embed(x, cam, view)
    if local_feature:
        for blk in base.blocks[:-1]:
            x = blk(x)
        return x
    for blk in base.blocks:
        x = blk(x)
    return base.norm(x)[:, 0]


def with_fc(base, d):
    """TransReID's backbone keeps an unused 1000-class `fc` (in every released checkpoint as `base.fc.*`)."""
    base.fc = nn.Linear(d, 1000)
    return base


class BuildTransformer(nn.Module):
    """make_model.build_transformer with the softmax ID loss."""

    def __init__(self, cfg, num_classes):
        super().__init__()
        d = cfg["embed_dim"]
        self.base = with_fc(TransReIDViT(cfg), d)
        self.classifier = nn.Linear(d, num_classes, bias=False)
        self.bottleneck = nn.BatchNorm1d(d)
        self.neck_feat = "after"

    def forward(self, x, cam, view):
        global_feat = base_features(self.base, x, cam, view, False)
        feat = self.bottleneck(global_feat)
        if self.training:
            return [self.classifier(feat)], [global_feat]
        return feat if self.neck_feat == "after" else global_feat


class BuildTransformerLocal(nn.Module):
    """make_model.build_transformer_local (JPM) with the softmax ID loss, for devide_length groups."""

    def __init__(self, cfg, num_classes, jpm):
        super().__init__()
        d = cfg["embed_dim"]
        self.base = with_fc(TransReIDViT(cfg), d)
        self.b1 = nn.Sequential(copy.deepcopy(self.base.blocks[-1]), copy.deepcopy(self.base.norm))
        self.b2 = nn.Sequential(copy.deepcopy(self.base.blocks[-1]), copy.deepcopy(self.base.norm))
        self.k = jpm["devide_length"]
        self.classifier = nn.Linear(d, num_classes, bias=False)
        for i in range(1, self.k + 1):
            setattr(self, f"classifier_{i}", nn.Linear(d, num_classes, bias=False))
        self.bottleneck = nn.BatchNorm1d(d)
        for i in range(1, self.k + 1):
            setattr(self, f"bottleneck_{i}", nn.BatchNorm1d(d))
        self.shuffle_groups, self.shift_num = jpm["shuffle_group"], jpm["shift_num"]
        self.divide_length, self.rearrange = jpm["devide_length"], jpm["re_arrange"]
        self.neck_feat = "after"

    def forward(self, x, cam, view):
        features = base_features(self.base, x, cam, view, True)
        global_feat = self.b1(features)[:, 0]
        feature_length = features.size(1) - 1
        patch_length = feature_length // self.divide_length
        token = features[:, 0:1]
        x = shuffle_unit(features, self.shift_num, self.shuffle_groups) if self.rearrange else features[:, 1:]
        local = [self.b2(torch.cat((token, x[:, patch_length * i:patch_length * (i + 1)]), dim=1))[:, 0]
                 for i in range(self.k)]
        feat = self.bottleneck(global_feat)
        local_bn = [getattr(self, f"bottleneck_{i + 1}")(f) for i, f in enumerate(local)]
        if self.training:
            scores = [self.classifier(feat)] + [getattr(self, f"classifier_{i + 1}")(f) for i, f in enumerate(local_bn)]
            return scores, [global_feat] + local
        if self.neck_feat == "after":
            return torch.cat([feat] + [f / self.k for f in local_bn], dim=1)
        return torch.cat([global_feat] + [f / self.k for f in local], dim=1)


def transreid_local_forward_literal(self, x, cam_label=None, view_label=None):
    """build_transformer_local.forward of TransReID, transcribed line by line (four local features)."""
    features = base_features(self.base, x, cam_label, view_label, True)
    b1_feat = self.b1(features)
    global_feat = b1_feat[:, 0]
    feature_length = features.size(1) - 1
    patch_length = feature_length // self.divide_length
    token = features[:, 0:1]
    if self.rearrange:
        x = shuffle_unit(features, self.shift_num, self.shuffle_groups)
    else:
        x = features[:, 1:]
    b1_local_feat = x[:, :patch_length]
    b1_local_feat = self.b2(torch.cat((token, b1_local_feat), dim=1))
    local_feat_1 = b1_local_feat[:, 0]
    b2_local_feat = x[:, patch_length:patch_length * 2]
    b2_local_feat = self.b2(torch.cat((token, b2_local_feat), dim=1))
    local_feat_2 = b2_local_feat[:, 0]
    b3_local_feat = x[:, patch_length * 2:patch_length * 3]
    b3_local_feat = self.b2(torch.cat((token, b3_local_feat), dim=1))
    local_feat_3 = b3_local_feat[:, 0]
    b4_local_feat = x[:, patch_length * 3:patch_length * 4]
    b4_local_feat = self.b2(torch.cat((token, b4_local_feat), dim=1))
    local_feat_4 = b4_local_feat[:, 0]
    feat = self.bottleneck(global_feat)
    local_feat_1_bn = self.bottleneck_1(local_feat_1)
    local_feat_2_bn = self.bottleneck_2(local_feat_2)
    local_feat_3_bn = self.bottleneck_3(local_feat_3)
    local_feat_4_bn = self.bottleneck_4(local_feat_4)
    if self.training:
        cls_score = self.classifier(feat)
        cls_score_1 = self.classifier_1(local_feat_1_bn)
        cls_score_2 = self.classifier_2(local_feat_2_bn)
        cls_score_3 = self.classifier_3(local_feat_3_bn)
        cls_score_4 = self.classifier_4(local_feat_4_bn)
        return [cls_score, cls_score_1, cls_score_2, cls_score_3, cls_score_4], \
            [global_feat, local_feat_1, local_feat_2, local_feat_3, local_feat_4]
    if self.neck_feat == 'after':
        return torch.cat([feat, local_feat_1_bn / 4, local_feat_2_bn / 4, local_feat_3_bn / 4, local_feat_4_bn / 4],
                         dim=1)
    return torch.cat([global_feat, local_feat_1 / 4, local_feat_2 / 4, local_feat_3 / 4, local_feat_4 / 4], dim=1)


def formula_values(n, seed):
    """formula_input's hash as float64 in [-2, 2), before the cast (Rust: tests/common `formula_values`)."""
    i = np.arange(n, dtype=np.uint64)
    m = np.uint64(0xFFFFFFFF)
    u = (i * np.uint64(2654435761) + np.uint64(seed * 40503 + 12345)) & m
    u ^= u >> np.uint64(15)
    u = (u * np.uint64(0x2C1B3C6D)) & m
    u ^= u >> np.uint64(12)
    u = (u * np.uint64(0x297A2D39)) & m
    u ^= u >> np.uint64(15)
    return (u.astype(np.float64) / 4294967296.0) * 4.0 - 2.0


def weight_rule(module, pname, fullname):
    """(scale, offset) of the uniform [-2, 2) formula for one tensor; the uniform's std is 2 / sqrt(3)."""
    u = 2.0 / math.sqrt(3.0)
    if isinstance(module, nn.LayerNorm):
        return (0.25, 1.0) if pname == "weight" else (0.1, 0.0)
    if isinstance(module, nn.BatchNorm1d):
        return {"weight": (0.25, 1.0), "bias": (0.1, 0.0), "running_mean": (0.125, 0.0),
                "running_var": (0.25, 1.0)}[pname]
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        if pname == "bias":
            return (0.05, 0.0)
        gain = 1.5 if fullname.endswith("attn.qkv.weight") else 1.0
        return (gain / math.sqrt(module.weight[0].numel()) / u, 0.0)
    return (0.5 / u, 0.0)  # cls_token, pos_embed, sie_embed


@torch.no_grad()
def formula_weights_(model, seed):
    """Sets every state-dict tensor from the formula; returns the manifest the Rust side rebuilds it from."""
    owners = {}
    for mname, m in model.named_modules():
        for pname, _ in list(m.named_parameters(recurse=False)) + list(m.named_buffers(recurse=False)):
            owners[f"{mname}.{pname}" if mname else pname] = (m, pname)
    manifest = []
    for k, (name, t) in enumerate(model.state_dict().items()):
        s = seed * 1000 + k
        if t.dtype == torch.int64:
            t.zero_()
            manifest.append([name, list(t.shape), "i64", s, 0, 0])
            continue
        m, pname = owners[name]
        scale, offset = weight_rule(m, pname, name)
        qs, qo = round(scale * Q), round(offset * Q)
        v = formula_values(t.numel(), s) * (qs / Q) + (qo / Q)
        t.copy_(torch.from_numpy(v.astype(np.float32).reshape(t.shape)))
        manifest.append([name, list(t.shape), "f32", s, qs, qo])
    return manifest


def build(cfg, jpm, num_classes, seed):
    model = BuildTransformerLocal(cfg, num_classes, jpm) if jpm else BuildTransformer(cfg, num_classes)
    manifest = formula_weights_(model, seed)
    return model.eval(), manifest


@torch.no_grad()
def outputs(model, cfg, jpm, batch, seed, cameras):
    x = formula_input((batch, 3, *cfg["image"]), seed)
    cam = torch.tensor(cameras, dtype=torch.int64)
    view = torch.zeros_like(cam)
    model.eval()
    out = {}
    for nf in ("after", "before"):
        model.neck_feat = nf
        out[f"__test_{nf}"] = model(x, cam, view)
        if jpm and jpm["devide_length"] == 4:
            lit = transreid_local_forward_literal(model, x, cam, view)
            assert torch.equal(lit, out[f"__test_{nf}"]), "reference != TransReID's literal forward"
    train = copy.deepcopy(model).train()
    scores, feats = train(x, cam, view)
    if jpm and jpm["devide_length"] == 4:
        s2, f2 = transreid_local_forward_literal(copy.deepcopy(model).train(), x, cam, view)
        assert all(torch.equal(a, b) for a, b in zip(scores + feats, s2 + f2))
    out["__train_logits"] = torch.stack(scores)
    out["__train_features"] = torch.stack(feats)
    out["__camera"] = cam
    return {k: v.detach().contiguous().clone() for k, v in out.items()}


def case(name, cfg, jpm, num_classes, batch, seed, cameras, out_dir, pth=False):
    model, manifest = build(cfg, jpm, num_classes, seed)
    out = outputs(model, cfg, jpm, batch, seed, cameras)
    gy, gx = grid(cfg)
    meta = dict(cfg, grid=[gy, gx], jpm=jpm, num_classes=num_classes, batch=batch, input_seed=seed)
    if pth:
        sd = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
        ckpt = os.path.join(out_dir, f"{name}.pth")
        torch.save(sd, ckpt)
        os.chmod(ckpt, 0o644)
        describe(ckpt)
    path = os.path.join(out_dir, f"{name}.safetensors")
    write_safetensors(path, out, {"config": json.dumps(meta), "weights": json.dumps(manifest)})
    print(f"{name}: grid {gy}x{gx}, {len(manifest)} state-dict tensors, |test| max "
          f"{float(out['__test_after'].abs().max()):.2f}")
    describe(path)


@torch.no_grad()
def timm_small(out_dir, seed=510):
    """A small timm VisionTransformer at 224 x 224 (timm's own state dict) and its class-token feature; the same
    file loaded the way TransReID's load_param does into a stride-12 96 x 48 TransReID ViT."""
    from timm.models.vision_transformer import VisionTransformer
    torch.manual_seed(seed)
    vt = VisionTransformer(img_size=224, patch_size=16, num_classes=10, **TIMM_SMALL).eval()
    randomize_timm_(vt, seed)
    sd = {k: v.contiguous().clone() for k, v in vt.state_dict().items()}
    write_safetensors(os.path.join(out_dir, "timm_vit_small.safetensors"), sd)
    x = formula_input((2, 3, 224, 224), seed)
    cls = vt.forward_features(x)[:, 0]
    ref = TransReIDViT(TIMM_TRANSREID).eval()
    transreid_load_param(ref, sd, grid(TIMM_TRANSREID))
    x2 = formula_input((2, 3, *TIMM_TRANSREID["image"]), seed + 1)
    g = base_features(ref, x2, torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64), False)
    meta = dict(timm=dict(TIMM_SMALL, img_size=224, patch_size=16, num_classes=10), input_seed=seed,
                transreid=TIMM_TRANSREID, transreid_input_seed=seed + 1)
    path = os.path.join(out_dir, "timm_vit_small.outputs.safetensors")
    write_safetensors(path, {"__cls": cls.contiguous(), "__transreid_global": g.contiguous()},
                      {"config": json.dumps(meta)})
    describe(os.path.join(out_dir, "timm_vit_small.safetensors"))
    describe(path)


@torch.no_grad()
def randomize_timm_(vt, seed):
    """timm's init leaves LayerNorms at (1, 0), biases at 0 and the class token near 0: randomise them (and scale
    the weights up) so that every parameter moves the class-token feature."""
    gen = torch.Generator().manual_seed(seed)
    for name, m in vt.named_modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
        elif isinstance(m, (nn.Linear, nn.Conv2d)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / math.sqrt(m.weight[0].numel()))
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    vt.cls_token.copy_(torch.randn(vt.cls_token.shape, generator=gen) * 0.5)
    vt.pos_embed.copy_(torch.randn(vt.pos_embed.shape, generator=gen) * 0.5)


@torch.no_grad()
def transreid_load_param(model, param_dict, grid_yx):
    """TransReID.load_param (vit_pytorch.py): skip head / dist keys, resize pos_embed, copy the rest."""
    own = model.state_dict()
    for k, v in param_dict.items():
        if "head" in k or "dist" in k:
            continue
        if k == "pos_embed" and v.shape != model.pos_embed.shape:
            v = resize_pos_embed(v, *grid_yx)
        own[k].copy_(v)


def full(out_dir):
    """ViT-B/16 sizes: timm's vit_base_patch16_224 (seeded, randomised, no download) and TransReID's Market
    model (stride 12, 256 x 128, 6-camera SIE, JPM) as a real .pth."""
    import timm
    print(f"--full: ViT-B/16 fixtures into {out_dir}")
    torch.manual_seed(520)
    vt = timm.create_model("vit_base_patch16_224", pretrained=False).eval()
    randomize_timm_(vt, 520)
    sd = {k: v.contiguous().clone() for k, v in vt.state_dict().items()}
    write_safetensors(os.path.join(out_dir, "timm_vit_base.safetensors"), sd)
    x = formula_input((2, 3, 224, 224), 520)
    with torch.no_grad():
        cls = vt.forward_features(x)[:, 0]
    write_safetensors(os.path.join(out_dir, "timm_vit_base.outputs.safetensors"), {"__cls": cls.contiguous()},
                      {"config": json.dumps(dict(input_seed=520))})
    describe(os.path.join(out_dir, "timm_vit_base.safetensors"))
    case(*FULL_CASE, out_dir, pth=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=FIX, help="fixture folder (default models/tests/fixtures)")
    ap.add_argument("--full", metavar="DIR", help="also write the ViT-B/16 fixtures into DIR")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    assert torch.equal(torch.from_numpy(formula_values(1000, 7).astype(np.float32)), formula_input((1000,), 7))
    for c in CASES:
        case(*c, args.out)
    case(*PTH_CASE, args.out, pth=True)
    timm_small(args.out)
    names = [f for f in os.listdir(args.out) if f.startswith(("transreid_", "timm_vit_small"))]
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in names)
    print(f"TransReID fixtures total: {total / 1024:.0f} KiB ({os.path.relpath(args.out, ROOT)})")
    if args.full:
        os.makedirs(args.full, exist_ok=True)
        full(args.full)


if __name__ == "__main__":
    main()
