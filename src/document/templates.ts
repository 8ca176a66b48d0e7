import { z } from 'zod';
import { MAIN_NETWORK, ProcedureSchema, type GraphDocument } from './schema';

/** Template metadata and presets travel in an ordinary document's `meta`, so a template is just a file. */
export const PresetSchema = z.object({
  name: z.string(),
  description: z.string().default(''),
  /** node id (or `network/nodeId`, `procedure/nodeId`) → params to set; the key `repeat` on a block node sets its repeat count. */
  set: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  /**
   * A training program's procedures for this preset, in place of the template's (before `set` applies):
   * a preset that trains the same networks on another task (Palette's colourisation beside its
   * inpainting) needs other wiring, not only other values.
   */
  procedures: z.array(ProcedureSchema).min(1).optional(),
  /** The training setup's values this preset changes (Palette colourise needs more epochs than its inpainting). */
  training: z.object({ epochs: z.number().int().positive().optional() }).optional(),
});
export type Preset = z.infer<typeof PresetSchema>;

export const TemplateInfoSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  paper: z.string().optional(),
  defaultPreset: z.string().optional(),
});
export type TemplateInfo = z.infer<typeof TemplateInfoSchema>;

export function templateInfo(doc: GraphDocument): TemplateInfo | null {
  const parsed = TemplateInfoSchema.safeParse(doc.meta.template);
  return parsed.success ? parsed.data : null;
}

export function presetsOf(doc: GraphDocument): Preset[] {
  const parsed = z.array(PresetSchema).safeParse(doc.meta.presets ?? []);
  return parsed.success ? parsed.data : [];
}

/**
 * The node a preset key names: `nodeId` in the main network, or `graph/nodeId` in the network or
 * procedure with that id (`model/…` is the main network).
 */
function presetTarget(doc: GraphDocument, key: string): GraphDocument['nodes'][number] | undefined {
  const slash = key.indexOf('/');
  if (slash < 0) return doc.nodes.find((n) => n.id === key);
  const [graph, nodeId] = [key.slice(0, slash), key.slice(slash + 1)];
  const body = graph === MAIN_NETWORK ? doc : (doc.networks.find((n) => n.id === graph) ?? doc.program?.procedures.find((p) => p.id === graph));
  return body?.nodes.find((n) => n.id === nodeId);
}

/**
 * What the preset a document was made with (`meta.preset`, a saved file's) set that `preset` leaves
 * as it is: its procedures, its epochs, and node values `preset` does not set. Applied on top, those
 * would stay, and the graph would be neither preset (Palette colourise's RGB shapes and colourisation
 * procedures under the name of mnist's inpainting).
 */
function keptFromEarlierPreset(doc: GraphDocument, preset: Preset): { earlier: string; kept: string[] } | null {
  const made = doc.meta?.preset;
  if (typeof made !== 'string') return null;
  const earlier = presetsOf(doc).find((p) => p.name === made);
  if (!earlier || earlier.name === preset.name) return null;
  const kept: string[] = [];
  if (earlier.procedures && !preset.procedures) kept.push('the training procedures');
  if (earlier.training?.epochs !== undefined && preset.training?.epochs === undefined) kept.push('the epochs');
  for (const [key, values] of Object.entries(earlier.set))
    for (const param of Object.keys(values)) if (!Object.hasOwn(preset.set[key] ?? {}, param)) kept.push(`${key}.${param}`);
  return kept.length ? { earlier: earlier.name, kept } : null;
}

/** A copy of the document with the preset's values applied; the preset's name goes in the title. */
export function applyPreset(doc: GraphDocument, preset: Preset): GraphDocument {
  const out = structuredClone(doc);
  if (preset.procedures) {
    if (!out.program) throw new Error(`Preset "${preset.name}" brings procedures, but the template has no training program.`);
    out.program.procedures = structuredClone(preset.procedures);
  }
  if (preset.training?.epochs !== undefined) {
    if (!out.training) throw new Error(`Preset "${preset.name}" sets the training epochs, but the template has no training setup.`);
    out.training.epochs = preset.training.epochs;
  }
  // A graph made with another preset (a saved file) would keep what that one set and this one does not.
  const leak = keptFromEarlierPreset(doc, preset);
  if (leak) {
    const listed = leak.kept.length > 6 ? `${leak.kept.slice(0, 6).join(', ')} and ${leak.kept.length - 6} more` : leak.kept.join(', ');
    throw new Error(
      `Preset "${preset.name}" cannot be applied to this graph: it was made with the preset "${leak.earlier}", which set ${listed}, and "${preset.name}" would leave them as they are. Open the template with the preset "${preset.name}" instead.`,
    );
  }
  for (const [key, values] of Object.entries(preset.set)) {
    const node = presetTarget(out, key);
    if (!node) throw new Error(`Preset "${preset.name}" sets node "${key}", which the template lacks.`);
    for (const [key, value] of Object.entries(values)) {
      if (key === 'repeat' && node.type === 'Block') node.repeat = value as number;
      else node.params[key] = value;
    }
  }
  out.name = `${doc.name} ${preset.name}`;
  out.meta = { ...out.meta, preset: preset.name };
  return out;
}
