/**
 * The TypeScript export of a training program: one self-contained module that needs only
 * @tensorflow/tfjs and holds a `createX()` per network, the runtime functions the program uses
 * (copied as text from src/runtime by scripts/gen-program-sources.ts, so they are the app's own
 * code), and `createTrainer()`, whose per-procedure `trainStep` does what the interpreter's step
 * does (runtime/program/run.ts): the same partition around the gradient tapes
 * (program-partition.ts), the same ops with the same seeds, the same optimizer, moving-average and
 * DirectPred rules. A document without a program never comes here (emit.ts writes it as before).
 *
 * Every document string reaches the output through ./escape, chosen for the place it lands; every
 * name in code is made by toIdentifier or is one of the fixed names below.
 */
import { blockFunction, FILL_SHAPE_HELPER, literal, modelFunction, thousands, usedLayerSources } from './emit';
import { docComment, lineComment, propertyAccess, propertyKey, RESERVED_WORDS, stringLiteral, toIdentifier } from './escape';
import { CUSTOM_LAYER_SOURCES, STOCK_LAYER_REPLACEMENTS } from './generated/layer-sources';
import { PROGRAM_SOURCES } from './generated/program-sources';
import { EMITTER_NAMES } from './lower';
import type { PlanBlock } from './plan';
import { MAIN_NETWORK } from '../document/schema';
import type { PlanNetwork, PlanProcedure, PlanProgram, ProgramStep } from './program';
import { partitionProcedure, type MinimizeStep } from './program-partition';
import { predictionOf } from '../runtime/program/denoiser';

const INDENT = '  ';

/** Names the module declares itself, besides the copied runtime functions and the networks' factories. */
const MODULE_NAMES = ['tfType', 'Networks', 'Batch', 'EvaluationData', 'createNetworks', 'createTrainer', 'sample'];

/** Names inside createTrainer and its step functions that no value may take. */
const TRAINER_NAMES = [
  'nets',
  'options',
  'seed',
  'averages',
  'averageOf',
  'parameters',
  'parameterOf',
  'initial',
  'networkList',
  'correlations',
  'batch',
  'step',
  'totalSteps',
  'done',
  'shown',
  'out',
  'losses',
  'value',
  'grads',
  'data',
  'metrics',
  'classes',
  'forward',
  'onTest',
  'onTrain',
  'current',
  'initTest',
  'initTrain',
  'id',
  'v',
  't',
  'copy',
  'network',
  'online',
  'create',
  'init',
  'hookInputs',
];

/** Each op's call: which copied function, and its arguments as the interpreter's runOp passes them (test/program-export.test.ts runs every op both ways). */
export function opCall(s: Extract<ProgramStep, { kind: 'op' }>, ins: string[]): { fn: string; code: string } {
  const cfg = s.config;
  const [a, b, c] = ins;
  const ctx = `{ seed, step, nodeId: ${stringLiteral(s.nodeId)} }`;
  const n = (key: string) => literal(cfg[key]);
  switch (s.op) {
    case 'RandomTranslate':
      return { fn: 'randomTranslate', code: `randomTranslate(tf, ${a}, ${n('pixels')}, ${ctx})` };
    case 'RandomAffine':
      return { fn: 'randomAffine', code: `randomAffine(tf, ${a}, ${n('degrees')}, ${n('minScale')}, ${n('maxScale')}, ${n('pixels')}, ${ctx})` };
    case 'RandomFlip':
      return { fn: 'randomFlip', code: `randomFlip(tf, ${a}, ${n('probability')}, ${ctx})` };
    case 'GaussianNoise':
      return { fn: 'gaussianNoise', code: `gaussianNoise(tf, ${a}, ${n('stddev')}, ${ctx})` };
    case 'RandomErase':
      return { fn: 'randomErase', code: `randomErase(tf, ${a}, ${n('probability')}, ${n('size')}, ${ctx})` };
    case 'StopGradient':
      return { fn: 'stopGradient', code: `stopGradient(tf, ${a})` };
    case 'FlattenExamples':
      return { fn: 'flattenExamples', code: `flattenExamples(tf, ${a})` };
    case 'MeanOf':
      return { fn: 'meanOf', code: `meanOf(tf, [${ins.join(', ')}])` };
    case 'WeightedSum':
      return { fn: 'weightedSum', code: `weightedSum(tf, [${ins.join(', ')}], [${(cfg.weights as unknown[]).map(literal).join(', ')}])` };
    case 'CrossEntropy':
      return { fn: 'crossEntropy', code: `crossEntropy(tf, ${a}, ${b}, ${n('fromLogits')})` };
    case 'MeanSquaredError':
      return { fn: 'meanSquaredError', code: `meanSquaredError(tf, ${a}, ${b})` };
    case 'NegativeCosine':
      return { fn: 'negativeCosine', code: `negativeCosine(tf, ${a}, ${b})` };
    case 'NormalizedMSE':
      return { fn: 'normalizedMse', code: `normalizedMse(tf, ${a}, ${b})` };
    case 'InfoNCE':
      return { fn: 'infoNce', code: `infoNce(tf, ${a}, ${b}, ${c ? (cfg.expScale ? `tf.exp(${c})` : c) : n('scale')})` };
    case 'DistillationLoss':
      return { fn: 'distillation', code: `distillation(tf, ${a}, ${b}, ${c}, ${n('temperature')}, ${n('alpha')})` };
    case 'DiffusionTimestep':
      return { fn: 'diffusionTimestep', code: `diffusionTimestep(tf, ${a}, ${n('timesteps')}, ${ctx})` };
    case 'DiffusionNoise':
      return { fn: 'diffusionNoise', code: `diffusionNoise(tf, ${a}, ${ctx})` };
    case 'Diffuse':
      return { fn: 'diffusionForward', code: `diffusionForward(tf, ${a}, ${b}, ${c}, ${n('schedule')}, ${n('timesteps')})` };
    case 'DiffusionTarget':
      return { fn: 'diffusionTarget', code: `diffusionTarget(tf, ${a}, ${b}, ${n('predict')})` };
    case 'ScaleShift':
      return { fn: 'scaleShift', code: `scaleShift(tf, ${a}, ${n('scale')}, ${n('shift')})` };
    case 'DiffusionHybridLoss':
      return { fn: 'diffusionHybridLoss', code: `diffusionHybridLoss(tf, ${a}, ${b}, ${c}, ${ins[3]}, ${ins[4]}, ${n('schedule')}, ${n('timesteps')})` };
    case 'MaskCapsules':
      return { fn: 'maskCapsules', code: b ? `maskCapsules(tf, ${a}, ${b})` : `maskCapsules(tf, ${a})` };
    case 'MarginLoss':
      return { fn: 'marginLoss', code: `marginLoss(tf, ${a}, ${b}, ${n('mPlus')}, ${n('mMinus')}, ${n('lambda')})` };
    case 'ReconstructionLoss':
      return { fn: 'reconstructionLoss', code: `reconstructionLoss(tf, ${a}, ${b}, ${n('scale')})` };
    case 'Captions':
      return { fn: 'captionTokens', code: `captionTokens(tf, ${a}, ${captionSettings(cfg)}, ${ctx})` };
    case 'Prompts':
      return { fn: 'promptTokens', code: `promptTokens(tf, ${captionSettings(cfg)})` };
    case 'ZeroShotClassifier':
      return { fn: 'zeroShotLogits', code: `zeroShotLogits(tf, ${a}, ${b}, ${n('classes')}, ${n('scale')})` };
    case 'FlowNLL':
      return { fn: 'flowNll', code: `flowNll(tf, ${a}, ${b})` };
    case 'CorruptImage':
      return { fn: 'corruptImage', code: `corruptImage(tf, ${a}, ${n('stddev')}, ${n('dropPatches')}, ${n('patchSize')}, ${ctx})` };
    case 'GlomConsensusLoss':
      return { fn: 'glomConsensusLoss', code: `glomConsensusLoss(tf, ${a}, ${n('temperature')}, ${n('weight')})` };
    case 'Dequantize':
      return { fn: 'dequantize', code: `dequantize(tf, ${a}, ${n('levels')}, ${ctx})` };
    case 'LowResolution':
      return { fn: 'lowResolution', code: `lowResolution(tf, ${a}, ${n('factor')}, ${n('upsample')})` };
    case 'SquareMask':
      return { fn: 'squareMask', code: `squareMask(tf, ${a}, ${n('size')}, ${n('placement')}, ${ctx})` };
    case 'Composite':
      return { fn: 'composite', code: `composite(tf, ${a}, ${b}, ${c})` };
    case 'MaskedMeanSquaredError':
      return { fn: 'maskedMeanSquaredError', code: `maskedMeanSquaredError(tf, ${a}, ${b}, ${c})` };
    case 'ClassColour':
      return { fn: 'classColour', code: `classColour(tf, ${a}, ${b}, ${n('luminance')}, ${n('chroma')})` };
    case 'Luminance':
      return { fn: 'luminance', code: `luminance(tf, ${a})` };
    default:
      throw new Error(`The exporter has no op "${s.op}" (node "${s.nodeId}").`);
  }
}

/** The Captions and Prompts settings as an object literal: every document string through literal(). */
function captionSettings(cfg: Record<string, unknown>): string {
  const list = (key: string) => `[${((cfg[key] as unknown[]) ?? []).map(literal).join(', ')}]`;
  return `{ templates: ${list('templates')}, classWords: ${list('classWords')}, classDigits: ${list('classDigits')}, vocabulary: ${list('vocabulary')}, contextLength: ${literal(cfg.contextLength)} }`;
}

/** Unique names in one scope, from document text through toIdentifier. */
class Scope {
  private used: Set<string>;
  constructor(taken: Iterable<string>) {
    this.used = new Set(taken);
  }
  take(text: string): string {
    const base = toIdentifier(text, this.used);
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}${i}`;
    this.used.add(name);
    return name;
  }
  /** `name` itself when free, else `name2`, `name3`… (for names that are identifiers already). */
  reserve(name: string): string {
    let out = name;
    for (let i = 2; this.used.has(out); i++) out = `${name}${i}`;
    this.used.add(out);
    return out;
  }
}

interface NetworkNames {
  /** The factory: createModel, createProjector… */
  factory: string;
  /** `nets.model`, `nets['odd-id']`. */
  access: string;
  /** Whether a training step must seed its dropout and random-translation layers first (seedStep). */
  dropout: boolean;
}

interface Context {
  program: PlanProgram;
  networks: Map<string, NetworkNames>;
  /** Copied runtime functions the module uses (their own dependencies are added at the end). */
  helpers: Set<string>;
  /** Module-level names: no value may shadow one. */
  moduleNames: ReadonlySet<string>;
}

function hasDropout(net: PlanNetwork): boolean {
  const bodies = [net.plan.main, ...net.plan.blocks.map((b) => b.body)];
  return bodies.some((body) => body.steps.some((s) => s.kind === 'layer' && /dropout|randomtranslation/i.test(s.factory)));
}

const label = (s: ProgramStep) => lineComment(s.nodeId);

/** The expression for a network applied with `weights`. */
function networkExpr(ctx: Context, network: string, weights: 'online' | 'frozen' | 'ema'): string {
  const names = ctx.networks.get(network)!;
  return weights === 'ema' ? `averageOf(${stringLiteral(network)}, ${names.access}, ${names.factory})` : names.access;
}

/** The lines computing one step (apply, op, parameter) into its value names. */
function stepLines(ctx: Context, s: ProgramStep, values: Map<string, string>, training: boolean, indent: string): string[] {
  const get = (v: string) => {
    const name = values.get(v);
    if (!name)
      throw new Error(
        `The exporter cannot place step "${s.nodeId}": it reads "${v}", which no earlier step computes here (a value computed under a gradient tape that a step outside it reads).`,
      );
    return name;
  };
  switch (s.kind) {
    case 'apply': {
      const model = networkExpr(ctx, s.network, s.weights);
      const train = training && s.weights !== 'frozen';
      const ins = s.inputs.map(get);
      const input = ins.length === 1 ? ins[0]! : `[${ins.join(', ')}]`;
      const outs = Object.values(s.outputs).map((v) => values.get(v)!);
      const lines = [
        `${indent}// ${label(s)}: network ${lineComment(s.network)}, ${s.weights === 'ema' ? `moving average (τ ${s.ema!.decay}, ${s.ema!.schedule})` : `${s.weights} weights`}${train ? '' : ', inference mode'}.`,
      ];
      if (train && ctx.networks.get(s.network)!.dropout) {
        ctx.helpers.add('seedStep');
        lines.push(`${indent}seedStep(${model}, seed, step);`);
      }
      if (ctx.program.networks.find((n) => n.id === s.network)?.flow) {
        // A flow network gives z and its log-determinant, as the app applies it (runtime/program/flows.ts).
        ctx.helpers.add('flowOutputs');
        lines.push(`${indent}const [${outs.join(', ')}] = flowOutputs(tf, ${model}, ${ins[0]});`);
        return lines;
      }
      const call = `${model}.apply(${input}, { training: ${train} })`;
      lines.push(outs.length === 1 ? `${indent}const ${outs[0]} = ${call} as tf.Tensor;` : `${indent}const [${outs.join(', ')}] = ${call} as tf.Tensor[];`);
      return lines;
    }
    case 'op': {
      const { fn, code } = opCall(s, s.inputs.map(get));
      ctx.helpers.add(fn);
      return [`${indent}const ${values.get(s.output)} = ${code}; // ${label(s)} (${lineComment(s.op)})`];
    }
    case 'parameter':
      return [`${indent}const ${values.get(s.output)} = parameterOf(${stringLiteral(s.nodeId)}, ${literal(s.init)}); // ${label(s)}: a learned scalar`];
    default:
      return [];
  }
}

/** Value names for every value a procedure computes, unique within its step function. */
function valueNames(ctx: Context, proc: PlanProcedure): Map<string, string> {
  const scope = new Scope([...ctx.moduleNames, ...TRAINER_NAMES]);
  const names = new Map<string, string>();
  for (const s of proc.steps) {
    if (s.kind === 'data') {
      names.set(s.outputs.image, scope.take(`${s.nodeId} image`));
      names.set(s.outputs.label, scope.take(`${s.nodeId} label`));
    } else if (s.kind === 'apply') {
      const outs = Object.entries(s.outputs);
      for (const [port, v] of outs) names.set(v, scope.take(outs.length === 1 ? s.nodeId : `${s.nodeId} ${port}`));
    } else if (s.kind === 'op' || s.kind === 'parameter') names.set(s.output, scope.take(s.nodeId));
  }
  return names;
}

const tensorType = (rank: number) => (rank >= 1 && rank <= 6 ? `tf.Tensor${rank}D` : 'tf.Tensor');

/** A network's learning-rate multiplier in a Minimize (its own key only: a network may be called "constructor"). */
const multiplierOf = (m: MinimizeStep, net: string): number =>
  Object.hasOwn(m.optimizer.learningRateMultipliers, net) ? m.optimizer.learningRateMultipliers[net]! : 1;

/** The settings object of a Minimize, as the interpreter passes them to Minimizer and learningRateAt. */
function settingsLiteral(m: MinimizeStep): string {
  const o = m.optimizer;
  return `{ optimizer: ${literal(o.optimizer)}, learningRate: ${literal(o.learningRate)}, schedule: ${literal(o.schedule)}, warmupSteps: ${literal(o.warmupSteps)}, momentum: ${literal(o.momentum)}, weightDecay: ${literal(o.weightDecay)}, clipNorm: ${literal(o.clipNorm)} } as const`;
}

/** A train procedure: its optimizers (made once) and its step function. */
function trainProcedure(
  ctx: Context,
  proc: PlanProcedure,
  index: number,
  trainerScope: Scope,
): { setup: string[]; fn: string; body: string[]; dispose: string[] } {
  const I = INDENT;
  const { pre, taped } = partitionProcedure(proc);
  const names = valueNames(ctx, proc);
  const minimizes = [...taped.keys()];
  const setup: string[] = [];
  const minimizers = new Map<MinimizeStep, { name: string; settings: string }>();
  minimizes.forEach((m, k) => {
    const name = trainerScope.take(`${proc.id} ${m.nodeId}`);
    const settings = trainerScope.take(`${proc.id} ${m.nodeId} settings`);
    minimizers.set(m, { name, settings });
    const groups = m.networks.map((net) => `{ variables: trainableVariables(${ctx.networks.get(net)!.access}), multiplier: ${literal(multiplierOf(m, net))} }`);
    if (m.parameters.length) {
      const params = m.parameters.map((output) => {
        const step = ctx.program.procedures.flatMap((p) => p.steps).find((s) => s.kind === 'parameter' && s.output === output) as Extract<
          ProgramStep,
          { kind: 'parameter' }
        >;
        return `parameterOf(${stringLiteral(step.nodeId)}, ${literal(step.init)})`;
      });
      groups.push(`{ variables: [${params.join(', ')}], multiplier: 1 }`);
    }
    setup.push(
      `${I}// Minimize ${lineComment(m.nodeId)} (procedure ${lineComment(proc.id)}): ${m.optimizer.optimizer}, learning rate ${m.optimizer.learningRate} (${m.optimizer.schedule}), over ${[...m.networks.map(lineComment), ...m.parameters.map(lineComment)].join(', ') || 'nothing'}.`,
    );
    setup.push(`${I}const ${settings} = ${settingsLiteral(m)};`);
    setup.push(`${I}const ${name} = new Minimizer(tf, ${settings}, [${groups.join(', ')}]);`);
    ctx.helpers.add('Minimizer').add('trainableVariables').add('learningRateAt');
  });

  const fn = trainerScope.take(`${proc.id} step`);
  const data = proc.steps.find((s): s is Extract<ProgramStep, { kind: 'data' }> => s.kind === 'data');
  const lossSteps = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'op' }> => s.kind === 'op' && s.loss);
  const hooks = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'hook' }> => s.kind === 'hook');
  const emaApplies = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'apply' }> => s.kind === 'apply' && s.weights === 'ema');
  const tapedIn = (s: ProgramStep) => minimizes.filter((m) => taped.get(m)!.has(s));
  const hookVars = new Map(hooks.map((h) => [h, trainerScope.take(`${h.nodeId} input`)]));

  const body: string[] = [];
  body.push(`${I}/**`);
  body.push(`${I} * One step of ${docComment(`"${proc.label}"`)} (procedure ${docComment(proc.id)}), as the app's step: \`step\` counts from 0 and`);
  body.push(`${I} * \`totalSteps\` is the procedure's length (the schedules read both). Resolves to each loss node's value;`);
  body.push(`${I} * throws when one is not finite (the app stops there, before the moving averages and DirectPred).`);
  body.push(`${I} */`);
  body.push(`${I}async function ${fn}(batch: Batch, step: number, totalSteps: number): Promise<Record<string, number>> {`);
  for (const h of hooks) body.push(`${I}${I}let ${hookVars.get(h)}: tf.Tensor | undefined;`);
  body.push(`${I}${I}const shown = tf.tidy(() => {`);
  const J = `${I}${I}${I}`;
  if (data) {
    body.push(`${J}const ${names.get(data.outputs.image)} = batch.image;`);
    body.push(`${J}const ${names.get(data.outputs.label)} = batch.label;`);
  }
  const available = new Map<string, string>();
  if (data) for (const v of [data.outputs.image, data.outputs.label]) available.set(v, names.get(v)!);
  const preSteps = proc.steps.filter((s) => pre.has(s));
  if (preSteps.length) body.push(`${J}// Before any gradient tape, once: data, augmentations, frozen and moving-average networks.`);
  for (const s of preSteps) {
    body.push(...stepLines(ctx, s, new Map([...available, ...ownNames(s, names)]), true, J));
    for (const [v, name] of ownNames(s, names)) available.set(v, name);
  }
  body.push(`${J}const out: Record<string, tf.Tensor> = {};`);
  minimizes.forEach((m) => {
    const { name, settings } = minimizers.get(m)!;
    const set = taped.get(m)!;
    const K = `${J}${I}${I}`;
    body.push(`${J}{`);
    body.push(`${J}${I}// The tape of Minimize ${lineComment(m.nodeId)}: the steps on a path from its weights to its loss.`);
    body.push(`${J}${I}const { value, grads } = tf.variableGrads(() => {`);
    const inner = new Map(available);
    for (const s of proc.steps) {
      if (!set.has(s)) continue;
      body.push(...stepLines(ctx, s, new Map([...inner, ...ownNames(s, names)]), true, K));
      for (const [v, n] of ownNames(s, names)) inner.set(v, n);
    }
    // Losses computed here are shown from the last tape that computes them; a hook's input from the first.
    for (const l of lossSteps) if (set.has(l) && tapedIn(l).at(-1) === m) body.push(`${K}out[${stringLiteral(l.nodeId)}] = tf.keep(${inner.get(l.output)});`);
    for (const h of hooks) {
      const producer = proc.steps.find((s) => ownNames(s, names).has(h.input));
      if (producer && set.has(producer) && tapedIn(producer)[0] === m) body.push(`${K}${hookVars.get(h)} = tf.keep(${inner.get(h.input)});`);
    }
    const loss = inner.get(m.loss) ?? available.get(m.loss);
    body.push(`${K}return ${loss} as tf.Scalar;`);
    body.push(`${J}${I}}, ${name}.variables);`);
    body.push(`${J}${I}${name}.apply(grads, learningRateAt(${settings}, step, totalSteps));`);
    body.push(`${J}${I}out[${stringLiteral(m.nodeId)}] = tf.keep(value);`);
    body.push(`${J}}`);
  });
  for (const l of lossSteps) if (pre.has(l)) body.push(`${J}out[${stringLiteral(l.nodeId)}] = tf.keep(${available.get(l.output)});`);
  for (const h of hooks) if (available.has(h.input)) body.push(`${J}${hookVars.get(h)} = tf.keep(${available.get(h.input)});`);
  body.push(`${J}return out;`);
  body.push(`${I}${I}});`);
  body.push(`${I}${I}const losses: Record<string, number> = {};`);
  if (lossSteps.length) {
    body.push(`${I}${I}for (const id of [${lossSteps.map((l) => stringLiteral(l.nodeId)).join(', ')}]) {`);
    body.push(`${I}${I}${I}const t = shown[id];`);
    body.push(`${I}${I}${I}if (t) losses[id] = (await t.data())[0]!;`);
    body.push(`${I}${I}}`);
  }
  body.push(`${I}${I}tf.dispose(Object.values(shown));`);
  body.push(`${I}${I}for (const [id, v] of Object.entries(losses)) {`);
  body.push(`${I}${I}${I}if (!Number.isFinite(v)) {`);
  if (hooks.length) body.push(`${I}${I}${I}${I}tf.dispose([${hooks.map((h) => hookVars.get(h)).join(', ')}].filter((t): t is tf.Tensor => t !== undefined));`);
  body.push(
    `${I}${I}${I}${I}throw new Error(\`The loss "\${id}" became \${v} at step \${step + 1}, so training stopped. Lower the learning rate, or check the data.\`);`,
  );
  body.push(`${I}${I}${I}}`);
  body.push(`${I}${I}}`);
  const parameterSteps = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'parameter' }> => s.kind === 'parameter');
  for (const p of parameterSteps) {
    ctx.helpers.add('clampParameter');
    body.push(
      `${I}${I}clampParameter(tf, parameterOf(${stringLiteral(p.nodeId)}, ${literal(p.init)}), ${literal(p.min)}, ${literal(p.max)}); // ${lineComment(p.nodeId)}`,
    );
  }
  if (emaApplies.length || hooks.length)
    body.push(`${I}${I}// The moving averages and DirectPred count the steps done, this one included.`, `${I}${I}const done = step + 1;`);
  const followed = new Set<string>();
  for (const e of emaApplies) {
    // One update per network, however many nodes apply its moving average: the first node's decay.
    if (followed.has(e.network)) continue;
    followed.add(e.network);
    ctx.helpers.add('followAverage').add('emaDecayAt');
    const names = ctx.networks.get(e.network)!;
    body.push(
      `${I}${I}followAverage(tf, ${names.access}, ${networkExpr(ctx, e.network, 'ema')}, emaDecayAt(${literal(e.ema!.decay)}, ${literal(e.ema!.schedule)}, done, totalSteps)); // ${lineComment(e.nodeId)}`,
    );
  }
  for (const h of hooks) {
    ctx.helpers.add('directPredUpdate');
    const input = hookVars.get(h)!;
    body.push(`${I}${I}// DirectPred ${lineComment(h.nodeId)} sets network ${lineComment(h.network)} from its inputs' running correlation.`);
    body.push(
      `${I}${I}if (${input}) correlations.set(${stringLiteral(h.nodeId)}, await directPredUpdate(tf, correlations.get(${stringLiteral(h.nodeId)}), ${input}, done, { every: ${literal(h.every)}, rho: ${literal(h.rho)}, epsilon: ${literal(h.epsilon)} }, ${ctx.networks.get(h.network)!.access}));`,
    );
  }
  if (hooks.length) body.push(`${I}${I}tf.dispose([${hooks.map((h) => hookVars.get(h)).join(', ')}].filter((t): t is tf.Tensor => t !== undefined));`);
  body.push(`${I}${I}return losses;`);
  body.push(`${I}}`);
  const dispose = minimizes.map((m) => `${minimizers.get(m)!.name}.dispose();`);
  return { setup, fn, body, dispose };
}

/** The value names a step produces, by value. */
function ownNames(s: ProgramStep, names: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  if (s.kind === 'apply') for (const v of Object.values(s.outputs)) out.set(v, names.get(v)!);
  if (s.kind === 'op' || s.kind === 'parameter') out.set(s.output, names.get(s.output)!);
  return out;
}

/** An evaluation procedure: collects its metrics' inputs in inference mode, then measures. */
function evaluateProcedure(ctx: Context, proc: PlanProcedure, trainerScope: Scope): { fn: string; body: string[] } {
  const I = INDENT;
  const J = `${I}${I}${I}`;
  const names = valueNames(ctx, proc);
  const fn = trainerScope.take(proc.id);
  const data = proc.steps.find((s): s is Extract<ProgramStep, { kind: 'data' }> => s.kind === 'data');
  const metrics = proc.steps.filter((s): s is Extract<ProgramStep, { kind: 'metric' }> => s.kind === 'metric');
  const wanted = metrics.flatMap((m) => m.inputs);
  const needsTrain = metrics.some(
    (m) =>
      m.metric === 'LinearProbe' ||
      m.metric === 'KNearestNeighbours' ||
      m.metric === 'GaussianBaseline' ||
      m.metric === 'MeanImageBaseline' ||
      m.metric === 'InpaintingScore' ||
      m.metric === 'ColourisationScore',
  );
  const baselines = metrics.filter((m) => m.metric === 'LinearProbe' && m.config.randomInitMetric);
  ctx.helpers.add('collectRows').add('asCollected').add('setMetric');
  const body: string[] = [];
  body.push(`${I}/**`);
  body.push(`${I} * ${docComment(`"${proc.label}"`)} (procedure ${docComment(proc.id)}), as the app evaluates: the networks in inference mode over`);
  body.push(
    `${I} * \`data.test\`${needsTrain ? ' (and `data.train`, where the linear probe and kNN learn)' : ''}, batch by batch, then each measure. Results by name; dotted names nest.`,
  );
  body.push(`${I} * Asynchronous: results are read back with \`data()\`, the only read the webgpu backend has.`);
  body.push(`${I} */`);
  body.push(`${I}async function ${fn}(data: EvaluationData): Promise<Record<string, unknown>> {`);
  body.push(`${I}${I}const metrics: Record<string, unknown> = {};`);
  body.push(`${I}${I}const classes = data.test[0]?.label.shape[1] ?? 0;`);
  body.push(`${I}${I}const forward = (batch: Batch): tf.Tensor[] => {`);
  body.push(`${J}const step = 0; // evaluation draws its random ops as the app does, at step 0`);
  if (data) {
    body.push(`${J}const ${names.get(data.outputs.image)} = batch.image;`);
    body.push(`${J}const ${names.get(data.outputs.label)} = batch.label;`);
  }
  const available = new Map<string, string>();
  if (data) for (const v of [data.outputs.image, data.outputs.label]) available.set(v, names.get(v)!);
  for (const s of proc.steps) {
    if (s.kind !== 'apply' && s.kind !== 'op' && s.kind !== 'parameter') continue;
    body.push(...stepLines(ctx, s, new Map([...available, ...ownNames(s, names)]), false, J));
    for (const [v, n] of ownNames(s, names)) available.set(v, n);
  }
  body.push(`${J}return [${wanted.map((v) => available.get(v)).join(', ')}];`);
  body.push(`${I}${I}};`);
  // Each metric reads its inputs at these positions of what `forward` returns.
  const positions = new Map<Extract<ProgramStep, { kind: 'metric' }>, number[]>();
  let at = 0;
  for (const m of metrics)
    positions.set(
      m,
      m.inputs.map(() => at++),
    );
  const rows = (split: string, m: Extract<ProgramStep, { kind: 'metric' }>) => {
    const [f, y] = positions.get(m)!;
    return `asCollected(${split}[${f}]!${y === undefined ? '' : `, ${split}[${y}]`})`;
  };
  body.push(`${I}${I}const onTest = await collectRows(tf, data.test, forward);`);
  if (needsTrain) body.push(`${I}${I}const onTrain = await collectRows(tf, data.train, forward);`);
  const probe = (m: Extract<ProgramStep, { kind: 'metric' }>, train: string, test: string) =>
    `await linearProbeAccuracy(tf, ${rows(train, m)}, ${rows(test, m)}, classes, { epochs: ${literal(m.config.epochs)}, learningRate: ${literal(m.config.learningRate)}, seed: derivedSeed(seed, ${stringLiteral(`probe:${m.nodeId}`)}) })`;
  for (const m of metrics) {
    const name = stringLiteral(m.name);
    body.push(`${I}${I}// ${lineComment(m.nodeId)}: ${lineComment(m.metric)}`);
    switch (m.metric) {
      case 'Accuracy':
        ctx.helpers.add('accuracyOf');
        body.push(`${I}${I}setMetric(metrics, ${name}, accuracyOf(${rows('onTest', m)}));`);
        break;
      case 'MeanSquaredErrorMetric': {
        ctx.helpers.add('meanSquaredBetween');
        const [a, b] = positions.get(m)!;
        body.push(`${I}${I}setMetric(metrics, ${name}, meanSquaredBetween(onTest[${a}]!, onTest[${b}]!));`);
        break;
      }
      case 'CollapseMonitor':
        ctx.helpers.add('collapseStd');
        body.push(`${I}${I}{`);
        body.push(`${J}const { std, reference } = collapseStd(${rows('onTest', m)});`);
        body.push(`${J}setMetric(metrics, ${name}, std);`);
        body.push(`${J}setMetric(metrics, 'collapseReference', reference);`);
        body.push(`${I}${I}}`);
        break;
      case 'KNearestNeighbours':
        ctx.helpers.add('knnAccuracy');
        body.push(`${I}${I}setMetric(metrics, ${name}, await knnAccuracy(tf, ${rows('onTrain', m)}, ${rows('onTest', m)}, ${literal(m.config.k)}, classes));`);
        break;
      case 'LinearProbe':
        ctx.helpers.add('linearProbeAccuracy').add('derivedSeed');
        body.push(`${I}${I}setMetric(metrics, ${name}, ${probe(m, 'onTrain', 'onTest')});`);
        break;
      case 'FlowLikelihood': {
        ctx.helpers.add('flowLikelihood');
        const [z, logdet, x] = positions.get(m)!;
        body.push(`${I}${I}{`);
        const dimensions = x === undefined ? '' : `, onTest[${x}]!.dim`;
        body.push(`${J}const { nll, bitsPerDim } = flowLikelihood(onTest[${z}]!, onTest[${logdet}]!, ${literal(m.config.levels)}${dimensions});`);
        body.push(`${J}setMetric(metrics, ${name}, nll);`);
        if (m.config.bitsPerDimMetric) body.push(`${J}setMetric(metrics, ${stringLiteral(String(m.config.bitsPerDimMetric))}, bitsPerDim);`);
        else body.push(`${J}void bitsPerDim;`);
        body.push(`${I}${I}}`);
        break;
      }
      case 'GaussianBaseline': {
        ctx.helpers.add('gaussianBaselineNll');
        const [x] = positions.get(m)!;
        body.push(`${I}${I}setMetric(metrics, ${name}, gaussianBaselineNll(onTrain[${x}]!, onTest[${x}]!));`);
        break;
      }
      case 'MeanImageBaseline': {
        ctx.helpers.add('meanImageBaselineMse');
        const [x] = positions.get(m)!;
        body.push(`${I}${I}setMetric(metrics, ${name}, meanImageBaselineMse(onTrain[${x}]!, onTest[${x}]!));`);
        break;
      }
      case 'SuperResolutionScore':
      case 'InpaintingScore':
      case 'ColourisationScore': {
        // Samples the denoiser conditioned on the held-out conditions, as the app's measure does.
        const d = diffusionOf(ctx.program);
        if (!d) throw new Error(`The metric "${m.nodeId}" samples a denoiser, but no training procedure applies a network to Diffuse's x_t.`);
        ctx.helpers.add('conditionalScores').add('derivedSeed').add('setMetric');
        const [target, condition, mask] = positions.get(m)!;
        const model = networkExpr(ctx, d.network, m.config.weights === 'ema' ? 'ema' : 'online');
        const kind = m.metric === 'SuperResolutionScore' ? 'superResolution' : m.metric === 'ColourisationScore' ? 'colourisation' : 'inpainting';
        // Inpainting's mean image and colourisation's colour per pixel are fitted on the training split.
        const train =
          kind === 'inpainting'
            ? `{ target: onTrain[${target}]!.data }`
            : kind === 'colourisation'
              ? `{ target: onTrain[${target}]!.data, condition: onTrain[${condition}]!.data }`
              : 'undefined';
        body.push(`${I}${I}{`);
        body.push(
          `${J}const rows = { target: onTest[${target}]!.data, condition: onTest[${condition}]!.data, ${mask === undefined ? '' : `mask: onTest[${mask}]!.data, `}size: onTest[${target}]!.dim, conditionSize: onTest[${condition}]!.dim };`,
        );
        body.push(
          `${J}const { score, baseline${kind === 'colourisation' ? ', greyCopy' : ''} } = await conditionalScores(tf, ${model}, ${model}.inputs[0]!.shape.slice(1) as number[], ${stringLiteral(kind)}, rows, ${train}, { schedule: ${literal(d.schedule)}, timesteps: ${literal(d.timesteps)}, steps: ${literal(m.config.steps)}, eta: ${literal(m.config.eta ?? 0)}, prediction: ${stringLiteral(d.prediction)}, examples: ${literal(m.config.examples)}, seed: derivedSeed(seed, ${stringLiteral(`sample:${m.nodeId}`)}) });`,
        );
        body.push(`${J}setMetric(metrics, ${name}, score);`);
        body.push(`${J}setMetric(metrics, ${stringLiteral(String(m.config.baselineMetric))}, baseline);`);
        if (kind === 'colourisation' && m.config.greyCopyMetric)
          body.push(`${J}if (greyCopy !== undefined) setMetric(metrics, ${stringLiteral(String(m.config.greyCopyMetric))}, greyCopy);`);
        body.push(`${I}${I}}`);
        break;
      }
      default:
        throw new Error(`The exporter has no metric "${m.metric}" (node "${m.nodeId}").`);
    }
  }
  if (baselines.length) {
    body.push(`${I}${I}// Baselines: the same probe on the networks as they were when the trainer was made.`);
    body.push(`${I}${I}const current = networkList.map((m) => m.getWeights().map((w) => w.clone()));`);
    body.push(`${I}${I}try {`);
    body.push(`${J}networkList.forEach((m, i) => m.setWeights(initial[i]!));`);
    body.push(`${J}const initTest = await collectRows(tf, data.test, forward);`);
    body.push(`${J}const initTrain = await collectRows(tf, data.train, forward);`);
    for (const m of baselines) body.push(`${J}setMetric(metrics, ${stringLiteral(String(m.config.randomInitMetric))}, ${probe(m, 'initTrain', 'initTest')});`);
    body.push(`${I}${I}} finally {`);
    body.push(`${J}networkList.forEach((m, i) => m.setWeights(current[i]!));`);
    body.push(`${J}tf.dispose(current.flat());`);
    body.push(`${I}${I}}`);
  }
  body.push(`${I}${I}return metrics;`);
  body.push(`${I}}`);
  return { fn, body };
}

/** The copied runtime declarations `used` needs, in the generated file's order. */
function helperClosure(used: Iterable<string>): string[] {
  const all = new Set<string>();
  const stack = [...used];
  while (stack.length) {
    const name = stack.pop()!;
    if (all.has(name)) continue;
    const source = PROGRAM_SOURCES[name];
    if (!source) throw new Error(`The exporter uses "${name}", which src/compiler/generated/program-sources.ts does not hold (run npm run gen:program).`);
    all.add(name);
    stack.push(...source.uses);
  }
  return Object.keys(PROGRAM_SOURCES).filter((n) => all.has(n));
}

/** Writes one self-contained, readable TypeScript module for a document with a training program. */
export function emitProgram(program: PlanProgram): string {
  const main = program.networks.find((n) => n.id === MAIN_NETWORK) ?? program.networks[0]!;
  const source = main.plan.source;

  // Blocks: one function per block id across networks (every network lowers a block the same way);
  // a block named like a copied runtime function or a module name is renamed.
  const fixed = new Set([
    ...RESERVED_WORDS,
    ...EMITTER_NAMES,
    ...Object.values(CUSTOM_LAYER_SOURCES).flatMap((l) => l.declares),
    ...Object.values(STOCK_LAYER_REPLACEMENTS).flatMap((l) => l.declares),
    ...Object.keys(PROGRAM_SOURCES),
    ...MODULE_NAMES,
  ]);
  const moduleScope = new Scope(fixed);
  const blocks = new Map<string, PlanBlock>();
  for (const net of program.networks) {
    for (const b of net.plan.blocks) {
      if (blocks.has(b.id)) continue;
      blocks.set(b.id, { ...b, fnName: moduleScope.reserve(b.fnName), typeName: moduleScope.reserve(b.typeName) });
    }
  }
  const networks = new Map<string, NetworkNames>();
  for (const net of program.networks) {
    const factory = net.id === MAIN_NETWORK ? 'createModel' : moduleScope.take(`create ${net.id}`);
    networks.set(net.id, { factory, access: propertyAccess('nets', net.id), dropout: hasDropout(net) });
  }
  const moduleNames = new Set([...fixed, ...[...blocks.values()].flatMap((b) => [b.fnName, b.typeName]), ...[...networks.values()].map((n) => n.factory)]);
  const ctx: Context = { program, networks, helpers: new Set(), moduleNames };

  // Networks.
  const usesFillShape = { value: false };
  const blockSections = [...blocks.values()].map((b) => blockFunction(b, blocks, usesFillShape).join('\n'));
  const networkSections = program.networks.map((net) => {
    const own = new Map(net.plan.blocks.map((b) => [b.id, blocks.get(b.id)!]));
    const about = `Builds the network ${net.id}, "${net.label}"${net.description ? `: ${net.description}` : '.'}`;
    return modelFunction(net.plan, networks.get(net.id)!.factory, docComment(about), own, usesFillShape);
  });
  const layerSources = usedLayerSources(program.networks.map((n) => n.plan));

  // The trainer.
  const trainerScope = new Scope([...moduleNames, ...TRAINER_NAMES]);
  const I = INDENT;
  const setup: string[] = [];
  const functions: string[] = [];
  const members: string[] = [];
  const disposes: string[] = [];
  program.procedures.forEach((proc, index) => {
    if (proc.kind === 'train') {
      const t = trainProcedure(ctx, proc, index, trainerScope);
      setup.push(...t.setup);
      functions.push(t.body.join('\n'));
      members.push(
        `${I}${I}/** ${docComment(`"${proc.label}"`)}: a training procedure. */`,
        `${I}${I}${propertyKey(proc.id)}: { kind: 'train' as const, trainStep: ${t.fn} },`,
      );
      disposes.push(...t.dispose);
    } else {
      const e = evaluateProcedure(ctx, proc, trainerScope);
      functions.push(e.body.join('\n'));
      members.push(
        `${I}${I}/** ${docComment(`"${proc.label}"`)}: an evaluation. */`,
        `${I}${I}${propertyKey(proc.id)}: { kind: 'evaluate' as const, evaluate: ${e.fn} },`,
      );
    }
  });
  const dataStep = program.procedures.flatMap((p) => p.steps).find((s): s is Extract<ProgramStep, { kind: 'data' }> => s.kind === 'data');
  const flow = program.networks.find((n) => n.flow);
  if (flow) ctx.helpers.add('sampleFlow');
  const diffusion = flow ? null : diffusionOf(program);
  if (diffusion) ctx.helpers.add('sampleDiffusion').add('diffusionSchedule');
  const helpers = helperClosure(ctx.helpers);
  const tfTypes = helpers.some((n) => PROGRAM_SOURCES[n]!.tfTypes);

  const networkList = program.networks.map((n) => networks.get(n.id)!.factory);
  const header = [
    `// Generated by Patchbay from the graph "${lineComment(source.name)}" (${source.format}, document version ${source.version}), a training program.`,
    `// It needs only @tensorflow/tfjs: ${networkList.map((f) => `${f}()`).join(', ')} rebuild the networks; createTrainer() trains them`,
    '// step by step as the app does (the same losses, optimizers, moving averages, DirectPred and seeded randomness).',
    `// Trainable params (all networks and learned scalars): ${thousands(program.count.trainable)}. Non-trainable params: ${thousands(program.count.nonTrainable)}.`,
    '',
    "import * as tf from '@tensorflow/tfjs';",
    ...(tfTypes ? ["import type * as tfType from '@tensorflow/tfjs';"] : []),
  ];
  const sections = [header.join('\n')];
  sections.push(...layerSources.map((layer) => layer.source));
  if (usesFillShape.value) sections.push(FILL_SHAPE_HELPER.join('\n'));
  sections.push(...blockSections, ...networkSections);
  sections.push(`// ── Copied from the Patchbay runtime (${[...new Set(helpers.map((n) => PROGRAM_SOURCES[n]!.file))].join(', ')}): the code the app runs. ──`);
  sections.push(...helpers.map((n) => PROGRAM_SOURCES[n]!.source));

  const imageRank = dataStep ? dataStep.shape.length + 1 : 0;
  sections.push(
    [
      '/** Every network of the program, by id. */',
      'export interface Networks {',
      ...program.networks.map((n) => `${I}${propertyKey(n.id)}: tf.LayersModel;`),
      '}',
      '',
      '/** Builds every network with fresh weights. */',
      'export function createNetworks(): Networks {',
      `${I}return { ${program.networks.map((n) => `${propertyKey(n.id)}: ${networks.get(n.id)!.factory}()`).join(', ')} };`,
      '}',
      '',
      `/** A batch as the Data node gives it: images${dataStep ? ` [batch, ${dataStep.shape.join(', ')}]` : ''} and one-hot labels${dataStep ? ` [batch, ${dataStep.classes}]` : ''}. */`,
      'export interface Batch {',
      `${I}image: ${tensorType(imageRank)};`,
      `${I}label: tf.Tensor2D;`,
      '}',
      '',
      '/** What an evaluation reads: the training split (probes and kNN learn there) and the held-out split, in batches. */',
      'export interface EvaluationData {',
      `${I}train: Batch[];`,
      `${I}test: Batch[];`,
      '}',
    ].join('\n'),
  );

  const trainer = [
    '/**',
    " * The program's procedures over `nets`, in document order: each training procedure has a",
    ' * `trainStep(batch, step, totalSteps)` that does one step exactly as the app does, each evaluation an',
    " * `evaluate(data)` (a promise). `seed` is the run's seed: it seeds the augmentations, dropout and probes per step",
    ' * and node, as in the app. Moving-average copies are made from the online weights the first time a',
    ' * step uses them; random-init baselines use the weights `nets` had when the trainer was made.',
    ' * dispose() frees the optimizers, the copies and the learned scalars (not `nets`).',
    ' */',
    'export function createTrainer(nets: Networks = createNetworks(), options: { seed?: number } = {}) {',
    `${I}const seed = options.seed ?? 0;`,
    `${I}const averages = new Map<string, tf.LayersModel>();`,
    `${I}/** The moving-average copy of a network, made from its online weights when first used. */`,
    `${I}function averageOf(network: string, online: tf.LayersModel, create: () => tf.LayersModel): tf.LayersModel {`,
    `${I}${I}let copy = averages.get(network);`,
    `${I}${I}if (!copy) {`,
    `${I}${I}${I}copy = create();`,
    `${I}${I}${I}copy.setWeights(online.getWeights());`,
    `${I}${I}${I}averages.set(network, copy);`,
    `${I}${I}}`,
    `${I}${I}return copy;`,
    `${I}}`,
    `${I}const parameters = new Map<string, tf.Variable>();`,
    `${I}/** A learned scalar (Parameter node), made at its initial value when first used. */`,
    `${I}function parameterOf(id: string, init: number): tf.Variable {`,
    `${I}${I}let v = parameters.get(id);`,
    `${I}${I}if (!v) {`,
    `${I}${I}${I}const start = tf.scalar(init);`,
    `${I}${I}${I}parameters.set(id, (v = tf.variable(start, true)));`,
    `${I}${I}${I}start.dispose();`,
    `${I}${I}}`,
    `${I}${I}return v;`,
    `${I}}`,
    `${I}/** DirectPred's running correlations, by node. */`,
    `${I}const correlations = new Map<string, Float64Array>();`,
    `${I}/** Every network, in the program's order. */`,
    `${I}const networkList: tf.LayersModel[] = [${program.networks.map((n) => networks.get(n.id)!.access).join(', ')}];`,
    `${I}const initial = networkList.map((m) => m.getWeights().map((w) => w.clone()));`,
    ...setup,
    '',
    ...functions.flatMap((f) => [f, '']),
    `${I}return {`,
    `${I}${I}nets,`,
    `${I}${I}/** The moving-average copies made so far, by network id. */`,
    `${I}${I}averages,`,
    `${I}${I}procedures: {`,
    ...members.map((m) => `${I}${m}`),
    `${I}${I}},`,
    `${I}${I}dispose(): void {`,
    ...disposes.map((d) => `${I}${I}${I}${d}`),
    `${I}${I}${I}for (const m of averages.values()) m.dispose();`,
    `${I}${I}${I}for (const v of parameters.values()) v.dispose();`,
    `${I}${I}${I}tf.dispose(initial.flat());`,
    `${I}${I}},`,
    `${I}};`,
    '}',
  ];
  sections.push(trainer.join('\n'));
  if (flow) sections.push(flowSampleFunction(flow, networks.get(flow.id)!));
  if (diffusion) sections.push(diffusionSampleFunction(diffusion, networks.get(diffusion.network)!));
  return `${sections.join('\n\n')}\n`;
}

/** A diffusion program's schedule (its Diffuse node's) and the network applied to that node's x_t. */
function diffusionOf(program: PlanProgram): { network: string; schedule: string; timesteps: number; inputs: number; prediction: 'epsilon' | 'x0' } | null {
  for (const proc of program.procedures) {
    const diffuse = proc.steps.find((s): s is Extract<ProgramStep, { kind: 'op' }> => s.kind === 'op' && s.op === 'Diffuse');
    if (!diffuse) continue;
    // x_t reaches the network directly or through ops (Palette's composite with the known pixels), as runtime/program/denoiser.ts reads it.
    const carries = new Set([diffuse.output]);
    for (const s of proc.steps) if (s.kind === 'op' && !s.loss && s.inputs.some((v) => carries.has(v))) carries.add(s.output);
    const apply = proc.steps.find((s): s is Extract<ProgramStep, { kind: 'apply' }> => s.kind === 'apply' && s.inputs.some((v) => carries.has(v)));
    if (apply)
      return {
        network: apply.network,
        schedule: String(diffuse.config.schedule),
        timesteps: Number(diffuse.config.timesteps),
        inputs: apply.inputs.length,
        prediction: predictionOf(proc, diffuse, apply),
      };
  }
  return null;
}

/** `sample()` of a diffusion program: DDIM or ancestral DDPM from seeded noise, the app's sampler (runtime/program/diffusion.ts). */
function diffusionSampleFunction(
  d: { network: string; schedule: string; timesteps: number; inputs: number; prediction: 'epsilon' | 'x0' },
  names: NetworkNames,
): string {
  const I = INDENT;
  const predicts = d.prediction === 'x0' ? 'x₀ (the clean image) from x_t' : 'the noise ε of x_t';
  // Only an x₀-predicting network says so: ε is sampleDiffusion's default.
  const prediction = d.prediction === 'x0' ? ", prediction: 'x0'" : '';
  if (d.inputs === 3)
    return [
      '/**',
      ` * Draws one image per condition with the network ${docComment(d.network)}, which predicts ${predicts} at timestep t`,
      ` * given a condition image (schedule ${docComment(d.schedule)}, T = ${d.timesteps}): DDIM (η = 0 unless given) over \`steps\` evenly spread`,
      ' * timesteps, one tidy per step. `condition` is [count, …one image’s shape] in [−1, 1], made as the procedures make it',
      ' * (the upsampled low-resolution image, the masked one, or the grey one for colourisation). For inpainting pass `known`: the image (in [−1, 1]) and the',
      ' * mask (1 = fill in); the known pixels are put back every step. Returns [count, …] in [0, 1].',
      ' */',
      'export async function sample(nets: Networks, condition: tf.Tensor, seed = 0, steps = 50, known?: { image: tf.Tensor; mask: tf.Tensor }, eta = 0): Promise<tf.Tensor> {',
      `${I}const model = ${names.access};`,
      `${I}const shape = model.inputs[0]!.shape.slice(1) as number[];`,
      `${I}return sampleDiffusion(tf, model, diffusionSchedule(${literal(d.schedule)}, ${literal(d.timesteps)}), shape, { count: condition.shape[0]!, seed, steps, sampler: 'ddim', eta${prediction}, condition, known });`,
      '}',
    ].join('\n');
  return [
    '/**',
    ` * Draws \`count\` images with the network ${docComment(d.network)}, which predicts ${predicts} at timestep t`,
    ` * (schedule ${docComment(d.schedule)}, T = ${d.timesteps}): DDIM (η = 0 unless given) or ancestral DDPM over \`steps\``,
    ' * evenly spread timesteps, one tidy per step. Pass networks holding the moving-average weights to sample',
    " * with those. Returns [count, …one image's shape] in [0, 1].",
    ' */',
    "export async function sample(nets: Networks, count: number, seed = 0, steps = 50, sampler: 'ddim' | 'ancestral' = 'ddim', eta = 0): Promise<tf.Tensor> {",
    `${I}const model = ${names.access};`,
    `${I}const shape = model.inputs[0]!.shape.slice(1) as number[];`,
    `${I}return sampleDiffusion(tf, model, diffusionSchedule(${literal(d.schedule)}, ${literal(d.timesteps)}), shape, { count, seed, steps, sampler, eta${prediction} });`,
    '}',
  ].join('\n');
}

/** `sample()` of a program with a flow network: the same weights run backwards from a seeded normal z. */
function flowSampleFunction(net: PlanNetwork, names: NetworkNames): string {
  const I = INDENT;
  return [
    '/**',
    ` * Draws \`count\` samples from the flow network ${docComment(net.id)}: z from a standard normal (seeded), run backwards`,
    ' * through the network, each step inverted: the same weights that give the density. Returns [count, …one',
    " * example's shape]: images as the flow models them (dequantised pixels, about [0, 1]), 2-D data as coordinates.",
    ' */',
    'export async function sample(nets: Networks, count: number, seed = 0): Promise<tf.Tensor> {',
    `${I}const zShape = ${names.access}.outputs[0]!.shape.slice(1) as number[];`,
    `${I}return sampleFlow(tf, ${names.access}, count, zShape, seed);`,
    '}',
  ].join('\n');
}
