/**
 * The PyTorch exporter: another reader of the plan (never a second compiler). It writes `model.py`
 * (nn.Module classes: each block a module, repeats an nn.ModuleList loop, images N, C, H, W),
 * `weights.py` (tfjs weights in and out, converting layouts), `train.py` (the graph's training setup,
 * one process or torchrun with DistributedDataParallel) and a README with the commands.
 *
 * Shapes are concrete here: the exporter walks every block instance with the shapes the main graph
 * gives it, so each module is built with plain sizes. A block used with different sizes or params
 * becomes one class per distinct use (`ConvMixerBlock`, `ConvMixerBlock2`).
 *
 * Every string from the document reaches the files through ./escape-python.
 */
import { isParamRef, type TrainingSetup } from '../document/schema';
import { NODE_SPECS } from '../nodes/registry';
import { isProblem, type AnySpec } from '../nodes/spec';
import { MODULE_ATTRIBUTES, pyClassName, pyComment, pyIdentifier, pyLiteral, pyString } from './escape-python';
import { fillShape, isFillShape, type BlockStep, type Expr, type LayerStep, type Plan, type PlanBlock, type PlanBody } from './plan';
import { flowMethods } from './pytorch-layers-generative';
import { HELPERS, LAYER_EMITTERS, PytorchExportError, type HelperName, type LayerContext, type PyValue, type WeightEntry } from './pytorch-layers';
import { PYTORCH_README, PYTORCH_TRAIN, PYTORCH_WEIGHTS } from './pytorch-scripts';

export { PytorchExportError } from './pytorch-layers';

/** The layer specs by the tfjs factory (or custom class) they lower to, for output shapes. */
const SPEC_BY_FACTORY: ReadonlyMap<string, AnySpec> = (() => {
  const map = new Map<string, AnySpec>();
  for (const spec of NODE_SPECS) {
    try {
      const lowering = spec.lower(spec.params.parse({}) as never);
      if (lowering.kind === 'layer' && !map.has(lowering.factory)) map.set(lowering.factory, spec);
    } catch {
      // A spec whose defaults do not lower cannot be found by factory; its steps are refused below.
    }
  }
  return map;
})();

/** The tfjs factories (and custom layers) the PyTorch export writes; anything else is refused by name. */
export const PYTORCH_FACTORIES: readonly string[] = Object.keys(LAYER_EMITTERS);

/** Module-level names in model.py: no class, value or attribute may take one. */
const MODULE_NAMES = ['torch', 'nn', 'F', 'math', 'self', 'create_model', 'INPUTS', 'OUTPUTS', 'GRAPH_NAME', ...Object.keys(HELPERS)];

type Env = Record<string, unknown>;

function evaluate(expr: Expr, env: Env, input: PyValue | undefined): unknown {
  if (isFillShape(expr)) return fillShape([null, ...(input?.shape ?? [])], evaluate(expr.$fillShape, env, input) as number[]);
  if (isParamRef(expr)) {
    if (!Object.hasOwn(env, expr.$param)) throw new PytorchExportError(`The plan refers to the block param "${expr.$param}", which is not bound.`);
    return env[expr.$param];
  }
  if (Array.isArray(expr)) return expr.map((e) => evaluate(e, env, input));
  if (typeof expr === 'object' && expr !== null) return Object.fromEntries(Object.entries(expr).map(([k, v]) => [k, evaluate(v, env, input)]));
  return expr;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A shape in PyTorch's order: images channels first. */
const torchOrder = (shape: readonly number[]) => (shape.length === 3 ? [shape[2]!, shape[0]!, shape[1]!] : [...shape]);
/** A shape as PyTorch holds it, for comments. */
const torchShape = (shape: readonly number[]) => `(N, ${torchOrder(shape).join(', ')})`;

interface PyClass {
  name: string;
  doc: string;
  args: string[];
  init: string[];
  forward: string[];
  /** Methods after forward (a flow's forward_flow and inverse), lines relative to the class body. */
  methods?: string[];
  weights: WeightEntry[];
}

interface CompiledBlock {
  cls: PyClass;
  /** Output values by port, in the block's output order. */
  outputs: Array<{ port: string; value: PyValue }>;
}

const INDENT = '    ';

class Exporter {
  classes: PyClass[] = [];
  helpers = new Set<HelperName>();
  private classNames = new Set<string>(MODULE_NAMES);
  private compiled = new Map<string, CompiledBlock>();
  private blocks: Map<string, PlanBlock>;
  /** Each layer step's module attribute, by the step's value (for a flow model's methods). */
  private layerAttrs = new Map<string, string>();

  constructor(private plan: Plan) {
    this.blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  }

  takeClassName(text: string): string {
    const name = pyClassName(text, this.classNames);
    this.classNames.add(name);
    return name;
  }

  /** Walks a body with concrete values, writing its modules into `cls`. */
  body(body: PlanBody, env: Env, values: Map<string, PyValue>, cls: PyClass, attrs: Set<string>, locals: Set<string>): void {
    for (const step of body.steps) {
      switch (step.kind) {
        case 'input': {
          const name = pyIdentifier(step.value, locals, 'input');
          locals.add(name);
          cls.args.push(name);
          values.set(step.value, { name, shape: step.shape, dtype: step.dtype });
          break;
        }
        case 'blockInput':
          break; // bound by the caller
        case 'layer':
          this.layer(step, env, values, cls, attrs, locals);
          break;
        case 'block':
          this.blockStep(step, env, values, cls, attrs, locals);
          break;
      }
    }
  }

  private layer(step: LayerStep, env: Env, values: Map<string, PyValue>, cls: PyClass, attrs: Set<string>, locals: Set<string>): void {
    const inputs = step.inputs.map((v) => values.get(v)!);
    if (step.when !== undefined && env[step.when] === false) {
      values.set(step.value, inputs[0]!);
      return;
    }
    const emitter = Object.hasOwn(LAYER_EMITTERS, step.factory) ? LAYER_EMITTERS[step.factory] : undefined;
    const spec = SPEC_BY_FACTORY.get(step.factory);
    if (!emitter || !spec) {
      throw new PytorchExportError(
        `The layer "${step.name}" (${spec?.type ?? step.factory}) has no PyTorch export yet. The export writes ${[...SPEC_BY_FACTORY.entries()]
          .filter(([f]) => PYTORCH_FACTORIES.includes(f))
          .map(([, s]) => s.type)
          .join(', ')}.`,
        step.nodeId,
      );
    }
    const config = evaluate(step.config, env, inputs[0]) as Record<string, unknown>;
    const parsed = spec.params.safeParse(config);
    if (!parsed.success)
      throw new PytorchExportError(`The layer "${step.name}" has params its ${spec.type} spec refuses: ${parsed.error.message}`, step.nodeId);
    const inferred = spec.infer(
      parsed.data as never,
      inputs.map((v) => [null, ...v.shape]),
    );
    if (isProblem(inferred)) throw new PytorchExportError(`The layer "${step.name}": ${inferred.message}`, step.nodeId);
    const outShape = inferred.slice(1) as number[];
    const attr = pyIdentifier(step.name, attrs, 'layer');
    const name = pyIdentifier(step.value, locals, 'value');
    const out: PyValue = { name, shape: outShape, dtype: 'float32' };
    let usesAttr = false;
    const ctx: LayerContext = {
      attr,
      layerName: step.name,
      init: (line) => {
        usesAttr = true;
        cls.init.push(line);
      },
      ownAttr: (suffix) => {
        const own = pyIdentifier(`${attr}_${suffix}`, new Set([...attrs, attr]), 'param');
        attrs.add(own);
        return own;
      },
      forward: (line) => cls.forward.push(line),
      weight: (w, torch, layout, shape, trainable = true, own = false) =>
        cls.weights.push({ tfjs: `${step.name}/${w}`, torch: own ? torch : `${attr}.${torch}`, layout, shape, trainable }),
      helper: (h) => this.helpers.add(h),
    };
    let expr: string;
    try {
      expr = emitter(config, inputs, out, ctx);
    } catch (err) {
      if (err instanceof PytorchExportError && err.nodeId === undefined) throw new PytorchExportError(`The layer "${step.name}": ${err.message}`, step.nodeId);
      throw err;
    }
    if (usesAttr) attrs.add(attr);
    this.layerAttrs.set(step.value, attr);
    locals.add(name);
    cls.forward.push(`${name} = ${expr}  # ${torchShape(outShape)}`);
    values.set(step.value, out);
  }

  private blockStep(step: BlockStep, env: Env, values: Map<string, PyValue>, cls: PyClass, attrs: Set<string>, locals: Set<string>): void {
    const block = this.blocks.get(step.block)!;
    const args = evaluate(step.args, env, undefined) as Env;
    let current = step.inputs.map((v) => values.get(v)!);
    const uses: CompiledBlock[] = [];
    for (let r = 0; r < step.repeat; r++) {
      const bound: Env = { ...args };
      for (const p of block.params) {
        if (!p.derive) continue;
        const value = current[block.inputs.indexOf(p.derive.input)]!;
        const full = [null, ...value.shape];
        bound[p.name] = full[p.derive.axis < 0 ? full.length + p.derive.axis : p.derive.axis];
      }
      const use = this.block(block, bound, current);
      uses.push(use);
      current = use.outputs.map((o) => o.value);
    }
    const attr = pyIdentifier(step.name, attrs, 'block');
    attrs.add(attr);
    const ins = step.inputs.map((v) => values.get(v)!.name);
    const last = uses[uses.length - 1]!;
    const outs = Object.entries(step.outputs).map(([port, value]) => {
      const name = pyIdentifier(value, locals, 'value');
      locals.add(name);
      const out = last.outputs.find((o) => o.port === port)!.value;
      values.set(value, { ...out, name });
      return { name, shape: out.shape };
    });
    const comment = outs.length === 1 ? `  # ${torchShape(outs[0]!.shape)}` : '';
    if (step.repeat > 1) {
      const same = uses.every((u) => u.cls === uses[0]!.cls);
      cls.init.push(
        same
          ? `self.${attr} = nn.ModuleList([${uses[0]!.cls.name}() for _ in range(${step.repeat})])`
          : `self.${attr} = nn.ModuleList([${uses.map((u) => `${u.cls.name}()`).join(', ')}])`,
      );
      // Repeats have one input and one output (the compiler checks): each feeds the next.
      const loop = pyIdentifier('layer', locals);
      cls.forward.push(`${outs[0]!.name} = ${ins[0]}`);
      cls.forward.push(`for ${loop} in self.${attr}:`);
      cls.forward.push(`${INDENT}${outs[0]!.name} = ${loop}(${outs[0]!.name})${comment}`);
    } else {
      cls.init.push(`self.${attr} = ${uses[0]!.cls.name}()`);
      cls.forward.push(`${outs.map((o) => o.name).join(', ')} = self.${attr}(${ins.join(', ')})${comment}`);
    }
    uses.forEach((use, r) => {
      const tfjsPrefix = step.repeat > 1 ? `${step.name}_${r}_` : `${step.name}_`;
      const torchPrefix = step.repeat > 1 ? `${attr}.${r}.` : `${attr}.`;
      for (const w of use.cls.weights) cls.weights.push({ ...w, tfjs: tfjsPrefix + w.tfjs, torch: torchPrefix + w.torch });
    });
  }

  /** The class for one use of a block: the same block, args and input shapes share a class. */
  private block(block: PlanBlock, args: Env, inputs: PyValue[]): CompiledBlock {
    const key = JSON.stringify([block.id, Object.entries(args).sort(), inputs.map((v) => [v.shape, v.dtype])]);
    const found = this.compiled.get(key);
    if (found) return found;
    const shown = block.params.map((p) => `${p.name}=${JSON.stringify(args[p.name])}`).join(', ');
    const cls: PyClass = {
      name: this.takeClassName(block.id),
      doc: `${block.label}: ${block.description} Made with ${shown || 'no params'}.`,
      args: [],
      init: [],
      forward: [],
      weights: [],
    };
    const locals = new Set(MODULE_NAMES);
    const attrs = new Set([...MODULE_ATTRIBUTES, ...MODULE_NAMES]);
    const values = new Map<string, PyValue>();
    for (const step of block.body.steps) {
      if (step.kind !== 'blockInput') continue;
      const value = inputs[block.inputs.indexOf(step.port)]!;
      const name = pyIdentifier(step.port, locals, 'x');
      locals.add(name);
      cls.args.push(name);
      values.set(step.value, { ...value, name });
    }
    this.body(block.body, args, values, cls, attrs, locals);
    const outputs = block.body.outputs.map((o) => ({ port: o.name, value: values.get(o.value)! }));
    cls.forward.push(`return ${outputs.map((o) => o.value.name).join(', ')}`);
    this.classes.push(cls);
    const result = { cls, outputs };
    this.compiled.set(key, result);
    return result;
  }

  /** The model class; called once, after which `classes` holds every class in dependency order. */
  model(): { cls: PyClass; outputs: PyValue[]; inputs: PyValue[] } {
    const cls: PyClass = {
      name: this.takeClassName(this.plan.name),
      doc: `The graph "${this.plan.name}". Images are (N, C, H, W); other inputs keep the graph's order.`,
      args: [],
      init: [],
      forward: [],
      weights: [],
    };
    const values = new Map<string, PyValue>();
    this.body(this.plan.main, {}, values, cls, new Set([...MODULE_ATTRIBUTES, ...MODULE_NAMES]), new Set(MODULE_NAMES));
    const outputs = this.plan.main.outputs.map((o) => values.get(o.value)!);
    cls.forward.push(`return ${outputs.map((o) => o.name).join(', ')}`);
    cls.methods = flowMethods(this.plan.main, this.layerAttrs) ?? undefined;
    this.classes.push(cls);
    const inputs = this.plan.main.steps.flatMap((s) => (s.kind === 'input' ? [values.get(s.value)!] : []));
    return { cls, outputs, inputs };
  }
}

function classSource(cls: PyClass): string {
  const lines = [`class ${cls.name}(nn.Module):`, `${INDENT}${pyString(cls.doc)}`, '', `${INDENT}def __init__(self):`, `${INDENT}${INDENT}super().__init__()`];
  for (const line of cls.init) lines.push(`${INDENT}${INDENT}${line}`);
  lines.push('', `${INDENT}def forward(self, ${cls.args.join(', ')}):`);
  for (const line of cls.forward) lines.push(`${INDENT}${INDENT}${line}`);
  if (cls.methods) lines.push('', ...cls.methods.map((line) => (line ? `${INDENT}${line}` : '')));
  return lines.join('\n');
}

const thousands = (n: number) => n.toLocaleString('en-US');

export interface PytorchExport {
  /** File name → contents: model.py, weights.py, train.py, README.md. */
  files: Record<string, string>;
  /** What the PyTorch model holds, counted from the modules the export writes. */
  trainableParams: number;
  nonTrainableParams: number;
  /** The tfjs weight names in tfjs's order, with the state_dict key each maps to. */
  weights: WeightEntry[];
}

/** Writes the PyTorch export of a plan. Throws PytorchExportError (with the node id) for a layer it cannot write. */
export function emitPytorch(plan: Plan, training: TrainingSetup | undefined): PytorchExport {
  const exporter = new Exporter(plan);
  const { cls, inputs, outputs } = exporter.model();
  const trainable = cls.weights.filter((w) => w.trainable).reduce((a, w) => a + size(w.shape), 0);
  const nonTrainable = cls.weights.filter((w) => !w.trainable).reduce((a, w) => a + size(w.shape), 0);
  const header = [
    `# Generated by Patchbay from the graph "${pyComment(plan.source.name)}" (${pyComment(plan.source.format)}, document version ${plan.source.version}).`,
    "# PyTorch modules with the graph's layers and parameter counts; images are (N, C, H, W), as PyTorch",
    '# expects, where the graph is channels-last. weights.py moves weights between this and tfjs.',
    `# Trainable params: ${thousands(trainable)}. Non-trainable params: ${thousands(nonTrainable)}.`,
    '',
    'import math',
    '',
    'import torch',
    'import torch.nn as nn',
    'import torch.nn.functional as F',
  ].join('\n');
  const helpers = (Object.keys(HELPERS) as HelperName[]).filter((h) => exporter.helpers.has(h)).map((h) => HELPERS[h]);
  const inputTable = inputs
    .map((v, i) => {
      const step = plan.main.steps.filter((s) => s.kind === 'input')[i]!;
      return `${INDENT}${pyString(step.kind === 'input' ? step.name : v.name)}: (${pyLiteral(torchOrder(v.shape))}, torch.${v.dtype === 'int32' ? 'long' : 'float32'}),`;
    })
    .join('\n');
  const footer = [
    `GRAPH_NAME = ${pyString(plan.name)}`,
    '',
    "# One example's shape per input, without the batch, in PyTorch's layout, and its dtype.",
    `INPUTS = {\n${inputTable}\n}`,
    `OUTPUTS = ${pyLiteral(plan.main.outputs.map((o) => o.name))}`,
    `# Each output's shape in PyTorch's layout, without the batch.`,
    `OUTPUT_SHAPES = (${outputs.map((o) => pyLiteral(torchOrder(o.shape))).join(', ')},)`,
    '',
    '',
    'def create_model():',
    `${INDENT}${pyString(`Builds "${plan.name}" with fresh weights; weights.load_tfjs_weights(model, "model.json") loads trained ones.`)}`,
    `${INDENT}return ${cls.name}()`,
  ].join('\n');
  const model = [header, ...helpers, ...exporter.classes.map(classSource), footer].join('\n\n\n') + '\n';

  const weightTable = cls.weights.map((w) => `${INDENT}(${pyString(w.tfjs)}, ${pyString(w.torch)}, ${pyString(w.layout)}, ${pyLiteral(w.shape)}),`).join('\n');
  const weights = PYTORCH_WEIGHTS.replace('__WEIGHT_TABLE__', weightTable ? `\n${weightTable}\n` : '');
  const setup = training ?? {};
  const train = PYTORCH_TRAIN.replace('__SETUP__', pyLiteral(setupFields(setup as Partial<TrainingSetup>)));
  const readme = PYTORCH_README.replace(/__NAME__/g, plan.name.replace(/[^\w .,()+-]/g, '?').slice(0, 120)).replace(
    '__PARAMS__',
    `${thousands(trainable)} trainable and ${thousands(nonTrainable)} non-trainable`,
  );
  return {
    files: { 'model.py': model, 'weights.py': weights, 'train.py': train, 'README.md': readme },
    trainableParams: trainable,
    nonTrainableParams: nonTrainable,
    weights: cls.weights,
  };
}

/** The training setup train.py reads, with the app's defaults filled in. */
function setupFields(setup: Partial<TrainingSetup>): Record<string, unknown> {
  return {
    optimizer: setup.optimizer ?? 'adam',
    learning_rate: setup.learningRate ?? 1e-3,
    schedule: setup.schedule ?? 'constant',
    warmup_steps: setup.warmupSteps ?? 0,
    weight_decay: setup.weightDecay ?? 0,
    momentum: setup.momentum ?? 0.9,
    loss: setup.loss ?? 'categoricalCrossentropy',
    batch_size: setup.batchSize ?? 32,
    epochs: setup.epochs ?? 1,
    seed: setup.seed ?? 0,
  };
}

/** A whole document's PyTorch export: a plain graph's files, or one folder per network of a program. */
export interface DocumentExport {
  /** Relative path → contents. */
  files: Record<string, string>;
  /** Each exported network: its folder ('' for a plain graph) and plan. */
  networks: Array<{ folder: string; plan: Plan; trainableParams: number }>;
}

/**
 * The files for a plan or a program's networks. A program's networks go into `networks/<id>/`
 * (ids are letters, digits, - and _), each with model.py and weights.py; its training step is not
 * exported (train.py trains a plain classifier graph only), which the README says.
 */
export function pytorchFiles(
  target: { plan: Plan; training?: TrainingSetup } | { program: { networks: Array<{ id: string; plan: Plan }> }; name: string },
): DocumentExport {
  if ('plan' in target) {
    const out = emitPytorch(target.plan, target.training);
    return { files: out.files, networks: [{ folder: '', plan: target.plan, trainableParams: out.trainableParams }] };
  }
  const files: Record<string, string> = {};
  const networks: DocumentExport['networks'] = [];
  for (const net of target.program.networks) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(net.id)) throw new PytorchExportError(`The network id "${net.id}" cannot name a folder.`);
    const out = emitPytorch(net.plan, undefined);
    const folder = `networks/${net.id}`;
    files[`${folder}/model.py`] = out.files['model.py']!;
    files[`${folder}/weights.py`] = out.files['weights.py']!;
    networks.push({ folder, plan: net.plan, trainableParams: out.trainableParams });
  }
  files['README.md'] = [
    `# ${target.name.replace(/[^\w .,()+-]/g, '?').slice(0, 120)} in PyTorch`,
    '',
    'Exported by Patchbay: a training program. Each network is a folder under `networks/` with its',
    '`model.py` (`create_model()`) and `weights.py` (`load_tfjs_weights`, `save_tfjs_weights`), as a',
    "plain graph's export has. The program's procedures (its losses and update rules) are not exported",
    'to PyTorch yet: train them in the editor or with `patchbay train`, or write the step with these modules.',
    '',
    ...networks.map((n) => `- \`${n.folder}/\`: ${thousands(n.trainableParams)} trainable params`),
    '',
  ].join('\n');
  return { files, networks };
}
