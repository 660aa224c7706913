/**
 * Weight conversion for the precision options. Linear weights arrive as float32 [out, in] (PyTorch layout) and
 * leave in the layout the graph op expects.
 *
 * int8 / int4 use com.microsoft MatMulNBits' block layout: for each output row n and each block of `blockSize`
 * input features, one float scale and `blockSize·bits/8` bytes; no zero-point tensor, so onnxruntime uses the
 * implicit zero point 2^(bits−1) and a weight is dequantized exactly as (q − 2^(bits−1))·scale. Quantization is
 * symmetric: scale = max|w|/(2^(bits−1)−1), q = round(w/scale) + 2^(bits−1).
 */
import { float32ToFloat16Bits } from './float16.ts';

/** [out, in] → [in, out] (MatMul's B layout). */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

export function toFloat16Bytes(w: Float32Array): Uint8Array {
  const out = new Uint16Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = float32ToFloat16Bits(w[i]);
  return new Uint8Array(out.buffer);
}

export function float32Bytes(w: Float32Array): Uint8Array {
  return new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
}

export interface BlockQuantized {
  /** [N, nBlocks, blockSize·bits/8] uint8 */
  packed: Uint8Array;
  /** [N · nBlocks] float32 */
  scales: Float32Array;
  nBlocks: number;
}

/** Quantizes a PyTorch Linear weight w [N=out, K=in] for MatMulNBits. */
export function quantizeBlockwise(w: Float32Array, n: number, k: number, bits: 4 | 8, blockSize: number): BlockQuantized {
  const nBlocks = Math.ceil(k / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const packed = new Uint8Array(n * nBlocks * blobBytes);
  const scales = new Float32Array(n * nBlocks);
  const zero = 1 << (bits - 1);
  const qmax = zero - 1;
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, k);
      let amax = 0;
      for (let i = start; i < end; i++) amax = Math.max(amax, Math.abs(w[row * k + i]));
      const scale = amax / qmax;
      scales[row * nBlocks + b] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      const blob = (row * nBlocks + b) * blobBytes;
      for (let i = 0; i < blockSize; i++) {
        const v = start + i < end ? w[row * k + start + i] : 0;
        const q = Math.max(-qmax, Math.min(qmax, Math.round(v * inv))) + zero;
        if (bits === 8) packed[blob + i] = q;
        else packed[blob + (i >> 1)] |= i & 1 ? q << 4 : q;
      }
    }
  }
  return { packed, scales, nBlocks };
}

/** The weights MatMulNBits computes with: (q − 2^(bits−1))·scale, [N, K] float32 (tests and error reports). */
export function dequantizeBlockwise(q: BlockQuantized, n: number, k: number, bits: 4 | 8, blockSize: number): Float32Array {
  const out = new Float32Array(n * k);
  const zero = 1 << (bits - 1);
  const blobBytes = (blockSize * bits) / 8;
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < q.nBlocks; b++) {
      const scale = q.scales[row * q.nBlocks + b];
      const blob = (row * q.nBlocks + b) * blobBytes;
      for (let i = 0; i < blockSize && b * blockSize + i < k; i++) {
        const v = bits === 8 ? q.packed[blob + i] : (q.packed[blob + (i >> 1)] >> ((i & 1) * 4)) & 15;
        out[row * k + b * blockSize + i] = (v - zero) * scale;
      }
    }
  }
  return out;
}
