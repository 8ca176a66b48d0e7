import { availableParallelism } from 'node:os';

/** What a command ran on, as `--json` reports it. */
export interface ActiveBackend {
  backend: 'wasm' | 'cpu';
  /** Threads the kernels run on (the cpu backend: always 1). */
  threads: number;
}

/** `--threads` when not given: every core this process may use. */
export const defaultThreads = () => availableParallelism();

/**
 * Makes `backend` tfjs's active backend; wasm on `threads` threads where threads can start (else
 * one, and a line on stderr says why). The cpu backend has one thread.
 */
export async function startBackend(
  tf: typeof import('@tensorflow/tfjs'),
  backend: 'wasm' | 'cpu',
  threads: number | undefined,
  err: (text: string) => void,
): Promise<ActiveBackend> {
  if (backend === 'cpu') {
    await tf.setBackend('cpu');
    await tf.ready();
    return { backend, threads: 1 };
  }
  const { useWasmBackend } = await import('../runtime/wasm-backend');
  const status = await useWasmBackend({ threads: threads ?? defaultThreads() });
  if (status.note) err(`Note: wasm runs on ${status.note}.`);
  await tf.ready();
  return { backend, threads: status.threads };
}

/** "wasm, 2 threads" for the lines a person reads. */
export const describeBackend = (active: ActiveBackend) => `${active.backend}, ${active.threads} thread${active.threads === 1 ? '' : 's'}`;
