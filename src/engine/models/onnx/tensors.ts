// ONNX TensorProto -> tfjs tensor (logical layout, as stored). Weights usually come as raw
// little-endian bytes; int64 (shapes, axes) becomes int32, the only integer dtype tfjs computes
// with, clamped so INT64_MAX ("to the end" in Slice) stays the largest int32.
import { LensError } from '../../../shared/errors';
import { checkFinite } from '../finiteWeights';
import { checkTensorSize } from '../../limits';
import * as tf from '../../tf';
import { ONNX_DTYPE, type TensorProto } from './onnxProto';

/** Bytes per value in raw_data, by data type. */
const RAW_BYTES: Record<number, number> = {
  [ONNX_DTYPE.FLOAT]: 4,
  [ONNX_DTYPE.DOUBLE]: 8,
  [ONNX_DTYPE.FLOAT16]: 2,
  [ONNX_DTYPE.INT64]: 8,
  [ONNX_DTYPE.INT32]: 4,
  [ONNX_DTYPE.UINT8]: 1,
  [ONNX_DTYPE.INT8]: 1,
  [ONNX_DTYPE.BOOL]: 1,
};

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

function clampInt32(value: number | bigint): number {
  const n = Number(value);
  return n > INT32_MAX ? INT32_MAX : n < INT32_MIN ? INT32_MIN : n;
}

/** A copy of the bytes at an aligned offset, viewed as T (raw_data inside the file is unaligned). */
function aligned(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Values of a TensorProto with its dims; `owner` names the initializer or node in messages. The
 * dims are checked against MAX_TENSOR_ELEMENTS and the data the file holds before anything is
 * allocated. Float values must be finite, except a one-value tensor holding ±Infinity: exporters
 * write clip bounds and padding values that way.
 */
export function tensorFromProto(proto: TensorProto, owner: string): tf.Tensor {
  const dims = proto.dims.map(Number);
  const name = `ONNX tensor "${proto.name ?? owner}"`;
  checkTensorSize(dims, name);
  const size = dims.reduce((a, b) => a * b, 1);
  if (proto.dataLocation === 1 || proto.externalData.length > 0) {
    throw new LensError(
      `ONNX tensor "${proto.name ?? owner}" keeps its data in an external file, which CNN Lens does not read; ` +
        'export with the weights inside the .onnx file (models under 2 GB: torch.onnx.export does this by default).',
      'unsupported',
    );
  }
  const raw = proto.rawData && proto.rawData.length > 0 ? proto.rawData : undefined;
  const type = proto.dataType ?? ONNX_DTYPE.FLOAT;
  const bytesPerValue = RAW_BYTES[type];
  if (bytesPerValue !== undefined && raw && raw.length !== size * bytesPerValue) {
    throw new LensError(
      `${name} holds ${raw.length} bytes of data for shape [${dims.join(', ')}] (${size * bytesPerValue} expected): the file is damaged or truncated.`,
      'bad-input',
    );
  }
  if (bytesPerValue !== undefined && !raw && heldValues(proto, type) !== size) {
    throw new LensError(`${name} holds ${heldValues(proto, type)} values for shape [${dims.join(', ')}] (${size} expected): the file is damaged or truncated.`, 'bad-input');
  }
  let values: Float32Array | Int32Array | Uint8Array;
  let dtype: tf.DataType;
  switch (type) {
    case ONNX_DTYPE.FLOAT:
      values = raw ? new Float32Array(aligned(raw)) : Float32Array.from(proto.floatData);
      dtype = 'float32';
      break;
    case ONNX_DTYPE.DOUBLE:
      values = Float32Array.from(raw ? new Float64Array(aligned(raw)) : proto.doubleData);
      dtype = 'float32';
      break;
    case ONNX_DTYPE.FLOAT16: {
      const bits = raw ? new Uint16Array(aligned(raw)) : Uint16Array.from(proto.int32Data);
      values = Float32Array.from(bits, float16ToFloat32);
      dtype = 'float32';
      break;
    }
    case ONNX_DTYPE.INT64:
      values = raw ? Int32Array.from(new BigInt64Array(aligned(raw)), clampInt32) : Int32Array.from(proto.int64Data, clampInt32);
      dtype = 'int32';
      break;
    case ONNX_DTYPE.INT32:
      values = raw ? new Int32Array(aligned(raw)) : Int32Array.from(proto.int32Data);
      dtype = 'int32';
      break;
    case ONNX_DTYPE.UINT8:
    case ONNX_DTYPE.INT8:
    case ONNX_DTYPE.BOOL:
      values = raw
        ? Int32Array.from(type === ONNX_DTYPE.INT8 ? new Int8Array(aligned(raw)) : raw)
        : Int32Array.from(proto.int32Data);
      dtype = type === ONNX_DTYPE.BOOL ? 'bool' : 'int32';
      break;
    default:
      throw new LensError(`ONNX tensor "${proto.name ?? owner}" has data type ${type}, which CNN Lens does not read (float, double, float16 and integers only).`, 'unsupported');
  }
  if (values.length !== size) {
    throw new LensError(`${name} holds ${values.length} values for shape [${dims.join(', ')}] (${size} expected): the file is damaged or truncated.`, 'bad-input');
  }
  if (dtype === 'float32' && !(size === 1 && Math.abs(values[0]) === Infinity)) {
    checkFinite(values, name);
  }
  return tf.tensor(values, dims, dtype);
}

/** Values a TensorProto holds outside raw_data, in the field its data type uses. */
function heldValues(proto: TensorProto, type: number): number {
  switch (type) {
    case ONNX_DTYPE.FLOAT:
      return proto.floatData.length;
    case ONNX_DTYPE.DOUBLE:
      return proto.doubleData.length;
    case ONNX_DTYPE.INT64:
      return proto.int64Data.length;
    default:
      return proto.int32Data.length; // int32, float16 bits, uint8, int8, bool
  }
}

/** A small initializer's values as floats, or undefined when it cannot be read (the native engine's probe and rewrites). */
export function initializerValues(init: TensorProto): Float32Array | undefined {
  try {
    const tensor = tensorFromProto(init, init.name ?? '');
    const values = tensor.dataSync();
    tensor.dispose();
    return Float32Array.from(values);
  } catch {
    return undefined;
  }
}
