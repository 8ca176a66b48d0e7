/**
 * MNIST's own 60,000 / 10,000 split in the Train tab: what it is, and its download (tens of MB of
 * idx files, 11 MB gzip-compressed) as the worker reports it: how far, ready, or why not with a way
 * to try again. The graph and the run settings are never touched by any of it.
 */
import { useEffect } from 'react';
import type { DataDownload } from '../../runtime/worker/protocol';
import { useTraining } from '../training';
import { loadMnistFull } from './controller';
import './mnist-full.css';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The download in words: "Downloading MNIST's full set: 3.2 of 11.4 MB (28 %)". */
export function downloadText(d: Extract<DataDownload, { status: 'loading' }>): string {
  if (d.phase === 'parse') return 'Reading the 70,000 digits…';
  // Until every file has said its size (or when a server says none), only that it goes.
  if (d.total === null) return "Downloading MNIST's full set…";
  return `Downloading MNIST's full set: ${mb(d.received)} of ${mb(d.total)} (${Math.floor((100 * d.received) / d.total)} %)…`;
}

/** The progress line (and bar, unless under a run's own bar) while the download goes; nothing otherwise. */
export function MnistFullProgress({ bar = true }: { bar?: boolean }) {
  const d = useTraining((s) => s.mnistFull);
  if (d?.status !== 'loading') return null;
  const fraction = d.phase === 'parse' ? 1 : d.total ? Math.min(1, d.received / d.total) : 0;
  return (
    <div className="pb-data-download" data-testid="data-download">
      <p className="pb-muted pb-small-text" data-testid="data-progress">
        {downloadText(d)}
      </p>
      {bar && (
        <div
          className="pb-progress"
          role="progressbar"
          aria-label="Download of MNIST's full set"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(fraction * 100)}
        >
          <div className="pb-progress-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
        </div>
      )}
    </div>
  );
}

/** Under the data picker: what the set is, then its download's progress, that it is ready, or why not with Try again. */
export function MnistFullBox() {
  const d = useTraining((s) => s.mnistFull);
  // Chosen (now, or in an earlier visit): download it now rather than when Start is pressed.
  useEffect(() => {
    if (!useTraining.getState().mnistFull) loadMnistFull();
  }, [d]);
  return (
    <div className="pb-small-text" data-testid="mnist-full" data-status={d?.status ?? 'none'}>
      <p className="pb-muted pb-dataset" data-testid="data-summary">
        MNIST&apos;s own split: 60,000 training and 10,000 test digits (28×28, grey), downloaded when first used (about 11 MB). The “MNIST digits” choice holds
        10,000 of these training digits.
      </p>
      <MnistFullProgress />
      {d?.status === 'ready' && (
        <p className="pb-muted" data-testid="data-ready">
          Ready: {d.trainCount.toLocaleString('en-US')} training and {d.testCount.toLocaleString('en-US')} test digits
          {d.total ? ` (${mb(d.total)} downloaded)` : ''}.
        </p>
      )}
      {d?.status === 'error' && (
        <div className="pb-run-message pb-run-message-bad pb-row pb-data-error" role="alert" data-testid="data-error">
          <span>{d.message}</span>
          <button
            type="button"
            onClick={() => {
              // Forgotten first, so that loadMnistFull asks the worker again.
              useTraining.setState({ mnistFull: null });
              loadMnistFull();
            }}
          >
            Try again
          </button>
        </div>
      )}
    </div>
  );
}
