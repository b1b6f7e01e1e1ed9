//! ONNX for the ResNet trunk: Conv / BatchNormalization / Relu / MaxPool / Add, then GlobalAveragePool.

use super::layers::{batch_norm, conv};
use crate::backbone::resnet::{Block, ResNet};
use reid_runtime::onnx_graph::{Attr, Graph};

fn block(g: &mut Graph, x: &str, b: &Block, name: &str) -> String {
    let identity = match &b.downsample {
        Some(d) => {
            let y = conv(g, x, &d.conv, &format!("{name}.downsample.0"));
            batch_norm(g, &y, &d.bn, &format!("{name}.downsample.1"))
        }
        None => x.to_owned(),
    };
    let y = conv(g, x, &b.conv1, &format!("{name}.conv1"));
    let y = batch_norm(g, &y, &b.bn1, &format!("{name}.bn1"));
    let y = g.op("Relu", &[&y], vec![]);
    let y = conv(g, &y, &b.conv2, &format!("{name}.conv2"));
    let mut y = batch_norm(g, &y, &b.bn2, &format!("{name}.bn2"));
    if let (Some(c3), Some(b3)) = (&b.conv3, &b.bn3) {
        let r = g.op("Relu", &[&y], vec![]);
        let z = conv(g, &r, c3, &format!("{name}.conv3"));
        y = batch_norm(g, &z, b3, &format!("{name}.bn3"));
    }
    let sum = g.op("Add", &[&y, &identity], vec![]);
    g.op("Relu", &[&sum], vec![])
}

/// Appends the trunk to `g` reading `x` (`[N, C, H, W]`); returns the global feature `[N, D]`.
pub fn emit(g: &mut Graph, net: &ResNet, x: &str) -> String {
    let y = conv(g, x, &net.conv1, "base.conv1");
    let y = batch_norm(g, &y, &net.bn1, "base.bn1");
    let y = g.op("Relu", &[&y], vec![]);
    let mut y = g.op(
        "MaxPool",
        &[&y],
        vec![
            ("kernel_shape", Attr::Ints(vec![3, 3])),
            ("strides", Attr::Ints(vec![2, 2])),
            ("pads", Attr::Ints(vec![1, 1, 1, 1])),
        ],
    );
    for (s, stage) in [&net.layer1, &net.layer2, &net.layer3, &net.layer4].into_iter().enumerate() {
        for (i, b) in stage.iter().enumerate() {
            y = block(g, &y, b, &format!("base.layer{}.{i}", s + 1));
        }
    }
    let pooled = g.op("GlobalAveragePool", &[&y], vec![]);
    g.op("Flatten", &[&pooled], vec![("axis", Attr::Int(1))])
}
