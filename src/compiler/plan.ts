import type { BlockParam } from '../document/schema';
import type { ParamCount, Shape } from '../nodes/spec';

/**
 * The plan: the single description of a model that both `build` (tfjs, in the runtime) and `emit`
 * (TypeScript source) consume, so that the exported code and the trained model cannot drift apart.
 * Values are SSA names; every step carries the node id it came from, so that runtime errors and
 * per-layer figures land back on the canvas.
 *
 * Inside a block body, config values and block arguments may hold `{ $param: name }` expressions,
 * which `build` evaluates and `emit` prints as `p.name`.
 */
export type Expr = unknown;

/**
 * `{ $fillShape: target }`: a Reshape target whose -1 axis is filled from the step's input shape.
 * tfjs's Reshape leaves -1 in its symbolic output shape whenever the batch size is unknown (always,
 * in a model), which breaks every layer after it; resolving -1 ourselves avoids that.
 */
export interface FillShapeExpr {
  $fillShape: Expr;
}
export const isFillShape = (v: unknown): v is FillShapeExpr => typeof v === 'object' && v !== null && !Array.isArray(v) && '$fillShape' in v;

/** Fills the one -1 of `target` so that it holds as many values as `input` (batch excluded). */
export function fillShape(input: readonly (number | null)[], target: readonly number[]): number[] {
  const total = input.slice(1).reduce<number>((a, d) => a * (d ?? NaN), 1);
  const known = target.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
  return target.map((d) => (d === -1 && Number.isFinite(total) ? total / known : d));
}

export interface InputStep {
  kind: 'input';
  nodeId: string;
  /** The tfjs input name. */
  name: string;
  value: string;
  /** One example's shape (no batch). */
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface BlockInputStep {
  kind: 'blockInput';
  nodeId: string;
  port: string;
  value: string;
}

export interface LayerStep {
  kind: 'layer';
  nodeId: string;
  /** Layer name; inside a block it is a suffix to the instance's name. */
  name: string;
  value: string;
  factory: string;
  custom?: boolean;
  config: Record<string, Expr>;
  inputs: string[];
  /** Inside a block: apply only when this boolean param is true; otherwise `inputs[0]` passes through. */
  when?: string;
  /** Known in the main graph; inside blocks shapes depend on the caller. */
  outputShape?: Shape;
  count?: ParamCount;
}

export interface BlockStep {
  kind: 'block';
  nodeId: string;
  name: string;
  block: string;
  args: Record<string, Expr>;
  repeat: number;
  inputs: string[];
  /** Output port → value name. */
  outputs: Record<string, string>;
  outputShape?: Shape;
  count?: ParamCount;
}

export type PlanStep = InputStep | BlockInputStep | LayerStep | BlockStep;

export interface PlanBody {
  steps: PlanStep[];
  /** What the body returns: model outputs, or a block's output ports. */
  outputs: { name: string; nodeId: string; value: string; shape?: Shape }[];
}

export interface PlanBlock {
  id: string;
  label: string;
  description: string;
  /** The emitted function's name, e.g. `convMixerBlock`. */
  fnName: string;
  /** The emitted params interface, e.g. `ConvMixerBlockParams`. */
  typeName: string;
  /** Derived param → the local constant that holds it in the emitted function. */
  derivedNames: Record<string, string>;
  params: BlockParam[];
  inputs: string[];
  body: PlanBody;
}

export interface Plan {
  name: string;
  /** Identifies the document the plan came from, for the emitted header. */
  source: { name: string; format: string; version: number };
  /** Blocks in dependency order (a block comes after the blocks it uses). */
  blocks: PlanBlock[];
  main: PlanBody;
  count: ParamCount;
}

/** The tfjs model name: the graph name reduced to letters, digits and underscores. */
export const modelNameOf = (name: string) => name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'model';
