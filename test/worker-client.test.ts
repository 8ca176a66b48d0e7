import { describe, expect, it } from 'vitest';
import { TrainingClient, type ClientEvent } from '../src/runtime/worker/client';
import type { ToWorker } from '../src/runtime/worker/protocol';
import { cloneDataset } from '../src/runtime/data/dataset';
import { twoMoons } from '../src/runtime/data/synthetic';

/** A stand-in for a Web Worker: records what it is sent and lets the test play the worker's part. */
class FakeWorker {
  sent: ToWorker[] = [];
  transfers: Transferable[][] = [];
  terminated = false;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  postMessage(message: ToWorker, transfer: Transferable[] = []) {
    this.sent.push(message);
    this.transfers.push(transfer);
  }
  terminate() {
    this.terminated = true;
  }
  reply(data: unknown) {
    this.onmessage?.({ data } as MessageEvent);
  }
}

function setup(stallMs?: number) {
  const workers: FakeWorker[] = [];
  const client = new TrainingClient({
    createWorker: () => {
      const w = new FakeWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
    stallMs,
  });
  const events: ClientEvent[] = [];
  client.on((e) => events.push(e));
  return { client, workers, events };
}

const train = { type: 'train', runId: 'r1', plan: {} as never, setup: {} as never, data: 'mnist', backend: 'auto' } as const;

describe('training client watchdog', () => {
  it('passes messages through and tracks the active run', () => {
    const { client, workers, events } = setup();
    client.send(train);
    expect(workers[0]!.sent[0]).toEqual(train);
    expect(client.running).toBe(true);
    workers[0]!.reply({ type: 'done', runId: 'r1', result: {}, weights: null });
    expect(events.map((e) => e.type)).toEqual(['done']);
    expect(client.running).toBe(false);
    client.dispose();
  });

  it('sends synthetic sets by name, and transfers (not copies) the arrays of an inline dataset', () => {
    const { client, workers } = setup();
    client.send({ ...train, data: { kind: 'synthetic', name: 'moons' } });
    expect(workers[0]!.sent[0]).toMatchObject({ data: { kind: 'synthetic', name: 'moons' } });
    expect(workers[0]!.transfers[0]).toEqual([]);
    workers[0]!.reply({ type: 'done', runId: 'r1', result: {}, weights: null });
    const mine = twoMoons({ perClass: 20 });
    const copy = cloneDataset(mine);
    client.send({ ...train, runId: 'r2', data: { kind: 'inline', dataset: copy } });
    const transfer = workers[0]!.transfers[1]!;
    expect(transfer).toHaveLength(4);
    expect(transfer).toEqual(expect.arrayContaining([copy.train.x.buffer, copy.train.y.buffer, copy.test.x.buffer, copy.test.y.buffer]));
    // The page's own dataset shares nothing with what was transferred.
    expect(transfer).not.toContain(mine.train.x.buffer);
    expect(client.running).toBe(true);
    client.dispose();
  });

  it('turns a worker crash into an event naming the run, and starts a fresh worker', () => {
    const { client, workers, events } = setup();
    client.send(train);
    workers[0]!.onerror?.({ message: 'out of memory', preventDefault() {} } as ErrorEvent);
    expect(workers[0]!.terminated).toBe(true);
    expect(workers.length).toBe(2);
    expect(events).toEqual([{ type: 'crashed', runId: 'r1', message: expect.stringMatching(/crashed: out of memory.*restarted; your graph is untouched/) }]);
    client.send({ type: 'probe' });
    expect(workers[1]!.sent).toEqual([{ type: 'probe' }]);
    client.dispose();
  });
});

describe('training client watchdog and pause', () => {
  it('does not take a paused run for a hang, but does once it resumes and goes silent', async () => {
    const { vi } = await import('vitest');
    vi.useFakeTimers();
    try {
      const { client, workers, events } = setup(10_000);
      client.send(train);
      client.send({ type: 'pause' });
      vi.advanceTimersByTime(60_000);
      expect(events).toEqual([]);
      expect(workers.length).toBe(1);
      client.send({ type: 'resume' });
      vi.advanceTimersByTime(20_000);
      expect(events.map((e) => e.type)).toEqual(['crashed']);
      expect(workers.length).toBe(2);
      client.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('training client requests', () => {
  it('answers predict and load with the matching reply, and keeps replies from listeners', async () => {
    const { client, workers, events } = setup();
    const first = client.predict(new Float32Array(4));
    const second = client.predict(new Float32Array(4));
    const [a, b] = workers[0]!.sent as Array<Extract<ToWorker, { type: 'predict' }>>;
    expect(a!.requestId).not.toBe(b!.requestId);
    // Replies in the other order still reach the right caller.
    workers[0]!.reply({ type: 'prediction', requestId: b!.requestId, probabilities: [0.25, 0.75] });
    workers[0]!.reply({ type: 'prediction', requestId: a!.requestId, probabilities: null, error: 'Train the model first.' });
    await expect(second).resolves.toEqual([0.25, 0.75]);
    await expect(first).rejects.toThrow('Train the model first.');
    const weights = { modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(8) };
    const loading = client.load({} as never, weights);
    const load = workers[0]!.sent[2] as Extract<ToWorker, { type: 'load' }>;
    expect(workers[0]!.transfers[2]).toEqual([weights.weightData]);
    workers[0]!.reply({ type: 'loaded', requestId: load.requestId, error: 'The saved weights do not fit this graph.' });
    await expect(loading).rejects.toThrow('do not fit');
    expect(events).toEqual([]);
    client.dispose();
  });

  it('rejects the requests in flight when the worker crashes', async () => {
    const { client, workers } = setup();
    const waiting = client.predict(new Float32Array(4));
    workers[0]!.onerror?.({ message: 'lost', preventDefault() {} } as ErrorEvent);
    await expect(waiting).rejects.toThrow(/crashed: lost/);
    client.dispose();
  });
});
