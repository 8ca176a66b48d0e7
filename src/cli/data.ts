import { writeFileSync } from 'node:fs';
import { npz } from './npz';
import { loadCsv, resolveData, TrainUsageError } from './train';

export interface DataIo {
  err: (text: string) => void;
}

/**
 * `patchbay data <mnist|moons|…|file.csv> --out data.npz`: the same train/test split the app and
 * `patchbay train` use, as x_train, y_train, x_test, y_test (examples in the graph's order, e.g.
 * N × 28 × 28 × 1 float32; labels as class ids, uint8), for the PyTorch export's train.py.
 */
export async function dataCommand(data: string, args: { out?: string; label?: string }, io: DataIo): Promise<number> {
  if (!args.out) throw new TrainUsageError('"patchbay data" needs --out FILE.npz.');
  if (!/\.npz$/i.test(args.out)) throw new TrainUsageError(`--out names an .npz file (numpy's archive), received "${args.out}".`);
  const source = resolveData({ data, label: args.label });
  const ds =
    source.kind === 'csv'
      ? await loadCsv(source.path, args.label)
      : source.kind === 'mnist'
        ? await (await import('../runtime/data/mnist-node')).loadMnistByName(source.name)
        : (await import('../runtime/data/synthetic')).syntheticDataset(source.name);
  const file = npz({
    x_train: { data: ds.train.x, shape: [ds.train.count, ...ds.inputShape] },
    y_train: { data: ds.train.y, shape: [ds.train.count] },
    x_test: { data: ds.test.x, shape: [ds.test.count, ...ds.inputShape] },
    y_test: { data: ds.test.y, shape: [ds.test.count] },
  });
  try {
    writeFileSync(args.out, file);
  } catch (err) {
    throw new TrainUsageError(`Cannot write "${args.out}": ${(err as Error).message}`);
  }
  io.err(
    `Wrote ${args.out}: ${ds.name}, ${ds.train.count} training and ${ds.test.count} test examples shaped (${ds.inputShape.join(', ')}), ${ds.classNames.length} classes.`,
  );
  return 0;
}
