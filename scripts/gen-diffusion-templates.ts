/**
 * Writes the diffusion templates (templates/ddpm.json) from the builder below. Run
 * `npx tsx scripts/gen-diffusion-templates.ts` after changing it; test/diffusion.test.ts fails while
 * the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENT_FORMAT, DOCUMENT_VERSION, type GraphDocument, type ProcedureDef } from '../src/document/schema';
import { graphBuilder, type GraphBuilder } from '../templates/program-builder';

const ROOT = join(import.meta.dirname, '..');

function procedure(id: string, label: string, kind: 'train' | 'evaluate', build: (g: GraphBuilder) => void): ProcedureDef {
  const g = graphBuilder();
  build(g);
  return { id, label, kind, nodes: g.nodes, edges: g.edges };
}

/** The MNIST preset's schedule: T = 1000 cosine (improved DDPM), which a 50-step DDIM sampler walks quickly. */
const SCHEDULE = { schedule: 'cosine', timesteps: 1000 };

/**
 * The MNIST preset's run: a few hundred Adam steps is all a CPU gives in ~15 minutes, so a high peak
 * rate (clipped at norm 1, cosine to zero) learns digit shapes in far fewer steps than DDPM's 2e-4.
 */
const LEARNING_RATE = 4e-3;
/** Epochs of the 8,000 training digits at batch 32 (250 steps each). */
const EPOCHS = 6;
/**
 * The mnist preset predicts x₀: in a PyTorch stand-in of this exact network (2,250 steps, DDIM 50,
 * η = 1, KID in the ConvMixer scorer's features; real digits 0.0075), x₀ gave 0.011 and clearly
 * drawn digits, ε gave 1.20 and blobs (Patchbay's own ε run agreed: 1.21). An ε error is multiplied
 * by √((1 − ᾱ)/ᾱ) in x̂₀, which a small network trained for minutes cannot afford.
 */
const PREDICT_MNIST = 'x0';
/** What `patchbay train ddpm --data mnist` and `patchbay sample` measured with these defaults. */
const DDPM_MEASURED =
  'Measured: `patchbay train ddpm --data mnist` ran its 1,500 steps in 13 minutes (one thread, a busy machine); 64 samples of `patchbay sample` (DDIM 50, η = 1) are clearly digits of every class, KID 0.025 in the ConvMixer scorer’s features (real digits 0.0075; predicting ε for 2,250 steps: 1.21).';

/**
 * x₀ in [−1, 1], a timestep and ε per example, x_t by the forward process: what both procedures
 * start from. Returns the node ids of ε, t and x_t.
 */
function noisedBatch(g: GraphBuilder): { x0: string; noise: string; t: string; xt: string } {
  const data = g.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
  const x0 = g.add('x0', 'ScaleShift', { scale: 2, shift: -1 }, [[data, 'image']]);
  const t = g.add('timestep', 'DiffusionTimestep', { timesteps: SCHEDULE.timesteps }, [[x0]]);
  const noise = g.add('noise', 'DiffusionNoise', {}, [[x0]]);
  const xt = g.add('diffuse', 'Diffuse', SCHEDULE, [
    [x0, 'out', 'x0'],
    [noise, 'out', 'noise'],
    [t, 'out', 't'],
  ]);
  return { x0, noise, t, xt };
}

const apply = (g: GraphBuilder, id: string, weights: Record<string, unknown>, b: { t: string; xt: string }) =>
  g.add(id, 'Network', { network: 'model', ...weights }, [
    [b.xt, 'out', 'image'],
    [b.t, 'out', 'timestep'],
  ]);

/**
 * What the loss compares the network's output with: ε as DDPM (the template's own value, and the
 * cifar10 preset's), x₀ in the mnist preset (PREDICT_MNIST).
 */
const predictionTarget = (g: GraphBuilder, b: { x0: string; noise: string }) =>
  g.add('target', 'DiffusionTarget', { predict: 'epsilon' }, [
    [b.x0, 'out', 'x0'],
    [b.noise, 'out', 'noise'],
  ]);

export function ddpm(): GraphDocument {
  const g = graphBuilder();
  const image = g.add('image', 'Input', { shape: [28, 28, 1] });
  const timestep = g.add('timestep', 'Input', { shape: [1] });
  const embedding = g.add('embedding', 'TimestepEmbedding', { dim: 32 }, [[timestep]]);
  // Pixel unshuffle: each 2×2 patch becomes 4 channels, so the UNet runs at 14×14 (a quarter of the
  // positions: what makes a run of minutes on a CPU possible); the same reshape backwards at the end.
  const split = g.add('unshuffle', 'Reshape', { targetShape: [14, 2, 14, 2, 1] }, [[image]]);
  const patches = g.add('patchAxes', 'Permute', { dims: [1, 3, 2, 4, 5] }, [[split]]);
  const packed = g.add('packed', 'Reshape', { targetShape: [14, 14, 4] }, [[patches]]);
  const unet = g.add(
    'unet',
    'UNet',
    // Channels 16-32 and attention only in the middle: in WASM a step of the 32-64 UNet with attention
    // at 7×7 took ~2.5× as long, and a 15-minute run needs hundreds of steps more than quality per step.
    { channels: 16, channelMult: [1, 2], resBlocks: 1, attentionResolutions: [], outChannels: 4, dropout: 0, groups: 8, heads: 1, scaleShift: true },
    [
      [packed, 'out', 'in'],
      [embedding, 'out', 'emb'],
    ],
  );
  const unpacked = g.add('unpacked', 'Reshape', { targetShape: [14, 14, 2, 2, 1] }, [[unet]]);
  const pixelAxes = g.add('pixelAxes', 'Permute', { dims: [1, 3, 2, 4, 5] }, [[unpacked]]);
  const shuffle = g.add('shuffle', 'Reshape', { targetShape: [28, 28, 1] }, [[pixelAxes]]);
  g.add('denoised', 'Output', {}, [[shuffle]]);
  return {
    format: DOCUMENT_FORMAT,
    version: DOCUMENT_VERSION,
    nodeTypes: {},
    blocks: [],
    name: 'DDPM',
    nodes: g.nodes,
    edges: g.edges,
    networks: [],
    program: {
      mainNetwork: {
        label: 'Denoiser',
        description:
          'The UNet that predicts, from x_t and t, what the Prediction target node says: the noise ε (DDPM) or the clean image x₀; its moving average samples.',
      },
      procedures: [
        procedure('train', 'Denoising training', 'train', (p) => {
          const b = noisedBatch(p);
          const predicted = apply(p, 'unet', {}, b);
          const loss = p.add('loss', 'MeanSquaredError', {}, [
            [predicted, 'denoised', 'a'],
            [predictionTarget(p, b), 'out', 'b'],
          ]);
          p.add('minimize', 'Minimize', { optimizer: 'adam', learningRate: LEARNING_RATE, schedule: 'cosine', warmupSteps: 0, clipNorm: 1 }, [
            [loss, 'loss', 'loss'],
          ]);
          // The moving-average copy the sampler uses (DDPM: 0.9999 over 800k steps; a run of a few hundred steps needs a short memory).
          apply(p, 'ema', { weights: 'ema', decay: 0.99, decaySchedule: 'constant' }, b);
        }),
        procedure('evaluate', 'Held-out loss', 'evaluate', (p) => {
          const b = noisedBatch(p);
          const predicted = apply(p, 'ema', { weights: 'ema', decay: 0.99, decaySchedule: 'constant' }, b);
          p.add('testLoss', 'MeanSquaredErrorMetric', { metric: 'testLoss' }, [
            [predicted, 'denoised', 'a'],
            [predictionTarget(p, b), 'out', 'b'],
          ]);
        }),
      ],
    },
    training: {
      optimizer: 'adam',
      learningRate: LEARNING_RATE,
      schedule: 'cosine',
      warmupSteps: 0,
      weightDecay: 0,
      momentum: 0.9,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      batchSize: 32,
      epochs: EPOCHS,
      seed: 0,
    },
    meta: {
      template: {
        id: 'ddpm',
        title: 'DDPM',
        description:
          'Denoising diffusion (Ho et al.): a UNet learns to predict the noise added to an image at a random timestep; sampling runs the process backwards (ancestral DDPM or DDIM).',
        paper: 'arXiv:2006.11239',
        defaultPreset: 'mnist',
      },
      presets: [
        {
          name: 'mnist',
          description: `A small UNet on MNIST digits: 2×2 pixel unshuffle to 14×14×4, channels 16-32 (14→7), no attention, AdaGN; predicts x₀ (DDPM predicts ε: set the Prediction target nodes to ε to train as the paper); cosine schedule T = 1000, Adam ${LEARNING_RATE.toExponential()} (cosine to 0, clipped at norm 1), EMA 0.99, batch 32, ${EPOCHS} epochs. ${DDPM_MEASURED}`,
          set: { 'train/target': { predict: PREDICT_MNIST }, 'evaluate/target': { predict: PREDICT_MNIST } },
        },
        {
          name: 'cifar10',
          description:
            'The DDPM CIFAR-10 UNet exactly (ch 128, multipliers 1-2-2-2, 2 residual blocks, attention at 16×16, dropout 0.1; 35,746,307 parameters), linear schedule T = 1000, Adam 2e-4, EMA 0.9999. Inspect and export it; training it needs CIFAR-10 and a GPU.',
          set: {
            image: { shape: [32, 32, 3] },
            // No unshuffle: 1×1 patches leave the image as it is.
            unshuffle: { targetShape: [32, 1, 32, 1, 3] },
            packed: { targetShape: [32, 32, 3] },
            unpacked: { targetShape: [32, 32, 1, 1, 3] },
            shuffle: { targetShape: [32, 32, 3] },
            embedding: { dim: 128 },
            unet: {
              channels: 128,
              channelMult: [1, 2, 2, 2],
              resBlocks: 2,
              attentionResolutions: [16],
              outChannels: 3,
              dropout: 0.1,
              groups: 32,
              scaleShift: false,
            },
            'train/data': { shape: [32, 32, 3] },
            'train/timestep': { timesteps: 1000 },
            'train/diffuse': { schedule: 'linear', timesteps: 1000 },
            'train/minimize': { learningRate: 2e-4, schedule: 'warmup-cosine', warmupSteps: 5000 },
            'train/ema': { decay: 0.9999 },
            'train/x0': { scale: 2, shift: -1 },
            'evaluate/data': { shape: [32, 32, 3] },
            'evaluate/timestep': { timesteps: 1000 },
            'evaluate/diffuse': { schedule: 'linear', timesteps: 1000 },
            'evaluate/ema': { decay: 0.9999 },
          },
        },
      ],
    },
  };
}

/**
 * The conditional denoiser of SR3 and Palette: x̂₀ = UNet(concat(condition, x_t), t), the condition
 * (the upsampled low-resolution image, or the masked one) joined to x_t on channels. A 2×2 pixel
 * unshuffle takes the 2-channel 28×28 input to 14×14×8 and a small UNet (16-32 channels, 14 → 7,
 * attention only in the middle) runs there: measured ~2 s per training step of 32 on this machine's 2 loaded
 * cores (WASM, load average ~9).
 *
 * It predicts x₀, not ε as the papers do: with ε a network this small, trained a few hundred steps,
 * gives x̂₀ = (x_t − √(1 − ᾱ)·ε̂)/√ᾱ whose error is its ε error times √((1 − ᾱ)/ᾱ) (10⁴ at t = T on the
 * cosine schedule), and its samples came out speckled: 11.1 dB against bicubic's 14.7 after 750 steps
 * (and 12.2 dB after 250 in the PyTorch stand-in, scripts/conditional-diffusion-torch.py, where the same
 * network predicting x₀ gave 18.5 dB). The loss against x₀ is what tells the samplers (denoiser.ts).
 */
function conditionalDenoiser(g: GraphBuilder): void {
  const image = g.add('image', 'Input', { shape: [28, 28, 1] });
  const timestep = g.add('timestep', 'Input', { shape: [1] });
  const condition = g.add('condition', 'Input', { shape: [28, 28, 1] });
  const embedding = g.add('embedding', 'TimestepEmbedding', { dim: 32 }, [[timestep]]);
  const joined = g.add('joined', 'Concatenate', { axis: -1 }, [
    [condition, 'out', 'inputs'],
    [image, 'out', 'inputs'],
  ]);
  const split = g.add('unshuffle', 'Reshape', { targetShape: [14, 2, 14, 2, 2] }, [[joined]]);
  const patches = g.add('patchAxes', 'Permute', { dims: [1, 3, 2, 4, 5] }, [[split]]);
  const packed = g.add('packed', 'Reshape', { targetShape: [14, 14, 8] }, [[patches]]);
  const unet = g.add(
    'unet',
    'UNet',
    { channels: 16, channelMult: [1, 2], resBlocks: 1, attentionResolutions: [], outChannels: 4, dropout: 0, groups: 8, heads: 1, scaleShift: true },
    [
      [packed, 'out', 'in'],
      [embedding, 'out', 'emb'],
    ],
  );
  const unpacked = g.add('unpacked', 'Reshape', { targetShape: [14, 14, 2, 2, 1] }, [[unet]]);
  const pixelAxes = g.add('pixelAxes', 'Permute', { dims: [1, 3, 2, 4, 5] }, [[unpacked]]);
  const shuffle = g.add('shuffle', 'Reshape', { targetShape: [28, 28, 1] }, [[pixelAxes]]);
  g.add('denoised', 'Output', {}, [[shuffle]]);
}

const applyConditioned = (g: GraphBuilder, id: string, weights: Record<string, unknown>, xt: string, t: string, condition: string) =>
  g.add(id, 'Network', { network: 'model', ...weights }, [
    [xt, 'out', 'image'],
    [t, 'out', 'timestep'],
    [condition, 'out', 'condition'],
  ]);

/**
 * A short memory: the copy starts from the random initialisation, and 0.995 over a few hundred steps
 * kept enough of it to sample worse than the online weights (in the PyTorch stand-in at 250 steps:
 * 4.5 dB against 7.5 dB); 0.99 is DDPM mnist's.
 */
const EMA = { weights: 'ema', decay: 0.99, decaySchedule: 'constant' };
/** DDPM mnist's peak rate: 2e-3 reached a higher loss in the same steps (PyTorch stand-in, 250 steps: ε-loss 0.146 against 0.115). */
const CONDITIONAL_LEARNING_RATE = 4e-3;
const CONDITIONAL_OPTIMIZER = { optimizer: 'adam', learningRate: CONDITIONAL_LEARNING_RATE, schedule: 'cosine', warmupSteps: 0, clipNorm: 1 };
/** The measures' sampler: 50 DDIM steps with η = 1 (fresh noise each step), a little better than η = 0 for both. */
const MEASURE_SAMPLING = { steps: 50, eta: 1, examples: 200 };
const SR3_EPOCHS = 2;
const PALETTE_EPOCHS = 2;
/** Palette's square: 10×10 of the 28×28 digit (at 14×14, half of each side, the digit's missing half is a guess, and a sample's error is about twice the posterior's spread). */
const PALETTE_SQUARE = 10;
/** What `patchbay train sr3 --data mnist --json` and `… palette …` gave with these defaults (the presets' descriptions say it). */
const SR3_MEASURED =
  'Measured with these defaults (patchbay train sr3 --data mnist --json, WASM, 1 thread, load average ~6): psnr 19.51 dB against bicubicPsnr 14.69 dB, 500 steps in 440 s and the measure in 94 s; with seed 1, 19.24 dB.';
const PALETTE_MEASURED =
  'Measured with these defaults (patchbay train palette --data mnist --json, WASM, 1 thread, load average ~3 to 7): maskedMse 0.0856 against meanFillMse 0.1124, 500 steps in 155 s and the measure in 28 s; with seed 1, 0.0918 against 0.1142.';

function conditionalDocument(
  name: string,
  mainLabel: string,
  procedures: ProcedureDef[],
  template: Record<string, unknown>,
  presets: unknown[],
  epochs: number,
): GraphDocument {
  const g = graphBuilder();
  conditionalDenoiser(g);
  return {
    format: DOCUMENT_FORMAT,
    version: DOCUMENT_VERSION,
    nodeTypes: {},
    blocks: [],
    name,
    nodes: g.nodes,
    edges: g.edges,
    networks: [],
    program: { mainNetwork: { label: 'Denoiser', description: mainLabel }, procedures },
    training: {
      optimizer: 'adam',
      learningRate: CONDITIONAL_LEARNING_RATE,
      schedule: 'cosine',
      warmupSteps: 0,
      weightDecay: 0,
      momentum: 0.9,
      loss: 'categoricalCrossentropy',
      metrics: ['accuracy'],
      batchSize: 32,
      epochs,
      seed: 0,
    },
    meta: { template: template as never, presets: presets as never },
  };
}

/** SR3 (Saharia et al. 2021), here predicting x₀ (the paper: ε), with the bicubic-upsampled 7×7 digit beside x_t; PSNR against that upsampling. */
export function sr3(): GraphDocument {
  const lowResBatch = (p: GraphBuilder) => {
    const b = noisedBatch(p);
    const low = p.add('lowResolution', 'LowResolution', { factor: 4, upsample: 'bicubic' }, [['x0']]);
    return { ...b, low };
  };
  return conditionalDocument(
    'SR3',
    'The UNet that predicts the clean image x₀ from x_t, t and the upsampled low-resolution image; its moving average samples.',
    [
      procedure('train', 'Super-resolution training (x₀ loss)', 'train', (p) => {
        const b = lowResBatch(p);
        const predicted = applyConditioned(p, 'unet', {}, b.xt, b.t, b.low);
        const loss = p.add('loss', 'MeanSquaredError', {}, [
          [predicted, 'denoised', 'a'],
          ['x0', 'out', 'b'],
        ]);
        p.add('minimize', 'Minimize', CONDITIONAL_OPTIMIZER, [[loss, 'loss', 'loss']]);
        applyConditioned(p, 'ema', EMA, b.xt, b.t, b.low);
      }),
      procedure('evaluate', 'Held-out loss and PSNR', 'evaluate', (p) => {
        const b = lowResBatch(p);
        const predicted = applyConditioned(p, 'ema', EMA, b.xt, b.t, b.low);
        p.add('testLoss', 'MeanSquaredErrorMetric', { metric: 'testLoss' }, [
          [predicted, 'denoised', 'a'],
          ['x0', 'out', 'b'],
        ]);
        p.add('psnr', 'SuperResolutionScore', { metric: 'psnr', baselineMetric: 'bicubicPsnr', weights: 'ema', ...MEASURE_SAMPLING }, [
          ['x0', 'out', 'target'],
          [b.low, 'out', 'condition'],
        ]);
      }),
    ],
    {
      id: 'sr3',
      title: 'SR3',
      description:
        'Super-resolution by repeated refinement (Saharia et al.): a diffusion UNet denoises the full-size image given the low-resolution one, upsampled and concatenated to x_t on channels (predicting x₀ where the paper predicts ε, which a small network trained for minutes does far better). Measured by PSNR against the bicubic upsampling itself.',
      paper: 'arXiv:2104.07636',
      defaultPreset: 'mnist',
    },
    [
      {
        name: 'mnist',
        description: `MNIST 7×7 → 28×28: averaged down by 4, bicubic back up; 2×2 pixel unshuffle of (condition, x_t) to 14×14×8, a 16-32 UNet (14→7, AdaGN, no attention) predicting x₀; cosine T = 1000, Adam ${CONDITIONAL_LEARNING_RATE.toExponential()}, EMA ${EMA.decay}, batch 32, ${SR3_EPOCHS} epochs; PSNR of ${MEASURE_SAMPLING.steps}-step DDIM samples (η = ${MEASURE_SAMPLING.eta}) on ${MEASURE_SAMPLING.examples} held-out digits. ${SR3_MEASURED}`,
        set: {},
      },
    ],
    SR3_EPOCHS,
  );
}

/**
 * Palette's colourisation: a colour digit made from each MNIST digit by its class (Colour by class:
 * the stroke in the class's hue, every hue of the same luma), the network given its grey image
 * (Luminance of x₀, one channel) beside x_t (three). The whole image is generated, so the loss counts
 * every pixel (plain MSE against x₀: the mask is the whole image).
 */
const COLOURISE = { luminance: 0.5, chroma: 0.28 };
/**
 * Four epochs (1,000 steps), twice inpainting's: with two, 31 of 100 samples took their class's hue and
 * the colours came out pale (chroma 0.20 of 0.28), maskedMse 0.0065 (seed 1: 0.0072) against 0.0080;
 * with four, 83 of 100 and 0.0030 (seed 1: 79 and 0.0031).
 */
const COLOURISE_EPOCHS = 4;
/** What `patchbay train palette --preset colourise --data mnist --json` gave with these defaults. */
const COLOURISE_MEASURED =
  'Measured with these defaults (patchbay train palette --preset colourise --data mnist --json, WASM, 1 thread, load average ~3 to 6): maskedMse 0.0030 against meanFillMse 0.0080 and greyCopyMse 0.0083, 1,000 steps in 559 s and the measure in 39 s; with seed 1, 0.0031 (438 s; the baselines read only the data and stay the same). Most of each image is black background that every answer gets right, so all three are small. Of 100 held-out digits sampled from each run (scripts/palette-hue-check.ts), 83 and 79 took their own class’s hue (nearest of the 10; chance 10), the colours a little paler than the targets (mean chroma 0.25 against 0.28). With 2 epochs: 0.0065 (seed 1: 0.0072), 31 of 100 in their hue.';

function colourisationProcedures(): ProcedureDef[] {
  const colourBatch = (p: GraphBuilder) => {
    const data = p.add('data', 'Data', { shape: [28, 28, 1], classes: 10 });
    const colour = p.add('colour', 'ClassColour', COLOURISE, [
      [data, 'image', 'in'],
      [data, 'label', 'label'],
    ]);
    const x0 = p.add('x0', 'ScaleShift', { scale: 2, shift: -1 }, [[colour]]);
    const grey = p.add('grey', 'Luminance', {}, [[x0]]);
    const t = p.add('timestep', 'DiffusionTimestep', { timesteps: SCHEDULE.timesteps }, [[x0]]);
    const noise = p.add('noise', 'DiffusionNoise', {}, [[x0]]);
    const xt = p.add('diffuse', 'Diffuse', SCHEDULE, [
      [x0, 'out', 'x0'],
      [noise, 'out', 'noise'],
      [t, 'out', 't'],
    ]);
    return { x0, grey, t, xt };
  };
  return [
    procedure('train', 'Colourisation training (x₀ loss on the whole image)', 'train', (p) => {
      const b = colourBatch(p);
      const predicted = applyConditioned(p, 'unet', {}, b.xt, b.t, b.grey);
      const loss = p.add('loss', 'MeanSquaredError', {}, [
        [predicted, 'denoised', 'a'],
        [b.x0, 'out', 'b'],
      ]);
      p.add('minimize', 'Minimize', CONDITIONAL_OPTIMIZER, [[loss, 'loss', 'loss']]);
      applyConditioned(p, 'ema', EMA, b.xt, b.t, b.grey);
    }),
    procedure('evaluate', 'Held-out colourisation error', 'evaluate', (p) => {
      const b = colourBatch(p);
      p.add(
        'colourisation',
        'ColourisationScore',
        { metric: 'maskedMse', baselineMetric: 'meanFillMse', greyCopyMetric: 'greyCopyMse', weights: 'ema', ...MEASURE_SAMPLING },
        [
          [b.x0, 'out', 'target'],
          [b.grey, 'out', 'condition'],
        ],
      );
    }),
  ];
}

/**
 * Palette (Saharia et al. 2022) inpainting: the network sees x_t inside a 14×14 square and the known
 * pixels outside it, conditioned on the image with the square filled with noise; the loss counts the
 * square only, and sampling puts the known pixels back every step.
 */
export function palette(): GraphDocument {
  const maskedBatch = (p: GraphBuilder) => {
    const b = noisedBatch(p);
    const mask = p.add('mask', 'SquareMask', { size: PALETTE_SQUARE, placement: 'random' }, [['x0']]);
    const xin = p.add('known', 'Composite', {}, [
      [b.xt, 'out', 'inside'],
      ['x0', 'out', 'outside'],
      [mask, 'out', 'mask'],
    ]);
    const fill = p.add('fill', 'DiffusionNoise', {}, [['x0']]);
    const masked = p.add('masked', 'Composite', {}, [
      [fill, 'out', 'inside'],
      ['x0', 'out', 'outside'],
      [mask, 'out', 'mask'],
    ]);
    return { ...b, mask, xin, masked };
  };
  return conditionalDocument(
    'Palette',
    'The UNet that predicts the clean image x₀ from x_t, t and the condition: inpainting (mnist), x₀ inside the masked square given x_t there, the known pixels and the masked image; colourisation (colourise), the RGB digit given the grey one. Its moving average samples.',
    [
      procedure('train', 'Inpainting training (x₀ loss on the square)', 'train', (p) => {
        const b = maskedBatch(p);
        const predicted = applyConditioned(p, 'unet', {}, b.xin, b.t, b.masked);
        const loss = p.add('loss', 'MaskedMeanSquaredError', {}, [
          [predicted, 'denoised', 'a'],
          ['x0', 'out', 'b'],
          [b.mask, 'out', 'mask'],
        ]);
        p.add('minimize', 'Minimize', CONDITIONAL_OPTIMIZER, [[loss, 'loss', 'loss']]);
        applyConditioned(p, 'ema', EMA, b.xin, b.t, b.masked);
      }),
      procedure('evaluate', 'Held-out inpainting error', 'evaluate', (p) => {
        const b = maskedBatch(p);
        p.add('inpainting', 'InpaintingScore', { metric: 'maskedMse', baselineMetric: 'meanFillMse', weights: 'ema', ...MEASURE_SAMPLING }, [
          ['x0', 'out', 'target'],
          [b.masked, 'out', 'condition'],
          [b.mask, 'out', 'mask'],
        ]);
      }),
    ],
    {
      id: 'palette',
      title: 'Palette',
      description:
        'Image-to-image diffusion (Saharia et al.): the UNet denoises the unknown part of an image given the known part, concatenated to x_t on channels (predicting x₀ where the paper predicts ε). Inpainting (mnist): a masked square given the rest of the digit, the loss on the square only, measured against filling it with the mean training image. Colourisation (colourise): a digit coloured by its class given its grey image, measured against the grey image times the usual colour at each pixel.',
      paper: 'arXiv:2111.05826',
      defaultPreset: 'mnist',
    },
    [
      {
        name: 'mnist',
        description: `MNIST inpainting of a ${PALETTE_SQUARE}×${PALETTE_SQUARE} square at a random place: 2×2 pixel unshuffle of (masked image, x_t) to 14×14×8, a 16-32 UNet (14→7, AdaGN, no attention) predicting x₀; cosine T = 1000, Adam ${CONDITIONAL_LEARNING_RATE.toExponential()}, EMA ${EMA.decay}, batch 32, ${PALETTE_EPOCHS} epochs; masked error of ${MEASURE_SAMPLING.steps}-step DDIM samples (η = ${MEASURE_SAMPLING.eta}) on ${MEASURE_SAMPLING.examples} held-out digits. ${PALETTE_MEASURED}`,
        set: {},
      },
      {
        name: 'colourise',
        description: `MNIST colourisation: each digit coloured by its class (Colour by class: the stroke in one of 10 hues of equal Rec. 601 luma ${COLOURISE.luminance}, chroma ${COLOURISE.chroma}, so the grey image says nothing of the colour and the shape must), the UNet given the grey image (Luminance, one channel) beside x_t (three): 2×2 pixel unshuffle of (grey, x_t) to 14×14×16, the same 16-32 UNet predicting x₀ (12 channels, shuffled back to 28×28×3); cosine T = 1000, Adam ${CONDITIONAL_LEARNING_RATE.toExponential()}, EMA ${EMA.decay}, batch 32, ${COLOURISE_EPOCHS} epochs; the loss and maskedMse cover the whole image (every pixel and channel), of ${MEASURE_SAMPLING.steps}-step DDIM samples (η = ${MEASURE_SAMPLING.eta}) on ${MEASURE_SAMPLING.examples} held-out digits, against meanFillMse (the grey image times the training set's least-squares colour at each pixel) and greyCopyMse (the grey image on every channel). ${COLOURISE_MEASURED}`,
        set: {
          image: { shape: [28, 28, 3] },
          unshuffle: { targetShape: [14, 2, 14, 2, 4] },
          packed: { targetShape: [14, 14, 16] },
          unet: { outChannels: 12 },
          unpacked: { targetShape: [14, 14, 2, 2, 3] },
          shuffle: { targetShape: [28, 28, 3] },
        },
        procedures: colourisationProcedures(),
        training: { epochs: COLOURISE_EPOCHS },
      },
    ],
    PALETTE_EPOCHS,
  );
}

export const diffusionTemplates = (): Record<string, GraphDocument> => ({ ddpm: ddpm(), sr3: sr3(), palette: palette() });

export const serialiseTemplate = (d: GraphDocument) => `${JSON.stringify(d, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, d] of Object.entries(diffusionTemplates())) writeFileSync(join(ROOT, 'templates', `${name}.json`), serialiseTemplate(d));
}
