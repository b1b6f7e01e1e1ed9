//! Which execution provider actually ran each node: read from ONNX Runtime's profiler trace of one run (each
//! `Node` event names its `provider` and `op_name`). TensorRT shows up as a few fused `TRTKernel_*` nodes.

use std::collections::BTreeMap;
use std::fmt;

/// Nodes per provider, with the op types each provider ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Provider name -> (node count, op type -> count).
    pub providers: BTreeMap<String, (usize, BTreeMap<String, usize>)>,
}

impl Placement {
    /// Nodes run by `provider` (ONNX Runtime's name, e.g. `CPUExecutionProvider`).
    pub fn nodes_on(&self, provider: &str) -> usize {
        self.providers.get(provider).map_or(0, |(n, _)| *n)
    }

    /// All nodes seen.
    pub fn total_nodes(&self) -> usize {
        self.providers.values().map(|(n, _)| n).sum()
    }

    /// Reads a profiler trace (a JSON array of Chrome trace events, or `{"traceEvents": [...]}`); each distinct
    /// node counts once however many times it ran.
    pub fn from_profile(json: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("profile is not JSON: {e}"))?;
        let events = match &value {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(o) => match o.get("traceEvents") {
                Some(serde_json::Value::Array(a)) => a,
                _ => return Err("profile has no `traceEvents` array".to_owned()),
            },
            _ => return Err("profile is neither an array nor an object".to_owned()),
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Placement::default();
        for event in events {
            if event.get("cat").and_then(|c| c.as_str()) != Some("Node") {
                continue;
            }
            let args = event.get("args");
            let (Some(provider), Some(name)) = (
                args.and_then(|a| a.get("provider")).and_then(|p| p.as_str()),
                event.get("name").and_then(|n| n.as_str()),
            ) else {
                continue;
            };
            let node = name.strip_suffix("_kernel_time").unwrap_or(name);
            if !seen.insert(node.to_owned()) {
                continue;
            }
            let op = args.and_then(|a| a.get("op_name")).and_then(|o| o.as_str()).unwrap_or("?");
            let entry = out.providers.entry(provider.to_owned()).or_default();
            entry.0 += 1;
            *entry.1.entry(op.to_owned()).or_default() += 1;
        }
        Ok(out)
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.providers.is_empty() {
            return f.write_str("no nodes profiled");
        }
        let parts: Vec<String> = self
            .providers
            .iter()
            .map(|(provider, (n, ops))| {
                let mut ops: Vec<_> = ops.iter().collect();
                ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let top: Vec<String> = ops.iter().take(4).map(|(op, c)| format!("{op} x{c}")).collect();
                format!("{provider}: {n} nodes ({}{})", top.join(", "), if ops.len() > 4 { ", ..." } else { "" })
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_counted_once_per_provider() {
        let trace = r#"[
          {"cat":"Session","name":"model_run","args":{}},
          {"cat":"Node","name":"TRTKernel_graph_main_0_kernel_time","args":{"op_name":"TRTKernel_graph_main_0","provider":"TensorrtExecutionProvider"}},
          {"cat":"Node","name":"TRTKernel_graph_main_0_kernel_time","args":{"op_name":"TRTKernel_graph_main_0","provider":"TensorrtExecutionProvider"}},
          {"cat":"Node","name":"/head/ReduceL2_kernel_time","args":{"op_name":"ReduceL2","provider":"CUDAExecutionProvider"}},
          {"cat":"Node","name":"/head/Div_kernel_time","args":{"op_name":"Div","provider":"CPUExecutionProvider"}},
          {"cat":"Node","name":"/head/Div_fence_before","args":{}}
        ]"#;
        let p = Placement::from_profile(trace).unwrap();
        assert_eq!(p.total_nodes(), 3);
        assert_eq!(p.nodes_on("TensorrtExecutionProvider"), 1);
        assert_eq!(p.nodes_on("CUDAExecutionProvider"), 1);
        assert_eq!(p.nodes_on("CPUExecutionProvider"), 1);
        let text = p.to_string();
        assert!(text.contains("TensorrtExecutionProvider: 1 nodes (TRTKernel_graph_main_0 x1)"), "{text}");
        assert!(Placement::from_profile("{\"traceEvents\": []}").unwrap().providers.is_empty());
        assert!(Placement::from_profile("not json").is_err());
    }
}
