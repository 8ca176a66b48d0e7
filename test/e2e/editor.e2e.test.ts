/**
 * End-to-end tests of the editor in real headless Chromium (playwright-core + Debian's chromium),
 * against a production build served by `vite preview`. Run with:
 *   npx vitest run -c vitest.e2e.config.ts
 * Screenshots of every flow land in .tmp/shots at 1280×800 and 1920×1080.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { analyze, emit, lower } from '../../src/compiler/index';
import { templateDocument } from '../../templates/index';
import { typecheckStrict } from '../helpers/tsc';
import { dismissToasts, openEditor as openPage, openTemplate, ROOT, SHOTS, settleView, shot, SMALL, startHarness, type Harness } from './harness';

const WORK = join(ROOT, '.tmp/e2e');

let h: Harness;
const openEditor = (viewport = SMALL): Promise<Page> => openPage(h, viewport);

const paletteItem = (page: Page, label: string) => page.getByRole('complementary', { name: 'Palette' }).getByRole('button', { name: label, exact: true });

/** A real mouse drag from a palette item to a point on the canvas (relative to the canvas's top-left). */
async function dragFromPalette(page: Page, label: string, at: { x: number; y: number }) {
  const item = paletteItem(page, label);
  await item.scrollIntoViewIfNeeded();
  const box = (await item.boundingBox())!;
  const canvas = (await page.locator('.pb-canvas').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(canvas.x + at.x, canvas.y + at.y, { steps: 12 });
  await page.mouse.up();
}

const handle = (page: Page, nodeId: string, port: string, kind: 'source' | 'target') =>
  page.locator(`.react-flow__handle.${kind}[data-nodeid="${nodeId}"][data-handleid="${port}"]`);

/** A handle's box once it has stopped moving (previews arrive asynchronously and widen their nodes). */
async function settledBox(page: Page, locator: ReturnType<typeof handle>) {
  let box = (await locator.boundingBox())!;
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(150);
    const next = (await locator.boundingBox())!;
    if (next.x === box.x && next.y === box.y) return next;
    box = next;
  }
  return box;
}

/** Drags a wire from an output handle to an input handle. */
async function wire(page: Page, from: [string, string], to: [string, string]) {
  const a = await settledBox(page, handle(page, from[0], from[1], 'source'));
  const b = await settledBox(page, handle(page, to[0], to[1], 'target'));
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 10 });
  await page.mouse.up();
}

const nodeCount = (page: Page) => page.locator('.react-flow__node').count();
const edgeCount = (page: Page) => page.locator('.react-flow__edge').count();
const edgeLabels = async (page: Page) => (await page.locator('.react-flow__edge-text').allTextContents()).sort();
const trainable = (page: Page) => page.getByTestId('status-trainable');
const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);

const e2e = !!process.env.PATCHBAY_E2E;

describe.skipIf(!e2e)('editor in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // Only this file's screenshots: the other e2e files keep theirs (train-*, data-*, quick-*).
    for (const f of readdirSync(SHOTS)) if (!/^(train|data|quick)-/.test(f)) rmSync(join(SHOTS, f), { force: true });
    mkdirSync(WORK, { recursive: true });
    h = await startHarness('.tmp/e2e-dist');
  });

  afterAll(async () => {
    await h?.close();
  });

  test('(a) drag Patch embed and Mixer block from the palette, wire them, see shapes on the edges', async () => {
    const page = await openEditor();
    await shot(page, '00-empty');
    // The palette searches labels and aliases.
    const search = page.getByRole('searchbox', { name: 'Search layers and blocks' });
    await search.fill('mixer');
    expect(await page.getByRole('complementary', { name: 'Palette' }).getByRole('button').allTextContents()).toEqual(['ConvMixer block', 'Mixer block']);
    // "residual" is an alias of Add (the diffusion residual block matches by its label too).
    await search.fill('residual');
    const residual = await page.getByRole('complementary', { name: 'Palette' }).getByRole('button').allTextContents();
    expect(residual).toContain('Add');
    expect(residual.every((label) => label === 'Add' || /residual/i.test(label))).toBe(true);
    await search.fill('');
    await dragFromPalette(page, 'Input', { x: 260, y: 90 });
    await dragFromPalette(page, 'Patch embed', { x: 260, y: 250 });
    await dragFromPalette(page, 'Mixer block', { x: 260, y: 420 });
    expect(await nodeCount(page)).toBe(3);
    await expect
      .poll(() => page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))))
      .toEqual(['input', 'patch_embed', 'mixer_block']);

    await wire(page, ['input', 'out'], ['patch_embed', 'x']);
    await wire(page, ['patch_embed', 'y'], ['mixer_block', 'x']);
    expect(await edgeCount(page)).toBe(2);
    // A 4-D patch grid reaches the Mixer block, which wants tokens: the block is marked and explains why.
    expect(await edgeLabels(page)).toEqual(['(None, 14, 14, 64)', '(None, 28, 28, 1)']);
    await expect.poll(() => node(page, 'mixer_block').locator('.pb-node').getAttribute('class')).toContain('pb-node-error');
    expect(await node(page, 'mixer_block').locator('.pb-node').getAttribute('title')).toMatch(/rank|Permute|Received/i);

    // The issues panel lists it; clicking the issue selects the node.
    await page.getByRole('tab', { name: /Issues/ }).click();
    const issue = page.getByRole('list', { name: 'Issues' }).getByRole('button').filter({ hasText: 'mixer_block' }).first();
    await issue.click();
    await expect.poll(() => node(page, 'mixer_block').getAttribute('class')).toContain('selected');
    await shot(page, '01-mixer-error-issues');

    // Turning on tokens in the Patch embed inspector fixes it, and every shape updates.
    await node(page, 'patch_embed').click();
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await page.getByLabel('Tokens').check();
    await expect.poll(() => edgeLabels(page)).toEqual(['(None, 196, 64)', '(None, 28, 28, 1)']);
    await expect.poll(() => page.getByTestId('shape-mixer_block').textContent()).toBe('(None, 196, 64)');
    expect(await node(page, 'mixer_block').locator('.pb-node').getAttribute('class')).not.toContain('pb-node-error');
    await shot(page, '02-wired-shapes');
    await page.context().close();
  });

  test('(b) load ConvMixer, change depth in the inspector, the parameter count follows', async () => {
    const page = await openEditor();
    await page.getByRole('button', { name: 'Templates', exact: true }).click();
    await shot(page, '03-templates');
    await page.getByRole('dialog', { name: 'Templates' }).getByRole('button', { name: 'Open ConvMixer mnist' }).click();
    await expect.poll(() => trainable(page).textContent()).toBe('25,418 trainable params');
    expect(await page.getByTestId('status-non-trainable').textContent()).toBe('1,152 non-trainable');
    expect(await nodeCount(page)).toBe(6);

    // Let the view finish fitting itself to the template, and close the "Opened…" note (it may cover a node),
    // so that the click lands on the block (nodes are taller since they show their cost).
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.waitForTimeout(450);
    await dismissToasts(page);
    await node(page, 'mixer').click();
    const repeat = page.getByLabel('Repeat');
    await expect.poll(() => repeat.count()).toBe(1);
    expect(await repeat.inputValue()).toBe('4');
    await repeat.fill('5');
    await expect.poll(() => trainable(page).textContent()).toBe('31,498 trainable params');
    expect(await node(page, 'mixer').locator('.pb-node-type').textContent()).toBe('ConvMixer block ×5');
    // Inline validation: a bad kernel size is flagged on the field and on the node.
    await page.getByLabel('Kernel size', { exact: true }).fill('0');
    await expect.poll(() => page.locator('.pb-field-error').first().textContent()).toMatch(/≥ 1/);
    await page.getByLabel('Kernel size', { exact: true }).fill('5');
    await shot(page, '04-inspector-repeat');

    await page.getByRole('tab', { name: 'Summary' }).click();
    expect(await page.getByTestId('summary-trainable').textContent()).toBe('31,498');
    expect(await page.getByTestId('summary-non-trainable').textContent()).toBe('1,408');
    await shot(page, '05-summary');

    // Look inside the block, then come back with the breadcrumb.
    await node(page, 'mixer').dblclick();
    await expect.poll(() => nodeCount(page)).toBe(7);
    expect(await page.getByTestId('shape-pointwise').textContent()).toBe('(None, 14, 14, 64)');
    await shot(page, '06-block-body');
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('button').click();
    await expect.poll(() => nodeCount(page)).toBe(6);

    // Group pool and head into a new block: same counts, one node fewer, one undo step.
    await page.getByRole('tab', { name: 'Inspector' }).click();
    // Coming back re-fits the view (animated), and a note may sit over a node: under load a click
    // landed beside 'pool', and the shift-click then selected 'head' alone.
    await settleView(page);
    await dismissToasts(page);
    await node(page, 'pool').click();
    await expect.poll(() => node(page, 'pool').getAttribute('class')).toMatch(/\bselected\b/);
    await node(page, 'head').click({ modifiers: ['Shift'] });
    await page.getByRole('button', { name: 'Group into block' }).click();
    await expect.poll(() => nodeCount(page)).toBe(5);
    expect(await trainable(page).textContent()).toBe('31,498 trainable params');
    expect(await page.getByTestId('shape-group_1').textContent()).toBe('(None, 10)');
    expect(await page.getByText('No errors').count()).toBe(1);
    await shot(page, '06b-grouped');
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeCount(page)).toBe(6);
    await page.context().close();
  });

  test('(c) Export TypeScript downloads what emit() writes, and tsc accepts it', async () => {
    const page = await openEditor();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await openTemplate(page, 'ConvMixer', 'mnist');
    expect(requested.some((u) => /CodeEditor|editor\.api/.test(u))).toBe(false);
    await page.getByRole('tab', { name: 'Code' }).click();
    await page.locator('.monaco-editor .view-lines').waitFor();
    expect(requested.some((u) => /CodeEditor/.test(u))).toBe(true);
    await expect.poll(() => page.locator('.monaco-editor .view-lines').textContent()).toContain('createModel');
    await shot(page, '07-code');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => page.locator('.monaco-editor').getAttribute('class')).toContain('vs-dark');
    await shot(page, '07b-code-dark');
    await page.getByRole('tab', { name: 'Inspector' }).click();
    await node(page, 'mixer').click();
    await shot(page, '07c-inspector-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByRole('tab', { name: 'Code' }).click();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export TypeScript' }).click()]);
    expect(download.suggestedFilename()).toBe('ConvMixer-mnist.ts');
    const file = join(WORK, 'ConvMixer-mnist.ts');
    await download.saveAs(file);
    const text = readFileSync(file, 'utf8');
    const result = templateDocument('convmixer', 'mnist');
    if ('error' in result) throw new Error(result.error);
    const { plan } = lower(analyze(result.doc));
    expect(plan).not.toBeNull();
    expect(text).toBe(emit(plan!));
    expect(text).toContain('Trainable params: 25,418');

    typecheckStrict(file);

    // A graph with errors lists them instead of stale code.
    await node(page, 'head').click();
    await page.keyboard.press('Delete');
    await page.getByRole('tab', { name: 'Code' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Issues' }).textContent()).toMatch(/not connected/);
    expect(await page.getByRole('button', { name: 'Export TypeScript' }).isDisabled()).toBe(true);
    await shot(page, '08-code-errors');
    await page.context().close();
  });

  test('(d) undo and redo across add, connect, param edit, delete, drag and template load', async () => {
    const page = await openEditor();
    const undo = () => page.keyboard.press('Control+z');
    const redo = () => page.keyboard.press('Control+Shift+z');
    const units = () => node(page, 'dense').locator('.pb-node-param').first().textContent();

    await dragFromPalette(page, 'Input', { x: 250, y: 100 }); // 1: add
    await dragFromPalette(page, 'Dense', { x: 250, y: 300 }); // 2: add
    await wire(page, ['input', 'out'], ['dense', 'in']); // 3: connect
    expect(await edgeCount(page)).toBe(2 - 1);
    await node(page, 'dense').click();
    await page.getByLabel('Units').fill('64'); // 4: param edit
    await expect.poll(units).toBe('units 64');
    await page.getByLabel('Units').blur();
    const flowX = () =>
      page.evaluate(
        () =>
          (window as unknown as { patchbay: { getState(): { doc: { nodes: { id: string; position?: { x: number } }[] } } } }).patchbay
            .getState()
            .doc.nodes.find((n) => n.id === 'dense')?.position?.x,
      );
    const before = await node(page, 'dense').boundingBox();
    const beforeX = await flowX();
    const h = (await node(page, 'dense').locator('.pb-node-head').boundingBox())!;
    await page.mouse.move(h.x + 20, h.y + 8);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(h.x + 20 + i * 20, h.y + 8 + i * 5);
    await page.mouse.up(); // 5: drag (one step)
    const after = await node(page, 'dense').boundingBox();
    expect(after!.x - before!.x).toBeGreaterThan(100);
    const afterX = await flowX();
    expect(afterX! - beforeX!).toBeGreaterThan(100);
    await node(page, 'input').click();
    await page.keyboard.press('Delete'); // 6: delete (node and its edge)
    expect(await nodeCount(page)).toBe(1);
    expect(await edgeCount(page)).toBe(0);
    await openTemplate(page, 'ConvMixer', 'mnist'); // 7: template load
    await expect.poll(() => nodeCount(page)).toBe(6);
    await shot(page, '09-undo-before');

    await undo(); // 7
    await expect.poll(() => nodeCount(page)).toBe(1);
    expect(await node(page, 'dense').count()).toBe(1);
    await undo(); // 6
    await expect.poll(() => nodeCount(page)).toBe(2);
    expect(await edgeCount(page)).toBe(1);
    await undo(); // 5: the whole drag comes back in one step
    await expect.poll(flowX).toBe(beforeX);
    expect(await units()).toBe('units 64');
    await undo(); // 4
    await expect.poll(units).toBe('units 10');
    await undo(); // 3
    await expect.poll(() => edgeCount(page)).toBe(0);
    await undo(); // 2
    await expect.poll(() => nodeCount(page)).toBe(1);
    await undo(); // 1
    await expect.poll(() => nodeCount(page)).toBe(0);
    await shot(page, '10-undo-all');

    await redo();
    await redo();
    await redo();
    await expect.poll(() => edgeCount(page)).toBe(1);
    await redo();
    await expect.poll(units).toBe('units 64');
    await page.keyboard.press('Control+y'); // 5
    await expect.poll(flowX).toBe(afterX);
    await redo(); // 6
    await expect.poll(() => nodeCount(page)).toBe(1);
    await redo(); // 7
    await expect.poll(() => nodeCount(page)).toBe(6);
    await expect.poll(() => trainable(page).textContent()).toBe('25,418 trainable params');

    // Copy, paste and duplicate are undoable too.
    await node(page, 'head').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(() => nodeCount(page)).toBe(7);
    await page.keyboard.press('Control+d');
    await expect.poll(() => nodeCount(page)).toBe(8);
    await undo();
    await undo();
    await expect.poll(() => nodeCount(page)).toBe(6);
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await shot(page, '11-shortcuts');
    await page.keyboard.press('Escape');
    await page.context().close();
  });

  test('(e) reload restores the autosaved graph; a corrupt file shows an error and keeps the graph', async () => {
    const page = await openEditor();
    await openTemplate(page, 'ConvMixer', 'mnist');
    await node(page, 'mixer').click();
    await page.getByLabel('Repeat').fill('5');
    await expect.poll(() => trainable(page).textContent()).toBe('31,498 trainable params');
    await page.waitForTimeout(600); // autosave is debounced by 250 ms
    await page.reload();
    await page.waitForSelector('body[data-ready="true"] .react-flow');
    await expect.poll(() => nodeCount(page)).toBe(6);
    expect(await trainable(page).textContent()).toBe('31,498 trainable params');

    const input = page.locator('input[type="file"]');
    await input.setInputFiles({
      name: 'broken.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{"format": "patchbay.graph", "version": 1, "nodes": ['),
    });
    const alert = page.getByRole('alert').filter({ hasText: 'broken.json' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/PB100.*not valid JSON/);
    expect(await nodeCount(page)).toBe(6);
    expect(await trainable(page).textContent()).toBe('31,498 trainable params');
    await shot(page, '12-corrupt-file');

    await input.setInputFiles({
      name: 'wrong.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ format: 'patchbay.graph', version: 1, nodes: 'none', edges: [] })),
    });
    const alert2 = page.getByRole('alert').filter({ hasText: 'wrong.json' });
    await alert2.waitFor();
    expect(await alert2.textContent()).toMatch(/PB103.*nodes/);
    expect(await nodeCount(page)).toBe(6);

    // A good file opens (as one undo step).
    const good = templateDocument('convmixer', '256/8');
    if ('error' in good) throw new Error(good.error);
    await input.setInputFiles({ name: 'cifar.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(good.doc)) });
    await expect.poll(() => trainable(page).textContent()).toBe('594,186 trainable params');
    await page.keyboard.press('Control+z');
    await expect.poll(() => trainable(page).textContent()).toBe('31,498 trainable params');
    await page.context().close();
  });

  test('(f) a refused connection shows its reason', async () => {
    const page = await openEditor();
    await openTemplate(page, 'ConvMixer', 'mnist');
    const toast = page.locator('.pb-toast-error');
    // The template's "Opened…" note may sit over a handle, and a wire dropped on it connects nothing (seen under load).
    await dismissToasts(page);
    await expect.poll(() => page.locator('.pb-toast').count()).toBe(0);

    // Port already taken.
    await wire(page, ['stem', 'y'], ['head', 'in']);
    await toast.first().waitFor();
    expect(await toast.first().textContent()).toMatch(/port "in" of "head" is already taken by "pool"/);
    await toast.first().getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => toast.count()).toBe(0);

    // A cycle.
    await wire(page, ['pool', 'out'], ['stem', 'x']);
    await toast.first().waitFor();
    expect(await toast.first().textContent()).toMatch(/cycle/);
    expect(await edgeCount(page)).toBe(5);
    await toast.first().getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => toast.count()).toBe(0);

    // Wrong rank: a (None, 10) vector into Conv2D.
    await paletteItem(page, 'Conv2D').dblclick();
    await expect.poll(() => node(page, 'conv2d').count()).toBe(1);
    await paletteItem(page, 'Flatten').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => node(page, 'flatten').count()).toBe(1);
    await page.getByRole('button', { name: 'Tidy up' }).click();
    await page.waitForTimeout(600);
    // Both ends of the wire must be on screen and uncovered: fit the tidied graph (its nodes are taller since they
    // show their cost) and close the template's "Opened…" note, which may cover a node.
    await page.getByRole('button', { name: 'Fit view', exact: true }).first().click();
    await page.waitForTimeout(450);
    await dismissToasts(page);
    await expect.poll(() => page.locator('.pb-toast').count()).toBe(0);
    await wire(page, ['head', 'out'], ['conv2d', 'in']);
    await toast.first().waitFor();
    expect(await toast.first().textContent()).toMatch(/Conv2D "conv2d" expects rank 4, but "head" gives \(None, 10\) \(rank 2\)/);
    expect(await edgeCount(page)).toBe(5);
    await shot(page, '13-refused');
    await page.context().close();
  });

  test('(g) edit inside a block: the change reaches every repetition, shapes show inside, undo brings it back', async () => {
    const page = await openEditor();
    await openTemplate(page, 'ConvMixer', 'mnist');
    await expect.poll(() => trainable(page).textContent()).toBe('25,418 trainable params');
    await node(page, 'mixer').dblclick();
    await expect.poll(() => nodeCount(page)).toBe(7);
    // The depthwise kernel comes from the block's kernelSize param; fix it to 3 here instead.
    await node(page, 'depthwise').click();
    await page.getByRole('button', { name: /Set kernel size here instead/ }).click();
    await page.getByLabel('Kernel size', { exact: true }).fill('3');
    // 4 repetitions × 64 channels × (25 − 9) taps fewer.
    await expect.poll(() => trainable(page).textContent()).toBe(`${(25_418 - 4 * 64 * 16).toLocaleString('en-US')} trainable params`);
    expect(await page.getByTestId('shape-depthwise').textContent()).toBe('(None, 14, 14, 64)');
    // Add a layer inside the block from the palette and wire it between the pointwise conv and its norm.
    await page.getByRole('searchbox', { name: 'Search layers and blocks' }).fill('dropout');
    await paletteItem(page, 'Dropout').dblclick();
    await expect.poll(() => nodeCount(page)).toBe(8);
    // The block's port nodes are offered while a block is open.
    await page.getByRole('searchbox', { name: 'Search layers and blocks' }).fill('block');
    expect(await page.getByRole('complementary', { name: 'Palette' }).getByRole('button').allTextContents()).toEqual(
      expect.arrayContaining(['Block input', 'Block output']),
    );
    await page.getByRole('searchbox', { name: 'Search layers and blocks' }).fill('');
    await shot(page, '14-block-edit');
    // The new layer is not wired yet: that is an error of the block, shown on the canvas.
    await expect.poll(() => page.getByText('No errors').count()).toBe(0);
    await node(page, 'dropout').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => nodeCount(page)).toBe(7);
    await expect.poll(() => page.getByText('No errors').count()).toBe(1);
    // Delete the inner BatchNorm after the depthwise conv: the residual Add now gets the conv directly.
    await node(page, 'bn1').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => nodeCount(page)).toBe(6);
    await expect.poll(() => page.getByText('No errors').count()).toBe(0); // bn1 was wired in: the Add lost an input
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodeCount(page)).toBe(7);
    await expect.poll(() => page.getByText('No errors').count()).toBe(1);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('button').click();
    await expect.poll(() => nodeCount(page)).toBe(6);
    // Undo everything done inside (delete, add, the kernel size with its unlink as one step).
    for (let i = 0; i < 3; i++) await page.keyboard.press('Control+z');
    await expect.poll(() => trainable(page).textContent()).toBe('25,418 trainable params');
    await page.context().close();
  });

  test("(h) a block's own params: add one, link a layer to it, refuse to remove it while used, change its default", async () => {
    const page = await openEditor();
    await openTemplate(page, 'ConvMixer', 'mnist');
    await node(page, 'mixer').dblclick();
    await expect.poll(() => nodeCount(page)).toBe(7);
    const signature = page.getByRole('region', { name: 'Block params' });
    await signature.getByLabel('New param name').fill('pointwiseKernel');
    await signature.getByRole('button', { name: 'Add param' }).click();
    await expect.poll(() => signature.getByLabel('pointwiseKernel (default)').count()).toBe(1);
    // Link the pointwise conv's kernel size to it (default 1: the same model so far).
    await node(page, 'pointwise').click();
    await page.getByLabel('Link kernel size to a block param').selectOption('pointwiseKernel');
    await expect.poll(() => page.getByLabel('Kernel size', { exact: true }).inputValue()).toMatch(/pointwiseKernel/);
    expect(await trainable(page).textContent()).toBe('25,418 trainable params');
    // Removing a param that a layer uses is refused, with the reason.
    const pane = (await page.locator('.pb-canvas').boundingBox())!;
    await page.mouse.click(pane.x + pane.width * 0.45, pane.y + pane.height - 16); // empty canvas: deselect
    await expect.poll(() => signature.count()).toBe(1);
    await signature.getByRole('button', { name: 'Remove block param pointwiseKernel' }).click();
    await expect
      .poll(() =>
        page
          .locator('.pb-toast')
          .allTextContents()
          .then((t) => t.join(' ')),
      )
      .toMatch(/still used by "pointwise"/);
    // A default of 3 makes every repetition's pointwise conv 3×3: 4 × 64 × 64 × 8 more weights.
    await signature.getByLabel('pointwiseKernel (default)').fill('3');
    await expect.poll(() => trainable(page).textContent()).toBe(`${(25_418 + 4 * 64 * 64 * 8).toLocaleString('en-US')} trainable params`);
    await shot(page, '15-block-params');
    await page.context().close();
  });
});
