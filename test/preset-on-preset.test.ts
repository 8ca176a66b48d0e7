/**
 * A preset applied to a graph that an earlier preset made (a saved file, `patchbay … file.json
 * --preset NAME`): the earlier preset's procedures, epochs and node values that the new one does not
 * set would stay, so the result would be neither (Palette colourise's RGB shapes and colourisation
 * procedures under the name of mnist's inpainting). That is refused in words; a preset that sets all
 * the earlier one set applies.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPreset, presetsOf } from '../src/document/templates';
import { templateDocument } from '../templates/index';

const ROOT = join(import.meta.dirname, '..');

const doc = (id: string, preset: string) => {
  const t = templateDocument(id, preset);
  if ('error' in t) throw new Error(t.error);
  return t.doc;
};
const presetOf = (id: string, name: string) => presetsOf(doc(id, name)).find((p) => p.name === name)!;

describe('a preset on a graph made with another preset', () => {
  it('palette mnist on a colourise graph is refused, naming what colourise set that mnist leaves', () => {
    const colourised = doc('palette', 'colourise');
    expect(() => applyPreset(colourised, presetOf('palette', 'mnist'))).toThrow(/made with the preset "colourise"/);
    expect(() => applyPreset(colourised, presetOf('palette', 'mnist'))).toThrow(/training procedures.*epochs.*image\.shape/);
  });

  it('applies where the new preset sets everything the earlier one set: colourise on an mnist graph is the colourise graph', () => {
    const fromMnist = applyPreset(doc('palette', 'mnist'), presetOf('palette', 'colourise'));
    const direct = doc('palette', 'colourise');
    expect(fromMnist.program!.procedures).toEqual(direct.program!.procedures);
    expect(fromMnist.training!.epochs).toBe(direct.training!.epochs);
    expect(fromMnist.nodes).toEqual(direct.nodes);
    // The same preset again changes nothing it set.
    expect(applyPreset(direct, presetOf('palette', 'colourise')).program!.procedures).toEqual(direct.program!.procedures);
  });

  it('patchbay summary FILE --preset mnist on a saved colourise graph says why, exit code 2', async () => {
    const { run } = await import('../src/cli/main');
    const dir = join(ROOT, '.tmp', 'preset-on-preset');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'palette-colourise.json');
    writeFileSync(file, JSON.stringify(doc('palette', 'colourise')));
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t), status: () => {} };
    expect(await run(['summary', file, '--preset', 'mnist'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/made with the preset "colourise"/);
  });
});
