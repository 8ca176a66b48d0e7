/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs';
import type { Plan } from '../../compiler/plan';
import { BuildError, buildModel } from '../build';
import { probeBackends, selectBackend, type BackendProbe } from '../backends';
import { exampleSize, type Dataset } from '../data/dataset';
import { dataMismatch } from '../data/fit';
import { syntheticDataset } from '../data/synthetic';
import { decodeMnist } from '../data/mnist-binary';
import { mnistFromDigits } from '../data/mnist';
import { fetchMnistFull, MNIST_FULL_FOLDER } from '../data/mnist-full-fetch';
import { evaluate, trainClassifier, type TrainResult } from '../training/train';
import { ProgramRun, runProgram } from '../program/run';
import { flowView, planarFlow } from '../program/flow-view';
import { FlowGrid } from './flow-grid';
import { DiffusionGrid } from './diffusion-grid';
import { answerZeroShot } from '../program/zero-shot';
import { answerAttentionMaps } from '../attention-maps';
import { answerCapsuleView } from '../program/capsule-view';
import { answerGlomIslands } from '../program/glom-view';
import { artifactsOf, loadArtifactsInto } from '../saved-weights';
import type { BackendName, FromWorker, ToWorker, TrainData, WeightArtifacts } from './protocol';
import { profileModel } from '../profile';
import { RefreshSchedule } from '../preview';
import { tfjsTopologyOf } from '../tfjs-topology';
import { weightSpecsOf } from '../plan-weight-specs';
import { activationBatchOf, heldModelOf, PreviewService, programLiveHooks, type HeldModel } from './previews';
import { previewBuffers } from '../preview-data';

/**
 * The one long-lived worker that owns tfjs: it receives plans, builds, trains, streams progress
 * and returns weights. The page never blocks on training, and a crash here cannot lose the graph.
 */
const post = (message: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);

let probe: BackendProbe | undefined;
/** MNIST and the synthetic sets, loaded or generated once per worker. */
const datasets = new Map<string, Promise<Dataset>>();
let model: tf.LayersModel | undefined;
/** The plan `model` was built from, as JSON: previews of the same plan use its weights as they are. */
let modelPlanJson: string | undefined;
/** The data `model` was trained on (its held-out images feed the attention view); none for a model loaded with saved weights. */
let modelData: Dataset | undefined;
/** The last training program run, its data and its graph: its networks answer the zero-shot panel. */
let lastProgram: { run: ProgramRun; ds: Dataset; graph: string | undefined } | undefined;
let paused = false;
/** Whether a backend was chosen (by a run or a load); tfjs's own default would be WebGL even on a software GPU. */
let backendChosen = false;
/** The one 'auto' selection in flight: concurrent requests (previews, load, topology) share it, since a second wasm start would replace the backend under the first one's model. */
let autoSelection: Promise<void> | undefined;

async function ensureAutoBackend(): Promise<void> {
  probe ??= await probeBackends();
  if (backendChosen) return;
  autoSelection ??= selectBackend('auto', probe).then(
    () => {
      backendChosen = true;
    },
    (err: unknown) => {
      autoSelection = undefined;
      throw err;
    },
  );
  await autoSelection;
}
let stopRequested = false;
let resumeWaiters: Array<() => void> = [];
/** Previews on the pinned example (runtime/worker/previews.ts). */
const previews = new PreviewService((data) => datasetFor(data));

/** The program run under way: its networks answer previews with their current weights. */
let runningProgram: ProgramRun | undefined;
/** The graphs (the page's graphKeyOf) `model`, the running program and the last program were trained or loaded for. */
let modelGraph: string | undefined;
let runningProgramGraph: string | undefined;

/**
 * The worker's model of a network, for previews of graph `graph`: the running program's network of
 * that id (its weights as they are now), else the last program run's (its trained weights), else for
 * the main network the classifier's model; only those of that graph (heldModelOf).
 */
function heldFor(network: string, plan: Plan | undefined, graph: string | undefined): HeldModel {
  const program = runningProgram ? { run: runningProgram, graph: runningProgramGraph } : lastProgram;
  return heldModelOf(network, plan, graph, {
    classifier: model ? { model, planJson: modelPlanJson, graph: modelGraph } : undefined,
    program: program ? { networks: program.run.networks, program: program.run.program, graph: program.graph } : undefined,
  });
}
/** An image flow's samples grid (runtime/worker/flow-grid.ts). */
const flowGrid = new FlowGrid(tf, post, () => paused);
/** A diffusion program's samples grid (runtime/worker/diffusion-grid.ts). */
const diffusionGrid = new DiffusionGrid(
  tf,
  post,
  () => paused,
  () => yieldToEvents(),
);

/** Lets queued messages in (a macrotask turn) without setTimeout's clamping. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

async function loadMnist(): Promise<Dataset> {
  const url = new URL(`${import.meta.env.BASE_URL}data/mnist-digits.bin`, self.location.origin);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load the MNIST digits from ${url.pathname} (HTTP ${response.status}).`);
  return mnistFromDigits(decodeMnist(await response.arrayBuffer()));
}

/**
 * MNIST's own 60,000 / 10,000 split, downloaded (11 MB of gzip) when first asked for; how it goes is
 * posted to the page a few times a second, whoever asked (a run, a preview, the data picker).
 */
async function loadMnistFull(): Promise<Dataset> {
  const folder = new URL(`${import.meta.env.BASE_URL}${MNIST_FULL_FOLDER}/`, self.location.origin);
  let lastPost = 0;
  let total: number | null = null;
  try {
    const ds = await fetchMnistFull(folder, (p) => {
      if (p.phase === 'download') total = p.total;
      const now = performance.now();
      if (p.phase === 'download' && now - lastPost < 100 && p.received !== p.total) return;
      lastPost = now;
      post({ type: 'data-download', data: 'mnist-full', download: { status: 'loading', ...p } });
    });
    post({ type: 'data-download', data: 'mnist-full', download: { status: 'ready', trainCount: ds.train.count, testCount: ds.test.count, total } });
    return ds;
  } catch (err) {
    post({ type: 'data-download', data: 'mnist-full', download: { status: 'error', message: err instanceof Error ? err.message : String(err) } });
    throw err;
  }
}

/** The run's data: cached by name, or the page's own (checked, since it crossed a boundary). */
function datasetFor(data: TrainData): Promise<Dataset> {
  if (data === 'mnist-full') {
    // A failed download is forgotten, so that the next use (Try again, Start) downloads again.
    if (!datasets.has(data))
      datasets.set(
        data,
        loadMnistFull().catch((err) => {
          datasets.delete(data);
          throw err;
        }),
      );
    return datasets.get(data)!;
  }
  if (data === 'mnist') {
    if (!datasets.has('mnist'))
      datasets.set(
        'mnist',
        loadMnist().catch((err) => {
          datasets.delete('mnist');
          throw err;
        }),
      );
    return datasets.get('mnist')!;
  }
  if (data.kind === 'synthetic') {
    const key = `synthetic:${data.name}`;
    if (!datasets.has(key))
      datasets.set(
        key,
        Promise.resolve().then(() => syntheticDataset(data.name)),
      );
    return datasets.get(key)!;
  }
  const ds = data.dataset;
  const size = exampleSize(ds);
  for (const [label, split] of [
    ['training', ds.train],
    ['test', ds.test],
  ] as const) {
    if (split.x.length !== split.count * size || split.y.length !== split.count) {
      return Promise.reject(
        new Error(`The ${label} split of "${ds.name}" is inconsistent: ${split.count} examples but ${split.x.length} values for examples of ${size}.`),
      );
    }
  }
  if (ds.train.count === 0) return Promise.reject(new Error(`"${ds.name}" has no training examples.`));
  return Promise.resolve(ds);
}

const saveWeights = (m: tf.LayersModel) => artifactsOf(tf, m);
const loadWeights = (m: tf.LayersModel, weights: WeightArtifacts) => loadArtifactsInto(tf, m, weights);

async function train(message: Extract<ToWorker, { type: 'train' }>): Promise<void> {
  const { runId } = message;
  paused = false;
  stopRequested = false;
  probe ??= await probeBackends();
  const ds = await datasetFor(message.data);
  const mismatch = dataMismatch(message.plan, { title: ds.name, inputShape: ds.inputShape, classes: ds.classNames.length });
  if (mismatch) {
    post({ type: 'error', runId, message: mismatch });
    return;
  }
  // A GPU backend can lack a kernel this model needs, and tfjs does not fall back by itself: when a
  // run fails on WebGPU or WebGL before its first step, it starts again on the next backend.
  const failed = new Map<BackendName, string>();
  let result: TrainResult;
  for (;;) {
    const backend = await selectBackend(message.backend, probe, failed);
    backendChosen = true;
    post({ type: 'backend', runId, name: backend.name, reason: backend.reason });
    model?.dispose();
    model = undefined;
    try {
      model = buildModel(message.plan, { seed: message.setup.seed });
      modelPlanJson = JSON.stringify(message.plan);
      modelGraph = message.graph;
      modelData = ds;
    } catch (err) {
      post({ type: 'error', runId, message: err instanceof Error ? err.message : String(err), nodeId: err instanceof BuildError ? err.nodeId : undefined });
      return;
    }
    if (message.initialWeights) await loadWeights(model, message.initialWeights);
    let steps = 0;
    const trained = model;
    previews.schedule = new RefreshSchedule();
    const activationBatch = activationBatchOf(ds);
    /** The gradients of the step that ends with a refresh, kept by the tap until the refresh reads (and disposes) them. */
    let tapped: Map<string, tf.Tensor> | undefined;
    // Checkpoints cost a copy of the weights and the optimizer's state: at most every 15 s of
    // training, or 10 times as long as the last one took, whichever is longer (plus epoch ends and pauses).
    let lastCheckpoint = performance.now();
    let checkpointCost = 0;
    try {
      result = await trainClassifier(tf, model, ds, message.setup, {
        limit: message.limit,
        resume: message.resume,
        hooks: {
          checkpointDue: () => performance.now() - lastCheckpoint > Math.max(15_000, 10 * checkpointCost),
          onCheckpoint: async (checkpoint) => {
            const began = performance.now();
            const weights = await saveWeights(trained);
            post({ type: 'checkpoint', runId, checkpoint, weights }, [weights.weightData, ...checkpoint.optimizer.map((w) => w.data.buffer as ArrayBuffer)]);
            lastCheckpoint = performance.now();
            checkpointCost = lastCheckpoint - began;
          },
          // Steps that end with a refresh keep the gradients they apply: the histograms show what trained the weights.
          gradientTap: {
            wanted: (step, last) => previews.refreshDue(step, last, trained),
            take: (grads) => {
              if (tapped) tf.dispose([...tapped.values()]);
              tapped = grads;
            },
          },
          onStep: async (report) => {
            steps++;
            previews.weightsChanged();
            post({ type: 'step', runId, report });
            // The pinned example's previews, the weights', gradients' and activations' histograms, within a small share of the run's time.
            const gradients = tapped;
            tapped = undefined;
            const live = await previews.live(message.plan, trained, report.step, { batch: activationBatch, gradients });
            if (live) post({ type: 'preview-live', runId, step: report.step, ...live }, previewBuffers(live.answer.previews));
          },
          onEpoch: (report) => post({ type: 'epoch', runId, report }),
          shouldStop: () => stopRequested,
          // Yield to the event loop first: on wasm/cpu a step resolves through microtasks only, so without
          // this the worker would never read 'pause' or 'stop' until the whole run had ended.
          waitWhilePaused: async (checkpoint) => {
            await yieldToEvents();
            if (!paused) return;
            // A paused run is one the person may walk away from: keep where it stands.
            await checkpoint();
            if (paused) await new Promise<void>((resolve) => resumeWaiters.push(resolve));
          },
        },
      });
      break;
    } catch (err) {
      if (steps > 0 || (backend.name !== 'webgpu' && backend.name !== 'webgl')) throw err;
      failed.set(backend.name, err instanceof Error ? err.message : String(err));
    } finally {
      // A step that failed after its gradients were kept (a NaN loss ends the run before onStep).
      if (tapped) tf.dispose([...tapped.values()]);
      tapped = undefined;
    }
  }
  const weights = result.final ? await saveWeights(model) : null;
  post({ type: 'done', runId, result, weights }, weights ? [weights.weightData] : []);
}

/**
 * Runs a training program with the same interpreter as the command line. Steps are reported as
 * they come; between steps the worker reads its messages, so Pause and Stop act at the next step.
 */
async function trainProgram(message: Extract<ToWorker, { type: 'train-program' }>): Promise<void> {
  const { runId } = message;
  paused = false;
  stopRequested = false;
  probe ??= await probeBackends();
  const ds = await datasetFor(message.data);
  const backend = await selectBackend(message.backend, probe);
  backendChosen = true;
  post({ type: 'backend', runId, name: backend.name, reason: backend.reason });
  const run = new ProgramRun(tf, message.program, message.seed);
  runningProgram = run;
  runningProgramGraph = message.graph;
  // A flow on 2-D points shows its density and samples as it trains (editor/train/FlowDensity.tsx).
  const flow = planarFlow(message.program);
  const drawFlow = async (step: number) => {
    if (flow) post({ type: 'flow-view', runId, view: await flowView(tf, run.networks.get(flow)!.model, ds, { step, seed: message.seed }) });
  };
  diffusionGrid.begin(runId, message.program, run, message.seed, message.sampling);
  flowGrid.begin(runId, message.program, run, message.seed, message.flowTemperature);
  // Live previews of the network on show (runtime/worker/previews.ts), within the same share of the run's time as a classifier's.
  const live = programLiveHooks(previews, run, ds, (step, refresh) =>
    post({ type: 'preview-live', runId, step, ...refresh }, previewBuffers(refresh.answer.previews)),
  );
  try {
    for (const [network, weights] of Object.entries(message.initialWeights ?? {})) await run.loadNetwork(network, weights);
    const result = await runProgram(tf, run, ds, {
      seed: message.seed,
      batchSize: message.batchSize,
      epochs: message.epochs,
      limit: message.limit,
      skipProcedures: new Set(message.skipProcedures ?? []),
      shouldStop: () => stopRequested,
      onProcedure: (procedure, index) => {
        live.onProcedure();
        post({ type: 'program-procedure', runId, procedure: procedure.id, index });
      },
      onEvaluating: async (progress) => {
        post({ type: 'program-evaluating', runId, progress });
        await yieldToEvents();
      },
      gradientTap: live.gradientTap,
      onStep: async (report) => {
        post({ type: 'program-step', runId, report });
        await live.afterStep(report.step);
        if (report.step % 20 === 0 || report.step === report.totalSteps) await drawFlow(report.step);
        await diffusionGrid.afterStep(report);
        await flowGrid.afterStep(report);
        // On wasm/cpu a step resolves through microtasks only: without this, 'pause' and 'stop' would wait for the end.
        await yieldToEvents();
        if (paused && !stopRequested) await new Promise<void>((resolve) => resumeWaiters.push(resolve));
      },
    });
    if (result.status !== 'failed') await drawFlow(result.procedures[0]?.steps ?? 0);
    const weights: Record<string, WeightArtifacts> | null = result.status === 'failed' ? null : {};
    if (weights) for (const [id, state] of run.networks) weights[id] = await saveWeights(state.model);
    post({ type: 'program-done', runId, result, weights }, weights ? Object.values(weights).map((w) => w.weightData) : []);
  } finally {
    live.dispose();
    runningProgram = undefined;
    diffusionGrid.end();
    flowGrid.end();
    // Kept, with its data, for questions about the trained networks (the zero-shot panel) until the next program run.
    lastProgram?.run.dispose();
    lastProgram = { run, ds, graph: message.graph };
  }
}

/** Zero-shot classification with the last program run's networks. */
async function zeroShot(message: Extract<ToWorker, { type: 'zero-shot' }>): Promise<void> {
  if (!lastProgram) {
    post({ type: 'zero-shot-result', requestId: message.requestId, error: 'Train the program first: there are no trained networks yet.' });
    return;
  }
  const models = new Map([...lastProgram.run.networks].map(([id, state]) => [id, state.model]));
  const answer = await answerZeroShot(tf, models, lastProgram.ds, message.request);
  post({ type: 'zero-shot-result', requestId: message.requestId, answer }, [answer.images.buffer as ArrayBuffer]);
}

/** The class token's attention maps: of the classifier's model (held-out images of its run's data), or of a network of the last program run. */
async function attentionMaps(message: Extract<ToWorker, { type: 'attention-maps' }>): Promise<void> {
  const { request } = message;
  const networkName = request.network;
  let target: tf.LayersModel;
  let ds: Dataset | null;
  if (networkName !== undefined) {
    if (!lastProgram) throw new Error('Train the program first: there are no trained networks yet.');
    const network = lastProgram.run.networks.get(networkName);
    if (!network) throw new Error(`The trained program has no network "${networkName}".`);
    target = network.model;
    ds = lastProgram.ds;
  } else {
    if (!model) throw new Error('Train the model first: there are no weights yet.');
    target = model;
    ds = modelData ?? (message.data ? await datasetFor(message.data) : null);
  }
  const answer = await answerAttentionMaps(tf, target, ds, request, networkName === undefined);
  const buffers = [answer.images.buffer, ...answer.layers.flatMap((l) => [l.patches.buffer, l.self.buffer])] as ArrayBuffer[];
  post({ type: 'attention-maps-result', requestId: message.requestId, answer }, buffers);
}

async function predict(message: Extract<ToWorker, { type: 'predict' }>): Promise<void> {
  if (!model) {
    post({ type: 'prediction', requestId: message.requestId, probabilities: null, error: 'Train the model first: there are no weights yet.' });
    return;
  }
  const input = model.inputs[0]!;
  const shape = [1, ...(input.shape.slice(1) as number[])];
  // data(), not dataSync(): webgpu cannot read a model's output synchronously (see evaluate).
  const output = tf.tidy(() => model!.predict(tf.tensor(message.pixels, shape)) as tf.Tensor);
  const probabilities = Array.from(await output.data());
  output.dispose();
  post({ type: 'prediction', requestId: message.requestId, probabilities });
}

/** A model for predictions only: built from the plan, with saved weights, on the best backend. */
async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  await ensureAutoBackend();
  const next = buildModel(message.plan);
  try {
    await loadWeights(next, message.weights);
  } catch (err) {
    next.dispose();
    throw err;
  }
  model?.dispose();
  model = next;
  modelPlanJson = JSON.stringify(message.plan);
  modelGraph = message.graph;
  modelData = undefined;
  post({ type: 'loaded', requestId: message.requestId });
}

/** The loaded model's loss, accuracy and confusion on the test split of named data (imported weights get a score). */
async function evaluateLoaded(message: Extract<ToWorker, { type: 'evaluate' }>): Promise<void> {
  if (!model) throw new Error('No weights are loaded.');
  const ds = await datasetFor(message.data);
  const mismatch = dataMismatch(message.plan, { title: ds.name, inputShape: ds.inputShape, classes: ds.classNames.length });
  if (mismatch) throw new Error(mismatch);
  post({ type: 'evaluated', requestId: message.requestId, result: await evaluate(tf, model, ds, ds.test) });
}

/** tfjs's topology JSON of a plan's model, built on the backend runs use (a fresh build, disposed at once). */
async function topology(message: Extract<ToWorker, { type: 'topology' }>): Promise<void> {
  await ensureAutoBackend();
  post({ type: 'topology-result', requestId: message.requestId, topology: tfjsTopologyOf(message.plan) });
}

/** Profile on the backend runs use (chosen now if none is yet), on a fresh build so a trained model is untouched. */
async function profile(message: Extract<ToWorker, { type: 'profile' }>): Promise<void> {
  await ensureAutoBackend();
  const fresh = buildModel(message.plan, { seed: 0 });
  try {
    let last = 0;
    const result = await profileModel(fresh, message.plan, {
      batchSize: message.batchSize,
      passes: message.passes,
      onProgress: (done, total) => {
        // A few updates a second are plenty.
        if (performance.now() - last < 250 && done < total) return;
        last = performance.now();
        post({ type: 'profile-progress', requestId: message.requestId, done, total });
      },
    });
    post({ type: 'profiled', requestId: message.requestId, result });
  } finally {
    fresh.dispose();
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  const fail = (err: unknown) =>
    post({
      type: 'error',
      runId: 'runId' in message ? (message as { runId: string }).runId : undefined,
      message: err instanceof Error ? err.message : String(err),
    });
  switch (message.type) {
    case 'train':
      train(message).catch(fail);
      break;
    case 'train-program':
      trainProgram(message).catch(fail);
      break;
    case 'diffusion-samples':
      // Answers with its own message (never 'error', which would end the run under way).
      void diffusionGrid.request(message.runId, message.settings);
      break;
    case 'flow-samples':
      // Answers with its own message, like the diffusion grid's.
      void flowGrid.request(message.runId, message.temperature);
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume':
      paused = false;
      for (const resolve of resumeWaiters) resolve();
      resumeWaiters = [];
      break;
    case 'stop':
      stopRequested = true;
      paused = false;
      for (const resolve of resumeWaiters) resolve();
      resumeWaiters = [];
      break;
    case 'predict':
      predict(message).catch((err) =>
        post({ type: 'prediction', requestId: message.requestId, probabilities: null, error: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'load':
      load(message).catch((err) => post({ type: 'loaded', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'profile':
      profile(message).catch((err) => post({ type: 'profiled', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'evaluate':
      evaluateLoaded(message).catch((err) =>
        post({ type: 'evaluated', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'topology':
      topology(message).catch((err) =>
        post({ type: 'topology-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'weight-specs':
      (async () => {
        await ensureAutoBackend();
        const specs = Object.fromEntries(Object.entries(message.plans).map(([key, plan]) => [key, weightSpecsOf(plan)]));
        post({ type: 'weight-specs-result', requestId: message.requestId, specs });
      })().catch((err) => post({ type: 'weight-specs-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'capsule-view':
      (async () => {
        if (!lastProgram) throw new Error('Train the program first: there are no trained networks yet.');
        const models = new Map([...lastProgram.run.networks].map(([id, state]) => [id, state.model]));
        const answer = await answerCapsuleView(tf, models, lastProgram.ds, message.request);
        const buffers = [answer.images.buffer, answer.reconstructions.buffer, answer.tweaks.buffer] as ArrayBuffer[];
        post({ type: 'capsule-view-result', requestId: message.requestId, answer }, buffers);
      })().catch((err) => post({ type: 'capsule-view-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'glom-islands':
      (async () => {
        if (!lastProgram) throw new Error('Train the program first: there are no trained networks yet.');
        const models = new Map([...lastProgram.run.networks].map(([id, state]) => [id, state.model]));
        const answer = await answerGlomIslands(tf, models, lastProgram.ds, message.request);
        post({ type: 'glom-islands-result', requestId: message.requestId, answer }, [
          answer.images.buffer,
          answer.reconstructions.buffer,
          answer.similarities.buffer,
        ] as ArrayBuffer[]);
      })().catch((err) => post({ type: 'glom-islands-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'conditional-examples':
      (async () => {
        if (!lastProgram) throw new Error('Train the program first: there are no trained networks yet.');
        const answer = await lastProgram.run.conditionalExamples(lastProgram.ds, message.count, { seed: 0, steps: message.steps });
        post({ type: 'conditional-examples-result', requestId: message.requestId, answer }, [
          answer.input.buffer,
          answer.output.buffer,
          answer.target.buffer,
        ] as ArrayBuffer[]);
      })().catch((err) => post({ type: 'conditional-examples-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'attention-maps':
      attentionMaps(message).catch((err) =>
        post({ type: 'attention-maps-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'zero-shot':
      zeroShot(message).catch((err) =>
        post({ type: 'zero-shot-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'preview':
      (async () => {
        // The shared selection: a second wasm start of its own replaced the backend under a load's
        // model (imported weights then failed to score with "reading 'HEAPU8'").
        await ensureAutoBackend();
        const network = message.network ?? 'model';
        const { graph } = message;
        const { answer, example, label } = await previews.answer(message.plan, message.seed, message.sample, heldFor(network, message.plan, graph), {
          network,
          feed: message.feed,
          inside: message.inside,
          heldOf: (other) => heldFor(other, undefined, graph),
        });
        post({ type: 'preview-result', requestId: message.requestId, answer, example, label }, [
          ...previewBuffers(answer.previews),
          ...(example ? [example.buffer as ArrayBuffer] : []),
        ]);
      })().catch((err) => post({ type: 'preview-result', requestId: message.requestId, error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'load-data':
      // Said with 'data-download' messages as it goes (the error too); said again when it was already here.
      datasetFor(message.data).then(
        (ds) =>
          post({ type: 'data-download', data: 'mnist-full', download: { status: 'ready', trainCount: ds.train.count, testCount: ds.test.count, total: null } }),
        () => undefined,
      );
      break;
    case 'probe':
      probeBackends().then((p) => {
        probe = p;
        post({ type: 'backends', available: p.available, software: p.software, reason: p.reason });
      }, fail);
      break;
  }
};
