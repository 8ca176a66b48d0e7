/** The live run's curves, its per-epoch table and the confusion matrix of its test results. */
import type uPlot from 'uplot';
import type { Evaluation } from '../../runtime/training/train';
import { LineChart, type ChartSeries } from '../Chart';
import type { LiveRun } from '../training';
import { formatNumber, nounOf, pct, short } from './format';
import { Section } from './Section';

function ConfusionMatrix({ evaluation, caption, classNames }: { evaluation: Evaluation; caption: string; classNames: string[] }) {
  const m = evaluation.confusion;
  const nameOf = (i: number) => classNames[i] ?? String(i);
  return (
    <table className="pb-confusion" data-testid="confusion-matrix">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col" className="pb-confusion-corner" title="rows: actual class, columns: predicted">
            act \ pred
          </th>
          {m.map((_, j) => (
            <th key={j} scope="col" title={nameOf(j)}>
              {short(nameOf(j), m.length)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {m.map((row, i) => {
          const total = row.reduce((a, b) => a + b, 0) || 1;
          return (
            <tr key={i}>
              <th scope="row" title={nameOf(i)}>
                {short(nameOf(i), m.length)}
              </th>
              {row.map((n, j) => {
                const share = n / total;
                const bg = n === 0 ? undefined : i === j ? `rgb(5 150 105 / ${0.12 + 0.75 * share})` : `rgb(220 38 38 / ${0.12 + 0.8 * share})`;
                return (
                  <td key={j} style={{ background: bg }} title={`actual ${nameOf(i)}, predicted ${nameOf(j)}: ${n}`}>
                    {n || ''}
                  </td>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function epochXs(run: Pick<LiveRun, 'epochs' | 'curves' | 'setup'>, totalSteps: number): number[] {
  const per = Math.ceil(totalSteps / Math.max(1, run.setup.epochs));
  return run.epochs.map((e) => Math.min(e.epoch * per, run.curves.loss.length));
}
export function LiveCharts({ run, tick }: { run: LiveRun; tick: number }) {
  const total = run.last?.totalSteps ?? 0;
  const build = (metric: 'loss' | 'accuracy') => (): uPlot.AlignedData => {
    const n = run.curves.loss.length;
    const xs = Array.from({ length: n }, (_, i) => i + 1);
    const steps = metric === 'loss' ? run.curves.loss : run.curves.accuracy;
    const trainE: (number | null)[] = new Array(n).fill(null);
    const testE: (number | null)[] = new Array(n).fill(null);
    epochXs(run, total).forEach((x, i) => {
      const e = run.epochs[i]!;
      if (x < 1) return;
      trainE[x - 1] = metric === 'loss' ? e.trainLoss : e.trainAccuracy;
      testE[x - 1] = metric === 'loss' ? e.test.loss : e.test.accuracy;
    });
    return [xs, steps.slice(0, n), trainE, testE];
  };
  const series = (name: string): ChartSeries[] => [
    { label: `${name} (step)`, color: '#6366f1' },
    { label: `train ${name} (epoch)`, color: '#ea580c', points: true, width: 2 },
    { label: `test ${name} (epoch)`, color: '#059669', points: true, width: 2 },
  ];
  return (
    <div className="pb-charts">
      <LineChart title="Loss" testId="chart-loss" series={series('loss')} data={build('loss')} version={tick} />
      <LineChart
        title="Accuracy"
        testId="chart-accuracy"
        series={series('accuracy')}
        data={build('accuracy')}
        version={tick}
        yRange={[0, 1]}
        yFormat={(v) => `${Math.round(v * 100)}%`}
      />
    </div>
  );
}

export function Results({ run }: { run: LiveRun }) {
  const latest = run.final?.test ?? run.epochs[run.epochs.length - 1]?.test;
  if (!run.epochs.length && !run.final) return null;
  return (
    <Section title="Test results">
      <table className="pb-epochs">
        <thead>
          <tr>
            <th>Epoch</th>
            <th className="pb-num">Train loss</th>
            <th className="pb-num">Train acc.</th>
            <th className="pb-num">Test loss</th>
            <th className="pb-num">Test acc.</th>
          </tr>
        </thead>
        <tbody>
          {run.epochs.map((e) => (
            <tr key={e.epoch}>
              <td>{e.epoch}</td>
              <td className="pb-num pb-mono">{formatNumber(e.trainLoss, 4)}</td>
              <td className="pb-num pb-mono">{pct(e.trainAccuracy)}</td>
              <td className="pb-num pb-mono">{formatNumber(e.test.loss, 4)}</td>
              <td className="pb-num pb-mono">{pct(e.test.accuracy, 2)}</td>
            </tr>
          ))}
          {run.final && !run.epochs.length && (
            <tr>
              <td>end</td>
              <td className="pb-num pb-mono">{Number.isFinite(run.final.trainLoss) ? formatNumber(run.final.trainLoss, 4) : '–'}</td>
              <td className="pb-num pb-mono">{pct(run.final.trainAccuracy)}</td>
              <td className="pb-num pb-mono">{formatNumber(run.final.test.loss, 4)}</td>
              <td className="pb-num pb-mono">{pct(run.final.test.accuracy, 2)}</td>
            </tr>
          )}
        </tbody>
      </table>
      {latest && (
        <>
          <p className="pb-train-acc">
            Test accuracy <strong data-testid="test-accuracy">{pct(latest.accuracy, 2)}</strong>
            <span className="pb-muted">
              {' '}
              on{' '}
              {latest.confusion
                .flat()
                .reduce((a, b) => a + b, 0)
                .toLocaleString('en-US')}{' '}
              test {nounOf(run.data)} of {run.data.title}
              {run.final ? '' : ' (after the last epoch)'}
            </span>
          </p>
          <ConfusionMatrix
            evaluation={latest}
            classNames={run.data.classNames}
            caption={`Confusion matrix (rows: actual ${nounOf(run.data, false) === 'digit' ? 'digit' : 'class'}, columns: predicted)`}
          />
        </>
      )}
    </Section>
  );
}
