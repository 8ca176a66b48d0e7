/**
 * References inside block bodies ({ "$param" } and `when`) must name what they claim to; a model too
 * big to train says so before anything allocates; messages read as sentences.
 */
import { describe, expect, it } from 'vitest';
import { emit } from '../src/compiler/emit';
import { analyze, type Analysis } from '../src/compiler/infer';
import { lower } from '../src/compiler/lower';
import { TRAINING_MEMORY_LIMIT, formatBytes } from '../src/compiler/memory';
import { analyzeProgram } from '../src/compiler/program';
import { summarize } from '../src/compiler/summary';
import { DIAGNOSTIC_CATALOGUE } from '../src/document/diagnostics';
import type { BlockDef, GraphDocument } from '../src/document/schema';
import { TEMPLATES, templateDocument } from '../templates/index';
import { graph } from './helpers/graphs';

/** A block "B" (x → Dense → y) with the given Dense params and params list, used once in a graph. */
function withBlock(dense: Record<string, unknown>, params: BlockDef['params'], extra: Partial<BlockDef['nodes'][number]> = {}): GraphDocument {
  const block: BlockDef = {
    id: 'B',
    label: 'B',
    description: '',
    category: 'Blocks',
    params,
    nodes: [
      { id: 'x', type: 'BlockInput', params: { name: 'x' } },
      { id: 'd', type: 'Dense', params: dense, ...extra },
      { id: 'y', type: 'BlockOutput', params: { name: 'y' } },
    ],
    edges: [
      { id: 'a', source: 'x', sourcePort: 'out', target: 'd', targetPort: 'in' },
      { id: 'b', source: 'd', sourcePort: 'out', target: 'y', targetPort: 'in' },
    ],
  };
  return graph(
    [
      { id: 'in', type: 'Input', params: { shape: [4] } },
      { id: 'blk', type: 'Block', block: 'B', params: {} },
      { id: 'out', type: 'Output' },
    ],
    [
      ['in', 'blk', 'x'],
      ['blk', 'out', 'in', 'y'],
    ],
    { blocks: [block] },
  );
}

/** The diagnostics of the block body as the block view shows them (the instance "blk"'s own body). */
const insideBlock = (analysis: Analysis) => analysis.main.nodes.get('blk')?.inner?.diagnostics ?? [];

const INT = { name: 'width', kind: 'int' as const, default: 3, min: 1 };

describe('block param references', () => {
  it('a $param that names no param of its block is an error, not a silent default', () => {
    const doc = withBlock({ units: { $param: "width; require('child_process')" } }, [INT]);
    const analysis = analyze(doc);
    // On the canvas: the instance carries the error; inside the block, the Dense does.
    expect(analysis.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB308', severity: 'error', nodeId: 'blk' }));
    const d = insideBlock(analysis).find((x) => x.code === 'PB308');
    expect(d).toMatchObject({ severity: 'error', blockId: 'B', nodeId: 'd', param: 'units' });
    expect(d!.message).toMatch(/links units to a block param "width; require\('child_process'\)", but block "B" has no such param \(its params: "width"\)/);
    // The summary does not pretend: the instance has no shape and no parameter count.
    const row = summarize(analysis).nodes.find((r) => r.nodeId === 'blk')!;
    expect(row.outputShape).toBeNull();
    expect(row.trainableParams).toBe(0);
    expect(lower(analysis).plan).toBeNull();
  });

  it('the same block with a correct reference compiles and emits p.width', () => {
    const { plan } = lower(analyze(withBlock({ units: { $param: 'width' } }, [INT])));
    expect(emit(plan!)).toContain('units: p.width');
  });

  it('a when that names no boolean param is an error', () => {
    const missing = analyze(withBlock({ units: 4 }, [INT], { when: { $param: 'p.x) || evil(' } }));
    expect(missing.diagnostics).toContainEqual(expect.objectContaining({ code: 'PB309', severity: 'error', nodeId: 'blk' }));
    expect(insideBlock(missing)).toContainEqual(expect.objectContaining({ code: 'PB309', severity: 'error', blockId: 'B', nodeId: 'd' }));
    const notBoolean = analyze(withBlock({ units: 4 }, [INT], { when: { $param: 'width' } }));
    const d = insideBlock(notBoolean).find((x) => x.code === 'PB309');
    expect(d!.message).toMatch(/that param holds a whole number; expected a true\/false param/);
    const fine = analyze(withBlock({ units: 4 }, [INT, { name: 'on', kind: 'boolean', default: true }], { when: { $param: 'on' } }));
    expect(fine.diagnostics.filter((x) => x.severity === 'error')).toEqual([]);
  });

  it('a $param in the main graph is refused', () => {
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [4] } },
        { id: 'd', type: 'Dense', params: { units: { $param: 'width' } } },
      ],
      [['in', 'd']],
    );
    expect(analyze(doc).diagnostics).toContainEqual(expect.objectContaining({ code: 'PB308', nodeId: 'd', param: 'units' }));
  });

  it('an enum param linked to a layer param may only offer values the layer takes', () => {
    const doc = withBlock({ units: 2, activation: { $param: 'act' } }, [{ name: 'act', kind: 'enum', options: ['relu', "relu'); evil('"], default: 'relu' }]);
    const d = insideBlock(analyze(doc)).find((x) => x.code === 'PB312');
    expect(d).toMatchObject({ severity: 'error', blockId: 'B', nodeId: 'd', param: 'activation' });
    expect(d!.message).toContain(`offers "relu'); evil('" for activation of Dense "d"`);
  });
});

describe('models that cannot fit', () => {
  it('Dense with a billion units warns on the node and in the summary, with the estimate', () => {
    const doc = graph(
      [
        { id: 'in', type: 'Input', params: { shape: [20000] } },
        { id: 'huge', type: 'Dense', params: { units: 1e9 } },
        { id: 'out', type: 'Output' },
      ],
      [
        ['in', 'huge'],
        ['huge', 'out'],
      ],
    );
    const summary = summarize(analyze(doc));
    expect(summary.trainableParams).toBe(20001 * 1e9);
    expect(summary.memory.weightsBytes).toBe(summary.trainableParams * 4);
    const warnings = summary.diagnostics.filter((d) => d.code === 'PB310');
    expect(warnings.map((d) => d.nodeId)).toEqual([undefined, 'huge']);
    expect(warnings[0]!.message).toContain('80.0 TB of weights');
    expect(warnings[0]!.message).toContain(`more than the ${formatBytes(TRAINING_MEMORY_LIMIT)}`);
    expect(warnings[1]!.message).toMatch(/This node holds 20,001,000,000,000 parameters/);
  });

  it("only the paper presets whose training step at the paper's batch size is past the limit are flagged, for their activations", () => {
    const flagged: string[] = [];
    for (const t of TEMPLATES) {
      for (const p of t.presets) {
        const r = templateDocument(t.info.id, p.name);
        if ('error' in r) throw new Error(r.error);
        // A program's estimate is one for its largest training step, all its networks together (program-memory.test.ts).
        const model = (analyzeProgram(r.doc) ?? analyze(r.doc)).diagnostics.find((d) => d.code === 'PB310' && !d.nodeId);
        if (!model) continue;
        flagged.push(`${t.info.id} ${p.name}`);
        // All of them for their activations (Mixer-L/16's 832 M parameters alone need 3.3 GB), with a batch that fits.
        expect(model.message, `${t.info.id} ${p.name}`).toContain('The activations dominate.');
        expect(model.help, `${t.info.id} ${p.name}`).toMatch(/^Lower the batch size to \d+ or less/);
      }
    }
    // ConvMixer-1536/20 about 20 GB at batch 32, 768/32 16 GB, Mixer-L/16 12 GB, ViT-S/16 and B/16 6 and 13 GB at 64, CLIP
    // ViT-B/32's two towers together 13 GB at 128; Mixer-B/16 (3.97 GiB) just fits.
    expect(flagged.sort()).toEqual(['clip ViT-B/32', 'convmixer 1536/20', 'convmixer 768/32', 'mlp-mixer L/16', 'vit B/16', 'vit S/16']);
  });
});

describe('messages are written for people', () => {
  const messageFor = (params: Record<string, unknown>) =>
    analyze(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [4] } },
          { id: 'd', type: 'Dense', params },
        ],
        [['in', 'd']],
      ),
    ).diagnostics.find((x) => x.nodeId === 'd')!.message;

  it('no zod jargon, no JSON null for a number', () => {
    expect(messageFor({ units: 0 })).toBe('Dense "d": received units = 0, expected a number > 0.');
    expect(messageFor({ units: 2.5 })).toBe('Dense "d": received units = 2.5, expected a whole number.');
    expect(messageFor({ units: 'ten' })).toBe('Dense "d": received units = "ten", expected a number.');
    for (const m of [messageFor({ units: 0 }), messageFor({ activation: 'nope' })]) expect(m).not.toMatch(/Too small|Invalid|null/);
  });

  it('an unknown param is a warning of its own code, not an invalid value', () => {
    const d = analyze(
      graph(
        [
          { id: 'in', type: 'Input', params: { shape: [4] } },
          { id: 'd', type: 'Dense', params: { unitz: 3 } },
        ],
        [['in', 'd']],
      ),
    ).diagnostics.find((x) => x.nodeId === 'd');
    expect(d).toMatchObject({ code: 'PB311', severity: 'warning', param: 'unitz' });
  });

  it('every code in the catalogue has one title, and no two codes share one', () => {
    const titles = Object.values(DIAGNOSTIC_CATALOGUE).map((c) => c.title);
    expect(new Set(titles).size).toBe(titles.length);
  });
});
