// Keras weights in HDF5 (a .h5 file, a .keras archive's model.weights.h5), read with jsfive only
// after what each dataset declares has been checked. jsfive's `value` allocates a JavaScript array
// of the declared size before it reads a byte (a 15000×15000 dataset is 225 million numbers on the
// heap), so before it: the dtype, the shape (within MAX_TENSOR_ELEMENTS and equal to the layer's
// weight), and the bytes: data stored plainly must lie inside the file; compressed (chunked) data
// counts against MAX_WEIGHT_BYTES with everything else, and each compressed chunk may inflate to
// no more than its chunk shape holds. Keras itself writes contiguous datasets.
import * as path from 'path';
import { Unzlib } from 'fflate';
import * as hdf5 from 'jsfive';
import { LensError } from '../../../shared/errors';
import { checkFinite } from '../finiteWeights';
import { checkTensorSize, describeBytes, elementCount, MAX_WEIGHT_BYTES } from '../../limits';
import * as tf from '../../tf';

/** jsfive's internals read here (jsfive 0.4.2): the dataset's storage message. */
interface DataObjectsInternals {
  find_msg_type(type: number): Map<string, number>[];
  _get_data_message_properties(offset: number): [number, number, number, number];
  readonly chunks: number[] | null;
  readonly filter_pipeline: unknown[] | null;
}
const DATA_STORAGE_MESSAGE = 0x0008;
const LAYOUT = { compact: 0, contiguous: 1, chunked: 2 } as const;

/**
 * HDF5's deflate filter, bounded. jsfive inflates each compressed chunk whole (pako), so one chunk
 * whose stream lies about its size (deflate reaches ~1000:1) could take gigabytes from a few MB of
 * file. This replacement feeds the stream in small pieces and stops as soon as the output passes
 * what the chunk can hold: its chunk shape times the item size, set by the reader around each
 * dataset it reads (CHUNK_BYTES_UNSET elsewhere, which no Keras weight chunk comes near).
 */
const DEFLATE_FILTER = 1;
const CHUNK_BYTES_UNSET = 64 * 1024 * 1024;
/** Compressed bytes per push: at most ~1000 times that is produced before the bound is checked again. */
const INFLATE_STEP = 4096;
let chunkByteLimit = CHUNK_BYTES_UNSET;

hdf5.Filters.set(DEFLATE_FILTER, (chunk: ArrayBuffer): ArrayBuffer => {
  const limit = chunkByteLimit;
  const parts: Uint8Array[] = [];
  let total = 0;
  const inflater = new Unzlib((data) => {
    total += data.length;
    if (total > limit) {
      throw new Error(`a compressed chunk inflates to more than the ${describeBytes(limit)} its chunk shape holds`);
    }
    parts.push(data);
  });
  const input = new Uint8Array(chunk);
  for (let start = 0; start < input.length || start === 0; start += INFLATE_STEP) {
    inflater.push(input.subarray(start, start + INFLATE_STEP), start + INFLATE_STEP >= input.length);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out.buffer;
});

export function openHdf5(bytes: Uint8Array, file: string, what: string): hdf5.File {
  try {
    const copy = bytes.slice().buffer;
    const h5 = new hdf5.File(copy, path.basename(file));
    void h5.keys; // reading the root group's links fails early on a truncated file
    return h5;
  } catch (error) {
    throw new LensError(
      `${file}: ${what} is not a readable HDF5 file (${error instanceof Error ? error.message : String(error)}); the file is truncated or not a Keras model.`,
      'bad-input',
    );
  }
}

/** A weight dataset's shape, without reading its values; undefined when there is no such dataset. */
export function datasetShape(h5: hdf5.File, datasetPath: string): number[] | undefined {
  try {
    const dataset = h5.get(datasetPath);
    return dataset && 'shape' in dataset ? [...dataset.shape] : undefined;
  } catch {
    return undefined; // reading it later says what is wrong
  }
}

/**
 * Reads weight datasets of one HDF5 file, each checked before jsfive allocates for it, and keeps
 * the total within MAX_WEIGHT_BYTES. `file` is the model file messages name.
 */
export class Hdf5WeightReader {
  private declaredBytes = 0;

  constructor(
    private readonly h5: hdf5.File,
    /** Bytes of the HDF5 file itself (the .h5, or model.weights.h5 inside the .keras). */
    private readonly fileBytes: number,
    private readonly file: string,
  ) {}

  /** The dataset as a float32 tensor of `expectedShape` (the layer's weight). */
  read(datasetPath: string, expectedShape: readonly number[]): tf.Tensor {
    const { file } = this;
    const where = `${file}: weight "${datasetPath}"`;
    let dataset: hdf5.Group | hdf5.Dataset | null;
    let values: ArrayLike<number>;
    try {
      dataset = this.h5.get(datasetPath);
      if (!dataset || !('shape' in dataset)) {
        throw new LensError(`${file}: no weight dataset "${datasetPath}" (the file does not follow the Keras layout).`, 'bad-input');
      }
      const chunkBytes = this.checkDeclared(dataset, datasetPath, expectedShape);
      chunkByteLimit = chunkBytes ?? CHUNK_BYTES_UNSET;
      try {
        values = dataset.value as ArrayLike<number>;
      } finally {
        chunkByteLimit = CHUNK_BYTES_UNSET;
      }
    } catch (error) {
      if (error instanceof LensError) throw error;
      throw new LensError(`${where} cannot be read (${error instanceof Error ? error.message : String(error)}); the file is truncated or damaged.`, 'bad-input');
    }
    const floats = Float32Array.from(values);
    checkFinite(floats, where);
    return tf.tensor(floats, dataset.shape);
  }

  /** Checks what the dataset declares; returns the bytes one of its chunks holds when it is chunked. */
  private checkDeclared(dataset: hdf5.Dataset, datasetPath: string, expectedShape: readonly number[]): number | undefined {
    const { file } = this;
    const where = `${file}: weight "${datasetPath}"`;
    const dtype = String(dataset.dtype);
    if (!/^[<>]f[48]$/.test(dtype)) {
      throw new LensError(`${where} has dtype ${dtype}; CNN Lens reads float32/float64 Keras weights.`, 'unsupported');
    }
    const shape = [...dataset.shape];
    checkTensorSize(shape, where);
    if (shape.length !== expectedShape.length || shape.some((d, i) => d !== expectedShape[i])) {
      throw new LensError(
        `${where} has shape [${shape.join(', ')}] but the layer's weight has shape [${expectedShape.join(', ')}]; the weights do not belong to this model.`,
        'bad-input',
      );
    }
    const bytes = elementCount(shape) * Number(dtype.slice(2));
    this.declaredBytes += bytes;
    if (this.declaredBytes > MAX_WEIGHT_BYTES) {
      throw new LensError(`${file}: the weights declare more than ${describeBytes(MAX_WEIGHT_BYTES)} (at "${datasetPath}"), more than CNN Lens loads.`, 'bad-input');
    }
    const storage = storageOf(dataset);
    if (storage?.layout === LAYOUT.contiguous && storage.address !== undefined && storage.address + bytes > this.fileBytes && bytes > 0) {
      throw new LensError(
        `${where} declares ${describeBytes(bytes)} of data (shape [${shape.join(', ')}], ${dtype}) at byte ${storage.address}, past the end of the file (${describeBytes(this.fileBytes)}); the file is truncated or damaged.`,
        'bad-input',
      );
    }
    if (storage?.layout === LAYOUT.chunked && storage.chunks && storage.chunks.some((d, i) => d > Math.max(1, shape[i] ?? 1))) {
      // jsfive walks every chunk element by element: chunks larger than the data only cost time.
      throw new LensError(`${where} has chunks [${storage.chunks.join(', ')}] larger than its shape [${shape.join(', ')}]; the file is damaged.`, 'bad-input');
    }
    // Fletcher32 adds its 4-byte checksum to a chunk before it is compressed.
    return storage?.layout === LAYOUT.chunked && storage.chunks ? elementCount(storage.chunks) * Number(dtype.slice(2)) + 4 : undefined;
  }
}

/** Layout class, data address (contiguous) and chunk shape (chunked) from the storage message; undefined when unreadable. */
function storageOf(dataset: hdf5.Dataset): { layout: number; address?: number; chunks?: number[] } | undefined {
  try {
    const objects = (dataset as unknown as { _dataobjects: DataObjectsInternals })._dataobjects;
    const message = objects.find_msg_type(DATA_STORAGE_MESSAGE)[0];
    const offset = message.get('offset_to_message') as number;
    const [, , layout, propertyOffset] = objects._get_data_message_properties(offset);
    if (layout === LAYOUT.contiguous) {
      const fh = (objects as unknown as { fh: ArrayBuffer }).fh;
      const address = Number(new DataView(fh).getBigUint64(propertyOffset, true));
      return { layout, address };
    }
    return { layout, chunks: layout === LAYOUT.chunked ? [...(objects.chunks ?? [])] : undefined };
  } catch {
    return undefined;
  }
}
