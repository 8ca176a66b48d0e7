import type { BlockDef } from '../../document/schema';
import { ConvMixerBlock } from './convmixer-block';
import { MixerBlock } from './mixer-block';
import { PatchEmbedBlock } from './patch-embed';
import { TextEncoderBlock } from './text-encoder';
import { ConvStemBlock } from './conv-stem';
import { TransformerBlock } from './transformer-block';
import { VitEncoderBlock } from './vit-encoder';

/** Blocks offered in the palette. Placing one copies its definition into the document. */
export const LIBRARY_BLOCKS: readonly BlockDef[] = [
  PatchEmbedBlock,
  ConvMixerBlock,
  MixerBlock,
  TransformerBlock,
  VitEncoderBlock,
  TextEncoderBlock,
  ConvStemBlock,
];

export const getLibraryBlock = (id: string): BlockDef | undefined => LIBRARY_BLOCKS.find((b) => b.id === id);
