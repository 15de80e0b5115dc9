// A TensorFlow NodeDef's attributes as tfjs-converter writes them in model.json (AttrValue JSON:
// ints as strings or numbers, strings base64), read by the graph-model loader and by the ONNX
// export of its nodes (onnxRuntime/exportGraphNodes.ts).
export interface AttrValue {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  tensor?: unknown;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

export class Attrs {
  constructor(private readonly attr: Record<string, AttrValue>) {}
  int(name: string, fallback: number): number {
    const v = this.attr[name]?.i;
    return v === undefined ? fallback : Number(v);
  }
  float(name: string, fallback: number): number {
    return this.attr[name]?.f ?? fallback;
  }
  bool(name: string, fallback: boolean): boolean {
    return this.attr[name]?.b ?? fallback;
  }
  string(name: string, fallback: string): string {
    const v = this.attr[name]?.s;
    return v === undefined ? fallback : Buffer.from(v, 'base64').toString('utf8');
  }
  ints(name: string): number[] | undefined {
    return this.attr[name]?.list?.i?.map(Number);
  }
  strings(name: string): string[] {
    return (this.attr[name]?.list?.s ?? []).map((v) => Buffer.from(v, 'base64').toString('utf8'));
  }
}
