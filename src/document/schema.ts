import { z } from 'zod';

/**
 * The saved document. Params are stored by name, edges by port name, and every object keeps fields
 * it does not know (loose objects), so a file written by a newer or older tool round-trips.
 */
export const DOCUMENT_FORMAT = 'patchbay.graph';
/** 2: documents may hold several networks and a training program (procedures). */
export const DOCUMENT_VERSION = 2;

/** A reference from a param inside a block body to a param of the block: `{ "$param": "dim" }`. */
export const ParamRefSchema = z.object({ $param: z.string().min(1) }).strict();
export type ParamRef = z.infer<typeof ParamRefSchema>;
export const isParamRef = (v: unknown): v is ParamRef => typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as ParamRef).$param === 'string';

export const PositionSchema = z.object({ x: z.number(), y: z.number() });

export const NodeSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  /** Display name; also the base of the tfjs layer name. Defaults to the id. */
  name: z.string().optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  position: PositionSchema.optional(),
  /** For `type: "Block"`: which block definition this node instantiates. */
  block: z.string().optional(),
  /** For blocks: apply the block this many times in sequence, each with its own weights. */
  repeat: z.number().int().min(1).optional(),
  /** Inside a block body: the node applies only when this boolean block param is true; otherwise its input passes through. */
  when: ParamRefSchema.optional(),
});
export type GraphNode = z.infer<typeof NodeSchema>;

export const EdgeSchema = z.looseObject({
  id: z.string().min(1),
  source: z.string().min(1),
  sourcePort: z.string().min(1).default('out'),
  target: z.string().min(1),
  targetPort: z.string().min(1).default('in'),
});
export type GraphEdge = z.infer<typeof EdgeSchema>;

export const BlockParamSchema = z.looseObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a block param name must be an identifier'),
  kind: z.enum(['int', 'number', 'string', 'boolean', 'enum']),
  default: z.unknown().optional(),
  options: z.array(z.string()).optional(),
  min: z.number().optional(),
  description: z.string().optional(),
  /** A param read from an input's shape instead of being set: `{input: "x", axis: -1}`. */
  derive: z.object({ input: z.string(), axis: z.number().int() }).optional(),
});
export type BlockParam = z.infer<typeof BlockParamSchema>;

export const BlockDefSchema = z.looseObject({
  id: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a block id starts with a letter and holds letters, digits, - and _'),
  label: z.string().min(1),
  description: z.string().default(''),
  category: z.string().default('Blocks'),
  params: z.array(BlockParamSchema).default([]),
  /** Names of params shown on the collapsed node. */
  keyParams: z.array(z.string()).optional(),
  nodes: z.array(NodeSchema),
  edges: z.array(EdgeSchema),
});
export type BlockDef = z.infer<typeof BlockDefSchema>;

export const TrainingSchema = z.looseObject({
  optimizer: z.enum(['adam', 'adamw', 'sgd']).default('adam').describe('adam, adamw (decoupled weight decay) or sgd with momentum.'),
  learningRate: z.number().positive().default(1e-3).describe('Peak learning rate.'),
  schedule: z.enum(['constant', 'cosine', 'onecycle', 'warmup-cosine']).default('constant').describe('How the learning rate changes over the run.'),
  warmupSteps: z.number().int().min(0).default(0).describe('Steps of linear warm-up (warmup-cosine).'),
  weightDecay: z.number().min(0).default(0).describe('Decoupled weight decay per step (adamw).'),
  momentum: z.number().min(0).max(1).default(0.9).describe('Momentum (sgd).'),
  loss: z
    .enum(['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'meanSquaredError'])
    .default('categoricalCrossentropy')
    .describe('What training minimises.'),
  metrics: z.array(z.string()).default(['accuracy']),
  batchSize: z.number().int().positive().default(32).describe('Examples per step.'),
  epochs: z.number().int().positive().default(1).describe('Passes over the training split.'),
  seed: z.number().int().default(0).describe('Seed for the data order.'),
});
export type TrainingSetup = z.infer<typeof TrainingSchema>;

/** Ids of networks and procedures: names code and files are made from, so kept plain. */
const ProgramId = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'an id starts with a letter and holds letters, digits, - and _');

/**
 * A network besides the main one: its own graph (Input nodes fix its input shapes, Output nodes name
 * its outputs) and its own weights. Procedures use it through `Network` nodes. The document's top
 * level `nodes`/`edges` are the network "model".
 */
export const NetworkDefSchema = z.looseObject({
  id: ProgramId,
  label: z.string().min(1),
  description: z.string().default(''),
  nodes: z.array(NodeSchema),
  edges: z.array(EdgeSchema),
});
export type NetworkDef = z.infer<typeof NetworkDefSchema>;

/**
 * One procedure of a training program, in the same node system: `train` procedures run once per
 * batch for their epochs (Data → networks → losses → Minimize, plus update rules), `evaluate`
 * procedures run over the data once and report metrics. They run in document order.
 */
export const ProcedureSchema = z.looseObject({
  id: ProgramId,
  label: z.string().min(1),
  kind: z.enum(['train', 'evaluate']),
  /** Passes over the training split (train procedures); defaults to the training setup's epochs. */
  epochs: z.number().int().positive().optional(),
  nodes: z.array(NodeSchema),
  edges: z.array(EdgeSchema),
});
export type ProcedureDef = z.infer<typeof ProcedureSchema>;

export const ProgramSchema = z.looseObject({
  /**
   * The top-level graph's name as a network of the program ("Student", "Encoder"); the document's
   * name when left out.
   */
  mainNetwork: z.looseObject({ label: z.string().min(1), description: z.string().default('') }).optional(),
  procedures: z.array(ProcedureSchema).min(1),
});
export type ProgramDef = z.infer<typeof ProgramSchema>;

/** The id of the network held in the document's top-level nodes and edges. */
export const MAIN_NETWORK = 'model';

export const DocumentSchema = z.looseObject({
  format: z.literal(DOCUMENT_FORMAT),
  version: z.literal(DOCUMENT_VERSION),
  name: z.string().default('Untitled'),
  /** The version of each node type's params that this file was written with. */
  nodeTypes: z.record(z.string(), z.number().int().min(1)).default({}),
  nodes: z.array(NodeSchema),
  edges: z.array(EdgeSchema),
  blocks: z.array(BlockDefSchema).default([]),
  /** Networks besides the main one (top-level nodes/edges), for training programs. */
  networks: z.array(NetworkDefSchema).default([]),
  /** A training program; without one, the main network trains as a classifier from `training`. */
  program: ProgramSchema.optional(),
  training: TrainingSchema.optional(),
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type GraphDocument = z.infer<typeof DocumentSchema>;

/** The parts of a graph the compiler walks: a document's top level or a block's body. */
export interface GraphBody {
  nodes: GraphNode[];
  edges: GraphEdge[];
}
