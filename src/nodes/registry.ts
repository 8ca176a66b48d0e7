import type { NodeTypeLookup } from '../document/load';
import type { AnySpec } from './spec';
import { ActivationSpec } from './layers/activation';
import { BatchNormalizationSpec } from './layers/batch-normalization';
import { BlockInputSpec, BlockOutputSpec } from './layers/block-ports';
import { CapsuleLengthSpec, DigitCapsulesSpec, PrimaryCapsulesSpec, SquashSpec } from './layers/capsules';
import { GlomLevelsSpec, GlomUpdateSpec, PatchesToImageSpec } from './layers/glom';
import { ActNormSpec, AffineCouplingSpec, FlowLogitSpec, FlowPriorSpec, FlowSplitSpec, FlowSqueezeSpec, InvertibleConv1x1Spec } from './layers/flows';
import { Conv2DSpec } from './layers/conv2d';
import { Conv2DTransposeSpec } from './layers/conv2d-transpose';
import { DenseSpec } from './layers/dense';
import { SpatialAttentionSpec, TimeResBlockSpec, TimestepEmbeddingSpec, UNetSpec } from './layers/diffusion';
import { DepthwiseConv2DSpec } from './layers/depthwise-conv2d';
import { DropoutSpec } from './layers/dropout';
import { EmbeddingSpec } from './layers/embedding';
import { ClassTokenSpec } from './layers/class-token';
import { GeluSpec } from './layers/gelu';
import { MultiHeadSelfAttentionSpec } from './layers/multi-head-self-attention';
import { PositionEmbeddingSpec } from './layers/position-embedding';
import { TakeTokenSpec } from './layers/take-token';
import { FlattenSpec } from './layers/flatten';
import { GlobalAveragePooling1DSpec, GlobalAveragePooling2DSpec } from './layers/global-average-pooling';
import { GroupNormalizationSpec } from './layers/group-normalization';
import { InputSpec } from './layers/input';
import { L2NormalizeSpec } from './layers/l2-normalize';
import { LayerNormalizationSpec } from './layers/layer-normalization';
import { AddSpec, ConcatenateSpec, MultiplySpec } from './layers/merge';
import { OutputSpec } from './layers/output';
import { PermuteSpec } from './layers/permute';
import { AveragePooling2DSpec, MaxPooling2DSpec } from './layers/pooling2d';
import { RandomTranslationSpec } from './layers/random-translation';
import { ReshapeSpec } from './layers/reshape';
import { SeparableConv2DSpec } from './layers/separable-conv2d';
import { UpSampling2DSpec } from './layers/up-sampling2d';
import { ZeroPadding2DSpec } from './layers/zero-padding2d';

/** Every layer type, in palette order. Adding a layer: one spec file and one line here. */
export const NODE_SPECS: readonly AnySpec[] = [
  InputSpec,
  OutputSpec,
  DenseSpec,
  ActivationSpec,
  DropoutSpec,
  RandomTranslationSpec,
  EmbeddingSpec,
  MultiHeadSelfAttentionSpec,
  ClassTokenSpec,
  PositionEmbeddingSpec,
  TakeTokenSpec,
  GeluSpec,
  Conv2DSpec,
  DepthwiseConv2DSpec,
  SeparableConv2DSpec,
  Conv2DTransposeSpec,
  MaxPooling2DSpec,
  AveragePooling2DSpec,
  GlobalAveragePooling1DSpec,
  GlobalAveragePooling2DSpec,
  BatchNormalizationSpec,
  LayerNormalizationSpec,
  GroupNormalizationSpec,
  L2NormalizeSpec,
  PrimaryCapsulesSpec,
  SquashSpec,
  DigitCapsulesSpec,
  CapsuleLengthSpec,
  GlomLevelsSpec,
  GlomUpdateSpec,
  PatchesToImageSpec,
  AffineCouplingSpec,
  ActNormSpec,
  InvertibleConv1x1Spec,
  FlowSqueezeSpec,
  FlowSplitSpec,
  FlowPriorSpec,
  FlowLogitSpec,
  TimestepEmbeddingSpec,
  TimeResBlockSpec,
  SpatialAttentionSpec,
  UNetSpec,
  FlattenSpec,
  ReshapeSpec,
  PermuteSpec,
  UpSampling2DSpec,
  ZeroPadding2DSpec,
  AddSpec,
  ConcatenateSpec,
  MultiplySpec,
  BlockInputSpec,
  BlockOutputSpec,
] as unknown as AnySpec[];

/** The node type of a block instance; its ports and params come from the block definition. */
export const BLOCK_NODE_TYPE = 'Block';

const byType = new Map(NODE_SPECS.map((s) => [s.type, s]));

export function getSpec(type: string): AnySpec | undefined {
  return byType.get(type);
}

export const nodeTypeLookup: NodeTypeLookup = (type) => (type === BLOCK_NODE_TYPE ? { version: 1 } : byType.get(type));
