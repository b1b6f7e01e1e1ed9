"""Times PyTorch eager CPU inference of a ReID network (torchvision ResNet with last_stride 1 or timm Swin,
plus the BNNeck head); prints one JSON object. Used by `reid bench model`.

    python bench_torch_forward.py --backbone resnet_50 --batch 16 --height 256 --width 128 --iters 5 --threads 2
"""

import argparse
import json
import time

import torch
import torch.nn as nn


def build(backbone, feat_dim, h, w):
    if backbone.startswith("resnet_"):
        import torchvision

        net = getattr(torchvision.models, backbone.replace("_", ""))()
        first = net.layer4[0]
        (first.conv2 if hasattr(first, "conv3") else first.conv1).stride = (1, 1)  # last_stride 1
        first.downsample[0].stride = (1, 1)
        channels = net.fc.in_features
        net.fc = nn.Identity()
    elif backbone.startswith("swin_"):
        import timm

        if (h, w) != (224, 224):
            raise SystemExit("the PyTorch Swin reference is timm, which is only equivalent at 224x224")
        net = timm.create_model(backbone, pretrained=False, num_classes=0)
        channels = net.num_features
    else:
        raise SystemExit(f"unknown backbone {backbone}")
    head = [nn.Linear(channels, feat_dim, bias=False)] if feat_dim != channels else []
    return nn.Sequential(net, *head, nn.BatchNorm1d(feat_dim)).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backbone", default="resnet_50")
    ap.add_argument("--feat-dim", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.backbone, a.feat_dim, a.height, a.width)
    x = torch.randn(a.batch, 3, a.height, a.width)
    with torch.inference_mode():
        model(x)  # warm-up
        t = time.perf_counter()
        for _ in range(a.iters):
            out = model(x)
        secs = (time.perf_counter() - t) / a.iters
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds_per_batch": secs,
                      "images_per_second": a.batch / secs, "out_dim": int(out.shape[1])}))


if __name__ == "__main__":
    main()
