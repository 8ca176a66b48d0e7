import { diagnostic, hasErrors, type Diagnostic } from '../document/diagnostics';
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, type BlockDef, type GraphNode } from '../document/schema';
import { BLOCK_NODE_TYPE, getSpec } from '../nodes/registry';
import { wire, type Wiring } from './graph';
import type { Analysis, NodeResult } from './infer';
import { containsRef, parseParams, resolveParams } from './params';
import { isPlainIdentifier, RESERVED_WORDS, toIdentifier as safeIdentifier } from './escape';
import { CUSTOM_LAYER_DECLARED_NAMES } from './generated/layer-names';
import type { BlockStep, LayerStep, Plan, PlanBlock, PlanBody, PlanStep } from './plan';

/**
 * Names every emitted scope relies on: the tfjs import, the helper, the model factory, and the
 * parameters of block functions (`p`, `name`) and their loop counter `i`. No value, derived param or
 * block function may take one of them, so no node name can shadow what the code calls.
 */
export const EMITTER_NAMES: readonly string[] = ['tf', 'p', 'name', 'i', 'fillShape', 'createModel', 'model', 'inputs', 'outputs', 'input', 'output'];

/** Also reserved: the names custom layer classes (and stock-layer replacements) declare in an export that uses them; no value or block may shadow one. */
const RESERVED: ReadonlySet<string> = new Set([...RESERVED_WORDS, ...EMITTER_NAMES, ...CUSTOM_LAYER_DECLARED_NAMES]);

/** `stem conv-1` → `stemConv1`; never a reserved word or a name the emitted code uses itself. */
export const toIdentifier = (text: string): string => safeIdentifier(text, RESERVED);

/** tfjs layer names: letters, digits and underscores. */
export function toLayerName(text: string): string {
  let name = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'layer';
  if (name.length > 64) name = name.slice(0, 64);
  return /^[0-9]/.test(name) ? `n${name}` : name;
}

export const toTypeName = (id: string) => {
  const ident = toIdentifier(id);
  return ident[0]!.toUpperCase() + ident.slice(1);
};

class Names {
  private used: Set<string>;
  /** `functions`: block function names; a value named like one would shadow it, so it becomes `…Out`. */
  constructor(
    reserved: Iterable<string> = [],
    private functions: ReadonlySet<string> = new Set(),
  ) {
    this.used = new Set([...reserved, ...functions]);
  }
  take(base: string): string {
    if (this.functions.has(base)) base = `${base}Out`;
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}${i}`;
    this.used.add(name);
    return name;
  }
}

/** Each block's function and params-type names, unique across the module whatever the block ids are. */
function blockNames(defs: ReadonlyMap<string, BlockDef>): Map<string, { fnName: string; typeName: string }> {
  const names = new Names(RESERVED);
  const out = new Map<string, { fnName: string; typeName: string }>();
  for (const id of defs.keys()) {
    const fnName = names.take(toIdentifier(id));
    const typeName = names.take(`${fnName[0]!.toUpperCase()}${fnName.slice(1)}Params`);
    out.set(id, { fnName, typeName });
  }
  return out;
}

export interface LowerResult {
  plan: Plan | null;
  diagnostics: Diagnostic[];
}

/** Lowers an analysed document to a plan. Refuses (with the reasons) while the graph has errors. */
export function lower(analysis: Analysis): LowerResult {
  if (hasErrors(analysis.diagnostics)) {
    return { plan: null, diagnostics: analysis.diagnostics.filter((d) => d.severity === 'error') };
  }
  const diagnostics: Diagnostic[] = [];
  const blocks = new Map<string, PlanBlock>();
  const lowerer = new Lowerer(analysis.blocks, blocks, diagnostics);
  const main = lowerer.body(analysis.main.wiring, analysis.main.nodes, null);
  const outputs = analysis.outputs.map(({ nodeId, port }) => {
    const value = lowerer.lastValues.get(nodeId)?.[port];
    return {
      name: toLayerName(nodeName(analysis.main.wiring.nodes.get(nodeId)!)),
      nodeId,
      value: value!,
      shape: analysis.main.nodes.get(nodeId)?.outputs?.[port],
    };
  });
  main.outputs = outputs;
  if (diagnostics.length) return { plan: null, diagnostics };
  const doc = analysis.doc;
  return {
    plan: {
      name: doc.name,
      source: { name: doc.name, format: DOCUMENT_FORMAT, version: DOCUMENT_VERSION },
      blocks: [...blocks.values()],
      main,
      count: analysis.count,
    },
    diagnostics: [],
  };
}

const nodeName = (node: GraphNode) => node.name?.trim() || node.id;

class Lowerer {
  /** The values of the body lowered last, by node and port; used to find the model outputs. */
  lastValues = new Map<string, Record<string, string>>();

  /** Function and type names per block id. */
  private blockNames: Map<string, { fnName: string; typeName: string }>;
  private functionNames: ReadonlySet<string>;

  constructor(
    private defs: ReadonlyMap<string, BlockDef>,
    private done: Map<string, PlanBlock>,
    private diagnostics: Diagnostic[],
  ) {
    this.blockNames = blockNames(defs);
    this.functionNames = new Set([...this.blockNames.values()].flatMap((n) => [n.fnName, n.typeName]));
  }

  /**
   * Lowers one body. `blockArgs` is null for the main graph; inside a block it holds one concrete
   * instance's arguments, used only to fill defaults (values that are `{ $param }` stay symbolic).
   */
  body(
    wiring: Wiring,
    results: ReadonlyMap<string, NodeResult> | null,
    blockArgs: Record<string, unknown> | null,
    blockId?: string,
    taken: Iterable<string> = [],
  ): PlanBody {
    const names = new Names([...RESERVED, ...taken], this.functionNames);
    const layerNames = new Names();
    const values = new Map<string, Record<string, string>>();
    const steps: PlanStep[] = [];
    const outputs: PlanBody['outputs'] = [];
    const inputValues = (node: GraphNode) => {
      const vals: string[] = [];
      for (const edges of wiring.incoming.get(node.id)?.values() ?? []) for (const e of edges) vals.push(values.get(e.source)![e.sourcePort]!);
      return vals;
    };
    for (const id of wiring.order) {
      const node = wiring.nodes.get(id)!;
      const result = results?.get(id);
      if (node.type === BLOCK_NODE_TYPE) {
        const def = this.defs.get(node.block!)!;
        const step = this.blockStep(node, def, result, blockArgs, names, layerNames, inputValues(node));
        values.set(id, step.outputs);
        steps.push(step);
        continue;
      }
      const spec = getSpec(node.type)!;
      const params = blockArgs
        ? parseParams(spec, node, resolveParams(node.params, blockArgs), blockId)
        : { ok: true as const, params: result!.params!, warnings: [] };
      if (!params.ok) {
        this.diagnostics.push(...params.diagnostics);
        continue;
      }
      // Keep block references symbolic: the emitted function reads them from its params.
      const symbolic = { ...params.params };
      if (blockArgs) for (const [k, v] of Object.entries(node.params)) if (containsRef(v)) symbolic[k] = v;
      const lowering = spec.lower(symbolic);
      if (lowering.kind === 'input') {
        if (node.type === 'BlockInput') {
          const port = String(params.params.name);
          const value = names.take(toIdentifier(port));
          steps.push({ kind: 'blockInput', nodeId: id, port, value });
          values.set(id, { out: value });
        } else {
          const value = names.take(toIdentifier(nodeName(node)));
          steps.push({
            kind: 'input',
            nodeId: id,
            name: layerNames.take(toLayerName(nodeName(node))),
            value,
            shape: params.params.shape as number[],
            dtype: params.params.dtype as 'float32' | 'int32',
          });
          values.set(id, { out: value });
        }
        continue;
      }
      const ins = inputValues(node);
      if (lowering.kind === 'identity') {
        values.set(id, { out: ins[0]! });
        if (node.type === 'BlockOutput') outputs.push({ name: String(params.params.name), nodeId: id, value: ins[0]! });
        continue;
      }
      const value = names.take(toIdentifier(nodeName(node)));
      const step: LayerStep = {
        kind: 'layer',
        nodeId: id,
        name: layerNames.take(toLayerName(nodeName(node))),
        value,
        factory: lowering.factory,
        config: lowering.config,
        inputs: ins,
      };
      if (lowering.custom) step.custom = true;
      if (node.when && blockArgs) step.when = node.when.$param;
      if (!blockArgs && result?.outputs) {
        step.outputShape = result.outputs.out;
        step.count = result.count;
      }
      steps.push(step);
      values.set(id, { out: value });
    }
    this.lastValues = values;
    return { steps, outputs };
  }

  private blockStep(
    node: GraphNode,
    def: BlockDef,
    result: NodeResult | undefined,
    outerArgs: Record<string, unknown> | null,
    names: Names,
    layerNames: Names,
    inputs: string[],
  ): BlockStep {
    // Arguments as written: numbers in the main graph, possibly `{ $param }` inside a block.
    const args: Record<string, unknown> = {};
    for (const param of def.params) {
      if (param.derive) continue;
      args[param.name] = node.params[param.name] ?? param.default;
    }
    const concreteArgs = result?.params ?? (outerArgs ? { ...resolveParams(args, outerArgs) } : args);
    this.ensureBlock(def, concreteArgs, result);
    const base = toIdentifier(nodeName(node));
    const outputs: Record<string, string> = {};
    const defOutputs = def.nodes.filter((n) => n.type === 'BlockOutput');
    for (const out of defOutputs) {
      const port = typeof out.params.name === 'string' ? out.params.name : 'y';
      outputs[port] = names.take(defOutputs.length === 1 ? base : `${base}${toTypeName(port)}`);
    }
    const step: BlockStep = {
      kind: 'block',
      nodeId: node.id,
      name: layerNames.take(toLayerName(nodeName(node))),
      block: def.id,
      args,
      repeat: node.repeat ?? 1,
      inputs,
      outputs,
    };
    if (!outerArgs && result?.outputs) {
      step.outputShape = Object.values(result.outputs)[0];
      step.count = result.count;
    }
    return step;
  }

  private ensureBlock(def: BlockDef, concreteArgs: Record<string, unknown>, result: NodeResult | undefined): void {
    if (this.done.has(def.id)) return;
    const inner = result?.inner;
    const wiring = inner?.wiring ?? wire(def, this.defs, def.id);
    // Derived params are unknown without an instance; parsing only needs some valid value for them.
    const args = { ...concreteArgs };
    for (const p of def.params) if (p.derive && args[p.name] === undefined) args[p.name] = 1;
    // Derived params become local constants: their names are taken before any value's.
    const locals = new Names(RESERVED, this.functionNames);
    const derivedNames: Record<string, string> = {};
    for (const p of def.params) if (p.derive) derivedNames[p.name] = locals.take(isPlainIdentifier(p.name) ? p.name : toIdentifier(p.name));
    const body = this.body(wiring, inner?.nodes ?? null, args, def.id, Object.values(derivedNames));
    const { fnName, typeName } = this.blockNames.get(def.id)!;
    this.done.set(def.id, {
      id: def.id,
      label: def.label,
      description: def.description,
      fnName,
      typeName,
      derivedNames,
      params: def.params,
      inputs: body.steps.filter((s) => s.kind === 'blockInput').map((s) => (s as { port: string }).port),
      body,
    });
    if (wiring.order.length < def.nodes.length) {
      this.diagnostics.push(
        diagnostic('PB307', {
          message: `Block "${def.id}" could not be lowered: its body has a cycle.`,
          help: 'Open the block and remove the cycle.',
          blockId: def.id,
        }),
      );
    }
  }
}
