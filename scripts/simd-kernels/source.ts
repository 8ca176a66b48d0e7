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
// Below −87.3 the result is 0 (e^y < 1.2e-38 there; float32's subnormals start at −87.34), above
// 88.72283 +Infinity; NaN stays NaN. The clamp at −87.3 keeps every lane's arithmetic on normal
// numbers: x64 takes ~100 cycles for an operation on a subnormal float, and GELU's exp(−x²) sends
// many lanes far below the range (clamped at −87.34, e^z itself came out subnormal there).
@inline function exp4(y: v128): v128 {
  // pmin/pmax are one x64 instruction each (min/max are several: they order −0 and propagate NaN,
  // which the last line handles instead).
  const z = f32x4.pmax(f32x4.pmin(y, f32x4.splat(88.72283)), f32x4.splat(-87.3));
  // k = round(z·log2 e): adding 1.5·2²³ rounds to a whole number (to nearest, as f32x4.nearest) and
  // leaves it in the low mantissa bits, which give k as an integer too.
  const shifted = f32x4.add(f32x4.mul(z, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0));
  const k = f32x4.sub(shifted, f32x4.splat(12582912.0));
  let r = f32x4.sub(z, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const ki = i32x4.sub(shifted, i32x4.splat(0x4b400000)); // k in [−126, 128]
  const k1 = i32x4.shr_s(ki, 1);
  const bias = i32x4.splat(127);
  let e = f32x4.mul(f32x4.mul(p, i32x4.shl(i32x4.add(k1, bias), 23)), i32x4.shl(i32x4.add(i32x4.sub(ki, k1), bias), 23));
  e = v128.bitselect(f32x4.splat(Infinity), e, f32x4.gt(y, f32x4.splat(88.72283)));
  e = v128.andnot(e, f32x4.lt(y, f32x4.splat(-87.3)));
  return v128.bitselect(y, e, f32x4.ne(y, y));
}

export function exp(x: usize, out: usize, size: i32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  let k: usize = 0;
  for (; k < vecEnd; k += 16) v128.store(out + k, exp4(v128.load(x + k)));
  for (; k < end; k += 4) store<f32>(out + k, f32x4.extract_lane(exp4(f32x4.splat(load<f32>(x + k))), 0));
}

// erf(x) for four floats as one rational function, x·P(x²)/Q(x²), P and Q of degree 5 in x²: a
// relative-error fit on [0, 3.92] made for Patchbay (scripts/simd-kernels/fit-erf.py computes the
// coefficients). Within 3.4e-7 of erf in float32 everywhere, 2.5e-7 relative near 0.
// From |x| = 3.92 on erf(x) rounds to ±1 in float32 and is returned as that. It replaced
// Abramowitz & Stegun 7.1.26 plus a series near 0 (an exp and two polynomials for every lane):
// a GELU's forward pass took 1.8 ms on 32×14×14×64 values that way, most of it here.
@inline function erf4(x: v128): v128 {
  const c = f32x4.pmax(f32x4.pmin(x, f32x4.splat(3.92)), f32x4.splat(-3.92));
  const t = f32x4.mul(c, c);
  let p = f32x4.splat(2.05007337969136e-6);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(2.848449883428866e-4));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(3.7645609127295375e-3));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(5.274538450950301e-2));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.903838345214261e-1));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.128379146449882));
  let q = f32x4.splat(3.808960652502042e-5);
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(1.1622540461851112e-3));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(1.4967100279386233e-2));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(1.1409944736334209e-1));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(5.02056026532017e-1));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(1.0));
  const r = f32x4.div(f32x4.mul(c, p), q);
  const one = v128.or(f32x4.splat(1.0), v128.and(x, i32x4.splat(0x80000000))); // sign(x)·1
  return v128.bitselect(one, r, f32x4.ge(f32x4.abs(x), f32x4.splat(3.92)));
}

export function erf(x: usize, out: usize, size: i32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  let k: usize = 0;
  for (; k < vecEnd; k += 16) v128.store(out + k, erf4(v128.load(x + k)));
  for (; k < end; k += 4) store<f32>(out + k, f32x4.extract_lane(erf4(f32x4.splat(load<f32>(x + k))), 0));
}

// GELU as tfjs-layers' "gelu" activation computes it, in its float32 operations and their order:
//   u = x / √2,  cdf = 0.5·(1 + erf(u)),  y = x·cdf
// (erf4 is the Erf kernel's own function), so that one call gives the bits of its five kernels. cdf
// is written too: the gradient needs it, and computing erf again there cost more than reading it.
@inline function geluCdf4(x: v128): v128 {
  const u = f32x4.div(x, f32x4.splat(1.4142135623730951));
  return f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.splat(1.0), erf4(u)));
}

export function gelu(x: usize, out: usize, cdfOut: usize, size: i32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  let k: usize = 0;
  for (; k < vecEnd; k += 16) {
    const v = v128.load(x + k);
    const cdf = geluCdf4(v);
    v128.store(cdfOut + k, cdf);
    v128.store(out + k, f32x4.mul(v, cdf));
  }
  for (; k < end; k += 4) {
    const v = f32x4.splat(load<f32>(x + k));
    const cdf = geluCdf4(v);
    store<f32>(cdfOut + k, f32x4.extract_lane(cdf, 0));
    store<f32>(out + k, f32x4.extract_lane(f32x4.mul(v, cdf), 0));
  }
}

// dL/dx of that GELU, as tfjs's autodiff of its five kernels computes it, operation for operation:
//   dx = dy·cdf + (((dy·x)·0.5)·(e^(−u·u)·(2/√π))) / √2
// (Multiply's gradient, then Add's, Erf's (e^(−u²)·2/√π), RealDiv's; the two paths to x added last).
@inline function geluGrad4(x: v128, cdf: v128, dy: v128): v128 {
  const u = f32x4.div(x, f32x4.splat(1.4142135623730951));
  const slope = f32x4.mul(exp4(f32x4.neg(f32x4.mul(u, u))), f32x4.splat(1.1283791670955126));
  const viaErf = f32x4.div(f32x4.mul(f32x4.mul(f32x4.mul(dy, x), f32x4.splat(0.5)), slope), f32x4.splat(1.4142135623730951));
  return f32x4.add(f32x4.mul(dy, cdf), viaErf);
}

export function geluGrad(x: usize, cdf: usize, dy: usize, out: usize, size: i32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  let k: usize = 0;
  for (; k < vecEnd; k += 16) v128.store(out + k, geluGrad4(v128.load(x + k), v128.load(cdf + k), v128.load(dy + k)));
  for (; k < end; k += 4) {
    const g = geluGrad4(f32x4.splat(load<f32>(x + k)), f32x4.splat(load<f32>(cdf + k)), f32x4.splat(load<f32>(dy + k)));
    store<f32>(out + k, f32x4.extract_lane(g, 0));
  }
}

// Batch normalisation with per-channel statistics (channels last): out = (x − mean)·scale / √(var + ε) + offset,
// the cpu backend's order of operations (in float32). scale = 0 / offset = 0 (null pointers) mean 1 / 0.
// Channel-vector outer, rows inner, so that each channel's constants and √(var + ε) are computed once.
export function batchNorm(x: usize, mean: usize, variance: usize, scale: usize, offset: usize, out: usize, rows: i32, c: i32, ld: i32, epsilon: f32): void {
  const rowBytes = <usize>ld << 2;
  const end = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  const eps = f32x4.splat(epsilon);
  let k: usize = 0;
  for (; k < vecEnd; k += 16) {
    const m = v128.load(mean + k);
    const d = f32x4.sqrt(f32x4.add(v128.load(variance + k), eps));
    const sc = scale != 0 ? v128.load(scale + k) : f32x4.splat(1.0);
    const off = offset != 0 ? v128.load(offset + k) : f32x4.splat(0.0);
    let p = x + k, q = out + k;
    for (let r = 0; r < rows; r++, p += rowBytes, q += rowBytes) {
      v128.store(q, f32x4.add(f32x4.div(f32x4.mul(f32x4.sub(v128.load(p), m), sc), d), off));
    }
  }
  for (; k < end; k += 4) {
    const m = load<f32>(mean + k);
    const d = sqrt<f32>(load<f32>(variance + k) + epsilon);
    const sc: f32 = scale != 0 ? load<f32>(scale + k) : 1.0;
    const off: f32 = offset != 0 ? load<f32>(offset + k) : 0.0;
    let p = x + k, q = out + k;
    for (let r = 0; r < rows; r++, p += rowBytes, q += rowBytes) store<f32>(q, ((load<f32>(p) - m) * sc) / d + off);
  }
}

// A batch's per-channel statistics for batch normalisation in training (channels last, the
// statistics over all rows): mean = Σx / rows, variance = Σ(x − mean)² / rows (two passes, as
// tfjs's moments: the mean of the squared differences), invStd = 1 / √(variance + ε). Channel
// vector outer, rows inner (as batchNorm), so that the sums stay in registers.
export function channelMoments(x: usize, mean: usize, variance: usize, invStd: usize, rows: i32, c: i32, ld: i32, epsilon: f32): void {
  const rowBytes = <usize>ld << 2;
  const end = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  const n = f32x4.splat(<f32>rows);
  let k: usize = 0;
  for (; k < vecEnd; k += 16) {
    let sum = f32x4.splat(0.0);
    let p = x + k;
    for (let r = 0; r < rows; r++, p += rowBytes) sum = f32x4.add(sum, v128.load(p));
    const m = f32x4.div(sum, n);
    let squares = f32x4.splat(0.0);
    p = x + k;
    for (let r = 0; r < rows; r++, p += rowBytes) {
      const d = f32x4.sub(v128.load(p), m);
      squares = f32x4.add(squares, f32x4.mul(d, d));
    }
    const v = f32x4.div(squares, n);
    v128.store(mean + k, m);
    v128.store(variance + k, v);
    v128.store(invStd + k, f32x4.div(f32x4.splat(1.0), f32x4.sqrt(f32x4.add(v, f32x4.splat(epsilon)))));
  }
  for (; k < end; k += 4) {
    let sum: f32 = 0;
    let p = x + k;
    for (let r = 0; r < rows; r++, p += rowBytes) sum += load<f32>(p);
    const m = sum / <f32>rows;
    let squares: f32 = 0;
    p = x + k;
    for (let r = 0; r < rows; r++, p += rowBytes) {
      const d = load<f32>(p) - m;
      squares += d * d;
    }
    const v = squares / <f32>rows;
    store<f32>(mean + k, m);
    store<f32>(variance + k, v);
    store<f32>(invStd + k, <f32>1.0 / sqrt<f32>(v + epsilon));
  }
}

// The gradient of batch normalisation in training, y = γ·x̂ + β with x̂ = (x − mean)·invStd and the
// batch's own statistics, in closed form (sums over the rows, N of them, per channel):
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·invStd·(dy − dβ/N − x̂·dγ/N).
// In two kernels, rows outer so that x and dy stream through memory once each: the sums over a
// share of the rows (each thread its own, added up by the caller), then dx for a share of the rows.
export function batchNormGradSums(x: usize, dy: usize, mean: usize, invStd: usize, sumDy: usize, sumDyXhat: usize, rows: i32, c: i32): void {
  const rowBytes = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  memory.fill(sumDy, 0, rowBytes);
  memory.fill(sumDyXhat, 0, rowBytes);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, dyr = dy + <usize>r * rowBytes;
    let k: usize = 0;
    for (; k < vecEnd; k += 16) {
      const g = v128.load(dyr + k);
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + k), v128.load(mean + k)), v128.load(invStd + k));
      v128.store(sumDy + k, f32x4.add(v128.load(sumDy + k), g));
      v128.store(sumDyXhat + k, f32x4.add(v128.load(sumDyXhat + k), f32x4.mul(g, xhat)));
    }
    for (; k < rowBytes; k += 4) {
      const g = load<f32>(dyr + k);
      store<f32>(sumDy + k, load<f32>(sumDy + k) + g);
      store<f32>(sumDyXhat + k, load<f32>(sumDyXhat + k) + g * ((load<f32>(xr + k) - load<f32>(mean + k)) * load<f32>(invStd + k)));
    }
  }
}

// dx for a share of the rows; sumDy and sumDyXhat are the sums over all n rows (gamma = 0: γ = 1).
export function batchNormGradDx(x: usize, dy: usize, mean: usize, invStd: usize, gamma: usize, sumDy: usize, sumDyXhat: usize, dx: usize, rows: i32, c: i32, n: i32): void {
  const rowBytes = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  const invN: f32 = <f32>1.0 / <f32>n;
  const invNv = f32x4.splat(invN);
  for (let r = 0; r < rows; r++) {
    const offset = <usize>r * rowBytes;
    const xr = x + offset, dyr = dy + offset, dxr = dx + offset;
    let k: usize = 0;
    for (; k < vecEnd; k += 16) {
      const s = v128.load(invStd + k);
      const scale = gamma != 0 ? f32x4.mul(v128.load(gamma + k), s) : s;
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + k), v128.load(mean + k)), s);
      const centred = f32x4.sub(v128.load(dyr + k), f32x4.mul(v128.load(sumDy + k), invNv));
      v128.store(dxr + k, f32x4.mul(scale, f32x4.sub(centred, f32x4.mul(xhat, f32x4.mul(v128.load(sumDyXhat + k), invNv)))));
    }
    for (; k < rowBytes; k += 4) {
      const s = load<f32>(invStd + k);
      const scale: f32 = gamma != 0 ? load<f32>(gamma + k) * s : s;
      const xhat = (load<f32>(xr + k) - load<f32>(mean + k)) * s;
      store<f32>(dxr + k, scale * (load<f32>(dyr + k) - load<f32>(sumDy + k) * invN - xhat * (load<f32>(sumDyXhat + k) * invN)));
    }
  }
}

@inline function sumLanes(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// Layer normalisation over the last axis (rows of c values): per row mean = Σx / c,
// invStd = 1 / √(Σ(x − mean)² / c + ε), then y = ((x − mean)·invStd)·γ + β. mean and invStd are
// written for the gradient (one value a row).
export function layerNorm(x: usize, gamma: usize, beta: usize, out: usize, mean: usize, invStd: usize, rows: i32, c: i32, epsilon: f32): void {
  const rowBytes = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowBytes;
    const o = out + <usize>r * rowBytes;
    let acc = f32x4.splat(0.0);
    let k: usize = 0;
    for (; k < vecEnd; k += 16) acc = f32x4.add(acc, v128.load(row + k));
    let sum = sumLanes(acc);
    for (; k < rowBytes; k += 4) sum += load<f32>(row + k);
    const m = sum / <f32>c;
    const mv = f32x4.splat(m);
    acc = f32x4.splat(0.0);
    for (k = 0; k < vecEnd; k += 16) {
      const d = f32x4.sub(v128.load(row + k), mv);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let squares = sumLanes(acc);
    for (; k < rowBytes; k += 4) {
      const d = load<f32>(row + k) - m;
      squares += d * d;
    }
    const s = <f32>1.0 / sqrt<f32>(squares / <f32>c + epsilon);
    const sv = f32x4.splat(s);
    for (k = 0; k < vecEnd; k += 16) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(row + k), mv), sv);
      v128.store(o + k, f32x4.add(f32x4.mul(xhat, v128.load(gamma + k)), v128.load(beta + k)));
    }
    for (; k < rowBytes; k += 4) store<f32>(o + k, (load<f32>(row + k) - m) * s * load<f32>(gamma + k) + load<f32>(beta + k));
    store<f32>(mean + (<usize>r << 2), m);
    store<f32>(invStd + (<usize>r << 2), s);
  }
}

// The gradient of that layer normalisation in closed form (means over a row's c values, sums over
// the rows): with g = dy·γ and x̂ = (x − mean)·invStd,
//   dx = invStd·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy.
export function layerNormGrad(x: usize, dy: usize, mean: usize, invStd: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize, rows: i32, c: i32): void {
  const rowBytes = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  let k: usize = 0;
  for (; k < rowBytes; k += 4) {
    store<f32>(dgamma + k, 0);
    store<f32>(dbeta + k, 0);
  }
  const invC = <f32>1.0 / <f32>c;
  for (let r = 0; r < rows; r++) {
    const offset = <usize>r * rowBytes;
    const xr = x + offset, dyr = dy + offset, dxr = dx + offset;
    const m = load<f32>(mean + (<usize>r << 2));
    const s = load<f32>(invStd + (<usize>r << 2));
    const mv = f32x4.splat(m), sv = f32x4.splat(s);
    let accG = f32x4.splat(0.0), accGx = f32x4.splat(0.0);
    for (k = 0; k < vecEnd; k += 16) {
      const d = v128.load(dyr + k);
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + k), mv), sv);
      const g = f32x4.mul(d, v128.load(gamma + k));
      accG = f32x4.add(accG, g);
      accGx = f32x4.add(accGx, f32x4.mul(g, xhat));
      v128.store(dgamma + k, f32x4.add(v128.load(dgamma + k), f32x4.mul(d, xhat)));
      v128.store(dbeta + k, f32x4.add(v128.load(dbeta + k), d));
    }
    let sumG = sumLanes(accG), sumGx = sumLanes(accGx);
    for (; k < rowBytes; k += 4) {
      const d = load<f32>(dyr + k);
      const xhat = (load<f32>(xr + k) - m) * s;
      const g = d * load<f32>(gamma + k);
      sumG += g;
      sumGx += g * xhat;
      store<f32>(dgamma + k, load<f32>(dgamma + k) + d * xhat);
      store<f32>(dbeta + k, load<f32>(dbeta + k) + d);
    }
    const meanG = sumG * invC, meanGx = sumGx * invC;
    const mg = f32x4.splat(meanG), mgx = f32x4.splat(meanGx);
    for (k = 0; k < vecEnd; k += 16) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + k), mv), sv);
      const g = f32x4.mul(v128.load(dyr + k), v128.load(gamma + k));
      v128.store(dxr + k, f32x4.mul(sv, f32x4.sub(f32x4.sub(g, mg), f32x4.mul(xhat, mgx))));
    }
    for (; k < rowBytes; k += 4) {
      const xhat = (load<f32>(xr + k) - m) * s;
      const g = load<f32>(dyr + k) * load<f32>(gamma + k);
      store<f32>(dxr + k, s * (g - meanG - xhat * meanGx));
    }
  }
}

// Depthwise convolution, channel multiplier 1, NHWC, any stride and padding:
//   out[b, i, j, c] = Σ over kh, kw of x[b, i·sh + kh − top, j·sw + kw − left, c] · f[kh, kw, c]
// (taps in the padding add nothing). For each output pixel, four channels at a time, the taps are
// summed in one register. XNNPACK's kernel ran ConvMixer's 5×5 (32×14×14×64) at ~3 GMAC/s here.
export function depthwiseConv(x: usize, f: usize, out: usize, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, fh: i32, fw: i32, sh: i32, sw: i32, top: i32, left: i32): void {
  const rowBytes = <usize>c << 2;
  const vecEnd = <usize>(c & ~3) << 2;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const kh0 = max(0, top - i * sh), kh1 = min(fh, h + top - i * sh);
      for (let j = 0; j < ow; j++) {
        const kw0 = max(0, left - j * sw), kw1 = min(fw, w + left - j * sw);
        const o = out + <usize>((b * oh + i) * ow + j) * rowBytes;
        let k: usize = 0;
        for (; k < vecEnd; k += 16) {
          let acc = f32x4.splat(0);
          for (let kh = kh0; kh < kh1; kh++) {
            const xr = x + <usize>((b * h + i * sh + kh - top) * w + j * sw - left) * rowBytes + k;
            const fr = f + <usize>(kh * fw) * rowBytes + k;
            for (let kw = kw0; kw < kw1; kw++) acc = f32x4.add(acc, f32x4.mul(v128.load(xr + <usize>kw * rowBytes), v128.load(fr + <usize>kw * rowBytes)));
          }
          v128.store(o + k, acc);
        }
        for (; k < rowBytes; k += 4) {
          let acc: f32 = 0;
          for (let kh = kh0; kh < kh1; kh++) {
            const xr = x + <usize>((b * h + i * sh + kh - top) * w + j * sw - left) * rowBytes + k;
            const fr = f + <usize>(kh * fw) * rowBytes + k;
            for (let kw = kw0; kw < kw1; kw++) acc += load<f32>(xr + <usize>kw * rowBytes) * load<f32>(fr + <usize>kw * rowBytes);
          }
          store<f32>(o + k, acc);
        }
      }
    }
  }
}

// One Adam step for one variable, the float32 operations of tfjs's AdamOptimizer in its order, so
// that the results are the same to the bit (every operation is a correctly rounded IEEE one):
//   m' = m·β1 + g·(1 − β1),  v' = v·β2 + (g·g)·(1 − β2),
//   value' = ((m' / (1 − β1ᵗ)) / (√(v' / (1 − β2ᵗ)) + ε))·(−lr) + value.
// One call replaces the ~13 tfjs kernel calls (and their scalar tensors) per variable.
export function adamUpdate(value: usize, grad: usize, m: usize, v: usize, outValue: usize, outM: usize, outV: usize, size: i32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, oneMinusAccBeta1: f32, oneMinusAccBeta2: f32, epsilon: f32, negLr: f32): void {
  const end = <usize>size << 2;
  const vecEnd = <usize>(size & ~3) << 2;
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(oneMinusBeta1), b2 = f32x4.splat(beta2), c2 = f32x4.splat(oneMinusBeta2);
  const a1 = f32x4.splat(oneMinusAccBeta1), a2 = f32x4.splat(oneMinusAccBeta2), eps = f32x4.splat(epsilon), lr = f32x4.splat(negLr);
  let k: usize = 0;
  for (; k < vecEnd; k += 16) {
    const g = v128.load(grad + k);
    const nm = f32x4.add(f32x4.mul(v128.load(m + k), b1), f32x4.mul(g, c1));
    const nv = f32x4.add(f32x4.mul(v128.load(v + k), b2), f32x4.mul(f32x4.mul(g, g), c2));
    const step = f32x4.div(f32x4.div(nm, a1), f32x4.add(f32x4.sqrt(f32x4.div(nv, a2)), eps));
    v128.store(outM + k, nm);
    v128.store(outV + k, nv);
    v128.store(outValue + k, f32x4.add(f32x4.mul(step, lr), v128.load(value + k)));
  }
  for (; k < end; k += 4) {
    const g = load<f32>(grad + k);
    const nm = load<f32>(m + k) * beta1 + g * oneMinusBeta1;
    const nv = load<f32>(v + k) * beta2 + g * g * oneMinusBeta2;
    const step = nm / oneMinusAccBeta1 / (sqrt<f32>(nv / oneMinusAccBeta2) + epsilon);
    store<f32>(outM + k, nm);
    store<f32>(outV + k, nv);
    store<f32>(outValue + k, step * negLr + load<f32>(value + k));
  }
}

// C = A·B, float32, row-major C [M, N]. A's element (i, k) lies at a + i·ars + k·aks, B's (k, n) at
// b + k·bks + n·bns (byte strides), so a transposed operand costs no copy: it is read by its strides
// while packing. A is packed into panels of 4 rows ([k][4]), B into panels of 8 columns ([k][8]),
// both zero-padded, and a 4×8 tile of eight f32x4 accumulators runs over k (8 multiplies and 8 adds
// per k). Measured 19–21 GMAC/s on this machine's Zen 4 core against XNNPACK's 12–15 in tfjs-wasm
// (bench/gemm-simd.bench.ts, where the variants tried are listed). The sums run over k in order.
// (The batch's packing is redone per entry even for a broadcast operand: simpler, and cheap.)
@inline function tile(pa: usize, pb: usize, K: i32, c: usize, ldc: usize, rows: i32, cols: i32, scratch: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const full = rows == 4 && cols == 8;
  if (accumulate) {
    // A later block of k: start from the sums so far (a partial tile goes through scratch).
    let src = c, ld = ldc;
    if (!full) {
      memory.fill(scratch, 0, 128);
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) store<f32>(scratch + (<usize>r << 5) + (<usize>j << 2), load<f32>(c + <usize>r * ldc + (<usize>j << 2)));
      src = scratch;
      ld = 32;
    }
    c00 = v128.load(src); c01 = v128.load(src, 16);
    c10 = v128.load(src + ld); c11 = v128.load(src + ld, 16);
    c20 = v128.load(src + 2 * ld); c21 = v128.load(src + 2 * ld, 16);
    c30 = v128.load(src + 3 * ld); c31 = v128.load(src + 3 * ld, 16);
  }
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    { const x = v128.load32_splat(pa, 0); c00 = f32x4.add(c00, f32x4.mul(x, b0)); c01 = f32x4.add(c01, f32x4.mul(x, b1)); }
    { const x = v128.load32_splat(pa, 4); c10 = f32x4.add(c10, f32x4.mul(x, b0)); c11 = f32x4.add(c11, f32x4.mul(x, b1)); }
    { const x = v128.load32_splat(pa, 8); c20 = f32x4.add(c20, f32x4.mul(x, b0)); c21 = f32x4.add(c21, f32x4.mul(x, b1)); }
    { const x = v128.load32_splat(pa, 12); c30 = f32x4.add(c30, f32x4.mul(x, b0)); c31 = f32x4.add(c31, f32x4.mul(x, b1)); }
    pa += 16;
    pb += 32;
  }
  if (full) {
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
    v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
    v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
  } else {
    v128.store(scratch, c00); v128.store(scratch, c01, 16);
    v128.store(scratch, c10, 32); v128.store(scratch, c11, 48);
    v128.store(scratch, c20, 64); v128.store(scratch, c21, 80);
    v128.store(scratch, c30, 96); v128.store(scratch, c31, 112);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) store<f32>(c + <usize>r * ldc + (<usize>j << 2), load<f32>(scratch + (<usize>r << 5) + (<usize>j << 2)));
  }
}

function packA(a: usize, ars: usize, aks: usize, M: i32, K: i32, out: usize): void {
  const panels = (M + 3) >> 2;
  for (let q = 0; q < panels; q++) {
    const rows = min(4, M - (q << 2));
    const src = a + <usize>(q << 2) * ars;
    const dst = out + <usize>q * <usize>K * 16;
    if (rows == 4 && ars == 4) {
      for (let k = 0; k < K; k++) v128.store(dst + (<usize>k << 4), v128.load(src + <usize>k * aks));
      continue;
    }
    let k = 0;
    if (rows == 4 && aks == 4) {
      for (; k + 4 <= K; k += 4) { // a 4×4 transpose in registers
        const s = src + (<usize>k << 2);
        const r0 = v128.load(s), r1 = v128.load(s + ars), r2 = v128.load(s + 2 * ars), r3 = v128.load(s + 3 * ars);
        const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
        const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
        const d = dst + (<usize>k << 4);
        v128.store(d, i64x2.shuffle(t0, t1, 0, 2)); v128.store(d, i64x2.shuffle(t0, t1, 1, 3), 16);
        v128.store(d, i64x2.shuffle(t2, t3, 0, 2), 32); v128.store(d, i64x2.shuffle(t2, t3, 1, 3), 48);
      }
    }
    for (; k < K; k++) {
      const d = dst + (<usize>k << 4);
      for (let r = 0; r < 4; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * ars + <usize>k * aks) : 0);
    }
  }
}

function packB(b: usize, bks: usize, bns: usize, K: i32, N: i32, out: usize): void {
  const panels = (N + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const cols = min(8, N - (p << 3));
    const src = b + <usize>(p << 3) * bns;
    const dst = out + <usize>p * <usize>K * 32;
    if (cols == 8 && bns == 4) {
      for (let k = 0; k < K; k++) {
        const s = src + <usize>k * bks;
        v128.store(dst + (<usize>k << 5), v128.load(s));
        v128.store(dst + (<usize>k << 5), v128.load(s, 16), 16);
      }
    } else {
      for (let k = 0; k < K; k++) {
        const d = dst + (<usize>k << 5);
        for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(src + <usize>k * bks + <usize>j * bns) : 0);
      }
    }
  }
}

/** k is taken in blocks of this many, so that a tile's A panel (4·256 floats) and B panel (8·256) stay in L1. */
const K_BLOCK: i32 = 256;

/** Bytes of scratch that matmul needs for one product. */
export function matmulScratchBytes(M: i32, K: i32, N: i32): usize {
  const kb = <usize>max(min(K, K_BLOCK), 1);
  return (<usize>((M + 3) >> 2) * 16 + <usize>((N + 7) >> 3) * 32) * kb + 128;
}

// out[β] = A[β]·B[β] (+ bias[n] when bias ≠ 0) for β < batch; aStride / bStride are the bytes between
// batch entries (0 broadcasts one matrix over the batch). scratch: matmulScratchBytes(M, K, N) bytes.
// Each block of K_BLOCK k's is packed and multiplied in turn, the tiles adding to the sums so far.
export function matmul(a: usize, ars: usize, aks: usize, aStride: usize, b: usize, bks: usize, bns: usize, bStride: usize, out: usize, bias: usize, M: i32, K: i32, N: i32, batch: i32, scratch: usize): void {
  const kb = max(min(K, K_BLOCK), 1);
  const pa = scratch;
  const pb = pa + <usize>((M + 3) >> 2) * 16 * <usize>kb;
  const tileScratch = pb + <usize>((N + 7) >> 3) * 32 * <usize>kb;
  const panels = (N + 7) >> 3;
  const ldc = <usize>N << 2;
  const blocks = K > 0 ? (K + K_BLOCK - 1) / K_BLOCK : 1;
  for (let beta = 0; beta < batch; beta++) {
    const c = out + <usize>beta * <usize>M * ldc;
    for (let blk = 0; blk < blocks; blk++) {
      const k0 = blk * K_BLOCK;
      const len = min(K - k0, K_BLOCK); // 0 when K = 0: the tiles then write zeros
      packA(a + <usize>beta * aStride + <usize>k0 * aks, ars, aks, M, len, pa);
      packB(b + <usize>beta * bStride + <usize>k0 * bks, bks, bns, len, N, pb);
      for (let i = 0, q = 0; i < M; i += 4, q++) {
        const ci = c + <usize>i * ldc, ai = pa + <usize>q * <usize>len * 16;
        for (let p = 0; p < panels; p++) tile(ai, pb + <usize>p * <usize>len * 32, len, ci + (<usize>p << 5), ldc, min(4, M - i), min(8, N - (p << 3)), tileScratch, blk > 0);
      }
    }
    if (bias != 0) {
      const vecEnd = <usize>(N & ~3) << 2;
      for (let i = 0; i < M; i++) {
        const row = c + <usize>i * ldc;
        let k: usize = 0;
        for (; k < vecEnd; k += 16) v128.store(row + k, f32x4.add(v128.load(row + k), v128.load(bias + k)));
        for (; k < ldc; k += 4) store<f32>(row + k, load<f32>(row + k) + load<f32>(bias + k));
      }
    }
  }
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
