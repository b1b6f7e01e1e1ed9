//! TransReID's jigsaw patch module (JPM; He et al., "TransReID: Transformer-based Object Re-Identification",
//! ICCV 2021, section 3.3), as `build_transformer_local` and `shuffle_unit` of `model/make_model.py` in
//! github.com/damo-cv/TransReID define it. The ViT runs every block but the last; a global branch (a copy of
//! the last block and the final norm, TransReID's `b1`) takes all tokens, and a local branch (another copy,
//! `b2`) takes the class token prefixed to each of `devide_length` groups of patch tokens, after the patch
//! sequence is shifted by `shift_num` and shuffled in `shuffle_group` groups. Each feature has its own BNNeck
//! and ID classifier; the test feature is the global feature concatenated with each local one divided by
//! `devide_length` (TransReID fixes both the group count and the divisor at 4, the default here).

use crate::backbone::vit::Vit;
use crate::backbone::vit::block::VitBlock;
use crate::error::ModelError;
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::nn::{BatchNorm, BatchNormConfig, LayerNorm, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The JPM settings (the spec's `model.shift_num`, `shuffle_group`, `devide_length`, `re_arrange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JpmConfig {
    /// Patch tokens the sequence is rotated by before shuffling (TransReID's `SHIFT_NUM`, 5).
    pub shift_num: usize,
    /// Groups of the patch shuffle (`SHUFFLE_GROUP`, 2).
    pub shuffle_group: usize,
    /// Local features, each from an equal slice of the patch tokens (`DEVIDE_LENGTH`, 4).
    pub devide_length: usize,
    /// Shift and shuffle the patches before slicing (`RE_ARRANGE`, true); false slices them in order.
    pub re_arrange: bool,
}

impl Default for JpmConfig {
    fn default() -> Self {
        JpmConfig { shift_num: 5, shuffle_group: 2, devide_length: 4, re_arrange: true }
    }
}

impl JpmConfig {
    /// Checks the settings against `patches` patch tokens, naming the spec key at fault.
    pub fn validate(&self, patches: usize) -> Result<(), ModelError> {
        let bad =
            |key, value: usize, expected: String| Err(ModelError::Config { key, value: value.to_string(), expected });
        if self.devide_length == 0 || self.devide_length > patches {
            return bad("devide_length", self.devide_length, format!("1..={patches} (the patch tokens of the grid)"));
        }
        if self.re_arrange {
            if self.shift_num == 0 || self.shift_num > patches {
                return bad("shift_num", self.shift_num, format!("1..={patches} (the patch tokens of the grid)"));
            }
            let g = self.shuffle_group;
            if g == 0 || (!patches.is_multiple_of(g) && !(patches + 1).is_multiple_of(g)) {
                return bad(
                    "shuffle_group",
                    g,
                    format!("a divisor of the {patches} patch tokens or of {} (TransReID pads one token)", patches + 1),
                );
            }
        }
        Ok(())
    }
}

/// A copy of the ViT's last block and final norm (TransReID's `b1` / `b2`, `nn.Sequential(block, norm)`).
#[derive(Module, Debug)]
pub struct JpmBranch {
    /// The block (`b1.0` in TransReID's state dict).
    pub block: VitBlock,
    /// The norm (`b1.1`).
    pub norm: LayerNorm,
}

impl JpmBranch {
    /// The class token `[B, D]` after the block and the norm.
    pub fn forward(&self, tokens: Tensor<3>) -> Tensor<2> {
        let t = self.norm.forward(self.block.forward(tokens));
        let [b, _, d] = t.dims();
        t.narrow(1, 0, 1).reshape([b, d])
    }
}

/// The jigsaw patch module: global and local branches, their BNNecks and ID classifiers.
#[derive(Module, Debug)]
pub struct Jpm {
    /// Global branch.
    pub b1: JpmBranch,
    /// Local branch, shared by every group.
    pub b2: JpmBranch,
    /// BNNeck per local feature (TransReID's `bottleneck_1..4`; the global one is the model's `bottleneck`).
    pub bottlenecks: Vec<BatchNorm>,
    /// ID classifier per local feature (`classifier_1..4`), bias-free.
    pub classifiers: Vec<Linear>,
    /// The settings.
    #[module(skip)]
    pub config: JpmConfig,
}

/// Gives every float parameter a new id (the branches start as copies of the ViT's last block).
struct FreshIds;

impl ModuleMapper for FreshIds {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, value, mapper) = param.consume();
        Param::from_mapped_value(ParamId::new(), value, mapper)
    }
}

/// A BNNeck whose shift is not learned (Luo et al. 2019, section 3.6).
pub fn bnneck(dim: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(dim).init(device);
    bn.beta = bn.beta.set_require_grad(false);
    bn
}

impl Jpm {
    /// Branches copied from `vit`'s last block and final norm (as TransReID's `copy.deepcopy`), new BNNecks and
    /// classifiers for `num_classes` identities. `vit` has at least one block ([`crate::ReidConfig::validate`]).
    /// A checkpoint without branch weights (an ImageNet ViT) fills them the same way when it is loaded.
    pub fn new(vit: &Vit, config: JpmConfig, num_classes: usize, device: &Device) -> Self {
        let last = vit.blocks.last().expect("a validated ViT has a block");
        let branch = || JpmBranch { block: last.clone(), norm: vit.norm.clone() }.map(&mut FreshIds);
        let d = vit.pos_embed.dims()[2];
        Jpm {
            b1: branch(),
            b2: branch(),
            bottlenecks: (0..config.devide_length).map(|_| bnneck(d, device)).collect(),
            classifiers: (0..config.devide_length)
                .map(|_| LinearConfig::new(d, num_classes).with_bias(false).init(device))
                .collect(),
            config,
        }
    }

    /// TransReID's `shuffle_unit`: the patch tokens of `tokens` `[B, 1 + P, D]` rotated left by `shift_num - 1`
    /// (tokens `shift_num..P` first, then `1..shift_num`), padded with the second-to-last token when
    /// `shuffle_group` does not divide `P`, then read column-wise from a `shuffle_group x (P / group)` layout.
    pub fn shuffle(&self, tokens: Tensor<3>) -> Tensor<3> {
        let [b, l, d] = tokens.dims();
        let (s, g) = (self.config.shift_num, self.config.shuffle_group);
        let head = tokens.clone().narrow(1, s, l - s);
        let x = if s > 1 { Tensor::cat(vec![head, tokens.narrow(1, 1, s - 1)], 1) } else { head };
        let n = l - 1;
        let x = if n.is_multiple_of(g) { x } else { Tensor::cat(vec![x.clone(), x.narrow(1, n - 2, 1)], 1) };
        let n = x.dims()[1];
        x.reshape([b, g, n / g, d]).swap_dims(1, 2).reshape([b, n, d])
    }

    /// The global feature `[B, D]` and the `devide_length` local features from the tokens before the ViT's
    /// last block `[B, 1 + P, D]`. The groups run through `b2` as one batch (the same arithmetic per sample).
    pub fn features(&self, tokens: Tensor<3>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let [b, l, _] = tokens.dims();
        let global = self.b1.forward(tokens.clone());
        let k = self.config.devide_length;
        let length = (l - 1) / k;
        let token = tokens.clone().narrow(1, 0, 1);
        let patches = if self.config.re_arrange { self.shuffle(tokens) } else { tokens.narrow(1, 1, l - 1) };
        let groups: Vec<_> = (0..k)
            .map(|i| Tensor::cat(vec![token.clone(), patches.clone().narrow(1, i * length, length)], 1))
            .collect();
        let local = self.b2.forward(Tensor::cat(groups, 0));
        (global, (0..k).map(|i| local.clone().narrow(0, i * b, b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn jpm(shift_num: usize, shuffle_group: usize) -> Jpm {
        let device = Device::flex();
        let vit = Vit::new(&crate::backbone::vit::VitConfig::tiny([32, 16], [16, 16]), 3, &device).unwrap();
        Jpm::new(&vit, JpmConfig { shift_num, shuffle_group, devide_length: 2, re_arrange: true }, 3, &device)
    }

    /// Token ids after the shuffle of a `[1, 1 + patches, 1]` sequence whose values are the token indices.
    fn order(j: &Jpm, patches: usize) -> Vec<f32> {
        let ids: Vec<f32> = (0..=patches).map(|i| i as f32).collect();
        let t = Tensor::<3>::from_data(TensorData::new(ids, [1, patches + 1, 1]), &Device::flex());
        j.shuffle(t).into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn shuffle_follows_transreid_shuffle_unit() {
        // Worked by hand from shuffle_unit: 6 patches, shift 2 -> [2,3,4,5,6,1]; 2 groups -> [2,5,3,6,4,1].
        assert_eq!(order(&jpm(2, 2), 6), [2., 5., 3., 6., 4., 1.]);
        // 5 patches, shift 1 -> [1..5], padded with the second-to-last (4) -> [1,2,3,4,5,4]; 3 groups of 2.
        assert_eq!(order(&jpm(1, 3), 5), [1., 3., 5., 2., 4., 4.]);
    }

    #[test]
    fn settings_that_cannot_split_the_grid_are_named() {
        let c = JpmConfig { shuffle_group: 4, ..JpmConfig::default() };
        let e = c.validate(210).unwrap_err().to_string();
        assert!(e.contains("model.shuffle_group = 4") && e.contains("210"), "{e}");
        JpmConfig::default().validate(210).unwrap();
        assert!(JpmConfig { shift_num: 0, ..c }.validate(128).unwrap_err().to_string().contains("shift_num"));
        let e = JpmConfig { devide_length: 9, ..JpmConfig::default() }.validate(8).unwrap_err().to_string();
        assert!(e.contains("model.devide_length = 9"), "{e}");
    }

    #[test]
    fn branches_start_as_copies_with_their_own_ids() {
        let device = Device::flex();
        let vit = Vit::new(&crate::backbone::vit::VitConfig::tiny([32, 16], [16, 16]), 3, &device).unwrap();
        let j2 = Jpm::new(&vit, JpmConfig { devide_length: 2, ..JpmConfig::default() }, 3, &device);
        let last = vit.blocks.last().unwrap();
        let w = |l: &Linear| l.weight.val().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(w(&j2.b1.block.attn.qkv), w(&last.attn.qkv));
        assert_eq!(w(&j2.b2.block.mlp.fc1), w(&last.mlp.fc1));
        assert_ne!(j2.b1.block.attn.qkv.weight.id, last.attn.qkv.weight.id);
        assert_ne!(j2.b1.block.attn.qkv.weight.id, j2.b2.block.attn.qkv.weight.id);
        assert_eq!(j2.classifiers.len(), 2);
        assert_eq!(j2.classifiers[0].weight.dims(), [64, 3]);
    }
}
