import { loadDocumentValue } from '../src/document/load';
import { applyPreset, presetsOf, templateInfo, type Preset, type TemplateInfo } from '../src/document/templates';
import type { GraphDocument } from '../src/document/schema';
import { nodeTypeLookup } from '../src/nodes/registry';
import convmixer from './convmixer.json';
import mlpMixer from './mlp-mixer.json';
import vit from './vit.json';
import byol from './byol.json';
import directpred from './directpred.json';
import distillation from './distillation.json';
import capsnet from './capsnet.json';
import simsiam from './simsiam.json';
import clip from './clip.json';
import ddpm from './ddpm.json';
import realnvp from './realnvp.json';
import glow from './glow.json';
import glom from './glom.json';
import sr3 from './sr3.json';
import palette from './palette.json';

/** Every template ships as an ordinary saved document; its presets live in `meta.presets`. */
const SOURCES: unknown[] = [convmixer, mlpMixer, vit, distillation, simsiam, byol, directpred, capsnet, clip, realnvp, glow, ddpm, sr3, palette, glom];

export interface Template {
  info: TemplateInfo;
  doc: GraphDocument;
  presets: Preset[];
}

function loadTemplate(raw: unknown): Template {
  const { doc, diagnostics } = loadDocumentValue(raw, { nodeTypes: nodeTypeLookup });
  const info = doc && templateInfo(doc);
  if (!doc || !info) throw new Error(`A bundled template does not load: ${diagnostics.map((d) => d.message).join('; ')}`);
  return { info, doc, presets: presetsOf(doc) };
}

export const TEMPLATES: readonly Template[] = SOURCES.map(loadTemplate);

export function findTemplate(id: string): Template | undefined {
  return TEMPLATES.find((t) => t.info.id === id);
}

/** The template's document with a preset applied (its default preset when none is named). */
export function templateDocument(id: string, presetName?: string): { doc: GraphDocument } | { error: string } {
  const template = findTemplate(id);
  if (!template) return { error: `No template "${id}". Templates: ${TEMPLATES.map((t) => t.info.id).join(', ')}.` };
  const name = presetName ?? template.info.defaultPreset;
  if (name === undefined) return { doc: template.doc };
  const preset = template.presets.find((p) => p.name === name);
  if (!preset) return { error: `Template "${id}" has no preset "${name}". Presets: ${template.presets.map((p) => p.name).join(', ')}.` };
  return { doc: applyPreset(template.doc, preset) };
}
