"""PyTorch reference models for the Rust ReID backbones (imported by gen_model_fixtures.py).

The contract the Rust side implements:

    g      = backbone(x)                       global feature, size C
    before = fcneck(g)  (only if feat_dim != C, Linear(C, feat_dim, bias=False)), else g
    after  = bottleneck(before)                BatchNorm1d(feat_dim), the BNNeck
    logits = classifier(after)                 Linear(feat_dim, num_classes, bias=False), training only

State dict names: `base.` + torchvision ResNet names (no `fc`) or timm Swin names (no `head`, no
`relative_position_index` / `attn_mask` buffers), then `fcneck.weight`, `bottleneck.{weight,bias,running_mean,
running_var}`, `classifier.weight`; `num_batches_tracked` is left out everywhere (see `reid_state_dict`).

Backbones
  * `ResNetBackbone`: torchvision ResNet v1.5 assembled from torchvision's own `Bottleneck` / `BasicBlock`
    with the same attribute names as `torchvision.models.ResNet`, plus a base `width` (64 = the real ResNet)
    and `last_stride` (stride of layer4's first block). g = global average pool of layer4.
  * `SwinBackbone`: a subclass of timm's `SwinTransformer` (num_classes=0, so no head parameters). At the
    size it was built for, g = token mean of timm's own `forward_features`. At any other size g comes from
    `swin_padded_features`, written here from scratch in the Swin detection backbone / mmdet / SOLIDER-REID
    style, reading the timm module's parameters by name only (it never uses timm's stored resolution,
    window sizes or attention masks).

Padded Swin forward (`swin_padded_features`), per block, on an (B, H, W, C) map:
    y = LN1(x); zero-pad right/bottom to multiples of the window ws (7);
    odd block (1, 3, ... within its stage) and not (H <= ws and W <= ws): roll by (-ws//2, -ws//2) and build
    the shifted-window mask on the PADDED map from the slices (0,-ws), (-ws,-shift), (-shift,None) per
    axis, -100 between different regions;
    7x7 window attention with relative position bias (+ mask); reverse; roll back; crop to HxW;
    x = x + y; x = x + MLP(LN2(x)) with exact (erf) GELU.
  Patch merging (timm's, at the start of stages 1..): zero-pad bottom/right to even, concatenate
  [x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2]] (row offset varies fastest, which is the order of
  timm's reshape/permute and of Microsoft's original code), LayerNorm(4C), Linear(4C, 2C, bias=False).
  Patch embedding: zero-pad bottom/right to a multiple of the patch size (never needed for the sizes used),
  4x4/4 conv, LayerNorm. Final LayerNorm `norm`, g = mean over all H*W tokens.
"""

import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models.swin_transformer import SwinTransformer
from torchvision.models.resnet import BasicBlock, Bottleneck

LN_EPS = 1e-5  # nn.LayerNorm default, what timm's Swin uses everywhere


# ------------------------------------------------------------------------------------------------ ResNet
class ResNetBackbone(nn.Module):
    """torchvision-layout ResNet with a base width and a configurable layer4 stride; forward returns g."""

    def __init__(self, block: str, layers: Sequence[int], width: int = 64, last_stride: int = 1):
        super().__init__()
        assert block in ("bottleneck", "basic") and len(layers) == 4 and last_stride in (1, 2)
        self.block_cls = Bottleneck if block == "bottleneck" else BasicBlock
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._stage(width, layers[0], 1)
        self.layer2 = self._stage(2 * width, layers[1], 2)
        self.layer3 = self._stage(4 * width, layers[2], 2)
        self.layer4 = self._stage(8 * width, layers[3], last_stride)
        self.num_features = 8 * width * self.block_cls.expansion

    def _stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        # Same rule as torchvision's ResNet._make_layer: a projection shortcut (1x1 conv with the block's
        # stride, then BN) when the stride or the channel count changes; only the first block strides.
        out_ch = planes * self.block_cls.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_ch:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out_ch, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_ch),
            )
        # base_width stays at torchvision's 64 so the Bottleneck's inner width equals `planes`.
        mods = [self.block_cls(self.inplanes, planes, stride, downsample)]
        self.inplanes = out_ch
        mods += [self.block_cls(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))


# ------------------------------------------------------------------------------------------------ Swin helpers
def relative_position_index(ws: int) -> torch.Tensor:
    """(ws*ws, ws*ws) int64 index into the (2ws-1)^2 bias table (Microsoft / timm convention):
    idx[i, j] = (dy + ws - 1) * (2ws - 1) + (dx + ws - 1), with (dy, dx) = pos(i) - pos(j)."""
    r = torch.arange(ws)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    y, x = yy.reshape(-1), xx.reshape(-1)
    dy = y[:, None] - y[None, :] + ws - 1
    dx = x[:, None] - x[None, :] + ws - 1
    return (dy * (2 * ws - 1) + dx).to(torch.long)


def to_windows(x: torch.Tensor, ws: int) -> torch.Tensor:
    """(B, H, W, C) with H, W multiples of ws -> (B * nW, ws*ws, C), windows row-major within each image."""
    B, H, W, C = x.shape
    x = x.reshape(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B * (H // ws) * (W // ws), ws * ws, C)


def from_windows(w: torch.Tensor, ws: int, B: int, H: int, W: int) -> torch.Tensor:
    C = w.shape[-1]
    x = w.reshape(B, H // ws, W // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H, W, C)


def shifted_window_mask(Hp: int, Wp: int, ws: int, shift: int, dtype=torch.float32) -> torch.Tensor:
    """(nW, ws*ws, ws*ws) additive mask for a map of Hp x Wp (multiples of ws) rolled by -shift: tokens of
    different regions (3 slices per axis) get -100, same region 0."""
    region = torch.zeros(Hp, Wp, dtype=dtype)
    label = 0
    bounds = ((0, -ws), (-ws, -shift), (-shift, None))
    for h0, h1 in bounds:
        for w0, w1 in bounds:
            region[h0:h1, w0:w1] = label
            label += 1
    r = to_windows(region[None, :, :, None], ws)[..., 0]  # nW, N
    diff = r[:, None, :] - r[:, :, None]
    return torch.where(diff != 0, torch.tensor(-100.0, dtype=dtype), torch.tensor(0.0, dtype=dtype))


def window_attention(
    xw: torch.Tensor,
    qkv_w: torch.Tensor,
    qkv_b: Optional[torch.Tensor],
    proj_w: torch.Tensor,
    proj_b: torch.Tensor,
    table: torch.Tensor,
    num_heads: int,
    ws: int,
    mask: Optional[torch.Tensor],
) -> torch.Tensor:
    """Multi-head self-attention inside windows. xw: (B*nW, N, C); table: ((2ws-1)^2, heads);
    mask: (nW, N, N) or None (windows of one image are consecutive in xw)."""
    Bn, N, C = xw.shape
    hd = C // num_heads
    qkv = F.linear(xw, qkv_w, qkv_b).reshape(Bn, N, 3, num_heads, hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # Bn, heads, N, hd
    attn = (q * hd ** -0.5) @ k.transpose(-2, -1)
    bias = table[relative_position_index(ws).reshape(-1)].reshape(N, N, num_heads).permute(2, 0, 1)
    attn = attn + bias[None]
    if mask is not None:
        nW = mask.shape[0]
        attn = (attn.reshape(Bn // nW, nW, num_heads, N, N) + mask[None, :, None]).reshape(Bn, num_heads, N, N)
    attn = attn.softmax(dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(Bn, N, C)
    return F.linear(out, proj_w, proj_b)


def swin_block_padded(
    x: torch.Tensor, p: Mapping[str, torch.Tensor], num_heads: int, ws: int, shift: int
) -> torch.Tensor:
    """One Swin block on (B, H, W, C). p: timm names relative to the block (norm1.weight, attn.qkv.weight,
    ...). shift: 0 or ws//2 (the caller applies the one-window rule)."""
    B, H, W, C = x.shape
    y = F.layer_norm(x, (C,), p["norm1.weight"], p["norm1.bias"], LN_EPS)
    Hp, Wp = math.ceil(H / ws) * ws, math.ceil(W / ws) * ws
    y = F.pad(y, (0, 0, 0, Wp - W, 0, Hp - H))
    mask = None
    if shift:
        y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
        mask = shifted_window_mask(Hp, Wp, ws, shift, dtype=y.dtype)
    yw = window_attention(
        to_windows(y, ws), p["attn.qkv.weight"], p.get("attn.qkv.bias"), p["attn.proj.weight"],
        p["attn.proj.bias"], p["attn.relative_position_bias_table"], num_heads, ws, mask,
    )
    y = from_windows(yw, ws, B, Hp, Wp)
    if shift:
        y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
    x = x + y[:, :H, :W, :]
    z = F.layer_norm(x, (C,), p["norm2.weight"], p["norm2.bias"], LN_EPS)
    z = F.linear(F.gelu(F.linear(z, p["mlp.fc1.weight"], p["mlp.fc1.bias"])), p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    return x + z


def patch_merge_timm(x: torch.Tensor, norm_w, norm_b, red_w) -> torch.Tensor:
    """(B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 2C); concatenation order x00, x10, x01, x11 (row offset
    fastest), identical to timm's reshape/permute and Microsoft's original PatchMerging."""
    B, H, W, C = x.shape
    x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
    x = F.layer_norm(x, (4 * C,), norm_w, norm_b, LN_EPS)
    return F.linear(x, red_w)


def one_window_rule_shift(H: int, W: int, ws: int, block_index: int) -> int:
    """Shift of a block: ws//2 for odd blocks, unless the whole map fits in one window (H <= ws and W <= ws)."""
    if block_index % 2 == 0 or (H <= ws and W <= ws):
        return 0
    return ws // 2


def swin_padded_features(
    params: Mapping[str, torch.Tensor],
    depths: Sequence[int],
    num_heads: Sequence[int],
    x: torch.Tensor,
    window_size: int = 7,
    patch_size: int = 4,
    shift_rule=one_window_rule_shift,
) -> torch.Tensor:
    """Padded Swin forward from timm-named parameters (no prefix). x: (B, 3, H, W) -> (B, h, w, C) after the
    final norm."""
    ph = (patch_size - x.shape[2] % patch_size) % patch_size
    pw = (patch_size - x.shape[3] % patch_size) % patch_size
    x = F.pad(x, (0, pw, 0, ph))
    x = F.conv2d(x, params["patch_embed.proj.weight"], params["patch_embed.proj.bias"], stride=patch_size)
    x = x.permute(0, 2, 3, 1)
    x = F.layer_norm(x, (x.shape[-1],), params["patch_embed.norm.weight"], params["patch_embed.norm.bias"], LN_EPS)
    for i, depth in enumerate(depths):
        if i > 0:
            pre = f"layers.{i}.downsample."
            x = patch_merge_timm(x, params[pre + "norm.weight"], params[pre + "norm.bias"], params[pre + "reduction.weight"])
        for j in range(depth):
            pre = f"layers.{i}.blocks.{j}."
            p = {k[len(pre):]: v for k, v in params.items() if k.startswith(pre)}
            shift = shift_rule(x.shape[1], x.shape[2], window_size, j)
            x = swin_block_padded(x, p, num_heads[i], window_size, shift)
    return F.layer_norm(x, (x.shape[-1],), params["norm.weight"], params["norm.bias"], LN_EPS)


class SwinBackbone(SwinTransformer):
    """timm SwinTransformer without head; forward returns g (B, C).

    impl: "timm" (timm's forward_features, only at the built img_size), "padded" (swin_padded_features),
    or "auto" (timm when the input size equals the built img_size, else padded)."""

    def __init__(self, embed_dim, depths, num_heads, img_size=(224, 224), window_size=7, mlp_ratio=4):
        super().__init__(
            img_size=tuple(img_size), patch_size=4, in_chans=3, num_classes=0, embed_dim=embed_dim,
            depths=tuple(depths), num_heads=tuple(num_heads), window_size=window_size, mlp_ratio=mlp_ratio,
            qkv_bias=True, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0,
        )
        self.cfg_depths = list(depths)
        self.cfg_heads = list(num_heads)
        self.cfg_window = window_size
        self.impl = "auto"

    def padded_features(self, x: torch.Tensor) -> torch.Tensor:
        return swin_padded_features(dict(self.named_parameters()), self.cfg_depths, self.cfg_heads, x, self.cfg_window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        impl = self.impl
        if impl == "auto":
            impl = "timm" if tuple(x.shape[-2:]) == tuple(self.patch_embed.img_size) else "padded"
        f = self.forward_features(x) if impl == "timm" else self.padded_features(x)
        return f.mean(dim=(1, 2))  # NHWC token mean


# ------------------------------------------------------------------------------------------------ ReID head
class ReIDModel(nn.Module):
    def __init__(self, base: nn.Module, in_dim: int, feat_dim: int, num_classes: int):
        super().__init__()
        self.base = base
        self.fcneck = nn.Linear(in_dim, feat_dim, bias=False) if feat_dim != in_dim else None
        self.bottleneck = nn.BatchNorm1d(feat_dim)
        self.bottleneck.bias.requires_grad_(False)  # BNNeck: bias frozen in training
        self.classifier = nn.Linear(feat_dim, num_classes, bias=False)

    def features(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        g = self.base(x)
        before = self.fcneck(g) if self.fcneck is not None else g
        return g, before, self.bottleneck(before)

    def forward(self, x: torch.Tensor):
        _, before, after = self.features(x)
        if self.training:
            return self.classifier(after), before
        return before, after


def build_resnet(cfg: Dict) -> ReIDModel:
    base = ResNetBackbone(cfg["block"], cfg["layers"], cfg["width"], cfg["last_stride"])
    return ReIDModel(base, base.num_features, cfg["feat_dim"], cfg["num_classes"])


def build_swin(cfg: Dict) -> ReIDModel:
    base = SwinBackbone(cfg["embed_dim"], cfg["depths"], cfg["num_heads"], (224, 224), cfg["window_size"], cfg["mlp_ratio"])
    return ReIDModel(base, base.num_features, cfg["feat_dim"], cfg["num_classes"])


# ------------------------------------------------------------------------------------------------ randomisation
@torch.no_grad()
def randomize_(model: nn.Module, seed: int, linear_gain: float = 1.0, qkv_gain: float = 1.5) -> nn.Module:
    """Seeded re-initialisation that leaves nothing trivial for eval mode: BN weight U(0.5,1.5), bias
    N(0,0.2), running_mean N(0,0.2), running_var U(0.5,1.5); LN weight U(0.5,1.5), bias N(0,0.2); conv /
    linear weights N(0, gain^2/fan_in) (qkv a bit sharper so attention is far from uniform), biases N(0,0.1);
    relative position bias tables N(0, 0.5^2)."""
    gen = torch.Generator().manual_seed(seed)

    def normal_(t, std):
        t.copy_(torch.randn(t.shape, generator=gen) * std)

    def uniform_(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    for name, m in model.named_modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            uniform_(m.weight, 0.5, 1.5)
            normal_(m.bias, 0.2)
            normal_(m.running_mean, 0.2)
            uniform_(m.running_var, 0.5, 1.5)
        elif isinstance(m, nn.LayerNorm):
            uniform_(m.weight, 0.5, 1.5)
            normal_(m.bias, 0.2)
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            gain = qkv_gain if name.endswith("attn.qkv") else linear_gain
            if isinstance(m, nn.Conv2d) and not name.endswith("patch_embed.proj"):
                gain = math.sqrt(2.0)  # ReLU nets
            normal_(m.weight, gain / math.sqrt(fan_in))
            if m.bias is not None:
                normal_(m.bias, 0.1)
        if hasattr(m, "relative_position_bias_table"):
            normal_(m.relative_position_bias_table, 0.5)
    return model


def reid_state_dict(model: ReIDModel) -> Dict[str, torch.Tensor]:
    """The contract's state dict: no num_batches_tracked, no Swin index/mask buffers, no head/fc."""
    out = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked") or "relative_position_index" in k or "attn_mask" in k:
            continue
        if k.startswith("base.head") or k.startswith("base.fc."):
            continue
        out[k] = v.detach().clone().contiguous()
    return out
