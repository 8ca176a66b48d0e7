/**
 * The three gradient kernels that tfjs-backend-wasm 4.22 lacks, so that conv nets train on 'wasm':
 * `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput`.
 *
 * Each kernel is composed of tfjs ops that the wasm backend runs natively (XNNPACK matmul and
 * depthwise convolution, plus transpose/pad/slice), so no JavaScript loop touches the tensors:
 *
 * - Conv2DBackpropFilter: a 1×1 stride-1 conv or a patch embedding (stride = kernel) gets its input
 *   patches from reshapes alone, and dW = colsᵀ · dy is one matmul; every other conv computes dW as
 *   one XNNPACK convolution of x (channels as batch: [Cin, H, W, N]) with dy as the filter
 *   ([oh, ow, N, Cout]), dilated by the forward stride.
 * - DepthwiseConv2dNativeBackpropFilter: dW[h,w,c] = Σₙᵢⱼ xpad[n, i·s+h, j·s+w, c]·dy[n,i,j,c] is a
 *   depthwise *convolution* of the input with dy as the filter, once batch is folded into channels:
 *   x → [1, H, W, N·C], dy → [oh, ow, N·C, m], dilation = the forward stride; the [1, fh, fw, N·C·m]
 *   result is summed over N.
 * - DepthwiseConv2dNativeBackpropInput: dx is the depthwise convolution of dy (zero-upsampled by the
 *   stride) with the spatially flipped filter, padded by fh−1−top / fw−1−left (the same padding rule
 *   as tfjs-backend-cpu); a channel multiplier m > 1 is summed out afterwards.
 *
 * Fast paths are also put in front of stock wasm kernels that would otherwise dominate a training
 * step (each falls back to the stock kernel when its case does not apply; see FAST_PATHS):
 * `Conv2DBackpropInput` (1×1 and patch-embedding convs as one matmul, every other conv as one
 * convolution of dy with the flipped filter split into stride phases), `Tile` (broadcasts, as in the
 * BatchNorm gradient), `Sum`/`Mean` over leading axes (XNNPACK average pooling), `BatchMatMul` with
 * transposed operands (every Dense gradient; an explicit transpose then XNNPACK) or with a batch
 * (attention, capsule routing; one depthwise convolution, which XNNPACK runs as a grouped GEMM), `Identity` and
 * same-dtype `Cast` (share data instead of copying), and `Exp` of non-positive tensors (via sigmoid).
 * `AvgPool` over more than 8,192 channels pools slices of them: the stock kernel corrupts the heap
 * from 16,384 channels (see MAX_POOL_CHANNELS).
 * The Sum and Mean gradients, while 'wasm' is the active backend, broadcast dy with `broadcastTo`
 * instead of multiplying it by a JavaScript-built `ones` tensor. The Tile gradient (LayerNorm's) is
 * one reshape and Sum instead of a Slice and an Add per repetition, on every backend.
 *
 * Where Patchbay's WebAssembly SIMD module is attached (simd-kernels.ts; `useWasmBackend` attaches
 * it), the depthwise conv and its filter gradient, FusedBatchNorm, Erf and Exp run there, and on one
 * thread so do BatchMatMul and _FusedMatMul (its GEMM reads transposed operands by their strides);
 * each falls back to the routes above where the module is missing or the case does not apply.
 *
 * Kernels receive and return `TensorInfo`s. Inputs are wrapped as engine tensors with an extra
 * backend reference (so disposing the wrapper leaves the caller's data alone), all intermediates live
 * in `tf.tidy`, and the result's data id is handed to the engine with one reference of its own, as
 * the wasm backend's own `Reshape` kernel does.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm'; // registers the stock wasm kernels that the fast paths wrap
import {
  AvgPool,
  backend_util,
  BatchMatMul,
  Cast,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropInput,
  Erf,
  FusedBatchNorm,
  FusedConv2D,
  Exp,
  Identity,
  Mean,
  Sum,
  Tile,
  Transpose,
  _FusedMatMul,
  type DataId,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import {
  heapOffset,
  runElementwise,
  runShares,
  runSummedShares,
  simdGemmOf,
  simdKernelsOf,
  simdParts,
  SHARE_MIN_MACS,
  SHARE_MIN_VALUES,
  type SimdHeapBackend,
} from './simd-kernels';
import { shareRanges } from './simd-threads';

type Conv2DInfo = backend_util.Conv2DInfo;
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;
type Pair = [number, number];

/** The part of the backend these kernels need (every KernelBackend has it). */
interface RefCounted {
  incRef(dataId: DataId): void;
}

/** An engine tensor sharing `info`'s data; disposing it releases only the reference taken here. */
function wrap(backend: RefCounted, info: TensorInfo): tf.Tensor {
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Hands `t`'s data to the engine as a kernel output: one reference moves to the returned info. */
function release(backend: RefCounted, t: tf.Tensor): TensorInfo {
  backend.incRef(t.dataId);
  const out: TensorInfo = { dataId: t.dataId, shape: t.shape.slice(), dtype: t.dtype };
  t.dispose();
  return out;
}

/** Runs `body` on engine tensors wrapping `inputs`; everything but the result is disposed. */
function compose(backend: RefCounted, inputs: TensorInfo[], body: (ts: tf.Tensor[]) => tf.Tensor): TensorInfo {
  return release(
    backend,
    tf.tidy(() => body(inputs.map((i) => wrap(backend, i)))),
  );
}

function asPair(v: number | number[] | undefined | null): Pair {
  if (v == null) return [1, 1];
  return typeof v === 'number' ? [v, v] : [v[0]!, v[1] ?? v[0]!];
}

function assertNoDilation(kernel: string, dilations: number | number[] | undefined): void {
  const [dh, dw] = asPair(dilations);
  if (dh !== 1 || dw !== 1) throw new Error(`${kernel} (wasm): dilations other than 1 are not supported, got ${dh},${dw}.`);
}

function assertChannelsLast(kernel: string, info: Conv2DInfo): void {
  if (info.dataFormat !== 'channelsLast') throw new Error(`${kernel} (wasm): only NHWC data is supported.`);
}

/**
 * Spatial window of an NHWC tensor: rows [-top, -top + height) and columns [-left, -left + width),
 * zero outside the tensor. Crops what lies beyond, and returns the padding still to apply
 * (all ≥ 0) so that a convolution can take it as explicit padding instead of a `tf.pad` copy.
 */
function window(t: tf.Tensor4D, top: number, left: number, height: number, width: number): { t: tf.Tensor4D; pads: [Pair, Pair] } {
  const [n, h, w, c] = t.shape;
  let bottom = height - h - top;
  let right = width - w - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    const r0 = Math.max(0, -top);
    const c0 = Math.max(0, -left);
    t = tf.slice(t, [0, r0, c0, 0], [n, h - r0 - Math.max(0, -bottom), w - c0 - Math.max(0, -right), c]);
    top = Math.max(0, top);
    left = Math.max(0, left);
    bottom = Math.max(0, bottom);
    right = Math.max(0, right);
  }
  return {
    t,
    pads: [
      [top, bottom],
      [left, right],
    ],
  };
}

function padded(t: tf.Tensor4D, pads: [Pair, Pair]): tf.Tensor4D {
  const [[t0, t1], [l0, l1]] = pads;
  return t0 || t1 || l0 || l1
    ? tf.pad(t, [
        [0, 0],
        [t0, t1],
        [l0, l1],
        [0, 0],
      ])
    : t;
}

function explicit(pads: [Pair, Pair]): backend_util.ExplicitPadding {
  return [[0, 0], pads[0], pads[1], [0, 0]];
}

/**
 * dW for a regular conv. 1×1 stride-1 convs and patch embeddings (stride = kernel) take their input
 * patches from reshapes alone, so dW = colsᵀ · dy is one matmul. Every other conv computes
 *   dW[kh, kw, ci, co] = Σ_{n,i,j} xpad[n, i·sh + kh, j·sw + kw, ci] · dy[n, i, j, co]
 * as one XNNPACK convolution: the input is x with its channels as the batch and its batch as the
 * channels ([ci, H, W, n]), the filter is dy as [oh, ow, n, co], dilated by the forward stride, and
 * the [ci, fh, fw, co] result is transposed into place. Building the im2col matrix instead took fh·fw
 * slices and a Concat that tfjs-wasm runs in JavaScript: for the CapsNet primary capsules' 9×9
 * stride-2 conv (64×20×20×32 → 128) ~660 ms against ~60 ms, for a 3×3 conv (32×14×14, 96 → 32)
 * ~82 ms against ~25 ms (Node 20, one thread, a loaded machine; bench/wasm-conv-grads.bench.ts).
 */
function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: Conv2DInfo): tf.Tensor {
  const {
    batchSize: n,
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: fh,
    filterWidth: fw,
    inChannels: ci,
    outChannels: co,
  } = info;
  const height = (oh - 1) * sh + fh;
  const width = (ow - 1) * sw + fw;
  const reshapesOnly = fh === sh && fw === sw; // 1×1 stride 1 included
  if (!reshapesOnly) {
    const win = window(x.transpose([3, 1, 2, 0]) as tf.Tensor4D, info.padInfo.top, info.padInfo.left, height, width);
    const filter = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, n, co]
    const sums = tf.conv2d(win.t, filter, 1, explicit(win.pads), 'NHWC', [sh, sw]); // [ci, fh, fw, co]
    return sums.transpose([1, 2, 0, 3]);
  }
  const rows = n * oh * ow;
  const win = window(x, info.padInfo.top, info.padInfo.left, height, width);
  const xp = padded(win.t, win.pads);
  const cols =
    fh === 1 && fw === 1
      ? xp.reshape([rows, ci])
      : // Non-overlapping patches (patch embedding): the window splits exactly into fh×fw tiles.
        xp
          .reshape([n, oh, fh, ow, fw, ci])
          .transpose([0, 1, 3, 2, 4, 5])
          .reshape([rows, fh * fw * ci]);
  // (dyᵀ · cols)ᵀ: tfjs-wasm runs matMul with transposeA or transposeB in a scalar loop (~23 ms for
  // [6272,64]ᵀ·[6272,64]); an explicit transpose of dy (no bigger than cols) plus a plain XNNPACK
  // matmul takes ~4 ms.
  const dyT = dy.reshape([rows, co]).transpose();
  return tf.matMul(dyT, cols).transpose().reshape([fh, fw, ci, co]);
}

/** dW for a depthwise conv: a depthwise conv of x (batch folded into channels) with dy as filter. */
function depthwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: Conv2DInfo): tf.Tensor {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outChannels,
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: fh,
    filterWidth: fw,
  } = info;
  const m = outChannels / c;
  const xt = x.transpose([1, 2, 0, 3]).reshape([1, h, w, n * c]) as tf.Tensor4D;
  const win = window(xt, info.padInfo.top, info.padInfo.left, (oh - 1) * sh + fh, (ow - 1) * sw + fw);
  const dyt = dy.transpose([1, 2, 0, 3]).reshape([oh, ow, n * c, m]) as tf.Tensor4D;
  const sums = tf.depthwiseConv2d(win.t, dyt, 1, explicit(win.pads), 'NHWC', [sh, sw]); // [1, fh, fw, n·c·m]
  return n === 1
    ? sums.reshape([fh, fw, c, m])
    : sums
        .reshape([fh, fw, n, c * m])
        .sum(2)
        .reshape([fh, fw, c, m]);
}

/**
 * The window of dy that an input gradient convolves with the flipped filter: dy zero-upsampled by
 * the stride, offset by fh−1−top / fw−1−left (the cpu backend's padding rule). Shared by the regular
 * and the depthwise input gradients.
 */
function flippedFilterWindow(dy: tf.Tensor4D, info: Conv2DInfo): { t: tf.Tensor4D; pads: [Pair, Pair] } {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    outChannels: co,
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    filterHeight: fh,
    filterWidth: fw,
  } = info;
  let up = dy;
  if (sh > 1 || sw > 1) {
    up = dy
      .reshape([n, oh, 1, ow, 1, co])
      .pad([
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ])
      .reshape([n, oh * sh, ow * sw, co]);
  }
  return window(up, fh - 1 - info.padInfo.top, fw - 1 - info.padInfo.left, h + fh - 1, w + fw - 1);
}

/** dx for a depthwise conv: dy, zero-upsampled by the stride, convolved with the flipped filter. */
function depthwiseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, info: Conv2DInfo): tf.Tensor {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outChannels, filterHeight: fh, filterWidth: fw } = info;
  const m = outChannels / c;
  const win = flippedFilterWindow(dy, info);
  const flipped = tf.reverse(filter, [0, 1]).reshape([fh, fw, outChannels, 1]) as tf.Tensor4D;
  const dx = tf.depthwiseConv2d(win.t, flipped, 1, explicit(win.pads)); // [n, h, w, c·m]
  return m === 1 ? dx : dx.reshape([n, h, w, c, m]).sum(4);
}

/**
 * dx for a regular conv, by stride phases:
 *   dx[n, r, c, ci] = Σ dy[n, i, j, co] · W[r + top − i·sh, c + left − j·sw, ci, co].
 * The rows r with (r + top) mod sh = p only meet the filter rows kh = p, p + sh, p + 2·sh, … so
 * every phase (p, p′) is a stride-1 convolution of dy (not upsampled) with that phase's taps,
 * flipped in space and with in/out channels swapped. All phases run as one XNNPACK convolution
 * whose output channels are (phase, ci): a phase with fewer taps than ⌈fh/sh⌉ gets zero taps
 * first. One rank-4 transpose then interleaves the phases into rows and columns. Stride 1 is the
 * single phase, the classic flipped-filter convolution. (tfjs-wasm transposes rank-5 and rank-6
 * tensors in a slow generic loop, so every transpose here is kept to rank 4.)
 * Convolving a zero-upsampled dy instead spends (sh·sw − 1)/(sh·sw) of its work on zeros: for the
 * CapsNet primary capsules' 9×9 stride-2 conv (64×20×20×32 → 128) ~820 ms against ~180–300 ms
 * here. That is still 3–5× its forward conv: with 6×6 outputs and 5×5 taps per phase, most taps
 * of the border outputs fall outside dy (2.6 G multiply-adds against the forward's 0.76 G); a
 * matmul plus col2im would do only the forward's work, but tfjs-wasm's PadV2 made the overlap-add
 * slower than the waste (measured). The stock wasm kernel is a direct loop (~490 ms against ~38 ms
 * for a 3×3 64 → 64 conv on 32×14×14).
 */
function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, info: Conv2DInfo): tf.Tensor {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  // The output covers the padded rows q·sh + p for q in [q0, q0 + rows): every row of dx, and a few more.
  const [q0h, q0w] = [Math.floor(top / sh), Math.floor(left / sw)];
  const [rows, cols] = [Math.ceil((top + h) / sh) - q0h, Math.ceil((left + w) / sw) - q0w];
  const [tapsH, tapsW] = [Math.ceil(fh / sh), Math.ceil(fw / sw)];
  // taps[t, t′, co, (p, p′, ci)] = W[p + sh·(tapsH − 1 − t), p′ + sw·(tapsW − 1 − t′), ci, co], zero beyond the filter.
  const phased = tf
    .pad(filter, [
      [0, tapsH * sh - fh],
      [0, tapsW * sw - fw],
      [0, 0],
      [0, 0],
    ])
    .reshape([tapsH, sh, tapsW, sw * ci * co]);
  const taps = tf
    .reverse(phased, [0, 2])
    .reshape([tapsH * sh * tapsW, sw, ci, co])
    .transpose([0, 3, 1, 2]) // [tapsH, sh, tapsW, co, sw, ci]
    .reshape([tapsH, sh, tapsW * co, sw * ci])
    .transpose([0, 2, 1, 3]) // [tapsH, tapsW, co, sh, sw, ci]
    .reshape([tapsH, tapsW, co, sh * sw * ci]) as tf.Tensor4D;
  // Output q needs dy rows q − tapsH + 1 … q (likewise columns).
  const win = window(dy, tapsH - 1 - q0h, tapsW - 1 - q0w, rows + tapsH - 1, cols + tapsW - 1);
  const byPhase = tf.conv2d(win.t, taps, 1, explicit(win.pads)); // [n, rows, cols, (p, p′, ci)]
  const full =
    sh * sw === 1
      ? byPhase
      : byPhase
          .reshape([n * rows, cols, sh, sw * ci])
          .transpose([0, 2, 1, 3])
          .reshape([n, rows * sh, cols * sw, ci]);
  const [r0, c0] = [top - q0h * sh, left - q0w * sw];
  return r0 === 0 && c0 === 0 && rows * sh === h && cols * sw === w ? full : tf.slice(full, [0, r0, c0, 0], [n, h, w, ci]);
}

const conv2DBackpropFilterKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as {
    strides: number | Pair;
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: RoundingMode;
    filterShape: [number, number, number, number];
  };
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'),
  );
  assertChannelsLast(Conv2DBackpropFilter, info);
  return compose(backend as RefCounted, [x, dy], ([xt, dyt]) => conv2dFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, info));
};

interface DepthwiseAttrs {
  strides: number | Pair;
  pad: Pad;
  dilations?: number | Pair;
  dimRoundingMode?: RoundingMode;
  dataFormat?: 'NHWC' | 'NCHW';
}

function depthwiseInfo(kernel: string, xShape: number[], filterShape: number[], a: DepthwiseAttrs): Conv2DInfo {
  assertNoDilation(kernel, a.dilations);
  if (a.dataFormat === 'NCHW') throw new Error(`${kernel} (wasm): only NHWC data is supported.`);
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  assertChannelsLast(kernel, info);
  return info;
}

const depthwiseBackpropFilterKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as DepthwiseAttrs & { filterShape: [number, number, number, number] };
  const info = depthwiseInfo(DepthwiseConv2dNativeBackpropFilter, x.shape, a.filterShape, a);
  const simd = simdKernelsOf(backend);
  if (simd && x.dtype === 'float32' && dy.dtype === 'float32' && info.outChannels === info.inChannels) {
    // One pass over x and dy in a SIMD loop (~2 ms for ConvMixer's 32×14×14×64, 5×5) instead of a
    // depthwise convolution with dy as a 14×14 filter, which XNNPACK runs in a slow generic path (~17 ms).
    const heap = backend as unknown as SimdHeapBackend;
    const out = heap.makeOutput(a.filterShape, 'float32');
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
    // Shares of the batch, each summing into its own [fh, fw, c] (the caller's into the output),
    // added up at the end.
    const shares = shareRanges(batchSize, simdParts(backend), 1, Math.ceil(SHARE_MIN_VALUES / Math.max(outHeight * outWidth * inChannels, 1)));
    const [px, pdy] = [heapOffset(heap, x.dataId), heapOffset(heap, dy.dataId)];
    runSummedShares(heap, simd, 'depthwiseFilterGrad', shares.length, [heapOffset(heap, out.dataId)], tf.util.sizeFromShape(a.filterShape), (i, [sum]) => {
      const [b0, n] = shares[i]!;
      return [
        px + 4 * b0 * inHeight * inWidth * inChannels,
        pdy + 4 * b0 * outHeight * outWidth * inChannels,
        sum!,
        n,
        inHeight,
        inWidth,
        inChannels,
        outHeight,
        outWidth,
        filterHeight,
        filterWidth,
        strideHeight,
        strideWidth,
        padInfo.top,
        padInfo.left,
      ];
    });
    return out;
  }
  return compose(backend as RefCounted, [x, dy], ([xt, dyt]) => depthwiseFilterGrad(xt as tf.Tensor4D, dyt as tf.Tensor4D, info));
};

const depthwiseBackpropInputKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseAttrs & { inputShape: [number, number, number, number] };
  const info = depthwiseInfo(DepthwiseConv2dNativeBackpropInput, a.inputShape, filter.shape, a);
  return compose(backend as RefCounted, [dy, filter], ([dyt, ft]) => depthwiseInputGrad(dyt as tf.Tensor4D, ft as tf.Tensor4D, info));
};

/** dx for a 1×1 stride-1 conv or a patch embedding (stride = kernel, no padding): dy · Wᵀ. */
function conv2dInputGradAsMatMul(dy: tf.Tensor4D, filter: tf.Tensor4D, info: Conv2DInfo): tf.Tensor {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const wT = filter.reshape([fh * fw * ci, co]).transpose(); // tiny; keeps the matmul on XNNPACK
  const cols = tf.matMul(dy.reshape([n * oh * ow, co]), wT); // [n·oh·ow, fh·fw·ci]
  if (fh === 1 && fw === 1) return cols.reshape([n, h, w, ci]);
  const dx = cols
    .reshape([n, oh, ow, fh, fw, ci])
    .transpose([0, 1, 3, 2, 4, 5])
    .reshape([n, oh * fh, ow * fw, ci]);
  // 'valid' patches may leave the last rows/columns out of every patch: their gradient is zero.
  return h === oh * fh && w === ow * fw
    ? dx
    : tf.pad(dx, [
        [0, 0],
        [0, h - oh * fh],
        [0, w - ow * fw],
        [0, 0],
      ]);
}

/**
 * UnsortedSegmentSum, which tfjs-wasm lacks and Gather's gradient calls (an Embedding layer's
 * gradient): out[s] = Σ data[i] over i with ids[i] = s, as one matrix product oneHot(ids)ᵀ · data.
 * Ids outside [0, numSegments) add nothing, as in TensorFlow.
 */
const unsortedSegmentSumKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  return compose(backend as unknown as RefCounted, [x, segmentIds], ([data, ids]) => {
    const n = ids!.size;
    const rows = tf.reshape(data!, [n, -1]);
    const oneHot = tf.oneHot(tf.cast(tf.reshape(ids!, [n]), 'int32'), numSegments).toFloat();
    const sums = tf.matMul(oneHot, tf.cast(rows, 'float32'), true, false);
    return tf.reshape(sums, [numSegments, ...data!.shape.slice(ids!.rank)]);
  });
};

const KERNELS: [string, KernelFunc][] = [
  ['UnsortedSegmentSum', unsortedSegmentSumKernel],
  [Conv2DBackpropFilter, conv2DBackpropFilterKernel],
  [DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilterKernel],
  [DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInputKernel],
];

/** A fast path returns null when its case does not apply, and the stock kernel runs instead. */
type FastPath = (args: Parameters<KernelFunc>[0]) => TensorInfo | null;

function share(backend: RefCounted, x: TensorInfo): TensorInfo | null {
  if (x.dtype === 'string' || x.dtype === 'complex64') return null;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

/**
 * The most channels one average pooling may take: tfjs-wasm's XNNPACK average pooling writes out of
 * bounds (heap corruption, "memory access out of bounds" at a later free) from 16,384 channels when
 * its window spans more than 9 rows (16,000 still checked fine), so wider rows are pooled as
 * several pixels of at most this many channels each.
 */
const MAX_POOL_CHANNELS = 8192;

/**
 * Sum/Mean over the leading axes of a float32 tensor (bias and BatchNorm gradients, BatchNorm
 * statistics, the capsule routing's sum over input capsules): the stock wasm kernels first transpose
 * the reduced axes innermost (~1 ms for 32×14×14×64; ~23 ms for 576×10,240), while XNNPACK average
 * pooling over a [1, P, W, C] view needs no copy (~0.2 ms; ~1.2 ms). Taken from 32,768 elements,
 * where pooling was measured to pay, and when the kept size splits into pixels of at most
 * MAX_POOL_CHANNELS channels (W·C with C a divisor of at least 256).
 */
function leadingReduction(mean: boolean): FastPath {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || x.shape.length < 2) return null;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (axes.length === 0 || axes.length >= x.shape.length || axes.some((a, i) => a !== i)) return null;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const kept = x.shape.slice(axes.length);
    const cols = tf.util.sizeFromShape(kept);
    if (rows < 2 || cols === 0 || rows * cols < 32768) return null;
    const channels = poolChannels(cols);
    if (channels === null) return null;
    const outShape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
    return compose(backend as RefCounted, [x], ([t]) => {
      const avg = tf.avgPool(t!.reshape([1, rows, cols / channels, channels]) as tf.Tensor4D, [rows, 1], 1, 'valid');
      return (mean ? avg : tf.mul(avg, rows)).reshape(outShape);
    });
  };
}

/** The channels per pooled pixel for `cols` kept values: cols itself, or its largest divisor ≤ MAX_POOL_CHANNELS (null below 256). */
function poolChannels(cols: number): number | null {
  if (cols <= MAX_POOL_CHANNELS) return cols;
  for (let c = MAX_POOL_CHANNELS; c >= 256; c--) if (cols % c === 0) return c;
  return null;
}

/** `t` with its last two axes swapped (a real copy, so that matMul needs no transpose flag). */
function swapLastAxes(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm.push(...perm.splice(-2).reverse());
  return tf.transpose(t, perm);
}

/**
 * A batched matmul with equal batch dims as one depthwise convolution, which XNNPACK runs as a
 * grouped GEMM (one group per batch entry), where the stock wasm kernel loops in scalar code.
 * With the batch B as channels, the query rows m as height and the shared axis k as width:
 *   x = a as [1, m, k, B],  filter = b as [1, k, B, n]  (kernel height 1, width k, multiplier n),
 *   out[0, i, 0, β·n + j] = Σₖ a[β, i, k] · b[β, k, j],
 * so `valid` padding gives [1, m, 1, B·n], i.e. the product laid out [m, B, n]. The transpose flags
 * fold into the transposes that build x and the filter, so they cost nothing extra.
 * Measured on attention shapes (B = batch·heads = 256, 50 tokens, key size 16), Node 20, one core:
 * ~7.6 ms against ~16 ms for the stock kernel; at 128×17×16×17 the two are even, hence the threshold.
 */
function batchedMatMulAsDepthwise(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  const rank = a.shape.length;
  const batchShape = a.shape.slice(0, -2);
  const batch = tf.util.sizeFromShape(batchShape);
  const [m, k] = transposeA ? [a.shape[rank - 1]!, a.shape[rank - 2]!] : [a.shape[rank - 2]!, a.shape[rank - 1]!];
  const n = transposeB ? b.shape[rank - 2]! : b.shape[rank - 1]!;
  const a3 = a.reshape([batch, a.shape[rank - 2]!, a.shape[rank - 1]!]);
  const b3 = b.reshape([batch, b.shape[rank - 2]!, b.shape[rank - 1]!]);
  const x = tf.transpose(a3, transposeA ? [2, 1, 0] : [1, 2, 0]).reshape([1, m, k, batch]) as tf.Tensor4D;
  const filter = tf.transpose(b3, transposeB ? [2, 0, 1] : [1, 0, 2]).reshape([1, k, batch, n]) as tf.Tensor4D;
  const product = tf.depthwiseConv2d(x, filter, 1, 'valid').reshape([m, batch, n]);
  return tf.transpose(product, [1, 0, 2]).reshape([...batchShape, m, n]);
}

/** Whether a BatchMatMul goes through `batchedMatMulAsDepthwise`: equal batch dims, and enough work. */
function suitsDepthwise(a: TensorInfo, b: TensorInfo, transposeA: boolean): boolean {
  const rank = a.shape.length;
  if (rank < 3 || b.shape.length !== rank) return false;
  if (a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) return false;
  const batch = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const rowsTimesShared = a.shape[rank - 1]! * a.shape[rank - 2]!;
  const n = tf.util.sizeFromShape(b.shape.slice(-2)) / (transposeA ? a.shape[rank - 2]! : a.shape[rank - 1]!);
  return batch >= 16 && batch * rowsTimesShared * n >= 1 << 20;
}

/**
 * A (batched) matrix product by the SIMD GEMM on the backend's heap, when the backend runs on one
 * thread: out[β] = op(a[β])·op(b[β]) (+ bias), op a transpose where asked, which the GEMM reads by
 * strides (no Transpose copy). Batch dims must be equal, or one side's all 1 (broadcast); a bias must
 * be one row of N. Null (another route runs) otherwise. `outShape`: the output's shape where it is
 * not [...batch, M, N] (a 1×1 convolution's NHWC output, the same values in the same order).
 */
function simdMatMul(
  backend: unknown,
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | null,
  transposeA: boolean,
  transposeB: boolean,
  outShape?: number[],
): TensorInfo | null {
  const simd = simdGemmOf(backend);
  if (!simd || a.shape.length < 2 || b.shape.length < 2) return null;
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [aRows, aCols] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [bRows, bCols] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
  const [M, K] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const [K2, N] = transposeB ? [bCols, bRows] : [bRows, bCols];
  if (K !== K2) return null;
  const [batchA, batchB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  const [sizeA, sizeB] = [tf.util.sizeFromShape(batchA), tf.util.sizeFromShape(batchB)];
  const sameBatch = batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
  if (!sameBatch && sizeA !== 1 && sizeB !== 1) return null;
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== N || bias.shape.some((d, i) => d !== 1 && i !== bias.shape.length - 1)))
    return null;
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  // The broadcast shape's size, not max(sizeA, sizeB): an empty batch against one matrix is 0 products
  // (max gave 1, and M·N floats were written into an empty output's allocation).
  const batch = tf.util.sizeFromShape(batchShape);
  const heap = backend as SimdHeapBackend;
  const out = heap.makeOutput(outShape ?? [...batchShape, M, N], 'float32');
  if (batch * M * N === 0) return out;
  const F = 4; // bytes per float32
  const [aRowStride, aKStride, aBatchStride] = [(transposeA ? 1 : aCols) * F, (transposeA ? aCols : 1) * F, sizeA === 1 ? 0 : aRows * aCols * F];
  const [bKStride, bColStride, bBatchStride] = [(transposeB ? 1 : bCols) * F, (transposeB ? bCols : 1) * F, sizeB === 1 ? 0 : bRows * bCols * F];
  // Shares for the threads: whole products of the batch, or, for one product, blocks of 4 rows (the
  // GEMM's tile height); each packs its own panels into its own scratch.
  const parts = simdParts(backend);
  const shares: { batch0: number; batch: number; row0: number; rows: number }[] =
    parts > 1 && batch >= parts
      ? shareRanges(batch, parts, 1, Math.ceil(SHARE_MIN_MACS / (M * K * N))).map(([batch0, n]) => ({ batch0, batch: n, row0: 0, rows: M }))
      : parts > 1 && batch === 1
        ? shareRanges(M, parts, 4, Math.ceil(SHARE_MIN_MACS / Math.max(K * N, 1))).map(([row0, rows]) => ({ batch0: 0, batch: 1, row0, rows }))
        : [{ batch0: 0, batch, row0: 0, rows: M }];
  const scratchBytes = shares.map((share) => simd.matmulScratchBytes(share.rows, K, N));
  const scratch = heap.wasm._malloc(scratchBytes.reduce((a, b) => a + b, 0));
  try {
    const [pa, pb, pout, pbias] = [
      heapOffset(heap, a.dataId),
      heapOffset(heap, b.dataId),
      heapOffset(heap, out.dataId),
      bias ? heapOffset(heap, bias.dataId) : 0,
    ];
    let nextScratch = scratch;
    const args = shares.map((share, i) => {
      const own = nextScratch;
      nextScratch += scratchBytes[i]!;
      return [
        pa + share.batch0 * aBatchStride + share.row0 * aRowStride,
        aRowStride,
        aKStride,
        aBatchStride,
        pb + share.batch0 * bBatchStride,
        bKStride,
        bColStride,
        bBatchStride,
        pout + (share.batch0 * M + share.row0) * N * F,
        pbias,
        share.rows,
        K,
        N,
        share.batch,
        own,
      ];
    });
    runShares(backend, simd, 'matmul', args);
  } finally {
    heap.wasm._free(scratch);
  }
  return out;
}

/** A depthwise conv with channel multiplier 1, no dilation, NHWC, float32, by the SIMD kernel; else null. */
const simdDepthwiseConv: FastPath = ({ inputs, backend, attrs }) => {
  const simd = simdKernelsOf(backend);
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseAttrs;
  if (!simd || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape[3] !== 1) return null;
  const [dh, dw] = asPair(a.dilations);
  if (dh !== 1 || dw !== 1 || a.dataFormat === 'NCHW') return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  const heap = backend as unknown as SimdHeapBackend;
  const out = heap.makeOutput(info.outShape.slice(), 'float32');
  if (tf.util.sizeFromShape(info.outShape) === 0) return out;
  // Shares of the batch: each image's output depends on that image alone.
  const [px, pf, pout] = [heapOffset(heap, x.dataId), heapOffset(heap, filter.dataId), heapOffset(heap, out.dataId)];
  const perImage = info.outHeight * info.outWidth * info.inChannels;
  const shares = shareRanges(info.batchSize, simdParts(backend), 1, Math.ceil(SHARE_MIN_VALUES / Math.max(perImage, 1))).map(([b0, n]) => [
    px + 4 * b0 * info.inHeight * info.inWidth * info.inChannels,
    pf,
    pout + 4 * b0 * perImage,
    n,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
  runShares(backend, simd, 'depthwiseConv', shares);
  return out;
};

/** FusedBatchNorm whose mean, variance, scale and offset each hold one value per channel (the last axis); else null. */
const simdBatchNorm: FastPath = ({ inputs, backend, attrs }) => {
  const simd = simdKernelsOf(backend);
  const { x, mean, variance, scale, offset } = inputs as { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; scale?: TensorInfo; offset?: TensorInfo };
  if (!simd || x.shape.length < 1) return null;
  const c = x.shape[x.shape.length - 1]!;
  const perChannel = (t: TensorInfo | undefined) => !t || (t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === c);
  if (x.dtype !== 'float32' || c === 0 || ![mean, variance, scale, offset].every(perChannel)) return null;
  const heap = backend as unknown as SimdHeapBackend;
  const out = heap.makeOutput(x.shape.slice(), 'float32');
  const rows = tf.util.sizeFromShape(x.shape) / c;
  if (rows === 0) return out;
  const epsilon = (attrs as unknown as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
  const at = (t: TensorInfo | undefined) => (t ? heapOffset(heap, t.dataId) : 0);
  // Shares of the channels (the kernel runs down each channel's column).
  const shares = shareRanges(c, simdParts(backend), 4, Math.ceil(SHARE_MIN_VALUES / rows)).map(([k, count]) => [
    at(x) + 4 * k,
    at(mean) + 4 * k,
    at(variance) + 4 * k,
    scale ? at(scale) + 4 * k : 0,
    offset ? at(offset) + 4 * k : 0,
    at(out) + 4 * k,
    rows,
    count,
    c,
    epsilon,
  ]);
  runShares(backend, simd, 'batchNorm', shares);
  return out;
};

/** A float32 unary kernel run by the SIMD module on the backend's heap; null where the module is missing. */
function simdUnary(kernel: 'erf' | 'exp'): FastPath {
  return ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    const simd = simdKernelsOf(backend);
    if (!simd || x.dtype !== 'float32') return null;
    const heap = backend as unknown as SimdHeapBackend;
    const out = heap.makeOutput(x.shape.slice(), 'float32');
    const size = tf.util.sizeFromShape(x.shape);
    if (size > 0) runElementwise(backend, simd, kernel, [heapOffset(heap, x.dataId), heapOffset(heap, out.dataId)], size);
    return out;
  };
}

/** Measured on ConvMixer-64/4 at batch 32 (activations 32×14×14×64), Node 20, one core. */
const FAST_PATHS: [string, FastPath][] = [
  // The stock kernel is a direct loop (~23 ms for a 1×1 conv, ~490 ms for a 3×3 64→64 on 32×14×14):
  // for 1×1 stride-1 convs and patch embeddings (stride = kernel, no padding) dx is one XNNPACK
  // matmul (~3 ms); any other conv is an XNNPACK convolution of dy with the flipped filter (~38 ms).
  [
    Conv2DBackpropInput,
    ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as unknown as {
        strides: number | Pair;
        pad: Pad;
        dataFormat?: 'NHWC' | 'NCHW';
        dimRoundingMode?: RoundingMode;
        inputShape: [number, number, number, number];
      };
      if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || (a.dataFormat ?? 'NHWC') !== 'NHWC') return null;
      const info = backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode);
      const { top, bottom, left, right } = info.padInfo;
      const asMatMul = !top && !bottom && !left && !right && info.filterHeight === info.strideHeight && info.filterWidth === info.strideWidth;
      return compose(backend as RefCounted, [dy, filter], ([d, f]) =>
        asMatMul ? conv2dInputGradAsMatMul(d as tf.Tensor4D, f as tf.Tensor4D, info) : conv2dInputGrad(d as tf.Tensor4D, f as tf.Tensor4D, info),
      );
    },
  ],
  // tfjs-core's BatchNorm gradient tiles [1,1,1,C] by [N,H,W,1]; the stock kernel walks the output
  // index by index (~27 ms), while x + zeros broadcast both ways runs in XNNPACK (~0.2 ms). The zeros
  // only span the repeated axes ([N,H,W,1]).
  [
    Tile,
    ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: TensorInfo };
      const reps = (attrs as unknown as { reps: number[] }).reps;
      if (x.dtype !== 'float32' || x.shape.length > 4 || reps.length !== x.shape.length) return null;
      if (!x.shape.every((d, i) => d === 1 || reps[i] === 1)) return null;
      const zerosShape = x.shape.map((d, i) => (d === 1 ? reps[i]! : 1));
      return compose(backend as RefCounted, [x], ([t]) => tf.add(t!, tf.fill(zerosShape, 0)));
    },
  ],
  // tfjs-wasm's average pooling corrupts the heap from 16,384 channels (see MAX_POOL_CHANNELS): wider
  // inputs are pooled in slices of channels and concatenated.
  [
    AvgPool,
    ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: TensorInfo };
      const channels = x.shape[3] ?? 0;
      if (x.dtype !== 'float32' || x.shape.length !== 4 || channels <= MAX_POOL_CHANNELS) return null;
      const a = attrs as unknown as { filterSize: number | Pair; strides: number | Pair; pad: 'valid' | 'same' | number; dimRoundingMode?: RoundingMode };
      return compose(backend as RefCounted, [x], ([t]) => {
        const parts: tf.Tensor4D[] = [];
        for (let c0 = 0; c0 < channels; c0 += MAX_POOL_CHANNELS) {
          const slice = tf.slice(t!, [0, 0, 0, c0], [-1, -1, -1, Math.min(MAX_POOL_CHANNELS, channels - c0)]) as tf.Tensor4D;
          parts.push(tf.avgPool(slice, a.filterSize, a.strides, a.pad, a.dimRoundingMode));
        }
        return tf.concat(parts, 3);
      });
    },
  ],
  [Sum, leadingReduction(false)],
  [Mean, leadingReduction(true)],
  // A batched matmul (attention, capsule routing) as a grouped GEMM: see batchedMatMulAsDepthwise.
  // Otherwise, matMul with transposeA or transposeB (every Dense gradient: dW = xᵀ·dy, dx = dy·Wᵀ) runs in a
  // scalar loop in the stock kernel (~35 ms for [1568,64]ᵀ·[1568,256]); an explicit transpose plus a
  // plain XNNPACK matmul takes ~3.5 ms. The transposed copy is no bigger than the operand.
  [
    BatchMatMul,
    ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
      // The SIMD GEMM where it runs, batched or not: it reads transposed operands by their strides.
      // (A batch of attention products through the grouped-convolution route below took GLOM's step
      // ~50 ms of depthwise convolution and ~18 ms of transposes, against ~10 ms here.)
      const simd = simdMatMul(backend, a, b, null, transposeA, transposeB);
      if (simd) return simd;
      if (suitsDepthwise(a, b, transposeA)) {
        return compose(backend as RefCounted, [a, b], ([at, bt]) => batchedMatMulAsDepthwise(at!, bt!, transposeA, transposeB));
      }
      if (!transposeA && !transposeB) return null;
      return compose(backend as RefCounted, [a, b], ([at, bt]) => tf.matMul(transposeA ? swapLastAxes(at!) : at!, transposeB ? swapLastAxes(bt!) : bt!));
    },
  ],
  // A Dense layer's forward product (with its bias, no fused activation) by the SIMD GEMM, on one thread.
  [
    _FusedMatMul,
    ({ inputs, backend, attrs }) => {
      const { a, b, bias, preluActivationWeights } = inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
      const { transposeA, transposeB, activation } = attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
      if ((activation ?? 'linear') !== 'linear' || preluActivationWeights || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
      return simdMatMul(backend, a, b, bias ?? null, transposeA, transposeB);
    },
  ],
  // A 1×1 convolution with stride 1 (ConvMixer's pointwise mixing), its bias and no fused
  // activation: a product of the NHWC input as [N·H·W, Cin] with the filter as [Cin, Cout], by the
  // SIMD GEMM (split over the helper threads; XNNPACK keeps one thread where they run).
  [
    FusedConv2D,
    ({ inputs, backend, attrs }) => {
      const { x, filter, bias, preluActivationWeights } = inputs as {
        x: TensorInfo;
        filter: TensorInfo;
        bias?: TensorInfo;
        preluActivationWeights?: TensorInfo;
      };
      const a = attrs as unknown as { strides: number | Pair; pad: unknown; dilations?: number | Pair; dataFormat?: string; activation?: string };
      // 'same' and 'valid' agree for a 1×1 stride-1 filter; explicit padding would grow the output.
      const padded = typeof a.pad === 'number' ? a.pad !== 0 : Array.isArray(a.pad) && (a.pad as number[][]).flat().some((p) => p !== 0);
      if (padded) return null;
      const [sh, sw] = asPair(a.strides);
      const [dh, dw] = asPair(a.dilations ?? 1);
      if (x.dtype !== 'float32' || filter.dtype !== 'float32' || preluActivationWeights || (a.activation ?? 'linear') !== 'linear') return null;
      if (x.shape.length !== 4 || filter.shape[0] !== 1 || filter.shape[1] !== 1 || sh !== 1 || sw !== 1 || dh !== 1 || dw !== 1) return null;
      if ((a.dataFormat ?? 'NHWC') !== 'NHWC') return null;
      const [n, h, w, cin] = x.shape as [number, number, number, number];
      const cout = filter.shape[3]!;
      return simdMatMul(backend, { ...x, shape: [n * h * w, cin] }, { ...filter, shape: [cin, cout] }, bias ?? null, false, false, [n, h, w, cout]);
    },
  ],
  // The stock Identity, and Cast to the same dtype, copy their input; tfjs-core's gradient
  // bookkeeping and tfjs-layers clone or cast activation-sized tensors ~190 times a step. Share the
  // data instead, as the cpu backend does (wasm kernels never write into their inputs).
  [Identity, ({ inputs, backend }) => share(backend as RefCounted, (inputs as { x: TensorInfo }).x)],
  // tfjs-layers' Dense on a rank-3 input (the Mixer's token and channel MLPs) transposes its 2-D
  // kernel by the identity permutation [0, 1] on every call: a copy, 0.1–0.5 ms each here. Share it.
  [
    Transpose,
    ({ inputs, backend, attrs }) => {
      const perm = (attrs as unknown as { perm: number[] }).perm;
      return perm.every((p, i) => p === i) ? share(backend as RefCounted, (inputs as { x: TensorInfo }).x) : null;
    },
  ],
  [
    Cast,
    ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: TensorInfo };
      return (attrs as unknown as { dtype: string }).dtype === x.dtype ? share(backend as RefCounted, x) : null;
    },
  ],
  // exp(x) of float32 tensors by the SIMD kernel where it runs (Cephes' expf, within 2 float32 ulps).
  // Without it: exp(x) of an all-non-positive float32 tensor (the GELU gradient's exp(−x²/2); softmax after its
  // max-subtraction) as s / (1 − s) with s = sigmoid(x), which XNNPACK vectorizes: ~1.2 ms instead of
  // ~3.8 ms. For x ≤ 0, s ≤ ½, so s and 1 − s keep full relative precision (max relative error
  // 3.3e-7 over [−87, 0], against 6e-8 for the stock kernel). Small tensors, and any positive or NaN
  // element, go to the stock kernel.
  // ConvMixer's 5×5 depthwise conv (and, through it, its input gradient): ~3 GMAC/s in the stock kernel.
  [DepthwiseConv2dNative, simdDepthwiseConv],
  // Batch normalisation with per-channel statistics (channels last): the stock kernel took ~1.7 ms on 32×14×14×64.
  [FusedBatchNorm, simdBatchNorm],
  // GELU's erf: the stock kernel is scalar (~3.7 ms for 32×14×14×64 values); the SIMD kernel computes
  // the cpu backend's formula four values at a time (~0.3 ms).
  [Erf, simdUnary('erf')],
  [
    Exp,
    (args) => {
      const simd = simdUnary('exp')(args);
      if (simd) return simd;
      const { inputs, backend } = args;
      const { x } = inputs as { x: TensorInfo };
      if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) < 16384) return null;
      const b = backend as RefCounted;
      if (!tf.tidy(() => tf.max(wrap(b, x)).dataSync()[0]! <= 0)) return null;
      return compose(b, [x], ([t]) => {
        const s = tf.sigmoid(t!);
        return tf.div(s, tf.sub(1, s));
      });
    },
  ],
];

/**
 * tfjs-core's Sum and Mean gradients broadcast dy by multiplying it with `ones(x.shape)`, a tensor
 * built element by element in JavaScript and copied into the wasm heap (for BatchNorm statistics,
 * 18 times a ConvMixer step at 32×14×14×64: ~40 ms in all). While 'wasm' is the active backend the
 * same values come from `broadcastTo` (a Tile, see above); other backends keep the stock gradient.
 */
function broadcastingGradient(kernelName: string, mean: boolean): tf.GradConfig {
  const stock = tf.getGradient(kernelName);
  return {
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== 'wasm' || Array.isArray(dy)) return stock.gradFunc(dy, saved, attrs);
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const size = tf.util.sizeFromShape(axes.map((a) => x.shape[a]!));
      return { x: () => tf.broadcastTo(mean ? tf.div(tf.reshape(dy, expanded), size) : tf.reshape(dy, expanded), x.shape) };
    },
  };
}

/**
 * dx of tile(x, reps): the sum of dy over the repetitions. tfjs-core adds one slice of dy per
 * repetition, one Slice and one Add kernel each; tfjs-layers' LayerNormalization tiles its [1,1,C]
 * gamma and beta over [N,T,1] and its [N,T,1] statistics over [1,1,C], so one MLP-Mixer step at
 * batch 32 ran ~29,000 of them (over 2 s on wasm). Here dy is reshaped so that each tiled axis splits
 * into (repetition, original size), and one Sum over the repetition axes gives the same result.
 * Plain tfjs ops, exact on every backend, so it is not limited to 'wasm'; any rank works.
 */
export function sumOverTiles(dy: tf.Tensor, shape: readonly number[], reps: readonly number[]): tf.Tensor {
  const split: number[] = [];
  const repetitionAxes: number[] = [];
  let lastKept = false; // consecutive untiled axes merge into one, keeping the rank low
  shape.forEach((size, i) => {
    const r = reps[i] ?? 1;
    if (r > 1) {
      repetitionAxes.push(split.length);
      split.push(r);
      lastKept = false;
    }
    if (size === 1) return;
    if (lastKept && r === 1) split[split.length - 1]! *= size;
    else split.push(size);
    lastKept = true;
  });
  if (repetitionAxes.length === 0) return tf.reshape(dy, [...shape]);
  return tf.reshape(tf.sum(tf.reshape(dy, split), repetitionAxes), [...shape]);
}

function tileGradient(): tf.GradConfig {
  const stock = tf.getGradient(Tile);
  return {
    ...stock,
    gradFunc: (dy, saved, attrs) => {
      if (Array.isArray(dy)) return stock.gradFunc(dy, saved, attrs);
      const [x] = saved as [tf.Tensor];
      const { reps } = attrs as unknown as { reps: number[] };
      return { x: () => sumOverTiles(dy, x.shape, reps) };
    },
  };
}

const GRADIENTS: [string, () => tf.GradConfig][] = [
  [Sum, () => broadcastingGradient(Sum, false)],
  [Mean, () => broadcastingGradient(Mean, true)],
  [Tile, tileGradient],
];

/** Gradient functions this module installed. */
const INSTALLED_GRADIENTS = new WeakSet<tf.GradConfig['gradFunc']>();

/** Kernel functions this module installed, so that repeated registration does not wrap twice. */
const INSTALLED = new WeakSet<KernelFunc>();

/**
 * Registers the conv gradient kernels for the 'wasm' backend, installs the fast paths in front of
 * the stock wasm kernels, and the wasm-only Sum/Mean gradients. Idempotent: a gradient kernel already registered for 'wasm' (by an earlier
 * call, or by a future tfjs that ships its own) is left alone, and a fast path is never stacked on
 * itself. Safe to call before or after the wasm backend is initialised (stock setup functions are
 * kept).
 */
export function registerWasmTrainingKernels(): void {
  for (const [kernelName, kernelFunc] of KERNELS) {
    if (tf.getKernel(kernelName, 'wasm') === undefined) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  for (const [kernelName, fast] of FAST_PATHS) {
    const stock = tf.getKernel(kernelName, 'wasm');
    if (stock === undefined || INSTALLED.has(stock.kernelFunc)) continue;
    const kernelFunc: KernelFunc = (args) => fast(args) ?? stock.kernelFunc(args);
    INSTALLED.add(kernelFunc);
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc }); // keeps the stock setupFunc / disposeFunc
  }
  registerTrainingGradients();
}

/**
 * Installs this module's gradients (tile's as one reshape and Sum; Sum/Mean, which take their fast
 * path only on wasm). tfjs registers gradients for every backend at once and these are plain tfjs
 * ops, so WebGPU and WebGL sessions get them too: the backends module calls this whatever backend
 * it starts. Idempotent.
 */
export function registerTrainingGradients(): void {
  for (const [kernelName, make] of GRADIENTS) {
    const stock = tf.getGradient(kernelName);
    if (stock === undefined || INSTALLED_GRADIENTS.has(stock.gradFunc)) continue;
    const config = make();
    INSTALLED_GRADIENTS.add(config.gradFunc);
    tf.registerGradient(config);
  }
}
