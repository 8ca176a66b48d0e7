import { describe, expect, it } from 'vitest';
import { TrainingClient, type ClientEvent } from '../src/runtime/worker/client';
import type { ToWorker } from '../src/runtime/worker/protocol';

/** A stand-in for a Web Worker: records what it is sent and lets the test play the worker's part. */
class FakeWorker {
  sent: ToWorker[] = [];
  terminated = false;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  postMessage(message: ToWorker) {
    this.sent.push(message);
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
  const client = new TrainingClient({ createWorker: () => { const w = new FakeWorker(); workers.push(w); return w as unknown as Worker; }, stallMs });
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
