// Just enough of the source map format (v3) to turn a position in the bundle of a code model back
// into the user's file, line and column: the "mappings" VLQ decoder and a lookup. esbuild writes the
// map; Node's own source-map support does not apply to code compiled with `vm`, hence this.

export interface RawSourceMap {
  version: number;
  sources: string[];
  mappings: string;
}

/** One decoded segment: generated column -> source index, original line and column (all 0-based). */
interface Segment {
  column: number;
  source: number;
  line: number;
  originalColumn: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

function decodeVlq(text: string, position: { at: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const digit = DIGIT.get(text[position.at++]);
    if (digit === undefined) {
      throw new Error('invalid source map');
    }
    result += (digit & 31) << shift;
    if ((digit & 32) === 0) {
      break;
    }
    shift += 5;
  }
  return result & 1 ? -(result >>> 1) : result >>> 1;
}

/** Segments per generated line. */
export function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let source = 0;
  let line = 0;
  let originalColumn = 0;
  for (const lineText of mappings.split(';')) {
    const segments: Segment[] = [];
    let column = 0;
    for (const segmentText of lineText.split(',')) {
      if (!segmentText) {
        continue;
      }
      const position = { at: 0 };
      column += decodeVlq(segmentText, position);
      if (position.at < segmentText.length) {
        source += decodeVlq(segmentText, position);
        line += decodeVlq(segmentText, position);
        originalColumn += decodeVlq(segmentText, position);
        segments.push({ column, source, line, originalColumn });
      }
    }
    lines.push(segments);
  }
  return lines;
}

export interface OriginalPosition {
  source: string;
  /** 1-based, as editors show it. */
  line: number;
  /** 1-based. */
  column: number;
}

export class SourceMapLookup {
  private readonly lines: Segment[][];

  constructor(private readonly map: RawSourceMap) {
    this.lines = decodeMappings(map.mappings);
  }

  /** The original position of a 1-based generated line and column, or undefined (generated code). */
  find(line: number, column: number): OriginalPosition | undefined {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) {
      return undefined;
    }
    let best: Segment | undefined;
    for (const segment of segments) {
      if (segment.column <= column - 1) {
        best = segment;
      } else {
        break;
      }
    }
    best ??= segments[0];
    return { source: this.map.sources[best.source], line: best.line + 1, column: best.originalColumn + 1 };
  }
}
