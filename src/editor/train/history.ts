/** The run history of the current graph: listing and deleting saved runs, choosing runs to compare. */
import { deleteRun, listRuns } from '../runs-db';
import { useTraining } from '../training';
import { toast } from './toast';

export async function refreshRuns(graphKey: string): Promise<void> {
  try {
    const runs = await listRuns(graphKey);
    const ids = new Set(runs.map((r) => r.id));
    const compare = useTraining.getState().runsKey === graphKey ? useTraining.getState().compare.filter((id) => ids.has(id)) : [];
    useTraining.setState({ runsKey: graphKey, runs, compare });
  } catch (err) {
    useTraining.setState({ runsKey: graphKey, runs: [] });
    toast('error', 'Could not read the run history from this browser', [String(err)]);
  }
}

export async function removeRun(id: string): Promise<void> {
  await deleteRun(id);
  const key = useTraining.getState().runsKey;
  if (key) await refreshRuns(key);
}

export function toggleCompare(id: string) {
  const { compare } = useTraining.getState();
  useTraining.setState({ compare: compare.includes(id) ? compare.filter((x) => x !== id) : [...compare, id] });
}
