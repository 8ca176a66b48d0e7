import type { z } from 'zod';
import type { DiagnosticCode } from '../document/diagnostics';

/** A dimension: a size, or null where it is not known until run time (the batch). */
export type Dim = number | null;
/** A tensor shape including the batch dimension first, Keras style: `[null, 28, 28, 1]`. */
export type Shape = Dim[];

export type Category = 'Inputs' | 'Core' | 'Convolution' | 'Pooling' | 'Normalization' | 'Reshaping' | 'Merge' | 'Blocks';

export interface PortSpec {
  name: string;
  label?: string;
  /** Accepted ranks, batch included (a 4-D image batch has rank 4). */
  minRank?: number;
  maxRank?: number;
  /** A variadic port takes several edges; their order in the document is the input order. */
  variadic?: boolean;
  /** The least number of edges a variadic port needs. */
  minConnections?: number;
}

/** A user-facing shape problem; the compiler adds the node id and turns it into a Diagnostic. */
export interface ShapeProblem {
  code: DiagnosticCode;
  message: string;
  help: string;
  param?: string;
  port?: string;
}

export const isProblem = (v: Shape | ShapeProblem): v is ShapeProblem => !Array.isArray(v);

/**
 * How a node becomes tfjs: the name of a `tf.layers` factory, or with `custom: true` the className of a
 * custom layer class in src/runtime/layers (whose source the export carries), and its config. Lowering must be structural (copy and rename values,
 * no arithmetic on them), because inside a block body some values are `{ $param }` references that
 * the emitter prints as expressions.
 */
export type Lowering = { kind: 'layer'; factory: string; config: Record<string, unknown>; custom?: boolean } | { kind: 'input' } | { kind: 'identity' };

export interface ParamCount {
  trainable: number;
  nonTrainable: number;
}

/**
 * What one node costs for one example (the batch dimension left out). Units are elements, not bytes:
 * the compiler multiplies by the dtype's size.
 */
export interface NodeCost {
  /**
   * Multiply–accumulates, the convention of the papers' tables (fvcore, ptflops): convolutions, dense
   * layers and matrix products count (one per multiply–add); element-wise work (activations,
   * normalisation, pooling, adds, softmax) counts 0. null when a size is unknown until run time.
   */
  macs: number | null;
  /**
   * Elements this node keeps alive for the backward pass, when that is not its output's size: 0 for a
   * view of its input (Reshape, Flatten); more for a layer that stores intermediates (an attention
   * layer keeps its heads × tokens × tokens scores). Omitted: the output's size.
   */
  activations?: number | null;
}

export interface SpecExample<P> {
  params: Partial<P>;
  /** Input shapes without the batch dimension. */
  inputs: number[][];
}

export interface NodeSpec<S extends z.ZodObject = z.ZodObject> {
  type: string;
  version: number;
  label: string;
  category: Category;
  aliases?: string[];
  /** Only meaningful inside a block body; hidden from the main palette. */
  internal?: boolean;
  description: string;
  inputs: PortSpec[];
  /** Layers have one output, `out`. */
  outputs: PortSpec[];
  params: S;
  /** Params shown on the node on the canvas. */
  keyParams: (keyof z.output<S> & string)[];
  infer(params: z.output<S>, inputs: Shape[]): Shape | ShapeProblem;
  countParams(params: z.output<S>, inputs: Shape[], output: Shape): ParamCount;
  /**
   * Multiply–accumulates and kept activations for one example (see NodeCost). Optional so that a new
   * layer works before it has one, but then the summary says its cost is not estimated. Helpers in
   * ./cost.ts (`ELEMENTWISE`, `VIEW`, `perExample`).
   */
  cost?(params: z.output<S>, inputs: Shape[], output: Shape): NodeCost;
  lower(params: z.output<S>): Lowering;
  examples: SpecExample<z.input<S>>[];
  migrations?: Record<number, (params: Record<string, unknown>) => Record<string, unknown>>;
}

export type AnySpec = NodeSpec<z.ZodObject>;

/** Identity helper that keeps the param type flowing into infer/lower. */
export function defineSpec<S extends z.ZodObject>(spec: NodeSpec<S>): NodeSpec<S> {
  return spec;
}

export const NO_PARAMS: ParamCount = { trainable: 0, nonTrainable: 0 };
export const IN: PortSpec = { name: 'in' };
export const OUT: PortSpec = { name: 'out' };
