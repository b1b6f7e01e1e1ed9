//! A small ONNX graph builder over the protobuf types `tract-onnx` maintains: named values, float and int64
//! initializers, the handful of operators the ReID networks need (opset 17), and the serialised model. The ONNX
//! export of `reid-models` writes its networks with it; tests and benchmarks build their small models with it.

use prost::Message;
pub use tract_onnx::pb;

/// The opset the graphs use (LayerNormalization is opset 17).
pub const OPSET: i64 = 17;

/// A graph under construction.
#[derive(Default)]
pub struct Graph {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    counter: usize,
}

/// An attribute value.
pub enum Attr {
    /// Integer.
    Int(i64),
    /// Integer list.
    Ints(Vec<i64>),
    /// Float.
    Float(f32),
}

impl Graph {
    /// A fresh value name with a readable stem.
    pub fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("{stem}_{}", self.counter)
    }

    /// Adds a float initializer and returns its name.
    pub fn weight(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        assert_eq!(dims.iter().product::<usize>(), values.len(), "initializer {name}: shape does not fit its values");
        let name = name.to_owned();
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// Adds an int64 initializer (shapes, axes, indices) and returns its name.
    pub fn ints(&mut self, stem: &str, values: &[i64]) -> String {
        let name = self.fresh(stem);
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: vec![values.len() as i64],
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// A float scalar initializer.
    pub fn scalar(&mut self, stem: &str, value: f32) -> String {
        let name = self.fresh(stem);
        self.weight(&name, &[], &[value])
    }

    /// Adds a node with one output and returns the output's name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.op_into(op, inputs, &out, attrs);
        out
    }

    /// Adds a node writing to a given output name.
    pub fn op_into(&mut self, op: &str, inputs: &[&str], output: &str, attrs: Vec<(&str, Attr)>) {
        use pb::attribute_proto::AttributeType;
        let attribute = attrs
            .into_iter()
            .map(|(name, a)| {
                let mut p = pb::AttributeProto { name: name.to_owned(), ..Default::default() };
                match a {
                    Attr::Int(i) => {
                        p.r#type = AttributeType::Int as i32;
                        p.i = i;
                    }
                    Attr::Ints(v) => {
                        p.r#type = AttributeType::Ints as i32;
                        p.ints = v;
                    }
                    Attr::Float(f) => {
                        p.r#type = AttributeType::Float as i32;
                        p.f = f;
                    }
                }
                p
            })
            .collect();
        let name = format!("{op}_{}", self.nodes.len());
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![output.to_owned()],
            name,
            op_type: op.to_owned(),
            attribute,
            ..Default::default()
        });
    }

    /// `Reshape(x, shape)` with a constant target shape (one `-1` allowed).
    pub fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let s = self.ints("shape", shape);
        self.op("Reshape", &[x, &s], vec![])
    }

    /// `Transpose(x, perm)`.
    pub fn transpose(&mut self, x: &str, perm: &[i64]) -> String {
        self.op("Transpose", &[x], vec![("perm", Attr::Ints(perm.to_vec()))])
    }

    /// `x[..., start:end, ...]` on one axis.
    pub fn slice(&mut self, x: &str, axis: i64, start: i64, end: i64) -> String {
        let (s, e, a) = (self.ints("starts", &[start]), self.ints("ends", &[end]), self.ints("axes", &[axis]));
        self.op("Slice", &[x, &s, &e, &a], vec![])
    }

    /// `torch.roll(x, shift, axis)` for an axis of static length `len`, as two slices and a concat.
    pub fn roll(&mut self, x: &str, axis: i64, shift: i64, len: i64) -> String {
        let s = shift.rem_euclid(len);
        if s == 0 {
            return x.to_owned();
        }
        let tail = self.slice(x, axis, len - s, len);
        let head = self.slice(x, axis, 0, len - s);
        self.op("Concat", &[&tail, &head], vec![("axis", Attr::Int(axis))])
    }

    /// Zero-pads the end of axes 1 and 2 of a rank-4 tensor.
    pub fn pad_hw_end(&mut self, x: &str, ph: i64, pw: i64) -> String {
        let pads = self.ints("pads", &[0, 0, 0, 0, 0, ph, pw, 0]);
        self.op("Pad", &[x, &pads], vec![])
    }

    /// `x @ W + b` with `W` of shape `[in, out]` (burn's linear layout).
    pub fn linear(&mut self, x: &str, name: &str, w: (&[usize], &[f32]), b: Option<&[f32]>) -> String {
        let wn = self.weight(&format!("{name}.weight"), w.0, w.1);
        let y = self.op("MatMul", &[x, &wn], vec![]);
        match b {
            Some(b) => {
                let bn = self.weight(&format!("{name}.bias"), &[b.len()], b);
                self.op("Add", &[&y, &bn], vec![])
            }
            None => y,
        }
    }

    /// LayerNormalization over the last axis.
    pub fn layer_norm(&mut self, x: &str, name: &str, gamma: &[f32], beta: &[f32], eps: f64) -> String {
        let g = self.weight(&format!("{name}.weight"), &[gamma.len()], gamma);
        let b = self.weight(&format!("{name}.bias"), &[beta.len()], beta);
        self.op("LayerNormalization", &[x, &g, &b], vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(eps as f32))])
    }

    /// Exact GELU: `0.5 x (1 + erf(x / sqrt 2))` (opset-17 friendly; every engine has Erf).
    pub fn gelu(&mut self, x: &str) -> String {
        let inv = self.scalar("inv_sqrt2", std::f32::consts::FRAC_1_SQRT_2);
        let one = self.scalar("one", 1.0);
        let half = self.scalar("half", 0.5);
        let t = self.op("Mul", &[x, &inv], vec![]);
        let e = self.op("Erf", &[&t], vec![]);
        let e1 = self.op("Add", &[&e, &one], vec![]);
        let xh = self.op("Mul", &[x, &half], vec![]);
        self.op("Mul", &[&xh, &e1], vec![])
    }

    /// The finished model with input `input` (`[N, C, H, W]`, N symbolic) and output `output` (`[N, D]`).
    pub fn finish(
        self,
        input: (&str, [usize; 3]),
        output: (&str, usize),
        metadata: Vec<(String, String)>,
    ) -> pb::ModelProto {
        let [c, h, w] = input.1;
        let input = value_info(input.0, &[None, Some(c), Some(h), Some(w)]);
        self.model(vec![input], vec![value_info(output.0, &[None, Some(output.1)])], metadata)
    }

    /// The finished model with any inputs and outputs (see [`value_info`]) and `metadata_props`.
    pub fn model(
        self,
        inputs: Vec<pb::ValueInfoProto>,
        outputs: Vec<pb::ValueInfoProto>,
        metadata: Vec<(String, String)>,
    ) -> pb::ModelProto {
        let graph = pb::GraphProto {
            name: "reid".to_owned(),
            node: self.nodes,
            initializer: self.initializers,
            input: inputs,
            output: outputs,
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "reid".to_owned(),
            producer_version: env!("CARGO_PKG_VERSION").to_owned(),
            graph: Some(graph),
            metadata_props: metadata
                .into_iter()
                .map(|(key, value)| pb::StringStringEntryProto { key, value })
                .collect(),
            ..Default::default()
        }
    }
}

/// A float tensor's name and shape for a graph's inputs and outputs; `None` is the symbolic batch size `N`.
pub fn value_info(name: &str, dims: &[Option<usize>]) -> pb::ValueInfoProto {
    typed_value_info(name, dims, pb::tensor_proto::DataType::Float)
}

/// An int64 tensor's name and shape (a camera input `[N]`); `None` is the symbolic batch size `N`.
pub fn int64_value_info(name: &str, dims: &[Option<usize>]) -> pb::ValueInfoProto {
    typed_value_info(name, dims, pb::tensor_proto::DataType::Int64)
}

fn typed_value_info(name: &str, dims: &[Option<usize>], elem: pb::tensor_proto::DataType) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = |d: &Option<usize>| Dimension {
        value: Some(match d {
            Some(v) => Value::DimValue(*v as i64),
            None => Value::DimParam("N".to_owned()),
        }),
        ..Default::default()
    };
    pb::ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(pb::TensorShapeProto { dim: dims.iter().map(dim).collect() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `pairs` as the owned `(key, value)` metadata [`Graph::finish`] takes.
pub fn metadata(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The serialised bytes of `model` (the `.onnx` file's content).
pub fn encode(model: &pb::ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}
