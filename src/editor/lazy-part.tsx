/**
 * Parts of the editor that the first paint does not show (the side panel's other tabs, the
 * templates) load on first use, so that their code stays out of the initial JavaScript
 * (test/initial-bundle.test.ts holds it under 250 kB gzipped, kB = 1,000 bytes).
 */
import { Component, lazy, Suspense, useState, type ComponentType, type ReactNode } from 'react';

/** A failed download of a part's code (not an error inside the part, which goes to the app's boundary). */
export class PartLoadError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${capitalised(what)} could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'PartLoadError';
  }
}

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Loads `load`'s module once; a failed load is forgotten, so that trying again downloads it again. */
export function loadOnce<T>(what: string, load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () =>
    (pending ??= load().catch((err: unknown) => {
      pending = null;
      throw new PartLoadError(what, err);
    }));
}

/** What a person sees when a part's code failed to download: the reason in words and a way to retry. */
export function LoadFailed({ error, retry }: { error: Error; retry: () => void }) {
  return (
    <div className="pb-pad" role="alert">
      <p className="pb-error-text">{error.message}</p>
      <p className="pb-muted">Check the connection, then try again. Your graph is unaffected.</p>
      <button type="button" onClick={retry}>
        Try again
      </button>
    </div>
  );
}

class LoadBoundary extends Component<{ retry: () => void; children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    // A crash inside the loaded part is not a download problem: the app's own boundary handles it.
    if (!(error instanceof PartLoadError)) throw error;
    return <LoadFailed error={error} retry={this.props.retry} />;
  }
}

/**
 * A component whose code is fetched when it first renders: "Loading <what>…" meanwhile, and
 * {@link LoadFailed} with a retry if the download fails. `preload` starts the download early.
 */
export function lazyPart<P extends object>(what: string, load: () => Promise<ComponentType<P>>) {
  const fetchPart = loadOnce(what, load);
  const make = () => lazy(async () => ({ default: await fetchPart() }));
  let Loaded = make();
  function LazyPart(props: P) {
    const [attempt, setAttempt] = useState(0);
    const retry = () => {
      Loaded = make();
      setAttempt((n) => n + 1);
    };
    return (
      <LoadBoundary key={attempt} retry={retry}>
        <Suspense
          fallback={
            <div className="pb-muted pb-pad" role="status">
              Loading {what}…
            </div>
          }
        >
          <Loaded {...props} />
        </Suspense>
      </LoadBoundary>
    );
  }
  LazyPart.preload = () => void fetchPart().catch(() => undefined);
  return LazyPart;
}
