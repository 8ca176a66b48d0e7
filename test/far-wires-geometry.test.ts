import { describe, expect, test } from 'vitest';
import { getBezierPath, Position } from '@xyflow/react';
import { wireCurve, wireNear, wirePathData, type PlacedNode } from '../src/editor/far-wires-geometry';

/** A node as React Flow keeps it: its place, and its handles relative to it. */
function placed(x: number, y: number, out: string[], into: string[], width = 200, height = 90): PlacedNode {
  const spread = (ids: string[], top: number) => ids.map((id, i) => ({ id, x: ((i + 1) / (ids.length + 1)) * width - 4, y: top, width: 8, height: 8 }));
  return { internals: { positionAbsolute: { x, y }, handleBounds: { source: spread(out, height - 4), target: spread(into, -4) } } };
}

const numbers = (d: string) => (d.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);

describe('far wires', () => {
  test('a wire is the curve React Flow draws between the same handles, downward and back up', () => {
    const a = placed(0, 0, ['out'], ['in']);
    const b = placed(300, 400, ['out'], ['in', 'skip']);
    for (const [source, target, port] of [
      [a, b, 'skip'],
      [b, a, 'in'],
    ] as const) {
      const c = wireCurve({ sourcePort: 'out', targetPort: port }, source, target)!;
      const out = source.internals.handleBounds!.source![0]!;
      const into = target.internals.handleBounds!.target!.find((h) => h.id === port)!;
      expect(c.sx).toBe(source.internals.positionAbsolute.x + out.x + out.width / 2);
      expect(c.sy).toBe(source.internals.positionAbsolute.y + out.y + out.height);
      expect(c.tx).toBe(target.internals.positionAbsolute.x + into.x + into.width / 2);
      expect(c.ty).toBe(target.internals.positionAbsolute.y + into.y);
      const [rf] = getBezierPath({ sourceX: c.sx, sourceY: c.sy, sourcePosition: Position.Bottom, targetX: c.tx, targetY: c.ty, targetPosition: Position.Top });
      const ours = numbers(wirePathData(c));
      numbers(rf).forEach((v, i) => expect(ours[i]).toBeCloseTo(v, 0));
    }
  });

  test('no wire while a handle is not known', () => {
    expect(wireCurve({ sourcePort: 'out', targetPort: 'in' }, placed(0, 0, ['out'], ['in']), undefined)).toBeNull();
    expect(wireCurve({ sourcePort: 'nope', targetPort: 'in' }, placed(0, 0, ['out'], ['in']), placed(0, 300, [], ['in']))).toBeNull();
    const unmeasured: PlacedNode = { internals: { positionAbsolute: { x: 0, y: 0 } } };
    expect(wireCurve({ sourcePort: 'out', targetPort: 'in' }, unmeasured, placed(0, 300, [], ['in']))).toBeNull();
  });

  test('picks the nearest wire within the tolerance, and none beyond it', () => {
    const left = wireCurve({ sourcePort: 'out', targetPort: 'in' }, placed(0, 0, ['out'], []), placed(0, 400, [], ['in']))!;
    const right = wireCurve({ sourcePort: 'out', targetPort: 'in' }, placed(100, 0, ['out'], []), placed(100, 400, [], ['in']))!;
    const wires: [string, typeof left][] = [
      ['left', left],
      ['right', right],
    ];
    // Straight down at x = 100 and x = 200.
    expect(wireNear(wires, 103, 250, 10)).toBe('left');
    expect(wireNear(wires, 196, 250, 10)).toBe('right');
    expect(wireNear(wires, 150, 250, 10)).toBeNull();
    expect(wireNear(wires, 150, 250, 60)).not.toBeNull();
    expect(wireNear(wires, 100, 600, 10)).toBeNull();
  });
});
