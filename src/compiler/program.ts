/**
 * Training programs: several networks, and procedures that apply them, compute losses, minimise
 * them and run update rules. This pass checks a document's program (ports, shapes, which network
 * each optimizer reaches) and lowers it to the plan's program section, which the runtime's
 * interpreter (runtime/program) runs and the emitter writes out. A document without a program never
 * comes here: it trains and exports exactly as a plain classifier.
 */
import { diagnostic, hasErrors, type Diagnostic } from '../document/diagnostics';
import { MAIN_NETWORK, type BlockDef, type GraphDocument, type GraphNode, type ProcedureDef } from '../document/schema';
import { getProgramSpec, NETWORK_NODE_TYPE, NetworkNodeParams, type AnyProgramSpec } from '../nodes/program/specs';
import { isFlowNetwork, LOGDET_PORT } from '../nodes/program/flows';
import { formatShape } from '../nodes/shape';
import type { AnySpec, ParamCount, PortSpec, Shape, ShapeProblem } from '../nodes/spec';
import { wire, type NodePorts, type Wiring } from './graph';
import { analyze, type Analysis } from './infer';
import { lower } from './lower';
import { parseParams } from './params';
import { programMemoryDiagnostics } from './program-memory';
import type { Plan } from './plan';

export interface NetworkInfo {
  id: string;
  label: string;
  /** The network's description ('' for the main network). */
  description: string;
  /** The network as a document of its own (the document's blocks are shared). */
  doc: GraphDocument;
  analysis: Analysis;
  /** Ports a Network node shows: the network's Input and Output node ids, with their shapes. */
  inputs: { port: string; shape: Shape | null }[];
  outputs: { port: string; shape: Shape | null }[];
  /** A flow network: its Network node also outputs `logdet` (nodes/program/flows.ts). */
  flow?: true;
}

/** Every network of a document: the main one ("model", the top-level nodes) first. */
export function networksOf(doc: GraphDocument): NetworkInfo[] {
  const docs: Array<{ id: string; label: string; description: string; doc: GraphDocument }> = [
    { id: MAIN_NETWORK, label: doc.program?.mainNetwork?.label ?? doc.name, description: doc.program?.mainNetwork?.description ?? '', doc },
  ];
  for (const net of doc.networks)
    docs.push({
      id: net.id,
      label: net.label,
      description: net.description,
      doc: { ...doc, name: net.label, nodes: net.nodes, edges: net.edges, networks: [], program: undefined },
    });
  return docs.map(({ id, label, description, doc: body }) => {
    // No PB310 per network: a program's step holds several (programMemoryDiagnostics).
    const analysis = analyze(body, undefined, { memory: false });
    const shapeOf = (nodeId: string, port = 'out') => analysis.main.nodes.get(nodeId)?.outputs?.[port] ?? null;
    return {
      id,
      label,
      description,
      doc: body,
      analysis,
      inputs: analysis.inputs.map((nodeId) => ({ port: nodeId, shape: shapeOf(nodeId) })),
      outputs: [...analysis.outputs.map((o) => ({ port: o.nodeId, shape: shapeOf(o.nodeId, o.port) })), ...flowPorts(body)],
      ...(isFlowNetwork(body.nodes) ? { flow: true as const } : {}),
    };
  });
}

/** A flow network (nodes/program/flows.ts) also outputs Σ log|det J| per example, after its z. */
function flowPorts(body: GraphDocument): Array<{ port: string; shape: Shape }> {
  return isFlowNetwork(body.nodes) ? [{ port: LOGDET_PORT, shape: [null] }] : [];
}

export interface ProcedureResult {
  def: ProcedureDef;
  wiring: Wiring;
  /** Output shapes of each node, by port. */
  shapes: Map<string, Record<string, Shape>>;
  /** Parsed params of each node. */
  params: Map<string, Record<string, unknown>>;
  diagnostics: Diagnostic[];
}

export interface ProgramAnalysis {
  networks: NetworkInfo[];
  procedures: ProcedureResult[];
  diagnostics: Diagnostic[];
  /** All networks' weights plus learned scalars. */
  count: ParamCount;
}

const ports = (names: Array<{ port: string }>): PortSpec[] => names.map((n) => ({ name: n.port }));

/** Analyses a document's program; null for a document without one. */
export function analyzeProgram(doc: GraphDocument): ProgramAnalysis | null {
  if (!doc.program) return null;
  const networks = networksOf(doc);
  const byId = new Map(networks.map((n) => [n.id, n]));
  const diagnostics: Diagnostic[] = [];
  const count = { trainable: 0, nonTrainable: 0 };
  for (const net of networks) {
    count.trainable += net.analysis.count.trainable;
    count.nonTrainable += net.analysis.count.nonTrainable;
    for (const d of net.analysis.diagnostics) diagnostics.push(net.id === MAIN_NETWORK ? d : { ...d, network: net.id });
  }
  const blocks = new Map(doc.blocks.map((b) => [b.id, b]));
  const procedures = doc.program.procedures.map((def) => analyzeProcedure(def, byId, blocks));
  for (const p of procedures) {
    diagnostics.push(...p.diagnostics);
    for (const [id, params] of p.params) if (p.wiring.nodes.get(id)?.type === 'Parameter' && params) count.trainable += 1;
  }
  diagnostics.push(...programMemoryDiagnostics(doc, networks, procedures));
  return { networks, procedures, diagnostics, count };
}

function analyzeProcedure(def: ProcedureDef, networks: ReadonlyMap<string, NetworkInfo>, blocks: ReadonlyMap<string, BlockDef>): ProcedureResult {
  const procedure = def.id;
  const portsOf = (n: GraphNode): NodePorts | undefined => {
    if (n.type === NETWORK_NODE_TYPE) {
      const net = networks.get(String(n.params.network ?? ''));
      return net && { inputs: ports(net.inputs), outputs: ports(net.outputs) };
    }
    const spec = getProgramSpec(n.type);
    return spec && { inputs: spec.inputs, outputs: spec.outputs };
  };
  const wiring = wire(def, blocks, undefined, portsOf);
  const diagnostics: Diagnostic[] = wiring.diagnostics.map((d) => ({ ...d, procedure }));
  const shapes = new Map<string, Record<string, Shape>>();
  const params = new Map<string, Record<string, unknown>>();
  const say = (code: Parameters<typeof diagnostic>[0], init: Parameters<typeof diagnostic>[1]) => diagnostics.push(diagnostic(code, { ...init, procedure }));

  for (const id of wiring.order) {
    const node = wiring.nodes.get(id)!;
    // Inputs by port, in port order; a node downstream of a failure stays quiet.
    if (node.type === NETWORK_NODE_TYPE && !networks.has(String(node.params.network ?? ''))) {
      say('PB400', {
        message: `Network node "${id}" applies network "${String(node.params.network ?? '')}", which this document does not have (networks: ${[...networks.keys()].map((k) => `"${k}"`).join(', ')}).`,
        help: "Choose one of the document's networks in the inspector.",
        nodeId: id,
        param: 'network',
      });
      continue;
    }
    const known = getProgramSpec(node.type);
    if (known && !known.procedures.includes(def.kind)) {
      say('PB401', {
        message: `${known.label} "${id}" works in ${known.procedures.join(' and ')} procedures, but "${def.label}" is a ${def.kind} procedure.`,
        help: known.kind === 'metric' ? 'Move it to an evaluation procedure.' : 'Move it to a training procedure.',
        nodeId: id,
      });
      continue;
    }
    const nodePorts = portsOf(node);
    if (!nodePorts) {
      say('PB104', {
        message: `Node "${id}" has type "${node.type}", which procedures do not know.`,
        help: 'Replace it with a node from the palette.',
        nodeId: id,
      });
      continue;
    }
    const inputs: Shape[] = [];
    let blocked = false;
    for (const port of nodePorts.inputs) {
      const edges = wiring.incoming.get(id)?.get(port.name) ?? [];
      const needed = port.variadic ? (port.minConnections ?? 1) : 1;
      if (edges.length < needed) {
        say('PB200', {
          message: port.variadic
            ? `Received ${edges.length} connections into "${port.name}" of ${node.type} "${id}", expected at least ${needed}.`
            : `Input "${port.name}" of ${node.type} "${id}" is not connected.`,
          help: "Drag a wire from another node's output to this port.",
          nodeId: id,
          port: port.name,
        });
        blocked = true;
        continue;
      }
      for (const e of edges) {
        const shape = shapes.get(e.source)?.[e.sourcePort];
        if (shape) inputs.push(shape);
        else blocked = true;
      }
    }
    if (blocked) continue;
    if (node.type === NETWORK_NODE_TYPE) {
      const parsed = NetworkNodeParams.safeParse(node.params);
      const net = parsed.success ? networks.get(parsed.data.network) : undefined;
      if (!parsed.success || !net) {
        say('PB400', {
          message: `Network node "${id}" applies network "${String(node.params.network ?? '')}", which this document does not have (networks: ${[...networks.keys()].map((k) => `"${k}"`).join(', ')}).`,
          help: "Choose one of the document's networks in the inspector.",
          nodeId: id,
          param: 'network',
        });
        continue;
      }
      params.set(id, parsed.data);
      if (hasErrors(net.analysis.diagnostics)) {
        say('PB406', {
          message: `Network "${net.id}" has errors, so "${id}" cannot apply it.`,
          help: `Open the network "${net.label}" and fix its problems first.`,
          nodeId: id,
        });
        continue;
      }
      let fits = true;
      net.inputs.forEach((input, i) => {
        const given = inputs[i]!;
        if (input.shape && !sameExample(given, input.shape)) {
          fits = false;
          say('PB403', {
            message: `Network "${net.id}" takes ${formatShape(input.shape)} at "${input.port}", but received ${formatShape(given)}.`,
            help: 'Feed it data of the shape its Input declares, or change the Input.',
            nodeId: id,
            port: input.port,
          });
        }
      });
      if (!fits) continue;
      shapes.set(id, Object.fromEntries(net.outputs.map((o) => [o.port, o.shape!])));
      continue;
    }
    const spec = known!;
    const parsed = parseParams(spec as unknown as AnySpec, node, node.params);
    if (!parsed.ok) {
      diagnostics.push(...parsed.diagnostics.map((d) => ({ ...d, procedure })));
      continue;
    }
    diagnostics.push(...parsed.warnings.map((d) => ({ ...d, procedure })));
    params.set(id, parsed.params);
    const out = spec.infer(parsed.params as never, inputs);
    if ('code' in out && 'message' in out) {
      const p = out as unknown as ShapeProblem;
      say(p.code, { message: `${spec.label} "${id}": ${p.message}`, help: p.help, nodeId: id, port: p.port, param: p.param });
      continue;
    }
    shapes.set(id, out as Record<string, Shape>);
  }
  diagnostics.push(...procedureChecks(def, wiring, params, networks));
  return { def, wiring, shapes, params, diagnostics };
}

const sameExample = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => i === 0 || d === b[i]);

/** What a procedure as a whole needs: something to do, and optimizers that reach weights. */
function procedureChecks(
  def: ProcedureDef,
  wiring: Wiring,
  params: Map<string, Record<string, unknown>>,
  networks: ReadonlyMap<string, NetworkInfo>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const procedure = def.id;
  const nodes = [...wiring.nodes.values()];
  const kinds = nodes.map((n) => getProgramSpec(n.type)?.kind);
  if (def.kind === 'train' && !kinds.includes('minimize')) {
    out.push(
      diagnostic('PB402', {
        message: `Training procedure "${def.label}" has no Minimize node, so it would change nothing.`,
        help: 'Add a Minimize node and wire a loss into it.',
        procedure,
      }),
    );
  }
  if (def.kind === 'evaluate' && !kinds.includes('metric')) {
    out.push(
      diagnostic('PB402', {
        message: `Evaluation "${def.label}" measures nothing.`,
        help: 'Add an Accuracy, Linear probe, kNN or Collapse monitor node.',
        procedure,
      }),
    );
  }
  for (const n of nodes) {
    const p = params.get(n.id);
    if (!p) continue;
    if (n.type === 'Minimize') {
      for (const name of p.networks as string[]) {
        if (!networks.has(name))
          out.push(
            diagnostic('PB400', {
              message: `Minimize "${n.id}" lists network "${name}", which this document does not have.`,
              help: "Remove it from the list, or name one of the document's networks.",
              nodeId: n.id,
              param: 'networks',
              procedure,
            }),
          );
      }
      if (out.some((d) => d.nodeId === n.id)) continue;
      const reached = trainedBy(def, wiring, params, n.id, networks);
      if (reached.networks.length === 0 && reached.parameters.length === 0) {
        out.push(
          diagnostic('PB404', {
            message: `Minimize "${n.id}": its loss has no gradient path to any weights it may update (frozen, moving-average and DirectPred-set networks are never updated).`,
            help: 'Wire the loss from a network applied with "online" weights, or list the networks to update.',
            nodeId: n.id,
            procedure,
          }),
        );
      }
    }
    if (n.type === 'DirectPred') {
      const net = networks.get(String(p.network));
      const problem = net ? linearPredictorProblem(net) : `no network "${String(p.network)}"`;
      if (problem)
        out.push(
          diagnostic('PB405', {
            message: `DirectPred "${n.id}" sets network "${String(p.network)}", but ${problem}.`,
            help: 'Make the predictor a network of one Dense layer without bias and without activation, as wide as its input.',
            nodeId: n.id,
            param: 'network',
            procedure,
          }),
        );
    }
  }
  return out;
}

/** DirectPred writes W directly: the network must be exactly x → Dense(d, no bias, linear) → out. */
function linearPredictorProblem(net: NetworkInfo): string | null {
  const layers = net.doc.nodes.filter((n) => n.type !== 'Input' && n.type !== 'Output');
  const dense = layers[0];
  if (layers.length !== 1 || dense?.type !== 'Dense') return 'it is not a single Dense layer';
  if (dense.params.useBias !== false) return 'its Dense layer has a bias';
  if ((dense.params.activation ?? 'linear') !== 'linear') return 'its Dense layer has an activation';
  const input = net.inputs[0]?.shape;
  if (!input || input.length !== 2 || input[1] !== dense.params.units) return 'its Dense layer is not as wide as its input';
  return null;
}

/**
 * Which networks (and learned scalars) a Minimize updates: those listed, or else every network
 * applied with online weights that the loss depends on; never frozen or moving-average
 * applications, and never a network a DirectPred node sets.
 */
export function trainedBy(
  def: ProcedureDef,
  wiring: Wiring,
  params: ReadonlyMap<string, Record<string, unknown>>,
  minimizeId: string,
  networks: ReadonlyMap<string, NetworkInfo>,
): { networks: string[]; parameters: string[] } {
  const setByRule = new Set([...wiring.nodes.values()].filter((n) => n.type === 'DirectPred').map((n) => String(params.get(n.id)?.network)));
  // Walk back from the loss through wires, stopping at StopGradient.
  const upstream = new Set<string>();
  const stack = [minimizeId];
  while (stack.length) {
    const id = stack.pop()!;
    if (upstream.has(id)) continue;
    upstream.add(id);
    if (wiring.nodes.get(id)?.type === 'StopGradient') continue;
    for (const edges of wiring.incoming.get(id)?.values() ?? []) for (const e of edges) stack.push(e.source);
  }
  const listed = (params.get(minimizeId)?.networks as string[] | undefined) ?? [];
  const applied = new Set<string>();
  const parameters: string[] = [];
  for (const id of upstream) {
    const node = wiring.nodes.get(id)!;
    if (node.type === NETWORK_NODE_TYPE) {
      const p = params.get(id);
      if (p && p.weights === 'online' && networks.has(String(p.network))) applied.add(String(p.network));
    }
    if (node.type === 'Parameter' && params.has(id)) parameters.push(id);
  }
  const chosen = listed.length ? listed.filter((n) => applied.has(n)) : [...applied];
  return { networks: chosen.filter((n) => !setByRule.has(n)), parameters: parameters.sort() };
}

// ── The plan's program section ─────────────────────────────────────────────────────────────────

export interface PlanNetwork {
  id: string;
  label: string;
  /** The network's description (the main network's is empty); the export's doc comment. */
  description: string;
  plan: Plan;
  /** Port (Input node id) → the model input's position; outputs likewise. */
  inputs: string[];
  outputs: string[];
  /** A flow: applied as z and logdet (runtime/program/flows.ts), and sampled by inverting it. */
  flow?: true;
}

export type ProgramStep =
  | {
      kind: 'data';
      nodeId: string;
      /** One example's shape and the class count (labels are one-hot). */ shape: number[];
      classes: number;
      outputs: { image: string; label: string };
    }
  | {
      kind: 'apply';
      nodeId: string;
      network: string;
      weights: 'online' | 'frozen' | 'ema';
      ema?: { decay: number; schedule: 'constant' | 'cosine' };
      inputs: string[];
      outputs: Record<string, string>;
    }
  | { kind: 'op'; nodeId: string; op: string; config: Record<string, unknown>; inputs: string[]; output: string; loss: boolean }
  | { kind: 'parameter'; nodeId: string; init: number; min: number; max: number; output: string }
  | { kind: 'minimize'; nodeId: string; loss: string; networks: string[]; parameters: string[]; optimizer: MinimizeConfig }
  | { kind: 'hook'; nodeId: string; hook: 'directPred'; network: string; input: string; every: number; rho: number; epsilon: number }
  | { kind: 'metric'; nodeId: string; metric: string; name: string; config: Record<string, unknown>; inputs: string[] };

export interface MinimizeConfig {
  optimizer: 'adam' | 'adamw' | 'sgd';
  learningRate: number;
  schedule: 'constant' | 'cosine' | 'onecycle' | 'warmup-cosine';
  warmupSteps: number;
  weightDecay: number;
  momentum: number;
  clipNorm: number;
  learningRateMultipliers: Record<string, number>;
}

export interface PlanProcedure {
  id: string;
  label: string;
  kind: 'train' | 'evaluate';
  epochs?: number;
  steps: ProgramStep[];
}

export interface PlanProgram {
  networks: PlanNetwork[];
  procedures: PlanProcedure[];
  count: ParamCount;
}

const valueOf = (nodeId: string, port: string) => `${nodeId}:${port}`;

export interface ProgramLowerResult {
  program: PlanProgram | null;
  diagnostics: Diagnostic[];
}

/** Lowers a checked program to the plan's program section; refuses while anything has errors. */
export function lowerProgram(analysis: ProgramAnalysis): ProgramLowerResult {
  if (hasErrors(analysis.diagnostics)) return { program: null, diagnostics: analysis.diagnostics.filter((d) => d.severity === 'error') };
  const networks: PlanNetwork[] = [];
  for (const net of analysis.networks) {
    const { plan, diagnostics } = lower(net.analysis);
    if (!plan) return { program: null, diagnostics: diagnostics.map((d) => (net.id === MAIN_NETWORK ? d : { ...d, network: net.id })) };
    networks.push({
      id: net.id,
      label: net.label,
      description: net.description,
      plan: { ...plan, name: net.id === MAIN_NETWORK ? plan.name : net.id },
      inputs: net.inputs.map((i) => i.port),
      outputs: net.outputs.map((o) => o.port),
      ...(net.flow ? { flow: true as const } : {}),
    });
  }
  const byId = new Map(analysis.networks.map((n) => [n.id, n]));
  const procedures = analysis.procedures.map((p) => lowerProcedure(p, byId));
  return { program: { networks, procedures, count: analysis.count }, diagnostics: [] };
}

function lowerProcedure(result: ProcedureResult, networks: ReadonlyMap<string, NetworkInfo>): PlanProcedure {
  const { def, wiring, params } = result;
  const steps: ProgramStep[] = [];
  const inputsOf = (id: string, portNames: PortSpec[]) =>
    portNames.flatMap((port) => (wiring.incoming.get(id)?.get(port.name) ?? []).map((e) => valueOf(e.source, e.sourcePort)));
  for (const id of wiring.order) {
    const node = wiring.nodes.get(id)!;
    const p = params.get(id)!;
    if (node.type === NETWORK_NODE_TYPE) {
      const net = networks.get(String(p.network))!;
      const weights = p.weights as 'online' | 'frozen' | 'ema';
      steps.push({
        kind: 'apply',
        nodeId: id,
        network: net.id,
        weights,
        ...(weights === 'ema' ? { ema: { decay: p.decay as number, schedule: p.decaySchedule as 'constant' | 'cosine' } } : {}),
        inputs: inputsOf(id, ports(net.inputs)),
        outputs: Object.fromEntries(net.outputs.map((o) => [o.port, valueOf(id, o.port)])),
      });
      continue;
    }
    const spec: AnyProgramSpec = getProgramSpec(node.type)!;
    const inputs = inputsOf(id, spec.inputs);
    switch (spec.kind) {
      case 'data':
        steps.push({
          kind: 'data',
          nodeId: id,
          shape: p.shape as number[],
          classes: p.classes as number,
          outputs: { image: valueOf(id, 'image'), label: valueOf(id, 'label') },
        });
        break;
      case 'parameter':
        steps.push({ kind: 'parameter', nodeId: id, init: p.init as number, min: p.min as number, max: p.max as number, output: valueOf(id, 'out') });
        break;
      case 'op':
      case 'loss':
        steps.push({ kind: 'op', nodeId: id, op: node.type, config: p, inputs, output: valueOf(id, spec.outputs[0]!.name), loss: spec.kind === 'loss' });
        break;
      case 'minimize': {
        const reached = trainedBy(def, wiring, params, id, networks);
        const { networks: _listed, ...optimizer } = p as unknown as MinimizeConfig & { networks: string[] };
        steps.push({
          kind: 'minimize',
          nodeId: id,
          loss: inputs[0]!,
          networks: reached.networks,
          parameters: reached.parameters.map((n) => valueOf(n, 'out')),
          optimizer,
        });
        break;
      }
      case 'hook':
        steps.push({
          kind: 'hook',
          nodeId: id,
          hook: 'directPred',
          network: String(p.network),
          input: inputs[0]!,
          every: p.every as number,
          rho: p.rho as number,
          epsilon: p.epsilon as number,
        });
        break;
      case 'metric':
        steps.push({ kind: 'metric', nodeId: id, metric: node.type, name: String(p.metric), config: p, inputs });
        break;
    }
  }
  return { id: def.id, label: def.label, kind: def.kind, ...(def.epochs ? { epochs: def.epochs } : {}), steps };
}

/** Per-network parameter counts, as `patchbay summary --json` reports them for a program. */
export function networkCounts(analysis: ProgramAnalysis): Array<{ name: string; trainableParams: number; nonTrainableParams: number }> {
  return analysis.networks.map((n) => ({ name: n.id, trainableParams: n.analysis.count.trainable, nonTrainableParams: n.analysis.count.nonTrainable }));
}

/**
 * The train procedures with nothing left to do when `loaded` networks come already trained: every
 * Minimize in them updates only loaded networks (and no learned scalar), and no update rule sets a
 * network that was not loaded. Distillation's teacher procedure, with the teacher from a past run.
 */
export function proceduresCoveredBy(program: PlanProgram, loaded: ReadonlySet<string>): string[] {
  return program.procedures
    .filter((proc) => {
      if (proc.kind !== 'train') return false;
      const minimizes = proc.steps.filter((s) => s.kind === 'minimize');
      if (minimizes.length === 0) return false;
      const trainsOnlyLoaded = minimizes.every((m) => m.parameters.length === 0 && m.networks.every((n) => loaded.has(n)));
      const hooksOnLoaded = proc.steps.every((s) => s.kind !== 'hook' || loaded.has(s.network));
      return trainsOnlyLoaded && hooksOnLoaded;
    })
    .map((p) => p.id);
}
