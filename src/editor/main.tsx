import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { App } from './App';
import { AppBoundary } from './ErrorBoundary';
import { startAutosave } from './files';
import { useEditor } from './store';
import { useTraining } from './training';

// For debugging from the console and for end-to-end tests.
(window as unknown as { patchbay: unknown }).patchbay = useEditor;
(window as unknown as { patchbayTraining: unknown }).patchbayTraining = useTraining;

const root = createRoot(document.getElementById('root')!);
// Restore the autosaved graph first (IndexedDB answers in milliseconds), then draw.
void startAutosave().finally(() => {
  root.render(
    <StrictMode>
      <AppBoundary>
        <App />
      </AppBoundary>
    </StrictMode>,
  );
  document.body.dataset.ready = 'true';
});
