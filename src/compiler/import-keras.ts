/**
 * Import of an existing model as a graph: a tfjs Layers `model.json` (its modelTopology) or a Keras
 * model config (`model.to_json()`, Sequential or functional, Keras 2 and Keras 3 layouts). Layers
 * Patchbay has become nodes with their params, named like the layers (so tfjs weights saved with the
 * model load by name into the imported graph). What cannot be mapped is reported by layer name with
 * the reason, and then nothing is imported: a graph is never silently missing a layer.
 */
import { DOCUMENT_VERSION, type GraphDocument, type GraphEdge, type GraphNode } from '../document/schema';
import { findExcessiveNesting, MAX_DOCUMENT_DEPTH } from '../document/limits';
import { getSpec } from '../nodes/registry';
import { analyze } from './infer';
import { mapPatchbayLayer, PATCHBAY_LAYER_TYPES } from './import-patchbay-layers';

export interface ImportProblem {
  /** The layer's name in the file. */
  layer: string;
  /** Its Keras class. */
  className: string;
  reason: string;
}

export interface ImportResult {
  doc: GraphDocument | null;
  /** Layers that could not be mapped (then `doc` is null), by name with the reason. */
  problems: ImportProblem[];
  /** Things mapped approximately (an initializer Patchbay lacks…): the graph is usable, but read these. */
  notes: string[];
  /** The tfjs weight names in the file (model.json's manifest), for a caller that loads them. */
  weightNames: string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const ACTIVATIONS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  swish: 'swish',
  silu: 'swish',
  mish: 'mish',
  sigmoid: 'sigmoid',
  hard_sigmoid: 'hardSigmoid',
  hardSigmoid: 'hardSigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  softplus: 'softplus',
  softsign: 'softsign',
  elu: 'elu',
  selu: 'selu',
};

class Unmappable extends Error {}

function activationOf(value: unknown): string {
  const name = isObject(value) ? String((value.config as Json | undefined)?.name ?? value.class_name ?? '') : String(value ?? 'linear');
  const mapped = ACTIVATIONS[name];
  if (!mapped) throw new Unmappable(`its activation "${name}" is not one Patchbay has (${Object.keys(ACTIVATIONS).join(', ')})`);
  return mapped;
}

/** A Keras initializer as a Patchbay one, or undefined (then the node keeps its default and a note says so). */
function initializerOf(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const cls = String(value.class_name ?? '');
  const config = (value.config ?? {}) as Json;
  const direct: Record<string, string> = {
    GlorotNormal: 'glorotNormal',
    GlorotUniform: 'glorotUniform',
    HeNormal: 'heNormal',
    HeUniform: 'heUniform',
    LecunNormal: 'leCunNormal',
    LeCunNormal: 'leCunNormal',
    LecunUniform: 'leCunUniform',
    LeCunUniform: 'leCunUniform',
    Zeros: 'zeros',
    Ones: 'ones',
    RandomNormal: 'randomNormal',
    RandomUniform: 'randomUniform',
    TruncatedNormal: 'truncatedNormal',
  };
  if (direct[cls]) return direct[cls];
  if (cls !== 'VarianceScaling') return undefined;
  const key = `${config.scale}/${config.mode}/${String(config.distribution).replace('truncated_normal', 'normal')}`;
  return (
    {
      '1/fan_avg/normal': 'glorotNormal',
      '1/fan_avg/uniform': 'glorotUniform',
      '2/fan_in/normal': 'heNormal',
      '2/fan_in/uniform': 'heUniform',
      '1/fan_in/normal': 'leCunNormal',
      '1/fan_in/uniform': 'leCunUniform',
    } as Record<string, string>
  )[key];
}

const pairOf = (v: unknown): number | [number, number] => (Array.isArray(v) ? (v[0] === v[1] ? Number(v[0]) : [Number(v[0]), Number(v[1])]) : Number(v));

function channelsLast(c: Json): void {
  if (c.data_format !== undefined && c.data_format !== null && c.data_format !== 'channels_last')
    throw new Unmappable(`its data_format is "${String(c.data_format)}"; Patchbay's images are channels_last`);
}

/** A single-axis norm: the axis is checked against the input's rank once the graph's shapes are known. */
function singleAxis(c: Json): number {
  const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
  if (axis.length !== 1) throw new Unmappable(`it normalises over ${axis.length} axes; Patchbay normalises the last axis only`);
  return Number(axis[0]);
}

interface Mapped {
  type: string;
  params: Record<string, unknown>;
  /** For BatchNormalization and LayerNormalization: the axis the file names, checked after shapes are known. */
  axis?: number;
}

type Notes = string[];

const withInit = (params: Record<string, unknown>, key: string, value: unknown, layer: string, notes: Notes) => {
  if (value === undefined || value === null) return params;
  const init = initializerOf(value);
  if (init) params[key] = init;
  else
    notes.push(
      `"${layer}": its ${key.replace('Initializer', ' initializer')} (${String((value as Json).class_name)}) has no Patchbay equivalent; the default is used.`,
    );
  return params;
};

const MAPPERS: Record<string, (c: Json, name: string, notes: Notes) => Mapped> = {
  Dense: (c, name, notes) => ({
    type: 'Dense',
    params: withInit(
      { units: Number(c.units), activation: activationOf(c.activation), useBias: c.use_bias !== false },
      'kernelInitializer',
      c.kernel_initializer,
      name,
      notes,
    ),
  }),
  Conv2D: (c, name, notes) => {
    channelsLast(c);
    if (Number(c.groups ?? 1) !== 1) throw new Unmappable(`it has groups=${String(c.groups)}; use DepthwiseConv2D for grouped convolutions`);
    return {
      type: 'Conv2D',
      params: withInit(
        {
          filters: Number(c.filters),
          kernelSize: pairOf(c.kernel_size),
          strides: pairOf(c.strides ?? 1),
          padding: c.padding ?? 'valid',
          dilationRate: pairOf(c.dilation_rate ?? 1),
          activation: activationOf(c.activation),
          useBias: c.use_bias !== false,
        },
        'kernelInitializer',
        c.kernel_initializer,
        name,
        notes,
      ),
    };
  },
  DepthwiseConv2D: (c, name, notes) => {
    channelsLast(c);
    return {
      type: 'DepthwiseConv2D',
      params: withInit(
        {
          kernelSize: pairOf(c.kernel_size),
          strides: pairOf(c.strides ?? 1),
          padding: c.padding ?? 'valid',
          depthMultiplier: Number(c.depth_multiplier ?? 1),
          dilationRate: pairOf(c.dilation_rate ?? 1),
          activation: activationOf(c.activation),
          useBias: c.use_bias !== false,
        },
        'depthwiseInitializer',
        c.depthwise_initializer,
        name,
        notes,
      ),
    };
  },
  SeparableConv2D: (c) => {
    channelsLast(c);
    return {
      type: 'SeparableConv2D',
      params: {
        filters: Number(c.filters),
        kernelSize: pairOf(c.kernel_size),
        strides: pairOf(c.strides ?? 1),
        padding: c.padding ?? 'valid',
        depthMultiplier: Number(c.depth_multiplier ?? 1),
        dilationRate: pairOf(c.dilation_rate ?? 1),
        activation: activationOf(c.activation),
        useBias: c.use_bias !== false,
      },
    };
  },
  Conv2DTranspose: (c) => {
    channelsLast(c);
    if (c.output_padding !== undefined && c.output_padding !== null) throw new Unmappable('it sets output_padding, which Patchbay does not');
    return {
      type: 'Conv2DTranspose',
      params: {
        filters: Number(c.filters),
        kernelSize: pairOf(c.kernel_size),
        strides: pairOf(c.strides ?? 1),
        padding: c.padding ?? 'valid',
        activation: activationOf(c.activation),
        useBias: c.use_bias !== false,
      },
    };
  },
  MaxPooling2D: (c) => (
    channelsLast(c),
    {
      type: 'MaxPooling2D',
      params: { poolSize: pairOf(c.pool_size ?? 2), strides: c.strides == null ? null : pairOf(c.strides), padding: c.padding ?? 'valid' },
    }
  ),
  AveragePooling2D: (c) => (
    channelsLast(c),
    {
      type: 'AveragePooling2D',
      params: { poolSize: pairOf(c.pool_size ?? 2), strides: c.strides == null ? null : pairOf(c.strides), padding: c.padding ?? 'valid' },
    }
  ),
  GlobalAveragePooling2D: (c) => {
    channelsLast(c);
    if (c.keepdims === true) throw new Unmappable('it keeps the pooled axes (keepdims), which Patchbay does not');
    return { type: 'GlobalAveragePooling2D', params: {} };
  },
  GlobalAveragePooling1D: (c) => {
    channelsLast(c);
    if (c.keepdims === true) throw new Unmappable('it keeps the pooled axis (keepdims), which Patchbay does not');
    return { type: 'GlobalAveragePooling1D', params: {} };
  },
  BatchNormalization: (c) => ({
    type: 'BatchNormalization',
    params: { momentum: Number(c.momentum ?? 0.99), epsilon: Number(c.epsilon ?? 1e-3), center: c.center !== false, scale: c.scale !== false },
    axis: singleAxis(c),
  }),
  LayerNormalization: (c) => {
    if (c.rms_scaling === true) throw new Unmappable('it is an RMS norm (rms_scaling), which Patchbay does not have');
    return {
      type: 'LayerNormalization',
      params: { epsilon: Number(c.epsilon ?? 1e-3), center: c.center !== false, scale: c.scale !== false },
      axis: singleAxis(c),
    };
  },
  Activation: (c) => ({ type: 'Activation', params: { activation: activationOf(c.activation) } }),
  Dropout: (c) => {
    if (c.noise_shape != null) throw new Unmappable('it sets a noise_shape, which Patchbay does not');
    return { type: 'Dropout', params: { rate: Number(c.rate) } };
  },
  Embedding: (c) => {
    if (c.mask_zero === true) throw new Unmappable('it masks id 0 (mask_zero), which Patchbay does not');
    return { type: 'Embedding', params: { inputDim: Number(c.input_dim), outputDim: Number(c.output_dim) } };
  },
  Flatten: (c) => (channelsLast(c), { type: 'Flatten', params: {} }),
  Reshape: (c) => ({ type: 'Reshape', params: { targetShape: (c.target_shape as number[]).map(Number) } }),
  Permute: (c) => ({ type: 'Permute', params: { dims: (c.dims as number[]).map(Number) } }),
  UpSampling2D: (c) => {
    channelsLast(c);
    const interpolation = String(c.interpolation ?? 'nearest');
    if (interpolation !== 'nearest' && interpolation !== 'bilinear')
      throw new Unmappable(`its interpolation is "${interpolation}"; Patchbay has nearest and bilinear`);
    return { type: 'UpSampling2D', params: { size: pairOf(c.size ?? 2), interpolation } };
  },
  ZeroPadding2D: (c) => (channelsLast(c), { type: 'ZeroPadding2D', params: { padding: c.padding ?? 1 } }),
  Add: () => ({ type: 'Add', params: {} }),
  Multiply: () => ({ type: 'Multiply', params: {} }),
  Concatenate: (c) => ({ type: 'Concatenate', params: { axis: Number(c.axis ?? -1) } }),
};
// Patchbay's own layers (PatchbayGroupNormalization, PatchbayMultiHeadSelfAttention, PatchbayUNet…):
// each spec's lowering read backwards, every value checked by the spec's schema (import-patchbay-layers.ts).
for (const className of PATCHBAY_LAYER_TYPES.keys())
  MAPPERS[className] = (c) => {
    const mapped = mapPatchbayLayer(className, c)!;
    if ('reason' in mapped) throw new Unmappable(mapped.reason);
    return mapped;
  };
MAPPERS.MaxPool2D = MAPPERS.MaxPooling2D!;
MAPPERS.AvgPool2D = MAPPERS.AveragePooling2D!;
MAPPERS.GlobalAvgPool2D = MAPPERS.GlobalAveragePooling2D!;
MAPPERS.GlobalAvgPool1D = MAPPERS.GlobalAveragePooling1D!;

/** The Keras class names the import maps. */
export const IMPORTABLE_LAYERS: readonly string[] = ['InputLayer', ...Object.keys(MAPPERS)];

/**
 * A functional model's inputs in the order its `input_layers` lists them: a model is called with
 * its inputs in that order, and the plan takes Input nodes in document order. The layers list can
 * order them otherwise (tfjs writes layers in the order it reaches them, so SR3's condition input
 * came before the image). Only the Input nodes move, into the places Input nodes had.
 */
function orderInputs(nodes: GraphNode[], inputLayers: unknown): void {
  if (!Array.isArray(inputLayers)) return;
  const rank = new Map(inputLayers.map((entry, i) => [String(Array.isArray(entry) ? entry[0] : entry), i]));
  const places = nodes.flatMap((n, i) => (n.type === 'Input' ? [i] : []));
  const inputs = places.map((i) => nodes[i]!);
  const rankOf = (n: GraphNode) => rank.get(n.name ?? n.id) ?? Number.MAX_SAFE_INTEGER;
  const ordered = [...inputs].sort((a, b) => rankOf(a) - rankOf(b));
  places.forEach((place, k) => {
    nodes[place] = ordered[k]!;
  });
}

/** Inbound layer names of a functional layer: Keras 2 / tfjs `[[["name", 0, 0, {}], …]]` or Keras 3 `[{ args: [keras tensors] }]`. */
function inboundOf(layer: Json): Array<[string, number]> {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  if (nodes.length > 1) throw new Unmappable('it is called more than once (a shared layer); Patchbay gives each use its own node');
  const node = nodes[0];
  if (Array.isArray(node)) return node.map((t) => [String((t as unknown[])[0]), Number((t as unknown[])[2] ?? 0)]);
  if (isObject(node)) {
    const found: Array<[string, number]> = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (isObject(v)) {
        if (v.class_name === '__keras_tensor__') {
          const history = ((v.config as Json).keras_history ?? []) as unknown[];
          found.push([String(history[0]), Number(history[2] ?? 0)]);
        } else Object.values(v).forEach(walk);
      }
    };
    walk(node.args);
    return found;
  }
  return [];
}

const safeId = (name: string, taken: Set<string>) => {
  let id = name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'layer';
  for (let i = 2; taken.has(id); i++) id = `${id.slice(0, 60)}_${i}`;
  taken.add(id);
  return id;
};

/** Reads model.json text (tfjs or Keras) into a graph, or the reasons it cannot. */
/**
 * Why a file's weights cannot belong to an imported graph, checked on the plan's counts before any
 * model is built: a hostile or mismatched config (a layer of 10⁹ capsules beside a small weight file)
 * must never make the import allocate the graph it describes. null when the totals agree.
 */
export function weightsMismatch(shapes: readonly number[][], plan: { count: { trainable: number; nonTrainable: number } }): string | null {
  const inFile = shapes.reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
  const inGraph = plan.count.trainable + plan.count.nonTrainable;
  if (inFile === inGraph) return null;
  return `the file holds ${inFile.toLocaleString('en-US')} weight values, but the imported graph has ${inGraph.toLocaleString('en-US')} parameters, so they do not belong to it`;
}

export function importModel(text: string, fallbackName = 'Imported model'): ImportResult {
  const fail = (reason: string): ImportResult => ({ doc: null, problems: [{ layer: '(file)', className: '', reason }], notes: [], weightNames: [] });
  if (findExcessiveNesting(text)) return fail(`The file nests lists or objects more than ${MAX_DOCUMENT_DEPTH} levels deep; it is not a model.json.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('The file is not valid JSON.');
  }
  if (!isObject(json)) return fail('The file is not a model.json: it holds no object.');
  const weightNames = Array.isArray(json.weightsManifest)
    ? (json.weightsManifest as Json[]).flatMap((g) => (Array.isArray(g.weights) ? (g.weights as Json[]).map((w) => String(w.name)) : []))
    : [];
  if (json.modelTopology === null && Array.isArray(json.weightsManifest))
    return fail(
      'The model.json has weights but no model description (its modelTopology is null): save_tfjs_weights wrote it from a PyTorch export without tfjs-topology.json. Open the graph it was exported from and load these weights with the Train tab\'s "Import weights".',
    );
  let topology: unknown = json.modelTopology ?? json;
  if (isObject(topology) && isObject(topology.model_config)) topology = topology.model_config;
  if (!isObject(topology) || !isObject(topology.config)) return fail('The file has no model config (modelTopology, or a Keras class_name and config).');
  const cls = String(topology.class_name);
  const config = topology.config as Json;
  const layers = (Array.isArray(config) ? config : config.layers) as Json[] | undefined;
  if (!Array.isArray(layers)) return fail(`The ${cls} config has no list of layers.`);
  const sequential = cls === 'Sequential';
  if (!sequential && cls !== 'Model' && cls !== 'Functional')
    return fail(`A "${cls}" model cannot be imported: Patchbay reads Sequential and functional models.`);

  const problems: ImportProblem[] = [];
  const notes: string[] = [];
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const ids = new Set<string>();
  const idOf = new Map<string, string>();
  const axes = new Map<string, number>();
  let previous: string | null = null;
  let row = 0;
  const place = () => ({ x: 0, y: 120 * row++ });
  const addInput = (name: string, shape: unknown, dtype: unknown) => {
    const dims = Array.isArray(shape) ? shape.slice(1) : [];
    if (dims.length === 0 || dims.some((d) => typeof d !== 'number' || d < 1)) {
      problems.push({
        layer: name,
        className: 'InputLayer',
        reason: `its shape ${JSON.stringify(shape)} is not fixed; Patchbay inputs need every axis but the batch known`,
      });
      return null;
    }
    const id = safeId(name, ids);
    nodes.push({ id, type: 'Input', name, params: { shape: dims, dtype: dtype === 'int32' ? 'int32' : 'float32' }, position: place() });
    return id;
  };

  for (const layer of layers) {
    const c = (layer.config ?? {}) as Json;
    const name = String(c.name ?? layer.name ?? `layer${row}`);
    const className = String(layer.class_name);
    if (className === 'InputLayer') {
      const id = addInput(name, c.batch_input_shape ?? c.batch_shape, c.dtype);
      if (id) idOf.set(name, id);
      previous = id;
      continue;
    }
    // A Sequential's first layer may carry the input shape itself.
    if (sequential && previous === null && nodes.length === 0 && (c.batch_input_shape || c.batch_shape))
      previous = addInput(`${name}_input`, c.batch_input_shape ?? c.batch_shape, c.dtype);
    const mapper = Object.hasOwn(MAPPERS, className) ? MAPPERS[className] : undefined;
    let mapped: Mapped;
    let inbound: Array<[string, number]> = [];
    try {
      if (!mapper) throw new Unmappable(`Patchbay has no "${className}" layer`);
      mapped = mapper(c, name, notes);
      if (!sequential) inbound = inboundOf(layer);
    } catch (err) {
      if (!(err instanceof Unmappable)) throw err;
      problems.push({ layer: name, className, reason: err.message });
      previous = null;
      continue;
    }
    const id = safeId(name, ids);
    idOf.set(name, id);
    if (mapped.axis !== undefined && mapped.axis !== -1) axes.set(id, mapped.axis);
    nodes.push({ id, type: mapped.type, name, params: mapped.params, position: place() });
    const ports = getSpec(mapped.type)?.inputs ?? [];
    const sources = sequential ? (previous ? [[previous, 0] as [string, number]] : []) : inbound.map(([n, i]) => [idOf.get(n) ?? '', i] as [string, number]);
    if (sources.length > ports.length && !ports.at(-1)?.variadic)
      problems.push({
        layer: name,
        className,
        reason: `it takes ${sources.length} inputs; Patchbay's ${mapped.type} takes ${ports.length} (${ports.map((p) => p.name).join(', ')})`,
      });
    // The file lists a layer's inputs in call order, which is the order of the spec's ports (x, then
    // the ids of Take token; the image, then the timestep embedding of the UNet); a variadic last port
    // (Add's inputs) takes the rest, in order.
    sources.forEach(([source, index], k) => {
      if (!source) return; // its source was reported already
      if (index !== 0) problems.push({ layer: name, className, reason: 'it reads a second output of a layer; Patchbay layers have one' });
      const port = ports[Math.min(k, ports.length - 1)]?.name ?? 'in';
      edges.push({ id: `e${edges.length + 1}`, source, sourcePort: 'out', target: id, targetPort: port });
    });
    previous = id;
  }
  if (problems.length) return { doc: null, problems, notes, weightNames };
  if (!sequential) {
    const outputs = (config.output_layers ?? []) as unknown[];
    for (const out of Array.isArray(outputs) ? outputs : []) {
      const layerName = String(Array.isArray(out) ? out[0] : isObject(out) ? ((out.config as Json)?.keras_history as unknown[])?.[0] : out);
      const source = idOf.get(layerName);
      if (!source) continue;
      const id = safeId(`${layerName}_output`, ids);
      nodes.push({ id, type: 'Output', params: {}, position: place() });
      edges.push({ id: `e${edges.length + 1}`, source, sourcePort: 'out', target: id, targetPort: 'in' });
    }
    orderInputs(nodes, config.input_layers);
  }
  const name = String(config.name ?? fallbackName);
  const doc: GraphDocument = {
    format: 'patchbay.graph',
    version: DOCUMENT_VERSION,
    name,
    nodeTypes: Object.fromEntries([...new Set(nodes.map((n) => n.type))].map((t) => [t, 1])),
    nodes,
    edges,
    blocks: [],
    networks: [],
    meta: { importedFrom: cls },
  };
  // Norms over an explicit axis: Patchbay's normalise the last one, so any other axis is refused.
  if (axes.size) {
    const analysis = analyze(doc);
    for (const [id, axis] of axes) {
      const rank = analysis.main.nodes.get(id)?.inputs[0]?.length;
      if (rank !== undefined && axis !== rank - 1) {
        const node = nodes.find((n) => n.id === id)!;
        problems.push({
          layer: node.name!,
          className: node.type,
          reason: `it normalises axis ${axis} of a rank-${rank} input; Patchbay normalises the last axis`,
        });
      }
    }
    if (problems.length) return { doc: null, problems, notes, weightNames };
  }
  return { doc, problems: [], notes, weightNames };
}
