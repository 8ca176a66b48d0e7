/**
 * The AssemblyScript source of Patchbay's WebAssembly SIMD kernels (src/runtime/simd-kernels.ts runs
 * them). Kept as a string: it is AssemblyScript, not TypeScript, and is compiled by
 * `npm run gen:simd-kernels` (scripts/simd-kernels/generate.ts) into
 * src/runtime/simd-kernels.generated.ts; test/simd-kernels.test.ts checks that file is up to date.
 *
 * The module imports tfjs-wasm's own memory and works on tensors where they lie (pointers are byte
 * offsets into that heap, from the backend's dataIdMap), so nothing is copied in or out. It has no
 * data segment, no globals and no allocator (runtime "stub", nothing allocated), so it never writes
 * anywhere but the output it is given. Every loop runs over float32 values, four at a time
 * (f32x4), with a scalar tail.
 */
export const SIMD_KERNELS_SOURCE = `
// dW[kh, kw, c] = Σ over b, i, j of x[b, i·sh + kh − top, j·sw + kw − left, c] · dy[b, i, j, c]
// (NHWC, channel multiplier 1). Taps that fall in the padding add nothing. The [fh, fw, c] sums stay
// in the output (small: 5·5·64 floats for ConvMixer, in L1) while x and dy are read once each row.
export function depthwiseFilterGrad(x: usize, dy: usize, out: usize, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, fh: i32, fw: i32, sh: i32, sw: i32, top: i32, left: i32): void {
  const rowBytes = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  memory.fill(out, 0, <usize>(fh * fw) * rowBytes);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const d = dy + <usize>((b * oh + i) * ow + j) * rowBytes;
        for (let kh = 0; kh < fh; kh++) {
          const r = i * sh + kh - top;
          if (r < 0 || r >= h) continue;
          for (let kw = 0; kw < fw; kw++) {
            const col = j * sw + kw - left;
            if (col < 0 || col >= w) continue;
            const xr = x + <usize>((b * h + r) * w + col) * rowBytes;
            const o = out + <usize>(kh * fw + kw) * rowBytes;
            let k: usize = 0;
            for (; k < vecEnd; k += 16) {
              v128.store(o + k, f32x4.add(v128.load(o + k), f32x4.mul(v128.load(xr + k), v128.load(d + k))));
            }
            for (; k < rowBytes; k += 4) store<f32>(o + k, load<f32>(o + k) + load<f32>(xr + k) * load<f32>(d + k));
          }
        }
      }
    }
  }
}

// e^y for four floats: y = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by Cephes' expf polynomial, and 2^k
// as 2^(k>>1)·2^(k−(k>>1)) built in the exponent bits (both halves stay normal for k in [−126, 128]).
// Below −87.33654 the result is 0 (the exact value is under float32's smallest normal, 1.2e-38),
// above 88.72283 +Infinity; NaN stays NaN.
@inline function exp4(y: v128): v128 {
  const z = f32x4.max(f32x4.min(y, f32x4.splat(88.72283)), f32x4.splat(-87.33654));
  const k = f32x4.nearest(f32x4.mul(z, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(z, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const ki = i32x4.trunc_sat_f32x4_s(k);
  const k1 = i32x4.shr_s(ki, 1);
  const bias = i32x4.splat(127);
  let e = f32x4.mul(f32x4.mul(p, i32x4.shl(i32x4.add(k1, bias), 23)), i32x4.shl(i32x4.add(i32x4.sub(ki, k1), bias), 23));
  e = v128.bitselect(f32x4.splat(Infinity), e, f32x4.gt(y, f32x4.splat(88.72283)));
  e = v128.andnot(e, f32x4.lt(y, f32x4.splat(-87.33654)));
  return v128.bitselect(y, e, f32x4.ne(y, y));
}

export function exp(x: usize, out: usize, size: i32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  let k: usize = 0;
  for (; k < vecEnd; k += 16) v128.store(out + k, exp4(v128.load(x + k)));
  for (; k < end; k += 4) store<f32>(out + k, f32x4.extract_lane(exp4(f32x4.splat(load<f32>(x + k))), 0));
}

// erf(x) for four floats. |x| ≥ 0.5: Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula
// tfjs's cpu backend uses: sign(x)·(1 − t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·e^(−x²)),
// t = 1 / (1 + p·|x|). |x| < 0.5: its Maclaurin series to x¹³ (truncation under 3e-8), since near 0
// the "1 − …" form cancels to an absolute error of ~4e-7, large against erf(x) ≈ 1.13·x.
@inline function erf4(x: v128): v128 {
  const v = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(f32x4.splat(0.3275911), v)));
  let q = f32x4.splat(1.061405429);
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(-1.453152027));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(1.421413741));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(-0.284496736));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(0.254829592));
  const m = f32x4.sub(f32x4.splat(1.0), f32x4.mul(f32x4.mul(q, t), exp4(f32x4.neg(f32x4.mul(v, v)))));
  const far = v128.or(m, v128.and(x, i32x4.splat(0x80000000))); // sign(x)·m
  // (2/√π)·Σ (−1)ⁿ x²ⁿ⁺¹ / (n!·(2n + 1)), n = 0…6
  const x2 = f32x4.mul(x, x);
  let s = f32x4.splat(1.2055332981789664e-4);
  s = f32x4.add(f32x4.mul(s, x2), f32x4.splat(-8.548325511329645e-4));
  s = f32x4.add(f32x4.mul(s, x2), f32x4.splat(5.223977625442188e-3));
  s = f32x4.add(f32x4.mul(s, x2), f32x4.splat(-2.6866170645131252e-2));
  s = f32x4.add(f32x4.mul(s, x2), f32x4.splat(1.1283791670955126e-1));
  s = f32x4.add(f32x4.mul(s, x2), f32x4.splat(-3.761263890318375e-1));
  s = f32x4.add(f32x4.mul(s, x2), f32x4.splat(1.1283791670955126));
  const near = f32x4.mul(s, x);
  return v128.bitselect(near, far, f32x4.lt(v, f32x4.splat(0.5)));
}

export function erf(x: usize, out: usize, size: i32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  let k: usize = 0;
  for (; k < vecEnd; k += 16) v128.store(out + k, erf4(v128.load(x + k)));
  for (; k < end; k += 4) store<f32>(out + k, f32x4.extract_lane(erf4(f32x4.splat(load<f32>(x + k))), 0));
}
`;

/** AssemblyScript compiler options; `shared` builds the variant for the threaded tfjs-wasm build, whose memory is shared. */
export function simdKernelsOptions(shared: boolean): Record<string, unknown> {
  return {
    optimizeLevel: 3,
    shrinkLevel: 0,
    runtime: 'stub',
    noAssert: true,
    importMemory: true,
    initialMemory: 1,
    ...(shared ? { sharedMemory: true, maximumMemory: 65536 } : {}),
    enable: shared ? ['simd', 'threads'] : ['simd'],
  };
}
