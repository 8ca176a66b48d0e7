/**
 * The exported TypeScript of the document on show. Only the code panel needs it, and the emitters
 * carry the runtime's layer and program sources as text (src/compiler/generated), so this module is
 * loaded with that panel rather than with the editor.
 */
import { emit } from '../compiler/emit';
import { emitProgram } from '../compiler/emit-program';
import type { Analysis } from '../compiler/infer';
import type { ProgramAnalysis } from '../compiler/program';
import type { Diagnostic } from '../document/diagnostics';
import { planOf } from './analysis';
import { planProgramOf } from './program-view';

type CodeResult = { code: string | null; diagnostics: Diagnostic[] };

const codeCache = new WeakMap<Analysis, CodeResult>();
/** The generated TypeScript, or the errors that stop it. */
export function codeOf(analysis: Analysis): CodeResult {
  let out = codeCache.get(analysis);
  if (!out) {
    const lowered = planOf(analysis);
    out = lowered.plan ? { code: emit(lowered.plan), diagnostics: lowered.diagnostics } : { code: null, diagnostics: lowered.diagnostics };
    codeCache.set(analysis, out);
  }
  return out;
}

const programCode = new WeakMap<ProgramAnalysis, CodeResult>();
/** The exported TypeScript of a document with a program (networks and trainer), or the errors that stop it. */
export function programCodeOf(program: ProgramAnalysis): CodeResult {
  let out = programCode.get(program);
  if (!out) {
    const lowered = planProgramOf(program);
    programCode.set(
      program,
      (out = lowered.program ? { code: emitProgram(lowered.program), diagnostics: [] } : { code: null, diagnostics: lowered.diagnostics }),
    );
  }
  return out;
}
