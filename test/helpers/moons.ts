/**
 * How far 2-D points lie from the two moon curves that src/runtime/data/synthetic.ts draws
 * (twoMoons: (cos t − 0.5, sin t − 0.25) and (0.5 − cos t, 0.25 − sin t), t in [0, π]), to measure
 * whether a flow's samples lie on the moons.
 */
const CURVE: Array<[number, number]> = [];
for (let i = 0; i <= 2000; i++) {
  const t = (Math.PI * i) / 2000;
  CURVE.push([Math.cos(t) - 0.5, Math.sin(t) - 0.25], [0.5 - Math.cos(t), 0.25 - Math.sin(t)]);
}

export function distanceToMoons(x: number, y: number): number {
  let best = Infinity;
  for (const [cx, cy] of CURVE) best = Math.min(best, (x - cx) ** 2 + (y - cy) ** 2);
  return Math.sqrt(best);
}

/** The fraction of points [x0, y0, x1, y1, …] within `radius` of a moon curve. */
export function fractionOnMoons(points: ArrayLike<number>, radius: number): number {
  let near = 0;
  const n = points.length / 2;
  for (let i = 0; i < n; i++) if (distanceToMoons(points[2 * i]!, points[2 * i + 1]!) <= radius) near++;
  return near / n;
}

/** The mean distance of points [x0, y0, x1, y1, …] to the nearest moon curve. */
export function meanDistanceToMoons(points: ArrayLike<number>): number {
  let total = 0;
  const n = points.length / 2;
  for (let i = 0; i < n; i++) total += distanceToMoons(points[2 * i]!, points[2 * i + 1]!);
  return total / n;
}
