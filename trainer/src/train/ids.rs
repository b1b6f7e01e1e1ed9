//! Stable parameter ids: burn gives each new parameter a random id and keys optimiser state by id, so a network
//! rebuilt for a resumed run would not find its momentum buffers. Deriving every id from the parameter's module
//! path makes the ids of two networks of the same architecture equal.

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::Tensor;

struct PathIds {
    path: Vec<String>,
}

/// FNV-1a, 64 bits.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl ModuleMapper for PathIds {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, value, mapper) = param.consume();
        Param::from_mapped_value(ParamId::from(hash(&self.path.join("."))), value, mapper)
    }
}

/// `module` with every float parameter's id derived from its module path.
pub fn with_path_ids<M: Module>(module: M) -> M {
    module.map(&mut PathIds { path: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::ModuleVisitor;
    use burn::nn::{BatchNormConfig, LinearConfig};
    use burn::tensor::Device;

    #[derive(Module, Debug)]
    struct Net {
        a: burn::nn::Linear,
        b: burn::nn::BatchNorm,
    }

    struct Ids(Vec<(ParamId, bool)>);

    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push((param.id, param.val().is_require_grad()));
        }
    }

    fn ids(net: &Net) -> Vec<(ParamId, bool)> {
        let mut v = Ids(Vec::new());
        net.visit(&mut v);
        v.0
    }

    #[test]
    fn two_networks_get_the_same_distinct_ids_and_keep_frozen_flags() {
        let device = Device::flex().autodiff();
        let make = || {
            let mut b = BatchNormConfig::new(2).init(&device);
            b.beta = b.beta.set_require_grad(false);
            Net { a: LinearConfig::new(2, 2).init(&device), b }
        };
        let (x, y) = (with_path_ids(make()), with_path_ids(make()));
        let (ix, iy) = (ids(&x), ids(&y));
        // Weight, bias, BN scale and shift; BN running statistics are buffers with their own ids, never optimised.
        assert_eq!(ix[..4], iy[..4]);
        let mut distinct: Vec<_> = ix.iter().map(|(id, _)| id.to_string()).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ix.len());
        assert!(ix.iter().any(|(_, grad)| !grad), "the frozen shift stays frozen");
        assert_ne!(ids(&make())[..4], ix[..4], "fresh networks get random ids");
    }
}
