import { mnistFromDigits, type MnistDigits } from './mnist';
import type { Dataset } from './dataset';

/** In Node: read the digits straight from the installed package. */
export async function loadMnistNode(): Promise<Dataset> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const digits: MnistDigits = [];
  for (let d = 0; d < 10; d++) digits.push((require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  return mnistFromDigits(digits);
}
