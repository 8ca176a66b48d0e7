/**
 * Diagnostics are data: every problem the document loader or the compiler finds is one of these
 * records, never a thrown error. Messages follow the Keras habit: what was received, what was
 * expected, how to fix it.
 */
import { quoted, visible } from './text';

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  help: string;
  nodeId?: string;
  port?: string;
  param?: string;
  /** Where in a file (a JSON path such as `nodes[3].params.units`), for load-time problems. */
  path?: string;
  /** For nodes inside a block definition: the block's id. */
  blockId?: string;
  /** For nodes inside a network other than the main one: the network's id. */
  network?: string;
  /** For nodes of a training procedure: the procedure's id. */
  procedure?: string;
}

/**
 * The catalogue: one entry per kind of problem, with its default severity and a one-line title.
 * Codes are stable so that tests, docs and users can refer to them.
 */
export const DIAGNOSTIC_CATALOGUE = {
  // Loading a file (PB1xx)
  PB100: { severity: 'error', title: 'Not JSON' },
  PB101: { severity: 'error', title: 'Not a Patchbay document' },
  PB102: { severity: 'error', title: 'Document from a newer version' },
  PB103: { severity: 'error', title: 'Malformed document field' },
  PB104: { severity: 'error', title: 'Unknown node type kept as placeholder' },
  PB105: { severity: 'warning', title: 'Node from a newer node-type version' },
  PB106: { severity: 'error', title: 'Duplicate id' },
  PB107: { severity: 'error', title: 'Edge refers to a missing node' },
  PB108: { severity: 'info', title: 'Document migrated' },
  PB109: { severity: 'error', title: 'Unknown block' },
  PB110: { severity: 'error', title: 'Document nested too deeply' },
  PB111: { severity: 'error', title: 'File too large' },
  // Graph structure (PB2xx)
  PB200: { severity: 'error', title: 'Input port not connected' },
  PB201: { severity: 'error', title: 'Port does not exist' },
  PB202: { severity: 'error', title: 'Cycle' },
  PB203: { severity: 'error', title: 'Port already connected' },
  PB204: { severity: 'error', title: 'Graph has no input' },
  PB205: { severity: 'warning', title: 'Node is not connected to an output' },
  PB206: { severity: 'error', title: 'Block repeat changes shape' },
  PB207: { severity: 'error', title: 'Block definition is broken' },
  PB208: { severity: 'error', title: 'Graph has no output' },
  PB209: { severity: 'error', title: 'Block port outside a block' },
  PB210: { severity: 'error', title: 'Block contains itself' },
  // Params and shapes (PB3xx)
  PB300: { severity: 'error', title: 'Invalid parameter' },
  PB301: { severity: 'error', title: 'Rank mismatch' },
  PB302: { severity: 'error', title: 'Shape mismatch' },
  PB303: { severity: 'error', title: 'Kernel larger than input' },
  PB304: { severity: 'error', title: 'Impossible reshape' },
  PB305: { severity: 'error', title: 'Unknown dimension' },
  PB306: { severity: 'error', title: 'Output size is not positive' },
  PB307: { severity: 'error', title: 'Node cannot be compiled' },
  PB308: { severity: 'error', title: 'Reference to a block param that does not exist' },
  PB309: { severity: 'error', title: 'Condition is not a boolean block param' },
  PB310: { severity: 'warning', title: 'Model may not fit in memory' },
  PB311: { severity: 'warning', title: 'Param the node does not take' },
  PB312: { severity: 'error', title: 'Block param option a layer does not take' },
  // Training programs (PB4xx)
  PB400: { severity: 'error', title: 'Unknown network' },
  PB401: { severity: 'error', title: 'Node does not belong in this procedure' },
  PB402: { severity: 'error', title: 'Procedure has nothing to do' },
  PB403: { severity: 'error', title: 'Data does not fit the network' },
  PB404: { severity: 'error', title: 'Optimizer reaches no weights' },
  PB405: { severity: 'error', title: 'DirectPred needs a linear predictor' },
  PB406: { severity: 'error', title: 'Network is broken' },
} as const satisfies Record<string, { severity: Severity; title: string }>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CATALOGUE;

export interface DiagnosticInit {
  message: string;
  help: string;
  nodeId?: string;
  port?: string;
  param?: string;
  path?: string;
  blockId?: string;
  network?: string;
  procedure?: string;
  severity?: Severity;
}

export function diagnostic(code: DiagnosticCode, init: DiagnosticInit): Diagnostic {
  const { severity, ...rest } = init;
  const out: Diagnostic = { code, severity: severity ?? DIAGNOSTIC_CATALOGUE[code].severity, ...rest };
  for (const key of Object.keys(out) as (keyof Diagnostic)[]) if (out[key] === undefined) delete out[key];
  return out;
}

export const hasErrors = (diagnostics: readonly Diagnostic[]): boolean => diagnostics.some((d) => d.severity === 'error');

/** Human-readable one-liner, as the CLI prints it. */
export function formatDiagnostic(d: Diagnostic): string {
  // Ids and names come from the document: quoted() keeps a line break or an escape in them visible.
  const where = [
    d.network && `network ${quoted(d.network)}`,
    d.procedure && `procedure ${quoted(d.procedure)}`,
    d.blockId && `block ${quoted(d.blockId)}`,
    d.nodeId && `node ${quoted(d.nodeId)}`,
    d.port && `port ${quoted(d.port)}`,
    d.param && `param ${quoted(d.param)}`,
    d.path && `at ${quoted(d.path)}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `${d.severity} ${d.code}${where ? ` (${where})` : ''}: ${visible(d.message)}${d.help ? `\n  help: ${visible(d.help)}` : ''}`;
}

/** How many diagnostics a terminal listing shows before it sums up the rest. */
export const LISTED_DIAGNOSTICS = 50;

/** Diagnostics as terminal lines: the first `limit`, then "… and 39,990 more". */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], limit = LISTED_DIAGNOSTICS): string[] {
  const lines = diagnostics.slice(0, limit).map(formatDiagnostic);
  const rest = diagnostics.length - limit;
  if (rest > 0) lines.push(`… and ${rest.toLocaleString('en-US')} more (--json lists them all).`);
  return lines;
}
