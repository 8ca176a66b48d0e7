/**
 * The canvas's fit for culled graphs (fitNow) and the box culling is decided on (graphBounds): nodes
 * never measured count at the size they were given, so a fit takes in the whole graph.
 */
import { describe, expect, test } from 'vitest';
import type { GraphNode } from '../src/document/schema';
import { fitNow, fitPadding, graphBounds } from '../src/editor/huge-graphs';

const node = (id: string, x: number, y: number): GraphNode => ({ id, type: 'Dense', params: { units: 4 }, position: { x, y } });

describe('graphBounds', () => {
  test('spans the nodes at their measured sizes, else the guess (200 × 90)', () => {
    const nodes = [node('a', 0, 0), node('b', 1000, 500)];
    const sizes = new Map([['a', { width: 300, height: 120 }]]);
    expect(graphBounds(nodes, (id) => sizes.get(id))).toEqual({ x: 0, y: 0, width: 1200, height: 590 });
  });

  test('no box while a node has no place yet (culling stays on until it is laid out), nor for no nodes', () => {
    expect(graphBounds([node('a', 0, 0), { id: 'c', type: 'Dense', params: {} }], () => undefined)).toBeNull();
    expect(graphBounds([], () => undefined)).toBeNull();
  });
});

describe('fitNow', () => {
  /** A flow of nodes with boxes in flow units, where fitNow's viewport is recorded. */
  function fakeFlow(boxes: Record<string, { x: number; y: number; width: number; height: number }>) {
    const set: { x: number; y: number; zoom: number }[] = [];
    return {
      set,
      flow: {
        getNodes: () => Object.keys(boxes).map((id) => ({ id })) as never,
        getNodesBounds: (ids: unknown[]) => {
          const bs = (ids as string[]).map((id) => boxes[id]!);
          const x = Math.min(...bs.map((b) => b.x));
          const y = Math.min(...bs.map((b) => b.y));
          return { x, y, width: Math.max(...bs.map((b) => b.x + b.width)) - x, height: Math.max(...bs.map((b) => b.y + b.height)) - y };
        },
        setViewport: async (v: { x: number; y: number; zoom: number }) => {
          set.push(v);
          return true;
        },
      },
    };
  }
  const view = { width: 1000, height: 800, minZoom: 0.1, maxZoom: 2 };

  test('takes in every node: the whole box lands inside the canvas, centred', async () => {
    const { flow, set } = fakeFlow({ a: { x: 0, y: 0, width: 200, height: 90 }, b: { x: 4800, y: 3000, width: 200, height: 90 } });
    expect(await fitNow(flow, view, { padding: 0.1 })).toBe(true);
    const { x, y, zoom } = set[0]!;
    // 5,000 × 3,090 flow units and 10 % more around them into 1,000 × 800 px: the width decides.
    expect(zoom).toBeCloseTo(1000 / (5000 * 1.1), 2);
    expect(x).toBeCloseTo(500 - 2500 * zoom, 5);
    expect(y).toBeCloseTo(400 - 1545 * zoom, 5);
    expect(x + 5000 * zoom).toBeLessThanOrEqual(1000);
    expect(y + 3090 * zoom).toBeLessThanOrEqual(800);
  });

  test('keeps to the zoom limits it is given, and to the canvas’s own', async () => {
    const small = fakeFlow({ a: { x: 0, y: 0, width: 100, height: 50 } });
    await fitNow(small.flow, view, { padding: 0.1, maxZoom: 1.2 });
    expect(small.set[0]!.zoom).toBe(1.2);
    const huge = fakeFlow({ a: { x: 0, y: 0, width: 100, height: 50 }, b: { x: 1e6, y: 0, width: 100, height: 50 } });
    await fitNow(huge.flow, view, { padding: 0.1 });
    expect(huge.set[0]!.zoom).toBe(0.1);
  });

  test('held at the smallest zoom asked for, shows where the nodes start (top left), not their middle', async () => {
    const { flow, set } = fakeFlow({ a: { x: 100, y: 50, width: 200, height: 90 }, b: { x: 20_000, y: 9000, width: 200, height: 90 } });
    await fitNow(flow, view, { padding: 0.1, minZoom: 0.4 });
    const { x, y, zoom } = set[0]!;
    expect(zoom).toBe(0.4);
    // Node a's top left corner sits just inside the canvas's top left corner.
    expect(x + 100 * zoom).toBeGreaterThan(0);
    expect(x + 100 * zoom).toBeLessThan(50);
    expect(y + 50 * zoom).toBeGreaterThan(0);
    expect(y + 50 * zoom).toBeLessThan(50);
  });

  test('fits only the nodes asked for, and does nothing without nodes or before the canvas has a size', async () => {
    const { flow, set } = fakeFlow({ a: { x: 0, y: 0, width: 200, height: 90 }, b: { x: 100_000, y: 0, width: 200, height: 90 } });
    await fitNow(flow, view, { padding: 0.1, nodes: [{ id: 'a' }], maxZoom: 1.2 });
    expect(set[0]!.zoom).toBe(1.2);
    expect(await fitNow(flow, view, { padding: 0.1, nodes: [] })).toBe(false);
    expect(await fitNow(flow, { ...view, width: 0 }, { padding: 0.1 })).toBe(false);
    expect(set).toHaveLength(1);
  });

  test('keeps the nodes below the pin bar: their top edge lands under the pixels it covers, and they still fit', async () => {
    const { flow, set } = fakeFlow({ a: { x: 0, y: 0, width: 200, height: 90 }, b: { x: 4800, y: 3000, width: 200, height: 90 } });
    await fitNow(flow, view, { padding: 0.1, topClearancePx: 120 });
    const { y, zoom } = set[0]!;
    expect(y).toBeGreaterThanOrEqual(120);
    expect(y + 3090 * zoom).toBeLessThanOrEqual(800);
    // Held at the smallest zoom, the start of the graph shows under the bar too.
    const start = fakeFlow({ a: { x: 100, y: 50, width: 200, height: 90 }, b: { x: 20_000, y: 9000, width: 200, height: 90 } });
    await fitNow(start.flow, view, { padding: 0.1, minZoom: 0.4, topClearancePx: 120 });
    expect(start.set[0]!.y + 50 * 0.4).toBeGreaterThanOrEqual(120);
  });
});

describe('fitPadding', () => {
  test('the fraction alone while it leaves more room at the top than the pin bar takes', () => {
    // 0.1 of an 800 px view is floor((800 − 800/1.1)/2) = 36 px on each side.
    expect(fitPadding({ padding: 0.1 }, 800)).toBe(0.1);
    expect(fitPadding({ padding: 0.1, topClearancePx: 30 }, 800)).toBe(0.1);
  });

  test('a taller bar takes its room from the bottom first (the same zoom, moved down), then from the zoom', () => {
    // 36 + 36 px of padding in all: a 50 px bar leaves 22 at the bottom; a 90 px one the 12 px minimum.
    expect(fitPadding({ padding: 0.1, topClearancePx: 49.2 }, 800)).toEqual({ top: '50px', right: 0.1, bottom: '22px', left: 0.1 });
    expect(fitPadding({ padding: 0.1, topClearancePx: 90 }, 800)).toEqual({ top: '90px', right: 0.1, bottom: '12px', left: 0.1 });
  });
});
