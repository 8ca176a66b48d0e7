/**
 * "Start from a past run" for training programs: pick a finished run of this document and the
 * networks to take from it (distillation's teacher, say); the train procedures that would only train
 * those networks are skipped, and the rest of the program runs as usual.
 */
import { proceduresCoveredBy, type PlanProgram } from '../../compiler/program';
import { useTraining } from '../training';

export interface StartFromChoice {
  runId: string;
  networks: string[];
}

export function StartFrom({
  program,
  value,
  onChange,
}: {
  program: PlanProgram;
  value: StartFromChoice | null;
  onChange: (v: StartFromChoice | null) => void;
}) {
  const runs = useTraining((s) => s.runs).filter((r) => r.program && r.hasWeights);
  if (runs.length === 0) return null;
  const chosen = value && runs.some((r) => r.id === value.runId) ? value : null;
  const skipped = chosen ? proceduresCoveredBy(program, new Set(chosen.networks)) : [];
  const labelOf = (id: string) => program.procedures.find((p) => p.id === id)?.label ?? id;
  const toggle = (network: string, on: boolean) =>
    chosen && onChange({ ...chosen, networks: on ? [...chosen.networks, network] : chosen.networks.filter((n) => n !== network) });
  return (
    <div className="pb-field" data-testid="start-from">
      <label htmlFor="pb-start-from">Start networks from</label>
      <select id="pb-start-from" value={chosen?.runId ?? ''} onChange={(e) => onChange(e.target.value ? { runId: e.target.value, networks: [] } : null)}>
        <option value="">Their initial weights (a fresh run)</option>
        {runs.map((r) => (
          <option key={r.id} value={r.id}>
            {r.imported ? `The weights imported ${new Date(r.date).toLocaleString()}` : `The run of ${new Date(r.date).toLocaleString()} (${r.status})`}
          </option>
        ))}
      </select>
      {chosen && (
        <div className="pb-start-from-networks">
          {program.networks.map((n) => {
            // Imported weights may hold only some networks: the others cannot be taken from them.
            const held = runs.find((r) => r.id === chosen.runId)?.imported?.networks;
            const absent = !!held && !held.includes(n.id);
            return (
              <label key={n.id} className="pb-check" title={absent ? 'The imported weights have no folder for this network' : undefined}>
                <input type="checkbox" checked={chosen.networks.includes(n.id)} disabled={absent} onChange={(e) => toggle(n.id, e.target.checked)} /> {n.label}
              </label>
            );
          })}
        </div>
      )}
      <div className="pb-field-help">
        {!chosen
          ? 'Take trained networks from an earlier run of this program, e.g. a teacher, instead of training them again.'
          : chosen.networks.length === 0
            ? 'Tick the networks to take from that run; the others start from their initial weights.'
            : skipped.length
              ? `Skipped, as their networks come trained: ${skipped.map(labelOf).join(', ')}.`
              : 'Every procedure still runs: each one also trains a network that is not taken.'}
      </div>
    </div>
  );
}
