import * as tf from '@tensorflow/tfjs';
import { PatchbayCapsuleLength } from './layers/capsule-length';
import { PatchbayDigitCapsules } from './layers/digit-capsules';
import { PatchbayGroupNormalization } from './layers/group-normalization';
import { PatchbayL2Normalize } from './layers/l2-normalize';
import { PatchbayActNorm } from './layers/act-norm';
import { PatchbayAffineCoupling } from './layers/affine-coupling';
import { PatchbayFlowSqueeze } from './layers/flow-squeeze';
import { PatchbayFlowSplit } from './layers/flow-split';
import { PatchbayFlowPrior } from './layers/flow-prior';
import { PatchbayFlowLogit } from './layers/flow-logit';
import { PatchbayInvertibleConv1x1 } from './layers/invertible-conv1x1';
import { PatchbayClassToken } from './layers/class-token';
import { PatchbayGelu } from './layers/gelu';
import { FusedPatchbayGelu } from './fused-gelu';
import { PatchbayMultiHeadSelfAttention } from './layers/multi-head-self-attention';
import { PatchbayPositionEmbedding } from './layers/position-embedding';
import { PatchbayTakeToken } from './layers/take-token';
import { PatchbayPrimaryCapsules } from './layers/primary-capsules';
import { PatchbaySquash } from './layers/squash';
import { PatchbayRandomTranslation } from './layers/random-translation';
import { PatchbaySpatialAttention } from './layers/spatial-attention';
import { PatchbayTimeResBlock } from './layers/time-res-block';
import { PatchbayTimestepEmbedding } from './layers/timestep-embedding';
import { PatchbayUNet } from './layers/unet';
import { PatchbayGlomLevels } from './layers/glom-levels';
import { PatchbayGlomUpdate } from './layers/glom-update';
import { PatchbayPatchesToImage } from './layers/patches-to-image';

/**
 * Layers that tfjs lacks live in ./layers, one `tf.layers.Layer` subclass per file, each registered
 * for serialisation where it is declared (so `tf.loadLayersModel` reads a saved model back). A spec
 * lowers to one with `{ kind: 'layer', factory: '<className>', custom: true, config }`.
 *
 * The emitter copies each used class's source into the exported module, so that an export needs only
 * @tensorflow/tfjs. That text is not kept by hand: `npm run gen:layers` (scripts/gen-layer-sources.ts)
 * writes it from ./layers into src/compiler/generated/layer-sources.ts, and a test fails when it is stale.
 */
type CustomLayerClass = (new (config: never) => tf.layers.Layer) & { className: string };

const CLASSES: readonly CustomLayerClass[] = [
  PatchbayGroupNormalization,
  PatchbayL2Normalize,
  PatchbayMultiHeadSelfAttention,
  PatchbayClassToken,
  PatchbayPositionEmbedding,
  PatchbayTakeToken,
  PatchbayGelu,
  PatchbayRandomTranslation,
  PatchbayPrimaryCapsules,
  PatchbaySquash,
  PatchbayDigitCapsules,
  PatchbayCapsuleLength,
  PatchbayActNorm,
  PatchbayAffineCoupling,
  PatchbayInvertibleConv1x1,
  PatchbayFlowSqueeze,
  PatchbayFlowSplit,
  PatchbayFlowPrior,
  PatchbayFlowLogit,
  PatchbayTimestepEmbedding,
  PatchbayTimeResBlock,
  PatchbaySpatialAttention,
  PatchbayUNet,
  PatchbayGlomLevels,
  PatchbayGlomUpdate,
  PatchbayPatchesToImage,
];

/** Each custom layer class by its `className`, which is also the spec's `factory` and the name the export declares. */
export const CUSTOM_LAYERS: ReadonlyMap<string, CustomLayerClass> = new Map(CLASSES.map((cls) => [cls.className, cls]));

/**
 * Subclasses the app's runtime builds instead, for speed only: the same class name, config, weights
 * and function (fused kernels where they run). The export carries the classes above.
 */
const RUNTIME_SUBCLASSES: ReadonlyMap<string, CustomLayerClass> = new Map([[FusedPatchbayGelu.className, FusedPatchbayGelu]]);

/** A custom layer from its plan config, or undefined when no class has that name. */
export function createCustomLayer(className: string, config: Record<string, unknown>): tf.layers.Layer | undefined {
  const cls = (RUNTIME_SUBCLASSES.get(className) ?? CUSTOM_LAYERS.get(className)) as (new (config: Record<string, unknown>) => tf.layers.Layer) | undefined;
  return cls ? new cls(config) : undefined;
}
