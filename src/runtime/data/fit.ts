/** Whether a plan can train on a dataset, in words that say exactly what to change. */
import type { Plan } from '../../compiler/plan';
import { formatShape } from '../../nodes/shape';

export interface DataShape {
  /** The dataset as people call it: "two moons", "MNIST", "iris.csv". */
  title: string;
  /** What one example is called in messages: "examples" unless told ("digits"). */
  noun?: string;
  /** One example's shape. For image folders, the shape they would be resized to. */
  inputShape: number[];
  classes: number;
  /** Image folders are resized to the model's input: any [height, width, 1 or 3] input fits. */
  resizable?: boolean;
}

const shapeList = (shape: number[]) => `[${shape.join(', ')}]`;

/** The model's one input and one output, or why the plan has not exactly one of each. */
export function ioOf(plan: Plan): { input: number[]; output: (number | null)[] | undefined } | string {
  const inputs = plan.main.steps.filter((s) => s.kind === 'input');
  const input = inputs[0];
  if (inputs.length !== 1 || plan.main.outputs.length !== 1 || !input || input.kind !== 'input') {
    return `Training needs a graph with one Input and one output; this one has ${inputs.length} input${inputs.length === 1 ? '' : 's'} and ${plan.main.outputs.length} output${plan.main.outputs.length === 1 ? '' : 's'}.`;
  }
  return { input: input.shape, output: plan.main.outputs[0]!.shape as (number | null)[] | undefined };
}

/** Why this plan cannot train on the data, or null when it fits. */
export function dataMismatch(plan: Plan, data: DataShape): string | null {
  const io = ioOf(plan);
  if (typeof io === 'string') return io;
  const noun = data.noun ?? 'examples';
  if (data.resizable) {
    const [h, w, c] = io.input;
    if (io.input.length !== 3 || !(c === 1 || c === 3) || !h || !w) {
      return `The model takes ${formatShape([null, ...io.input])}, but ${data.title} ${noun} are images, resized to the model's input: set the Input shape to [height, width, 1] for grey or [height, width, 3] for colour, e.g. ${shapeList(data.inputShape)}.`;
    }
  } else if (io.input.join('x') !== data.inputShape.join('x')) {
    return `The model takes ${formatShape([null, ...io.input])}, but ${data.title} ${noun} are ${formatShape([null, ...data.inputShape])}: set the Input shape to ${shapeList(data.inputShape)}.`;
  }
  const out = io.output;
  if (!out || out.length !== 2 || out[1] !== data.classes) {
    return `The model outputs ${out ? formatShape(out) : 'an unknown shape'}, but ${data.title} has ${data.classes} classes: end with Dense(${data.classes}) and a softmax.`;
  }
  return null;
}
