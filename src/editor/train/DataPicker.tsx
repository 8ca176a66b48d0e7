/** The dataset choice: MNIST (the app's digits or MNIST's own full split), a synthetic set, or the user's CSV or images with what was loaded. */
import { useRef } from 'react';
import type { Plan } from '../../compiler/plan';
import { SYNTHETIC, isSyntheticName } from '../../runtime/data/synthetic';
import { DATA_CHOICES, setPrefs, useRunIsActive, useTraining, type DataChoice, type UserData } from '../training';
import { countsOf, loadCsvFile, loadImages, setCsvLabel } from './data';
import { listNames, shapeText } from './format';
import { MnistFullBox } from './MnistFullStatus';

function ClassCounts({ rows }: { rows: Array<{ name: string; train: number; test: number }> }) {
  const shown = rows.slice(0, 12);
  return (
    <table className="pb-data-counts" data-testid="data-counts">
      <thead>
        <tr>
          <th>Class</th>
          <th className="pb-num">Train</th>
          <th className="pb-num">Test</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((r) => (
          <tr key={r.name}>
            <td>{r.name}</td>
            <td className="pb-num pb-mono">{r.train.toLocaleString('en-US')}</td>
            <td className="pb-num pb-mono">{r.test.toLocaleString('en-US')}</td>
          </tr>
        ))}
        {rows.length > shown.length && (
          <tr>
            <td colSpan={3} className="pb-muted">
              … and {rows.length - shown.length} more classes
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** The user's CSV or images: the file buttons, then what was loaded or what is wrong with it. */
function UserDataBox({ kind, user, plan }: { kind: 'csv' | 'images'; user: UserData | null; plan: Plan | null }) {
  const csvPicker = useRef<HTMLInputElement>(null);
  const folderPicker = useRef<HTMLInputElement>(null);
  const zipPicker = useRef<HTMLInputElement>(null);
  const busy = user?.status === 'loading';
  const ds = user?.status === 'ready' ? user.dataset : undefined;
  return (
    <div className="pb-user-data" data-testid="user-data" data-status={user?.status ?? 'none'}>
      <div className="pb-row pb-user-data-buttons">
        {kind === 'csv' ? (
          <>
            <button type="button" disabled={busy} onClick={() => csvPicker.current?.click()}>
              {user ? 'Choose another CSV file…' : 'Choose a CSV file…'}
            </button>
            <input
              ref={csvPicker}
              type="file"
              accept=".csv,.tsv,.txt,text/csv"
              hidden
              aria-label="Your CSV file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                e.target.value = '';
                if (f) void loadCsvFile(f);
              }}
            />
            {user?.columns && user.columns.length > 1 && (
              <label className="pb-row pb-small-text">
                Label column
                <select value={user.label} disabled={busy} onChange={(e) => setCsvLabel(e.target.value)} aria-label="Label column">
                  {user.columns.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </>
        ) : (
          <>
            <button type="button" disabled={busy} onClick={() => folderPicker.current?.click()}>
              Choose a folder…
            </button>
            <input
              ref={(el) => {
                folderPicker.current = el;
                el?.setAttribute('webkitdirectory', '');
              }}
              type="file"
              multiple
              hidden
              aria-label="Your image folder"
              onChange={(e) => {
                const f = Array.from(e.target.files ?? []);
                e.target.value = '';
                if (f.length) void loadImages(f, plan);
              }}
            />
            <button type="button" disabled={busy} onClick={() => zipPicker.current?.click()}>
              Choose a .zip…
            </button>
            <input
              ref={zipPicker}
              type="file"
              accept=".zip,application/zip"
              hidden
              aria-label="Your .zip of images"
              onChange={(e) => {
                const f = Array.from(e.target.files ?? []);
                e.target.value = '';
                if (f.length) void loadImages(f, plan);
              }}
            />
          </>
        )}
      </div>
      {!user && (
        <p className="pb-muted pb-small-text">
          {kind === 'csv'
            ? 'A header row, numeric columns, and a label column (the last, or pick it after loading); labels may be words or whole numbers. 80 % of each class trains, 20 % tests. The file stays in this browser tab.'
            : "One sub-folder per class (cats/…, dogs/…), as a folder or a .zip. Images are resized to the model's input (grey or colour to match its channels). 80 % of each class trains, 20 % tests."}
        </p>
      )}
      {user?.status === 'loading' && (
        <p className="pb-muted pb-small-text" data-testid="data-progress">
          {user.message}
        </p>
      )}
      {user?.status === 'error' && (
        <p className="pb-run-message pb-run-message-bad" role="alert" data-testid="data-error">
          <strong>{user.fileName}:</strong> {user.message}
        </p>
      )}
      {ds && (
        <div className="pb-small-text" data-testid="data-summary">
          <p className="pb-dataset">
            <strong>{ds.name}</strong>: {(ds.train.count + ds.test.count).toLocaleString('en-US')} examples of shape {shapeText(ds.inputShape)}
            {kind === 'images' ? " (resized to the model's input)" : ''}, {ds.classNames.length} classes ({listNames(ds.classNames)});{' '}
            {ds.train.count.toLocaleString('en-US')} train, {ds.test.count.toLocaleString('en-US')} test.
            {user?.skipped ? (
              <span className="pb-muted">
                {' '}
                {user.skipped} file{user.skipped === 1 ? ' was' : 's were'} skipped (not images, or outside the class folders).
              </span>
            ) : null}
          </p>
          <ClassCounts rows={countsOf(ds)} />
        </div>
      )}
    </div>
  );
}
export function DataPicker({ plan }: { plan: Plan | null }) {
  const choice = useTraining((s) => s.dataChoice);
  const csv = useTraining((s) => s.csv);
  const images = useTraining((s) => s.images);
  const running = useRunIsActive();
  const synthetic = isSyntheticName(choice) ? SYNTHETIC[choice] : null;
  return (
    <div className="pb-field pb-data-field">
      <label htmlFor="pb-train-dataset">Dataset</label>
      <select id="pb-train-dataset" value={choice} disabled={running} onChange={(e) => setPrefs({ dataChoice: e.target.value as DataChoice })}>
        {DATA_CHOICES.map(([id, label]) => (
          <option key={id} value={id}>
            {label}
          </option>
        ))}
      </select>
      {choice === 'mnist' && (
        <p className="pb-muted pb-small-text pb-dataset" data-testid="data-summary">
          MNIST: 10,000 real handwritten digits (28×28, grey), a fixed split of 8,000 for training and 2,000 for testing.
        </p>
      )}
      {choice === 'mnist-full' && <MnistFullBox />}
      {synthetic && (
        <p className="pb-muted pb-small-text pb-dataset" data-testid="data-summary">
          <strong>{synthetic.title[0]!.toUpperCase() + synthetic.title.slice(1)}</strong>: {synthetic.description}. Generated (always the same, seeded):{' '}
          {synthetic.trainCount.toLocaleString('en-US')} train and {synthetic.testCount.toLocaleString('en-US')} test examples of shape{' '}
          {shapeText(synthetic.inputShape)}; {synthetic.classNames.length} classes ({synthetic.classNames.join(', ')}),{' '}
          {synthetic.trainCount / synthetic.classNames.length} / {synthetic.testCount / synthetic.classNames.length} each.
        </p>
      )}
      {(choice === 'csv' || choice === 'images') && <UserDataBox kind={choice} user={choice === 'csv' ? csv : images} plan={plan} />}
    </div>
  );
}
