// The part of jsfive (a pure-JS HDF5 reader, no types of its own) that the Keras loader uses.
declare module 'jsfive' {
  export class Group {
    readonly keys: string[];
    readonly attrs: Record<string, unknown>;
    get(path: string): Group | Dataset | null;
  }
  export class Dataset {
    readonly shape: number[];
    readonly dtype: string | unknown;
    readonly value: ArrayLike<number> | unknown[];
    readonly attrs: Record<string, unknown>;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
  /** HDF5 filter id → decoder of one chunk (1: deflate, 2: shuffle, 3: fletcher32); replaceable. */
  export const Filters: Map<number, (chunk: ArrayBuffer, itemSize: number, clientData: unknown) => ArrayBuffer>;
}
