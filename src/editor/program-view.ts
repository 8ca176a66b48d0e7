/**
 * The editor's view of a document with several networks or a training program: the tabs over the
 * canvas, the compiler's program analysis (derived from the document, memoised, never stored), each
 * network's own analysis, and what the canvas, the inspector and the panels show for the graph on
 * show. A plain document (one network, no program) never needs any of it: it has no tabs, and every
 * function here answers as the editor did before programs existed.
 */
import { analyzeProgram, lowerProgram, type NetworkInfo, type ProcedureResult, type ProgramAnalysis, type ProgramLowerResult } from '../compiler/program';
import { emptyCost } from '../compiler/cost';
import { createAnalyzer, type Analysis, type BodyResult, type NodeResult } from '../compiler/infer';
import type { NodePorts } from '../compiler/graph';
import type { Diagnostic } from '../document/diagnostics';
import { MAIN_NETWORK, type GraphDocument, type GraphNode, type NetworkDef } from '../document/schema';
import { getProgramSpec, NETWORK_NODE_TYPE } from '../nodes/program/specs';
import type { ParamCount } from '../nodes/spec';
import { analysisOf } from './analysis';
import { onlyPositionsDiffer } from './layout-only';
import { MAIN_TAB, type EditorState, type Tab } from './store';

/** Whether the document shows tabs: it has networks besides the main one, or a program. */
export const hasTabs = (doc: GraphDocument): boolean => doc.networks.length > 0 || !!doc.program;

/** The main network's tab label: the document's name (the tab of the network "model"). */
/** The top-level graph as a network of the program: its own label, or the document's name. */
export const mainNetworkLabel = (doc: GraphDocument): string => doc.program?.mainNetwork?.label.trim() || doc.name.trim() || 'Main network';

export interface TabInfo {
  tab: Tab;
  label: string;
  /** "train" / "evaluate" for procedures. */
  detail?: string;
}

/** One tab per network (the main one first), then one per procedure, in document order. */
export function tabsOf(doc: GraphDocument): TabInfo[] {
  if (!hasTabs(doc)) return [];
  return [
    { tab: MAIN_TAB, label: mainNetworkLabel(doc) },
    ...doc.networks.map((n) => ({ tab: { kind: 'network' as const, id: n.id }, label: n.label })),
    ...(doc.program?.procedures ?? []).map((p) => ({ tab: { kind: 'procedure' as const, id: p.id }, label: p.label, detail: p.kind })),
  ];
}

export const sameTab = (a: Tab, b: Tab) => a.kind === b.kind && a.id === b.id;

let lastProgram: { doc: GraphDocument; program: ProgramAnalysis | null } | null = null;
/** The compiler's analysis of the document's program; null without one. */
export function programOf(doc: GraphDocument): ProgramAnalysis | null {
  // A drag moves nodes only: keep the analysis (see analysisOf).
  if (lastProgram?.doc !== doc)
    lastProgram = { doc, program: lastProgram && onlyPositionsDiffer(lastProgram.doc, doc) ? lastProgram.program : doc.program ? analyzeProgram(doc) : null };
  return lastProgram.program;
}

const lowered = new WeakMap<ProgramAnalysis, ProgramLowerResult>();
/** The program the worker runs (the plan's program section), or the errors that stop it. */
export function planProgramOf(program: ProgramAnalysis): ProgramLowerResult {
  let out = lowered.get(program);
  if (!out) lowered.set(program, (out = lowerProgram(program)));
  return out;
}

/**
 * One incremental analyzer per network besides the main one, over the network as a document of its
 * own (as compiler/program.ts's networksOf builds it), so an edit in a network re-infers only what
 * it touched, as on the main graph. No PB310 per network: a program estimates its training steps
 * as a whole (compiler/program-memory.ts), and a network no program applies is not trained.
 */
const networkAnalyzers = new Map<
  string,
  { analyze: (doc: GraphDocument) => Analysis; net: NetworkDef | null; blocks: GraphDocument['blocks'] | null; analysis: Analysis | null }
>();

export function networkAnalysisOf(doc: GraphDocument, networkId: string): Analysis | null {
  if (networkId === MAIN_NETWORK) return analysisOf(doc);
  const net = doc.networks.find((n) => n.id === networkId);
  if (!net) return null;
  let entry = networkAnalyzers.get(networkId);
  if (!entry) networkAnalyzers.set(networkId, (entry = { analyze: createAnalyzer({ memory: false }), net: null, blocks: null, analysis: null }));
  const moved = entry.net && entry.analysis && entry.blocks === doc.blocks && onlyPositionsDiffer(entry.net, net);
  if (moved) entry.net = net;
  else if (entry.net !== net || entry.blocks !== doc.blocks || !entry.analysis) {
    entry.analysis = entry.analyze({ ...doc, name: net.label, nodes: net.nodes, edges: net.edges, networks: [], program: undefined });
    entry.net = net;
    entry.blocks = doc.blocks;
  }
  return entry.analysis;
}

/** Every diagnostic of the document: the main network's, the other networks' and the program's. */
export function allDiagnosticsOf(doc: GraphDocument): Diagnostic[] {
  if (!hasTabs(doc)) return analysisOf(doc).diagnostics;
  const program = programOf(doc);
  if (program) return program.diagnostics;
  const out = [...analysisOf(doc).diagnostics];
  for (const net of doc.networks) for (const d of networkAnalysisOf(doc, net.id)?.diagnostics ?? []) out.push({ ...d, network: net.id });
  return out;
}

/** Parameters of the whole document: every network (and a program's learned scalars). */
export function totalCountOf(doc: GraphDocument): ParamCount {
  if (!hasTabs(doc)) return analysisOf(doc).count;
  const program = programOf(doc);
  if (program) return program.count;
  const count = { ...analysisOf(doc).count };
  for (const net of doc.networks) {
    const c = networkAnalysisOf(doc, net.id)?.count;
    if (c) {
      count.trainable += c.trainable;
      count.nonTrainable += c.nonTrainable;
    }
  }
  return count;
}

/** The tab a diagnostic belongs to (a network's, a procedure's, or the main network's). */
export const tabOfDiagnostic = (d: Diagnostic): Tab =>
  d.procedure ? { kind: 'procedure', id: d.procedure } : d.network ? { kind: 'network', id: d.network } : MAIN_TAB;

/** The networks a procedure can apply, by id (for Network nodes: label, ports, count). */
const networkMaps = new WeakMap<ProgramAnalysis, ReadonlyMap<string, NetworkInfo>>();
export function networksById(doc: GraphDocument): ReadonlyMap<string, NetworkInfo> {
  const program = programOf(doc);
  if (!program) return new Map();
  let map = networkMaps.get(program);
  if (!map) networkMaps.set(program, (map = new Map(program.networks.map((n) => [n.id, n]))));
  return map;
}

/** The ports a procedure node shows: a procedure spec's, or the applied network's inputs and outputs. */
export function procedurePortsOf(node: GraphNode, networks: ReadonlyMap<string, NetworkInfo>): NodePorts | undefined {
  if (node.type === NETWORK_NODE_TYPE) {
    const net = networks.get(String(node.params.network ?? ''));
    return net && { inputs: net.inputs.map((i) => ({ name: i.port })), outputs: net.outputs.map((o) => ({ name: o.port })) };
  }
  const spec = getProgramSpec(node.type);
  return spec && { inputs: spec.inputs, outputs: spec.outputs };
}

const NO_COUNT: ParamCount = { trainable: 0, nonTrainable: 0 };
const sameJson = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);
/** Per procedure: the node results handed out last, reused while unchanged so that untouched nodes do not re-render. */
const procedureResults = new Map<string, Map<string, NodeResult>>();

/**
 * A procedure's results in the shape the canvas and the inspector read for a network (shapes by
 * output port, parsed params, and for a Network node the network's parameter count).
 */
export function procedureBodyResult(result: ProcedureResult, networks: ReadonlyMap<string, NetworkInfo>): BodyResult {
  const previous = procedureResults.get(result.def.id) ?? new Map<string, NodeResult>();
  const nodes = new Map<string, NodeResult>();
  for (const node of result.def.nodes) {
    const params = result.params.get(node.id) ?? null;
    const net = node.type === NETWORK_NODE_TYPE ? networks.get(String(node.params.network ?? '')) : undefined;
    const fresh: NodeResult = { nodeId: node.id, outputs: result.shapes.get(node.id) ?? null, inputs: [], params, count: net ? net.analysis.count : NO_COUNT };
    const old = previous.get(node.id);
    nodes.set(node.id, old && sameJson(old.outputs, fresh.outputs) && sameJson(old.params, fresh.params) && sameJson(old.count, fresh.count) ? old : fresh);
  }
  procedureResults.set(result.def.id, nodes);
  return { wiring: result.wiring, nodes, diagnostics: result.diagnostics, count: NO_COUNT, cost: emptyCost() };
}

/** What the canvas and the inspector show for the graph on show. */
export interface ViewResults {
  kind: 'network' | 'procedure' | 'block';
  /** Results of the nodes on show (for a block: its open instance's first repetition). */
  results: BodyResult | undefined;
  /** The diagnostics of the graph on show, for its nodes. */
  diagnostics: Diagnostic[];
  /** The analysis of the network on show (its blocks); for a procedure, the main one. */
  analysis: Analysis;
  /** For a procedure: the document's networks, by id. */
  networks?: ReadonlyMap<string, NetworkInfo>;
  procedure?: ProcedureResult;
}

export function viewResultsOf(s: Pick<EditorState, 'doc' | 'tab' | 'blockView'>): ViewResults {
  const { doc, tab, blockView } = s;
  if (tab.kind === 'procedure') {
    const program = programOf(doc);
    const procedure = program?.procedures.find((p) => p.def.id === tab.id);
    if (program && procedure) {
      const networks = networksById(doc);
      return {
        kind: 'procedure',
        results: procedureBodyResult(procedure, networks),
        diagnostics: procedure.diagnostics,
        analysis: analysisOf(doc),
        networks,
        procedure,
      };
    }
  }
  const analysis = (tab.kind === 'network' ? networkAnalysisOf(doc, tab.id) : null) ?? analysisOf(doc);
  if (blockView) {
    const inner = analysis.main.nodes.get(blockView.nodeId)?.inner;
    return { kind: 'block', results: inner, diagnostics: inner?.diagnostics ?? [], analysis };
  }
  return { kind: 'network', results: analysis.main, diagnostics: analysis.diagnostics, analysis };
}
