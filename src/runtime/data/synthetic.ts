import { datasetFromExamples, seededRandom, type Dataset } from './dataset';

/**
 * Synthetic datasets generated in code: seeded, so every call (page, worker, command line, test)
 * gives exactly the same examples and the same fixed train / test split (80 / 20 per class).
 *
 * - two moons: two interleaved half circles with noise, 2 classes, inputs (x, y);
 * - spirals: k arms that wind around the origin, one class per arm;
 * - Gaussian mixture: k round blobs, one class per blob;
 * - shapes: small images of a circle, a square or a triangle in random sizes, places and colours,
 *   with a caption per image ("a small red circle at the top left") for later text–image work.
 */
export type SyntheticName = 'moons' | 'spirals' | 'gaussians' | 'shapes' | 'shapes-rgb';

export interface SyntheticInfo {
  name: SyntheticName;
  /** For people: the picker, the messages. */
  title: string;
  description: string;
  inputShape: number[];
  classNames: string[];
  trainCount: number;
  testCount: number;
}

const SHAPES = ['circle', 'square', 'triangle'] as const;
const PER_CLASS = { moons: 500, spirals: 400, gaussians: 250, shapes: 800 } as const;
const trainOf = (perClass: number) => Math.round(perClass * 0.8);

export const SYNTHETIC: Record<SyntheticName, SyntheticInfo> = {
  moons: {
    name: 'moons',
    title: 'two moons',
    inputShape: [2],
    classNames: ['upper moon', 'lower moon'],
    description: 'two interleaved half circles with noise; not linearly separable',
    trainCount: 2 * trainOf(PER_CLASS.moons),
    testCount: 2 * (PER_CLASS.moons - trainOf(PER_CLASS.moons)),
  },
  spirals: {
    name: 'spirals',
    title: 'spirals',
    inputShape: [2],
    classNames: ['arm 1', 'arm 2', 'arm 3'],
    description: 'three arms winding around the origin, one class per arm',
    trainCount: 3 * trainOf(PER_CLASS.spirals),
    testCount: 3 * (PER_CLASS.spirals - trainOf(PER_CLASS.spirals)),
  },
  gaussians: {
    name: 'gaussians',
    title: 'Gaussian mixture',
    inputShape: [2],
    classNames: ['blob 1', 'blob 2', 'blob 3', 'blob 4'],
    description: 'four round, slightly overlapping blobs, one class per blob',
    trainCount: 4 * trainOf(PER_CLASS.gaussians),
    testCount: 4 * (PER_CLASS.gaussians - trainOf(PER_CLASS.gaussians)),
  },
  shapes: {
    name: 'shapes',
    title: 'shapes',
    inputShape: [28, 28, 1],
    classNames: [...SHAPES],
    description: 'grey 28×28 images of circles, squares and triangles of random sizes and places, with captions',
    trainCount: 3 * trainOf(PER_CLASS.shapes),
    testCount: 3 * (PER_CLASS.shapes - trainOf(PER_CLASS.shapes)),
  },
  'shapes-rgb': {
    name: 'shapes-rgb',
    title: 'colour shapes',
    inputShape: [32, 32, 3],
    classNames: [...SHAPES],
    description: 'colour 32×32 images of circles, squares and triangles of random sizes, places and colours, with captions',
    trainCount: 3 * trainOf(PER_CLASS.shapes),
    testCount: 3 * (PER_CLASS.shapes - trainOf(PER_CLASS.shapes)),
  },
};

export const SYNTHETIC_NAMES = Object.keys(SYNTHETIC) as SyntheticName[];
export const isSyntheticName = (name: string): name is SyntheticName => Object.hasOwn(SYNTHETIC, name);

/** A standard normal sample (Box–Muller) from a uniform generator. */
function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface PointOptions {
  /** Examples per class. */
  perClass?: number;
  /** Standard deviation of the noise added to each coordinate. */
  noise?: number;
  seed?: number;
}

/** Two moons (as scikit-learn draws them), centred on the origin. */
export function twoMoons({ perClass = PER_CLASS.moons, noise = 0.1, seed = 1 }: PointOptions = {}): Dataset {
  const random = seededRandom(seed);
  const x = new Float32Array(perClass * 2 * 2);
  const y = new Uint8Array(perClass * 2);
  for (let i = 0; i < perClass * 2; i++) {
    const label = i % 2;
    const t = Math.PI * random();
    const px = label === 0 ? Math.cos(t) : 1 - Math.cos(t);
    const py = label === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    x[2 * i] = px - 0.5 + noise * gaussian(random);
    x[2 * i + 1] = py - 0.25 + noise * gaussian(random);
    y[i] = label;
  }
  return datasetFromExamples({ name: SYNTHETIC.moons.title, inputShape: [2], classNames: SYNTHETIC.moons.classNames, x, y, seed: seed + 101 });
}

/** k spiral arms (k classes), each turning 1.5 times around the origin, radius up to 1. */
export function spirals({ perClass = PER_CLASS.spirals, noise = 0.04, seed = 2, arms = 3 }: PointOptions & { arms?: number } = {}): Dataset {
  const random = seededRandom(seed);
  const n = perClass * arms;
  const x = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const arm = i % arms;
    const r = 0.05 + 0.95 * random();
    const angle = (2 * Math.PI * arm) / arms + r * 1.5 * 2 * Math.PI;
    x[2 * i] = r * Math.cos(angle) + noise * gaussian(random);
    x[2 * i + 1] = r * Math.sin(angle) + noise * gaussian(random);
    y[i] = arm;
  }
  const classNames = Array.from({ length: arms }, (_, a) => `arm ${a + 1}`);
  return datasetFromExamples({ name: SYNTHETIC.spirals.title, inputShape: [2], classNames, x, y, seed: seed + 101 });
}

/** k round blobs (k classes) with centres on a circle of radius 2. */
export function gaussianMixture({ perClass = PER_CLASS.gaussians, noise = 0.6, seed = 3, blobs = 4 }: PointOptions & { blobs?: number } = {}): Dataset {
  const random = seededRandom(seed);
  const n = perClass * blobs;
  const x = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const blob = i % blobs;
    const angle = (2 * Math.PI * blob) / blobs + Math.PI / 4;
    x[2 * i] = 2 * Math.cos(angle) + noise * gaussian(random);
    x[2 * i + 1] = 2 * Math.sin(angle) + noise * gaussian(random);
    y[i] = blob;
  }
  const classNames = Array.from({ length: blobs }, (_, b) => `blob ${b + 1}`);
  return datasetFromExamples({ name: SYNTHETIC.gaussians.title, inputShape: [2], classNames, x, y, seed: seed + 101 });
}

const COLOURS: Array<[string, [number, number, number]]> = [
  ['red', [0.9, 0.15, 0.15]],
  ['green', [0.2, 0.75, 0.25]],
  ['blue', [0.2, 0.35, 0.95]],
  ['yellow', [0.95, 0.85, 0.15]],
  ['purple', [0.6, 0.25, 0.85]],
  ['orange', [0.95, 0.55, 0.1]],
  ['white', [0.95, 0.95, 0.95]],
  ['cyan', [0.15, 0.8, 0.85]],
];

/** Whether point (px, py) lies inside the shape centred at (cx, cy) with "radius" r. */
function inside(shape: (typeof SHAPES)[number], px: number, py: number, cx: number, cy: number, r: number): boolean {
  const dx = px - cx;
  const dy = py - cy;
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square': {
      const h = r * 0.85;
      return Math.abs(dx) <= h && Math.abs(dy) <= h;
    }
    case 'triangle': {
      // Pointing up: apex at (0, -r), base corners at (±r·cos 30°, r / 2).
      const h = r * Math.cos(Math.PI / 6);
      if (dy > r / 2 || dy < -r) return false;
      const halfWidth = ((dy + r) / (1.5 * r)) * h;
      return Math.abs(dx) <= halfWidth;
    }
  }
}

function placeWords(cx: number, cy: number, side: number): string {
  const third = (v: number) => (v < side / 3 ? 0 : v < (2 * side) / 3 ? 1 : 2);
  const vertical = ['top', 'middle', 'bottom'][third(cy)]!;
  const horizontal = ['left', 'centre', 'right'][third(cx)]!;
  if (vertical === 'middle' && horizontal === 'centre') return 'in the centre';
  if (vertical === 'middle') return `on the ${horizontal}`;
  if (horizontal === 'centre') return `at the ${vertical}`;
  return `at the ${vertical} ${horizontal}`;
}

export interface ShapeOptions {
  perClass?: number;
  side?: number;
  channels?: 1 | 3;
  seed?: number;
}

/**
 * Images of circles, squares and triangles (the class) on black, with 2×2 supersampled edges.
 * Colour images use one of eight colours; grey ones a grey level from 0.5 to 1.
 */
export function shapeImages({ perClass = PER_CLASS.shapes, side = 28, channels = 1, seed = 4 }: ShapeOptions = {}): Dataset {
  const random = seededRandom(seed);
  const n = perClass * SHAPES.length;
  const size = side * side * channels;
  const x = new Float32Array(n * size);
  const y = new Uint8Array(n);
  const captions: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % SHAPES.length;
    const shape = SHAPES[label]!;
    const r = side * (0.12 + 0.22 * random());
    const cx = r + random() * (side - 2 * r);
    const cy = r + random() * (side - 2 * r);
    const [colourName, rgb] = COLOURS[Math.floor(random() * COLOURS.length)]!;
    const grey = 0.5 + 0.5 * random();
    const colour = channels === 3 ? rgb : [grey];
    const sizeWord = r < side * 0.19 ? 'small' : r < side * 0.27 ? 'medium' : 'large';
    captions.push(`a ${sizeWord} ${channels === 3 ? `${colourName} ` : ''}${shape} ${placeWords(cx, cy, side)}`);
    const base = i * size;
    for (let py = 0; py < side; py++) {
      for (let px = 0; px < side; px++) {
        let hits = 0;
        for (const sy of [0.25, 0.75]) for (const sx of [0.25, 0.75]) if (inside(shape, px + sx, py + sy, cx, cy, r)) hits++;
        if (!hits) continue;
        const at = base + (py * side + px) * channels;
        for (let c = 0; c < channels; c++) x[at + c] = (colour[c]! * hits) / 4;
      }
    }
    y[i] = label;
  }
  const name = channels === 3 ? SYNTHETIC['shapes-rgb'].title : SYNTHETIC.shapes.title;
  return datasetFromExamples({ name, inputShape: [side, side, channels], classNames: [...SHAPES], x, y, seed: seed + 101, captions });
}

/** One of the synthetic sets by name, with its standard size and seed. */
export function syntheticDataset(name: SyntheticName): Dataset {
  switch (name) {
    case 'moons':
      return twoMoons();
    case 'spirals':
      return spirals();
    case 'gaussians':
      return gaussianMixture();
    case 'shapes':
      return shapeImages();
    case 'shapes-rgb':
      return shapeImages({ side: 32, channels: 3, seed: 5 });
  }
}
