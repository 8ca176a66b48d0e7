import { diagnostic, type Diagnostic } from '../document/diagnostics';
import type { BlockDef, GraphBody, GraphDocument, GraphNode } from '../document/schema';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { formatShape } from '../nodes/shape';
import { isProblem, type ParamCount, type Shape } from '../nodes/spec';
import { blockPorts, wire, type Wiring } from './graph';
import { addCost, emptyCost, layerCost, type CostTotal } from './cost';
import { DEFAULT_BATCH_SIZE, memoryDiagnostics, type OptimizerName } from './memory';
import { blockArgs, blockReferenceProblems, mainGraphReferenceProblems, parseParams, resolveParams } from './params';

/** What inference learned about one node. */
export interface NodeResult {
  nodeId: string;
  /** Shape per output port; null when the node failed or an upstream node did. */
  outputs: Record<string, Shape> | null;
  /** Input shapes in port order (variadic ports expanded). */
  inputs: Shape[];
  /** Parsed params for a layer; resolved arguments (derived ones included) for a block. */
  params: Record<string, unknown> | null;
  count: ParamCount;
  /** MACs and kept activations per example (every repetition of a block); absent when there is nothing to count. */
  cost?: CostTotal;
  /** For block instances: the first repetition's body, for showing shapes inside. */
  inner?: BodyResult;
  /** For nodes inside a block whose `when` param is false: the node passes its input through. */
  bypassed?: boolean;
}

export interface BodyResult {
  wiring: Wiring;
  nodes: Map<string, NodeResult>;
  diagnostics: Diagnostic[];
  count: ParamCount;
  cost: CostTotal;
}

interface CacheEntry {
  node: GraphNode;
  def: BlockDef | undefined;
  inputs: Shape[];
  result: NodeResult;
  diagnostics: Diagnostic[];
}

/**
 * Remembers each main-graph node's result keyed by the node object and its input shapes, so that
 * after an edit (which replaces only the edited node's object) everything upstream and every node
 * whose inputs did not change is reused. Keep one per editor.
 */
export class InferenceCache {
  entries = new Map<string, CacheEntry>();
  blocks?: { source: GraphDocument['blocks']; map: ReadonlyMap<string, BlockDef> };
  /** The last main-graph wiring, reused while edges, blocks and node identities are unchanged. */
  wiring?: { nodes: GraphNode[]; edges: GraphBody['edges']; blocks: ReadonlyMap<string, BlockDef>; result: Wiring };
}

/** A param edit replaces a node object but keeps ids, types and edges: the wiring still holds. */
function reusableWiring(body: GraphBody, blocks: ReadonlyMap<string, BlockDef>, cache: InferenceCache | undefined): Wiring | undefined {
  const last = cache?.wiring;
  if (!last || last.edges !== body.edges || last.blocks.size !== blocks.size || last.nodes.length !== body.nodes.length) return undefined;
  for (const [id, def] of blocks) if (last.blocks.get(id) !== def) return undefined;
  for (let i = 0; i < body.nodes.length; i++) {
    const a = body.nodes[i]!;
    const b = last.nodes[i]!;
    if (a !== b && (a.id !== b.id || a.type !== b.type || a.block !== b.block)) return undefined;
  }
  const nodes = new Map<string, GraphNode>();
  for (const n of body.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
  return { ...last.result, nodes };
}

interface Context {
  blocks: ReadonlyMap<string, BlockDef>;
  /** Blocks being expanded, to refuse a block that contains itself. */
  stack: string[];
  cache?: InferenceCache;
}

const ZERO: ParamCount = { trainable: 0, nonTrainable: 0 };
const shapeKey = (shapes: readonly Shape[]) => shapes.map((s) => s.join(',')).join('|');

/** Shapes from reused upstream results are the same arrays, so identity answers most checks. */
function sameShapes(a: readonly Shape[], b: readonly Shape[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x.length !== y.length || x.some((d, j) => d !== y[j])) return false;
  }
  return true;
}

export function inferBody(
  body: GraphBody,
  ctx: Context,
  binding?: { inputs: ReadonlyMap<string, Shape>; args: Readonly<Record<string, unknown>>; blockId: string },
): BodyResult {
  const blockId = binding?.blockId;
  const cache = binding ? undefined : ctx.cache;
  const wiring = reusableWiring(body, ctx.blocks, cache) ?? wire(body, ctx.blocks, blockId);
  if (cache) cache.wiring = { nodes: body.nodes, edges: body.edges, blocks: ctx.blocks, result: wiring };
  const diagnostics = [...wiring.diagnostics];
  const nodes = new Map<string, NodeResult>();
  const count = { trainable: 0, nonTrainable: 0 };
  const cost = emptyCost();

  for (const id of wiring.order) {
    const node = wiring.nodes.get(id)!;
    const gathered = gatherInputs(node, wiring, nodes, ctx, blockId);
    if (gathered === 'blocked') {
      nodes.set(id, { nodeId: id, outputs: null, inputs: [], params: null, count: ZERO });
      continue;
    }
    if (gathered.problems.length) {
      diagnostics.push(...gathered.problems);
      nodes.set(id, { nodeId: id, outputs: null, inputs: gathered.shapes, params: null, count: ZERO });
      continue;
    }
    const cached = ctx.cache && !binding ? ctx.cache.entries.get(id) : undefined;
    const def = node.type === BLOCK_NODE_TYPE && node.block !== undefined ? ctx.blocks.get(node.block) : undefined;
    let result: NodeResult;
    let own: Diagnostic[];
    if (cached && cached.node === node && cached.def === def && sameShapes(cached.inputs, gathered.shapes)) {
      result = cached.result;
      own = cached.diagnostics;
    } else {
      own = [];
      result = inferNode(node, gathered.shapes, ctx, binding, own);
      if (ctx.cache && !binding) ctx.cache.entries.set(id, { node, def, inputs: gathered.shapes, result, diagnostics: own });
    }
    diagnostics.push(...own);
    nodes.set(id, result);
    count.trainable += result.count.trainable;
    count.nonTrainable += result.count.nonTrainable;
    addCost(cost, result.cost);
  }
  // Nodes caught in cycles get an empty result so that lookups never miss.
  for (const id of wiring.nodes.keys()) if (!nodes.has(id)) nodes.set(id, { nodeId: id, outputs: null, inputs: [], params: null, count: ZERO });
  return { wiring, nodes, diagnostics, count, cost };
}

function gatherInputs(
  node: GraphNode,
  wiring: Wiring,
  results: Map<string, NodeResult>,
  ctx: Context,
  blockId: string | undefined,
): { shapes: Shape[]; problems: Diagnostic[] } | 'blocked' {
  const ports =
    node.type === BLOCK_NODE_TYPE
      ? node.block !== undefined && ctx.blocks.has(node.block)
        ? blockPorts(ctx.blocks.get(node.block)!).inputs
        : []
      : (getSpec(node.type)?.inputs ?? []);
  const shapes: Shape[] = [];
  const problems: Diagnostic[] = [];
  let blocked = false;
  for (const port of ports) {
    const edges = wiring.incoming.get(node.id)?.get(port.name) ?? [];
    const needed = port.variadic ? (port.minConnections ?? 1) : 1;
    if (edges.length < needed) {
      problems.push(
        diagnostic('PB200', {
          message: port.variadic
            ? `Received ${edges.length} connection${edges.length === 1 ? '' : 's'} into "${port.name}" of ${node.type} "${node.id}", expected at least ${needed}.`
            : `Input "${port.name}" of ${node.type} "${node.id}" is not connected.`,
          help: "Drag a wire from another node's output to this port.",
          nodeId: node.id,
          port: port.name,
          blockId,
        }),
      );
      continue;
    }
    for (const edge of edges) {
      const shape = results.get(edge.source)?.outputs?.[edge.sourcePort];
      if (!shape) blocked = true;
      else shapes.push(shape);
    }
  }
  // A node downstream of a failure stays quiet: the failure is reported where it happened.
  if (blocked && problems.length === 0) return 'blocked';
  return { shapes, problems };
}

function inferNode(
  node: GraphNode,
  inputs: Shape[],
  ctx: Context,
  binding: { inputs: ReadonlyMap<string, Shape>; args: Readonly<Record<string, unknown>>; blockId: string } | undefined,
  out: Diagnostic[],
): NodeResult {
  const blockId = binding?.blockId;
  const failed: NodeResult = { nodeId: node.id, outputs: null, inputs, params: null, count: ZERO };
  // A reference to a block param that does not exist must not fall back to a default silently.
  const owner = binding ? ctx.blocks.get(binding.blockId) : undefined;
  const refProblems = owner ? blockReferenceProblems(owner).filter((d) => d.nodeId === node.id) : mainGraphReferenceProblems([node]);
  if (refProblems.length) {
    out.push(...refProblems);
    if (refProblems.some((d) => d.severity === 'error')) return failed;
  }
  if (node.type === BLOCK_NODE_TYPE) return inferBlockInstance(node, inputs, ctx, binding, out);
  const spec = getSpec(node.type);
  if (!spec) {
    out.push(
      diagnostic('PB104', {
        message: `Node "${node.id}" has type "${node.type}", which this Patchbay does not know.`,
        help: 'It is kept as a placeholder and saved unchanged; replace or remove it to compile the graph.',
        nodeId: node.id,
        blockId,
      }),
    );
    return failed;
  }
  if (node.type === 'BlockInput' || node.type === 'BlockOutput') {
    if (!binding) {
      out.push(
        diagnostic('PB209', {
          message: `${spec.label} "${node.id}" is only meaningful inside a block.`,
          help: 'Use Input and Output in the main graph.',
          nodeId: node.id,
        }),
      );
      return failed;
    }
  }
  if (node.when && binding && binding.args[node.when.$param] === false) {
    return { nodeId: node.id, outputs: { out: inputs[0]! }, inputs, params: null, count: ZERO, bypassed: true };
  }
  const parsed = parseParams(spec, node, resolveParams(node.params, binding?.args), blockId);
  if (!parsed.ok) {
    out.push(...parsed.diagnostics);
    return failed;
  }
  out.push(...parsed.warnings);
  if (node.type === 'BlockInput') {
    const name = String(parsed.params.name);
    const shape = binding!.inputs.get(name);
    if (!shape) return failed;
    return { nodeId: node.id, outputs: { out: shape }, inputs, params: parsed.params, count: ZERO };
  }
  const shape = spec.infer(parsed.params, inputs);
  if (isProblem(shape)) {
    out.push(diagnostic(shape.code, { message: shape.message, help: shape.help, nodeId: node.id, port: shape.port, param: shape.param, blockId }));
    return { ...failed, params: parsed.params };
  }
  const outputs: Record<string, Shape> = {};
  for (const port of spec.outputs) outputs[port.name] = shape;
  // Output and BlockOutput have no ports to wire from, but what they receive is the result.
  if (spec.outputs.length === 0) outputs.out = shape;
  return {
    nodeId: node.id,
    outputs,
    inputs,
    params: parsed.params,
    count: spec.countParams(parsed.params, inputs, shape),
    cost: layerCost(spec, parsed.params, inputs, shape),
  };
}

function inferBlockInstance(
  node: GraphNode,
  inputs: Shape[],
  ctx: Context,
  binding: { args: Readonly<Record<string, unknown>>; blockId: string } | undefined,
  out: Diagnostic[],
): NodeResult {
  const blockId = binding?.blockId;
  const failed: NodeResult = { nodeId: node.id, outputs: null, inputs, params: null, count: ZERO };
  const def = node.block === undefined ? undefined : ctx.blocks.get(node.block);
  if (!def) {
    out.push(
      diagnostic('PB109', {
        message: `Node "${node.id}" uses block "${node.block ?? '(none)'}", which this graph does not define.`,
        help: 'Add the block definition, or replace the node with one from the palette.',
        nodeId: node.id,
        blockId,
      }),
    );
    return failed;
  }
  if (ctx.stack.includes(def.id)) {
    out.push(
      diagnostic('PB210', {
        message: `Block "${def.id}" contains itself (${[...ctx.stack, def.id].join(' → ')}).`,
        help: 'A block cannot be placed inside its own body.',
        nodeId: node.id,
        blockId,
      }),
    );
    return failed;
  }
  const ports = blockPorts(def);
  const repeat = node.repeat ?? 1;
  if (repeat > 1 && (ports.inputs.length !== 1 || ports.outputs.length !== 1)) {
    out.push(
      diagnostic('PB206', {
        message: `${def.label} "${node.id}" repeats ×${repeat} but has ${ports.inputs.length} inputs and ${ports.outputs.length} outputs, expected one of each.`,
        help: 'Set repeat to 1, or place the block several times and wire it by hand.',
        nodeId: node.id,
        param: 'repeat',
        blockId,
      }),
    );
    return failed;
  }
  const given = blockArgs(def, node, binding?.args, blockId);
  if (given.diagnostics.length) {
    out.push(...given.diagnostics);
    return failed;
  }

  let current = inputs;
  let first: BodyResult | undefined;
  let args: Record<string, unknown> = given.args;
  const count = { trainable: 0, nonTrainable: 0 };
  const cost = emptyCost();
  let outputs: Record<string, Shape> = {};
  const inner = { ...ctx, stack: [...ctx.stack, def.id], cache: undefined };
  for (let r = 0; r < repeat; r++) {
    const portShapes = new Map(ports.inputs.map((p, i) => [p.name, current[i]!] as const));
    const derived = deriveArgs(def, node, portShapes, blockId);
    if ('problem' in derived) {
      out.push(derived.problem);
      return failed;
    }
    const stepArgs = { ...given.args, ...derived.values };
    const body = inferBody(def, inner, { inputs: portShapes, args: stepArgs, blockId: def.id });
    if (body.diagnostics.some((d) => d.severity === 'error')) {
      const firstError = body.diagnostics.find((d) => d.severity === 'error')!;
      out.push(
        diagnostic(firstError.code, {
          message: `Inside ${def.label} "${node.id}"${repeat > 1 ? ` (repetition ${r + 1} of ${repeat})` : ''}: ${firstError.message}`,
          help: firstError.help,
          nodeId: node.id,
          param: firstError.param,
          blockId,
        }),
      );
      return { ...failed, inner: body };
    }
    outputs = {};
    for (const n of def.nodes) {
      if (n.type !== 'BlockOutput') continue;
      const shape = body.nodes.get(n.id)?.outputs?.out;
      if (!shape) return { ...failed, inner: body };
      outputs[typeof n.params.name === 'string' ? n.params.name : 'y'] = shape;
    }
    first ??= body;
    if (r === 0) args = stepArgs;
    count.trainable += body.count.trainable;
    count.nonTrainable += body.count.nonTrainable;
    addCost(cost, body.cost);
    const next = ports.outputs.map((p) => outputs[p.name]!);
    // Once a repetition maps a shape to itself, the remaining ones are identical: count them at once.
    if (shapeKey(next) === shapeKey(current) && r + 1 < repeat) {
      const left = repeat - r - 1;
      count.trainable += body.count.trainable * left;
      count.nonTrainable += body.count.nonTrainable * left;
      addCost(cost, body.cost, left);
      break;
    }
    current = next;
  }
  return { nodeId: node.id, outputs, inputs, params: args, count, cost, inner: first };
}

function deriveArgs(
  def: BlockDef,
  node: GraphNode,
  ports: ReadonlyMap<string, Shape>,
  blockId?: string,
): { values: Record<string, number> } | { problem: Diagnostic } {
  const values: Record<string, number> = {};
  for (const param of def.params) {
    if (!param.derive) continue;
    const shape = ports.get(param.derive.input);
    const axis = shape && (param.derive.axis < 0 ? shape.length + param.derive.axis : param.derive.axis);
    const dim = shape && axis !== undefined ? shape[axis] : undefined;
    if (typeof dim !== 'number') {
      return {
        problem: diagnostic(shape ? 'PB305' : 'PB207', {
          message: shape
            ? `${def.label} "${node.id}" reads ${param.name} from axis ${param.derive.axis} of input "${param.derive.input}", but received ${formatShape(shape)}.`
            : `${def.label} "${node.id}" derives ${param.name} from an input "${param.derive.input}" that the block does not have.`,
          help: shape ? `Feed the block a tensor whose axis ${param.derive.axis} has a known size.` : 'Fix the block definition.',
          nodeId: node.id,
          blockId,
        }),
      };
    }
    values[param.name] = dim;
  }
  return { values };
}

/** The whole-document analysis the editor, the CLI and the lowering pass share. */
export interface Analysis {
  doc: GraphDocument;
  blocks: ReadonlyMap<string, BlockDef>;
  main: BodyResult;
  /** Input node ids in document order. */
  inputs: string[];
  /** Model outputs: explicit Output nodes, or else every node nothing consumes. */
  outputs: { nodeId: string; port: string }[];
  diagnostics: Diagnostic[];
  count: ParamCount;
}

/** The document's batch size (the training schema's default when it sets none or an invalid one). */
export function batchSizeOf(doc: GraphDocument): number {
  const b = doc.training?.batchSize;
  return typeof b === 'number' && Number.isInteger(b) && b > 0 ? b : DEFAULT_BATCH_SIZE;
}

/** The document's optimizer (Adam, the schema's default, when it sets none or an unknown one). */
export function optimizerOf(doc: GraphDocument): OptimizerName {
  const o = doc.training?.optimizer;
  return o === 'sgd' || o === 'adamw' ? o : 'adam';
}

export interface AnalyzeOptions {
  /**
   * false: no PB310 for this network alone. A program's networks are documents of their own here,
   * but their memory is estimated together (compiler/program-memory.ts).
   */
  memory?: boolean;
}

export function analyze(doc: GraphDocument, cache?: InferenceCache, options: AnalyzeOptions = {}): Analysis {
  // The same blocks array gives the same map, so consumers can compare it by identity.
  const blocks = cache?.blocks?.source === doc.blocks ? cache.blocks.map : new Map(doc.blocks.map((b) => [b.id, b]));
  if (cache) cache.blocks = { source: doc.blocks, map: blocks };
  const main = inferBody(doc, { blocks, stack: [], cache });
  if (cache) for (const id of cache.entries.keys()) if (!main.wiring.nodes.has(id)) cache.entries.delete(id);
  const diagnostics = [...main.diagnostics];
  const inputs = doc.nodes.filter((n) => n.type === 'Input').map((n) => n.id);
  const explicit = doc.nodes.filter((n) => n.type === 'Output');
  const outputs = explicit.length
    ? explicit.map((n) => ({ nodeId: n.id, port: 'out' }))
    : doc.nodes
        .filter((n) => n.type !== 'Input' && !main.wiring.outgoing.get(n.id)?.length)
        .flatMap((n) => Object.keys(main.nodes.get(n.id)?.outputs ?? { out: null }).map((port) => ({ nodeId: n.id, port })));
  if (doc.nodes.length > 0 && inputs.length === 0) {
    diagnostics.push(
      diagnostic('PB204', {
        message: 'Received a graph without an Input node, expected at least one.',
        help: 'Add an Input from the palette and set the shape of one example.',
      }),
    );
  }
  if (doc.nodes.length > 0 && outputs.length === 0) {
    diagnostics.push(
      diagnostic('PB208', { message: 'Received a graph with no output: every node feeds another.', help: 'Add an Output node after the last layer.' }),
    );
  }
  if (explicit.length)
    diagnostics.push(
      ...unusedNodes(
        doc,
        main.wiring,
        explicit.map((n) => n.id),
      ),
    );
  // A training step's activations at the document's batch size count as well as the parameters,
  // with the document's optimizer's state. A program's networks train together, several in one
  // step or one applied twice: the program estimates its steps as a whole (compiler/program-memory.ts).
  if (!doc.program && options.memory !== false)
    diagnostics.push(
      ...memoryDiagnostics(
        main.count,
        new Map([...main.nodes].map(([id, r]) => [id, r.count])),
        {
          perExample: main.cost.activations,
          perNode: new Map([...main.nodes].map(([id, r]) => [id, r.cost?.activations ?? 0])),
          batchSize: batchSizeOf(doc),
        },
        optimizerOf(doc),
      ),
    );
  return { doc, blocks, main, inputs, outputs, diagnostics, count: main.count };
}

function unusedNodes(doc: GraphDocument, wiring: Wiring, outputIds: string[]): Diagnostic[] {
  const used = new Set<string>(outputIds);
  const stack = [...outputIds];
  while (stack.length) {
    const id = stack.pop()!;
    for (const edges of wiring.incoming.get(id)?.values() ?? []) {
      for (const e of edges)
        if (!used.has(e.source)) {
          used.add(e.source);
          stack.push(e.source);
        }
    }
  }
  return doc.nodes
    .filter((n) => !used.has(n.id))
    .map((n) =>
      diagnostic('PB205', {
        message: `Node "${n.id}" does not lead to any Output, so it is not part of the model.`,
        help: 'Connect it towards an Output, or delete it.',
        nodeId: n.id,
      }),
    );
}

/** An analyzer that reuses work between calls: what the editor runs on every edit. */
export function createAnalyzer(options: AnalyzeOptions = {}): (doc: GraphDocument) => Analysis {
  const cache = new InferenceCache();
  return (doc) => analyze(doc, cache, options);
}
