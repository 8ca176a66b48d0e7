/**
 * PB310 counts a training step's activations at the document's batch size as well as the
 * parameters' training state, says which dominates, and proposes the largest batch that fits when
 * the activations are the cause. The numbers are worked out by hand below.
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../src/compiler/infer';
import {
  forTerminal,
  largestBatchThatFits,
  memoryProblem,
  memoryEstimate,
  startRefusal,
  TRAINING_MEMORY_LIMIT,
  trainingStepMemory,
} from '../src/compiler/memory';
import type { GraphDocument } from '../src/document/schema';
import { graph } from './helpers/graphs';

/** Input 128×128×3 → 3×3 Conv2D of 64 filters ('same') → global average pool → Dense 10. */
function convNet(batchSize: number | undefined): GraphDocument {
  const doc = graph(
    [
      { id: 'in', type: 'Input', params: { shape: [128, 128, 3] } },
      { id: 'conv', type: 'Conv2D', params: { filters: 64, kernelSize: 3, padding: 'same' } },
      { id: 'pool', type: 'GlobalAveragePooling2D', params: {} },
      { id: 'head', type: 'Dense', params: { units: 10, activation: 'softmax' } },
    ],
    [
      ['in', 'conv'],
      ['conv', 'pool'],
      ['pool', 'head'],
    ],
  );
  return batchSize === undefined ? doc : ({ ...doc, training: { batchSize } } as GraphDocument);
}

// By hand: parameters 3·3·3·64 + 64 = 1,792 and 64·10 + 10 = 650, 2,442 in all, 16 bytes each to
// train with Adam (weights, gradients, two moments): 39,072 bytes. Activations kept per example:
// the input 128·128·3 = 49,152, the convolution's 128·128·64 = 1,048,576, the pool's 64, the
// head's 10: 1,097,802 floats, 4,391,208 bytes.
const PARAMS_BYTES = 2442 * 16;
const PER_EXAMPLE = 1_097_802 * 4;

describe('a training step in memory, by hand', () => {
  it('counts the parameters and the activations at the batch size', () => {
    const step = trainingStepMemory({ trainable: 2442, nonTrainable: 0 }, 1_097_802, 1024);
    expect(step).toEqual({
      batchSize: 1024,
      paramsBytes: PARAMS_BYTES,
      activationBytesPerExample: PER_EXAMPLE,
      activationBytes: PER_EXAMPLE * 1024,
      totalBytes: PARAMS_BYTES + PER_EXAMPLE * 1024,
    });
    // (4,294,967,296 − 39,072) / 4,391,208 = 978.07…: 978 examples fit, 979 do not.
    expect(largestBatchThatFits(step)).toBe(978);
    expect(PARAMS_BYTES + 978 * PER_EXAMPLE).toBeLessThanOrEqual(TRAINING_MEMORY_LIMIT);
    expect(PARAMS_BYTES + 979 * PER_EXAMPLE).toBeGreaterThan(TRAINING_MEMORY_LIMIT);
  });

  it('PB310 at batch 1,024: 4.50 GB, the activations dominate, and a batch of 978 is proposed', () => {
    const diagnostics = analyze(convNet(1024)).diagnostics.filter((d) => d.code === 'PB310');
    expect(diagnostics.map((d) => d.nodeId)).toEqual([undefined, 'conv']);
    const [model, node] = diagnostics;
    // 39,072 + 1,024 · 4,391,208 = 4,496,636,064 bytes.
    expect(model!.message).toBe(
      "A training step at batch 1,024 needs about 4.50 GB, more than the 4.29 GB a browser tab can give it: 39.1 kB for the 2,442 parameters (9.77 kB of weights, with their gradients and Adam's two moments) and 4.50 GB of activations kept for the backward pass (4.39 MB per example). The activations dominate.",
    );
    // 39,072 + 978 · 4,391,208 = 4,294,640,496 bytes: shown with the digits that tell it from the 4,294,967,296 limit.
    expect(model!.help).toMatch(/^Lower the batch size to 978 or less \(a step then needs about 4\.2946 GB, under the 4\.2950 GB limit\)/);
    // The convolution alone keeps 1,048,576 · 4 · 1,024 = 4,294,967,296 bytes, with its 28.7 kB of training state past the limit.
    expect(node!.message).toBe(
      'This node holds 1,792 parameters (7.17 kB of weights, about 28.7 kB to train) and keeps 4.29 GB of activations at batch 1,024.',
    );
    expect(node!.help).toMatch(/Lower the batch size/);
  });

  it('the same network fits at batch 978, and at the default batch of 32 when the document sets none', () => {
    expect(analyze(convNet(978)).diagnostics.filter((d) => d.code === 'PB310')).toEqual([]);
    expect(analyze(convNet(979)).diagnostics.filter((d) => d.code === 'PB310')).toHaveLength(2);
    expect(analyze(convNet(undefined)).diagnostics.filter((d) => d.code === 'PB310')).toEqual([]);
  });

  it('parameters that dominate say so and ask for smaller layers, not a smaller batch', () => {
    // 300 M parameters: 4.8 GB to train; 1,000 activations of 4 bytes at batch 32 are 128 kB.
    const estimate = memoryEstimate({ trainable: 300_000_000, nonTrainable: 0 });
    const step = trainingStepMemory({ trainable: 300_000_000, nonTrainable: 0 }, 1000, 32);
    const problem = memoryProblem(estimate, step)!;
    expect(problem.message).toContain('4.80 GB for the 300,000,000 parameters (1.20 GB of weights');
    expect(problem.message).toContain('128 kB of activations kept for the backward pass (4.00 kB per example). The parameters dominate.');
    expect(problem.help).toMatch(/^Make the largest layers smaller/);
    expect(largestBatchThatFits(step)).toBe(0);
  });

  it("counts the document's optimizer: SGD keeps one accumulator per weight, Adam two moments", () => {
    // Input 30,000 → Dense 10,000: 300,010,000 parameters; with Adam 16 bytes each (4.80 GB) is past the limit, with
    // SGD 12 bytes each (3.60 GB, and 5.12 MB of activations at batch 32) fits.
    const dense = (optimizer: string) =>
      ({
        ...graph(
          [
            { id: 'in', type: 'Input', params: { shape: [30000] } },
            { id: 'd', type: 'Dense', params: { units: 10000 } },
          ],
          [['in', 'd']],
        ),
        training: { optimizer },
      }) as GraphDocument;
    const adam = analyze(dense('adam')).diagnostics.find((d) => d.code === 'PB310' && !d.nodeId);
    expect(adam!.message).toContain("4.80 GB for the 300,010,000 parameters (1.20 GB of weights, with their gradients and Adam's two moments)");
    expect(analyze(dense('sgd')).diagnostics.filter((d) => d.code === 'PB310')).toEqual([]);
    expect(memoryEstimate({ trainable: 1000, nonTrainable: 10 }, 'sgd').trainingBytes).toBe(1000 * 12 + 10 * 4);
    expect(memoryEstimate({ trainable: 1000, nonTrainable: 10 }, 'adamw').trainingBytes).toBe(1000 * 16 + 10 * 4);
    const sgdStep = trainingStepMemory({ trainable: 300_000_000, nonTrainable: 0 }, 1000, 32, 'sgd');
    const big = memoryProblem(
      memoryEstimate({ trainable: 400_000_000, nonTrainable: 0 }, 'sgd'),
      { ...sgdStep, paramsBytes: 4.8e9, totalBytes: 4.8e9 + 128e3 },
      'sgd',
    );
    expect(big!.message).toContain("with their gradients and SGD's momentum accumulator");
  });

  it('the Start refusal goes on in lower case after its colon; the terminal wording says the command line is not bound by a tab', () => {
    const d = analyze(convNet(1024)).diagnostics.find((x) => x.code === 'PB310' && !x.nodeId)!;
    expect(startRefusal(d)).toMatch(/^Start is refused: a training step at batch 1,024 needs about 4\.50 GB/);
    expect(forTerminal(d).message).toContain("more than the 4.29 GB a training run in the editor's browser tab can use (the command line is not bound by it)");
    expect(forTerminal(d).message).not.toContain('a browser tab can give it');
  });

  it('a network whose one example does not fit beside its weights says so instead of proposing a batch of 0', () => {
    const step = trainingStepMemory({ trainable: 1000, nonTrainable: 0 }, 2 ** 30 + 1, 2);
    expect(largestBatchThatFits(step)).toBe(0);
    expect(memoryProblem(memoryEstimate({ trainable: 1000, nonTrainable: 0 }), step)!.help).toMatch(/^Even one example's activations do not fit/);
  });
});
