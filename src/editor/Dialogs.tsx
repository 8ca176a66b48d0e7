import { useEffect, useRef, useState, type ReactNode } from 'react';
import { OpenProgress } from './OpenProgress';
import { useEditor } from './store';
import { LoadFailed, loadOnce } from './lazy-part';
import { keyLabel, SHORTCUTS, shortcutLabel } from './shortcuts';

export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('button, [href], input')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onClose();
      }
    };
    addEventListener('keydown', onKey, true);
    return () => removeEventListener('keydown', onKey, true);
  }, [onClose]);
  return (
    <div
      className="pb-backdrop"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <div className={`pb-dialog${wide ? ' pb-dialog-wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} ref={ref}>
        <header className="pb-dialog-head">
          <h2>{title}</h2>
          <button type="button" className="pb-icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="pb-dialog-body">{children}</div>
      </div>
    </div>
  );
}

type TemplatesModule = typeof import('../../templates/index');

/** The bundled templates (15 documents, validated as they load) come with the dialog, not with the editor. */
const loadTemplates = loadOnce('the templates', () => import('../../templates/index'));

function openTemplate(templates: TemplatesModule, id: string, preset: string) {
  const s = useEditor.getState();
  const result = templates.templateDocument(id, preset);
  if ('error' in result) {
    s.toast({ kind: 'error', title: 'Could not open the template', lines: [result.error] });
    return;
  }
  const hadWork = s.doc.nodes.length > 0;
  s.commit(result.doc, { select: [] });
  s.closeBlock();
  s.setDialog(null);
  s.requestFit();
  s.toast({ kind: 'info', title: `Opened ${result.doc.name}.${hadWork ? ' Your previous graph is one undo away (Ctrl+Z).' : ''}` });
}

/** The templates module once its chunk has arrived, or the error of a failed download. */
function useTemplates(): { templates: TemplatesModule | null; error: Error | null; retry: () => void } {
  const [state, setState] = useState<{ templates: TemplatesModule | null; error: Error | null }>({ templates: null, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    loadTemplates().then(
      (templates) => live && setState({ templates, error: null }),
      (error: Error) => live && setState({ templates: null, error }),
    );
    return () => {
      live = false;
    };
  }, [attempt]);
  return {
    ...state,
    retry: () => {
      setState({ templates: null, error: null });
      setAttempt((n) => n + 1);
    },
  };
}

export function TemplatesDialog() {
  const close = () => useEditor.getState().setDialog(null);
  const { templates, error, retry } = useTemplates();
  return (
    <Dialog title="Templates" onClose={close} wide>
      <p className="pb-muted">Each template opens as an ordinary graph that you can change, inspect and export. Opening one is a single undo step.</p>
      {error && <LoadFailed error={error} retry={retry} />}
      {!templates && !error && (
        <p className="pb-muted" role="status">
          Loading the templates…
        </p>
      )}
      {templates && (
        <div className="pb-templates">
          {templates.TEMPLATES.map((t) => (
            <section key={t.info.id} className="pb-template" aria-label={t.info.title}>
              <h3>{t.info.title}</h3>
              <p>{t.info.description}</p>
              {t.info.paper && <p className="pb-muted pb-small-text">{t.info.paper}</p>}
              <ul className="pb-presets">
                {(t.presets.length ? t.presets : [{ name: 'default', description: '' }]).map((p) => (
                  <li key={p.name}>
                    <button
                      type="button"
                      className="pb-preset"
                      aria-label={`Open ${t.info.title} ${p.name}`}
                      onClick={() => openTemplate(templates, t.info.id, p.name)}
                    >
                      <span className="pb-preset-name">
                        {p.name}
                        {p.name === t.info.defaultPreset ? <span className="pb-tag">default</span> : null}
                      </span>
                      <span className="pb-preset-desc">{p.description}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
    </Dialog>
  );
}

export function ShortcutsDialog() {
  const keys = SHORTCUTS.filter((s) => s.keys);
  const gestures = SHORTCUTS.filter((s) => s.gesture);
  return (
    <Dialog title="Keyboard shortcuts" onClose={() => useEditor.getState().setDialog(null)}>
      <table className="pb-shortcuts">
        <caption>Keys</caption>
        <tbody>
          {keys.map((s) => (
            <tr key={shortcutLabel(s)}>
              <td>
                {s.keys!.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' or '}
                    <kbd>{keyLabel(k)}</kbd>
                  </span>
                ))}
              </td>
              <td>{s.help}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="pb-shortcuts">
        <caption>With the mouse</caption>
        <tbody>
          {gestures.map((s) => (
            <tr key={s.gesture}>
              <td>{s.gesture}</td>
              <td>{s.help}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="pb-muted pb-small-text">On a Mac, Cmd works wherever Ctrl is shown.</p>
    </Dialog>
  );
}

export function Toasts() {
  const toasts = useEditor((s) => s.toasts);
  const dismiss = useEditor((s) => s.dismiss);
  return (
    <div className="pb-toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`pb-toast pb-toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <div className="pb-toast-main">
            <strong>{t.title}</strong>
            {t.lines?.map((l, i) => (
              <p key={i}>{l}</p>
            ))}
          </div>
          <button type="button" className="pb-icon" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
      <OpenProgress />
    </div>
  );
}
