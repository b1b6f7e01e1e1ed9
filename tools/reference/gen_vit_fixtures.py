"""Writes the TransReID ViT parity fixtures the Rust side reads (models/tests/fixtures/vit_*.safetensors).

    .venv/bin/python tools/reference/gen_vit_fixtures.py             # small fixtures (committed)
    .venv/bin/python tools/reference/gen_vit_fixtures.py --full DIR  # also ViT-B/16, stride 12, 256x128 (~350 MB)

Needs torch, timm, safetensors, numpy (scripts/pyenv.sh --torch).

The reference below is written from the definition in TransReID (He et al., "TransReID: Transformer-based Object
Re-Identification", ICCV 2021) and its code, model/backbones/vit_pytorch.py of github.com/damo-cv/TransReID:
    tokens = [cls_token ; Conv2d(k=16, stride=stride_size)(x).flatten(2).T] + pos_embed
             (+ sie_coe * sie_embed[camera * views + view] when SIE is on, the same row for every token)
    pre-norm blocks: x + attn(LN1(x)), x + mlp(LN2(x)), LN eps 1e-6, attention logits (q k^T) * scale,
    exact GELU; stochastic depth is the identity in eval; final LN; global feature = token 0.
    resize_pos_embed: class token kept, square grid -> (num_y, num_x) by F.interpolate(bilinear,
    align_corners=False).
Its blocks are checked against timm's VisionTransformer Block with the same weights (assert below).

CPU, float32, seeded. Per case, one safetensors file: the state dict in TransReID / timm names (`cls_token`,
`pos_embed`, `sie_embed`, `patch_embed.proj.*`, `blocks.{i}.*`, `norm.*`) plus
    __tokens (N, 1 + gy*gx, D)   all tokens after the last block and the final norm
    __global (N, D)              the class token of __tokens (TransReID's eval feature of the backbone)
    __pre_last (N, 1 + gy*gx, D) tokens after every block but the last, no norm (what JPM consumes)
    __camera / __view (N,) int64 SIE ids of the batch
    __pos14 (1, 197, D)          a random "pretrained" 14 x 14 position embedding, and
    __pos14_to_{gy}x{gx}         its TransReID resize to the case's grid (and to 21x10, the 256x128 stride-12
                                 grid, in the first case)
and metadata "config" (JSON). Inputs come from gen_model_fixtures.formula_input on both sides.
"""

import argparse
import json
import math
import os
import sys
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model_fixtures import FIX, ROOT, describe, formula_input, write_safetensors  # noqa: E402

CASES = [
    # name, config, batch, seed, cameras, views
    ("vit_s12_sie", dict(embed_dim=48, depth=2, num_heads=4, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                         stride=[12, 12], image=[64, 32], cameras=3, views=0, sie_coe=3.0), 3, 301, [2, 0, 1], [0, 0, 0]),
    # TransReID's ViT-S style: no qkv bias, fixed logit scale width^-0.5, MLP ratio 3; stride 16, SIE off.
    ("vit_s16_small", dict(embed_dim=32, depth=3, num_heads=2, mlp_ratio=3.0, qkv_bias=False, qk_scale=32 ** -0.5,
                           stride=[16, 16], image=[64, 48], cameras=0, views=0, sie_coe=3.0), 2, 302, [0, 0], [0, 0]),
    # Cameras and views (table rows camera * views + view), a non-square stride.
    ("vit_cam_view", dict(embed_dim=16, depth=1, num_heads=2, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                          stride=[10, 14], image=[48, 44], cameras=2, views=3, sie_coe=1.5), 3, 303, [1, 0, 1], [2, 1, 0]),
]
LN_EPS = 1e-6
# vit_base_patch16_224_TransReID at 256 x 128, stride 12, 6-camera SIE with sie_coe 3.0 (TransReID's Market config).
FULL = ("vit_base_full", dict(embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                              stride=[12, 12], image=[256, 128], cameras=6, views=0, sie_coe=3.0), 2, 304, [5, 1], [0, 0])


def grid(cfg):
    """TransReID's PatchEmbed_overlap: num = (size - 16) // stride + 1 per axis."""
    return [(cfg["image"][i] - 16) // cfg["stride"][i] + 1 for i in range(2)]


def sie_rows(cfg):
    c, v = cfg["cameras"], cfg["views"]
    return max(c, 1) * max(v, 1) if (c > 1 or v > 1) else 0


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias, scale):
        super().__init__()
        self.heads, self.scale = heads, scale
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, qkv_bias, scale):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = Attention(dim, heads, qkv_bias, scale)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbedOverlap(nn.Module):
    def __init__(self, dim, stride):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=16, stride=stride)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TransReIDViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["embed_dim"]
        gy, gx = grid(cfg)
        scale = cfg["qk_scale"] or (d // cfg["num_heads"]) ** -0.5
        self.patch_embed = PatchEmbedOverlap(d, cfg["stride"])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + gy * gx, d))
        rows = sie_rows(cfg)
        if rows:
            self.sie_embed = nn.Parameter(torch.zeros(rows, 1, d))
        self.cams, self.views, self.coe = cfg["cameras"], cfg["views"], cfg["sie_coe"]
        self.blocks = nn.ModuleList(
            [Block(d, cfg["num_heads"], cfg["mlp_ratio"], cfg["qkv_bias"], scale) for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(d, eps=LN_EPS)

    def embed(self, x, camera, view):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        if hasattr(self, "sie_embed"):
            index = (camera if self.cams > 1 else torch.zeros_like(camera)) * max(self.views, 1)
            index = index + (view if self.views > 1 else torch.zeros_like(view))
            x = x + self.coe * self.sie_embed[index]
        return x

    def forward(self, x, camera, view):
        x = self.embed(x, camera, view)
        pre_last = None
        for i, blk in enumerate(self.blocks):
            if i == len(self.blocks) - 1:
                pre_last = x
            x = blk(x)
        tokens = self.norm(x)
        return tokens, tokens[:, 0], pre_last


def resize_pos_embed(posemb, gy, gx):
    """TransReID's resize_pos_embed."""
    token, grid_ = posemb[:, :1], posemb[0, 1:]
    g = int(math.sqrt(len(grid_)))
    grid_ = grid_.reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid_ = F.interpolate(grid_, size=(gy, gx), mode="bilinear", align_corners=False)
    return torch.cat([token, grid_.permute(0, 2, 3, 1).reshape(1, gy * gx, -1)], 1)


@torch.no_grad()
def randomize_(model, cfg, seed):
    """LN weight U(0.5, 1.5), bias N(0, 0.2); linear / conv weights N(0, gain^2 / fan_in) (qkv gain 1.5 so the
    attention is far from uniform), biases N(0, 0.1); class token, position and SIE embeddings N(0, 0.5^2)."""
    gen = torch.Generator().manual_seed(seed)
    for name, m in model.named_modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
        elif isinstance(m, (nn.Linear, nn.Conv2d)):
            gain = 1.5 if name.endswith("attn.qkv") else 1.0
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * gain / math.sqrt(m.weight[0].numel()))
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    for p in (model.cls_token, model.pos_embed) + ((model.sie_embed,) if hasattr(model, "sie_embed") else ()):
        p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model.eval()


@torch.no_grad()
def check_blocks_against_timm(model, cfg, x):
    """Our Block == timm's VisionTransformer Block with the same weights (default logit scale only: timm has no
    qk_scale)."""
    if cfg["qk_scale"] is not None:
        return
    from timm.models.vision_transformer import Block as TimmBlock
    for blk in model.blocks:
        tb = TimmBlock(cfg["embed_dim"], cfg["num_heads"], mlp_ratio=cfg["mlp_ratio"], qkv_bias=cfg["qkv_bias"],
                       norm_layer=partial(nn.LayerNorm, eps=LN_EPS)).eval()
        tb.load_state_dict(blk.state_dict(), strict=True)
        d = float((tb(x) - blk(x)).abs().max())
        assert d < 1e-5, d
        x = blk(x)
    print(f"  blocks == timm vision_transformer.Block (max diff < 1e-5)")


@torch.no_grad()
def case(name, cfg, batch, seed, cameras, views, out_dir, extra_grids=()):
    model = randomize_(TransReIDViT(cfg), cfg, seed)
    gy, gx = grid(cfg)
    x = formula_input((batch, 3, *cfg["image"]), seed)
    cam, view = torch.tensor(cameras, dtype=torch.int64), torch.tensor(views, dtype=torch.int64)
    tokens, glob, pre_last = model(x, cam, view)
    check_blocks_against_timm(model, cfg, model.embed(x, cam, view))
    gen = torch.Generator().manual_seed(seed + 1000)
    pos14 = torch.randn(1, 197, cfg["embed_dim"], generator=gen)
    out = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    out.update({"__tokens": tokens, "__global": glob, "__pre_last": pre_last, "__camera": cam, "__view": view,
                "__pos14": pos14})
    for g in [(gy, gx), *extra_grids]:
        out[f"__pos14_to_{g[0]}x{g[1]}"] = resize_pos_embed(pos14, *g)
    out = {k: v.contiguous() for k, v in out.items()}
    meta = dict(cfg, grid=[gy, gx], batch=batch, input_seed=seed, extra_grids=[list(g) for g in extra_grids])
    path = os.path.join(out_dir, f"{name}.safetensors")
    write_safetensors(path, out, {"config": json.dumps(meta)})
    print(f"{name}: grid {gy}x{gx}, |global| max {float(glob.abs().max()):.2f}")
    describe(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=FIX, help="fixture folder (default models/tests/fixtures)")
    ap.add_argument("--full", metavar="DIR", help="also write the real-size ViT-B/16 fixture into DIR")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    for i, (name, cfg, batch, seed, cameras, views) in enumerate(CASES):
        case(name, cfg, batch, seed, cameras, views, args.out, extra_grids=[(21, 10)] if i == 0 else ())
    total = sum(os.path.getsize(os.path.join(args.out, f"{c[0]}.safetensors")) for c in CASES)
    print(f"ViT fixtures total: {total / 1024:.0f} KiB ({os.path.relpath(args.out, ROOT)})")
    if args.full:
        os.makedirs(args.full, exist_ok=True)
        case(*FULL, args.full)


if __name__ == "__main__":
    main()
