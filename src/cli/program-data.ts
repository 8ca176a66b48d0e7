import type { PlanProgram } from '../compiler/program';
import type { Dataset } from '../runtime/data/dataset';
import { isSyntheticName, SYNTHETIC_NAMES } from '../runtime/data/synthetic';

/**
 * The data set a program trains on from the command line: MNIST, or one of the synthetic sets,
 * as long as its examples have the shape the program's Data node declares (a flow on 2-D points
 * takes moons, spirals or gaussians; the image programs take mnist).
 */
export async function programDataset(program: PlanProgram, data: string): Promise<Dataset | { error: string }> {
  const step = program.procedures.flatMap((p) => p.steps).find((s) => s.kind === 'data');
  const shape = step && step.kind === 'data' ? step.shape : [28, 28, 1];
  const want = `[${shape.join(', ')}]`;
  let ds: Dataset;
  if (data === 'mnist' || data === 'mnist-full') ds = await (await import('../runtime/data/mnist-node')).loadMnistByName(data);
  else if (isSyntheticName(data)) ds = (await import('../runtime/data/synthetic')).syntheticDataset(data);
  else
    return {
      error: `Unknown data set "${data}" for a training program: use mnist, mnist-full (MNIST's own 60,000 / 10,000 split) or one of ${SYNTHETIC_NAMES.join(', ')}.`,
    };
  const got = `[${ds.inputShape.join(', ')}]`;
  if (got !== want) {
    const fits =
      shape.length === 1 && shape[0] === 2 ? 'moons, spirals or gaussians' : shape.join('x') === '28x28x1' ? 'mnist or shapes' : 'a data set of that shape';
    return { error: `This program's Data node takes examples of shape ${want}, but ${data} has ${got}: use --data ${fits}.` };
  }
  return ds;
}
