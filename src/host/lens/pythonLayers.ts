// Which lines of a PyTorch model source carry which layers, and what the hover on `self.conv2` says.
// The bridge records, while it builds the model, the line of the user's file where each module was
// assigned (`self.conv2 = nn.Conv2d(…)`, `self.add_module(…)`) or built (an element of an inline
// nn.Sequential, a block made in a loop): PytorchBuild.modules[].site. Lines are linked to modules
// by that record, never by matching names, and follow the text while the user types above them
// (each site keeps its line's text). Pure: text and summaries in, lens specs and Markdown out;
// src/host/lens/pythonLenses.ts turns them into VS Code objects.
import { scanPythonSource } from '../../shared/pythonSource';
import { DEFAULT_LAYER_MARK } from '../../shared/layerNames';
import { formatShape, shapeNotation } from '../../shared/shapes';
import type { ModelSummary, PytorchModule, SourceSite } from '../../shared/types';
import { codeSpan, escapeMarkdown, VISUALIZE_LAYER_COMMAND, layerLenses, type LensSpec } from './layerLenses';

export const SHOW_GRADCAM_COMMAND = 'cnnLens.showGradCam';

/** A line of the current text and the modules written there, outermost first. */
export interface ModuleLine {
  /** 0-based line in the current text. */
  line: number;
  modules: PytorchModule[];
}

/** Start offset of each line. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    starts.push(i + 1);
  }
  return starts;
}

/**
 * Where a recorded site is in the current text: its line if the text there is unchanged, else the
 * nearest line with the same text (lines were added or removed above it), else nowhere (the line
 * itself was edited: no lens until the next save rather than a lens on the wrong line).
 */
export function locateSite(lines: readonly string[], site: Pick<SourceSite, 'line' | 'text'>): number | undefined {
  const recorded = site.line - 1;
  if (lines[recorded]?.trim() === site.text) {
    return recorded;
  }
  let best: number | undefined;
  lines.forEach((line, index) => {
    if (line.trim() === site.text && (best === undefined || Math.abs(index - recorded) < Math.abs(best - recorded))) {
      best = index;
    }
  });
  return best;
}

/** True when `inner` is a submodule of `outer` (by path). */
function isInside(inner: string, outer: string): boolean {
  return inner.startsWith(`${outer}.`);
}

/** The modules written in `file`, by the line they are on now, outermost first on each line. */
export function moduleLines(text: string, file: string, summary: ModelSummary): ModuleLine[] {
  const modules = summary.pytorch?.modules ?? [];
  const lines = text.split('\n');
  const byLine = new Map<number, PytorchModule[]>();
  for (const module of modules) {
    if (!module.site || module.site.file !== file) {
      continue;
    }
    const line = locateSite(lines, module.site);
    if (line !== undefined) {
      byLine.set(line, [...(byLine.get(line) ?? []), module]);
    }
  }
  return [...byLine.entries()]
    .sort(([a], [b]) => a - b)
    .map(([line, onLine]) => ({
      line,
      modules: [...onLine].sort((a, b) => Number(onLine.some((o) => isInside(a.name, o.name))) - Number(onLine.some((o) => isInside(b.name, o.name)))),
    }));
}

/**
 * The lenses of a model source: above the model's class (or factory) "Show Grad-CAM…" and "Model
 * summary"; above each line that wrote modules, the first layer's name and shape, then Activations,
 * Filters (where there are filters) and Grad-CAM here, and "+N more" when the line wrote several
 * layers (a module called twice, a block class used four times, an inline Sequential).
 */
export function pythonLayerLenses(modelPath: string, file: string, text: string, summary: ModelSummary): LensSpec[] {
  const starts = lineStarts(text);
  const lines = text.split('\n');
  const lenses: LensSpec[] = [];
  const builder = summary.pytorch?.builderSite;
  const builderLine = builder && builder.file === file ? locateSite(lines, builder) : undefined;
  if (builderLine !== undefined) {
    const offset = starts[builderLine];
    lenses.push(
      { offset, title: 'Show Grad-CAM…', tooltip: `Explain an image with ${summary.pytorch?.modelClass} (asks for an image)`, command: SHOW_GRADCAM_COMMAND, arguments: [{ modelPath }] },
      { offset, title: 'Model summary', tooltip: 'Every layer with its output shape and parameters', command: VISUALIZE_LAYER_COMMAND, arguments: [{ modelPath, view: 'summary' }] },
    );
  }
  const infos = new Map(summary.layers.map((layer) => [layer.name, layer]));
  for (const { line, modules } of moduleLines(text, file, summary)) {
    const layers = modules.flatMap((m) => m.layers).filter((name) => infos.has(name));
    if (layers.length === 0) {
      continue; // modules that never run (a ModuleList itself, an unused branch)
    }
    const offset = starts[line];
    const first = infos.get(layers[0]);
    if (!first) {
      continue;
    }
    // The first lens names the module and its shape (layerLenses), then its actions.
    lenses.push(...layerLenses(modelPath, [{ name: first.name, className: first.className, offset }], summary));
    if (layers.length > 1) {
      const rest = layers.slice(1);
      lenses.push({
        offset,
        title: `+${rest.length} more`,
        tooltip: `This line also makes ${rest.slice(0, 8).join(', ')}${rest.length > 8 ? ', …' : ''}: pick one`,
        command: VISUALIZE_LAYER_COMMAND,
        arguments: [{ modelPath, layers }],
      });
    }
  }
  // In the file's order (the class line's lenses come before its body's; a sort keeps each line's order).
  return lenses.sort((a, b) => a.offset - b.offset);
}

/** `self.NAME` at an offset: the attribute name and its range. */
export function selfAttributeAt(text: string, offset: number): { name: string; start: number; end: number } | undefined {
  const pattern = /\bself\.([A-Za-z_][A-Za-z0-9_]*)/g;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
  for (const match of line.matchAll(pattern)) {
    const start = lineStart + (match.index ?? 0);
    const end = start + match[0].length;
    if (offset >= start && offset <= end) {
      return { name: match[1], start, end };
    }
  }
  return undefined;
}

/** The top-level class whose body holds this offset. */
export function enclosingClass(text: string, offset: number): string | undefined {
  const line = text.slice(0, offset).split('\n').length; // 1-based
  const lines = text.split('\n');
  let found: string | undefined;
  for (const cls of scanPythonSource(text).classes) {
    if (cls.line > line) {
      break;
    }
    // The body runs until the next line that starts at column 0 with code.
    let end = cls.line;
    while (end < lines.length && (lines[end].trim() === '' || /^\s/.test(lines[end]) || lines[end].trimStart().startsWith('#'))) {
      end++;
    }
    if (line <= end) {
      found = cls.name;
    }
  }
  return found;
}

/**
 * The hover on `self.NAME` inside a class of the model: for each instance of the class in the
 * model, the module's class, output shape (per call), parameters and its weights' statistics.
 */
export function pythonHoverMarkdown(text: string, offset: number, summary: ModelSummary): { markdown: string; start: number; end: number } | undefined {
  const build = summary.pytorch;
  const attribute = selfAttributeAt(text, offset);
  const owner = enclosingClass(text, offset);
  if (!build || !attribute || !owner) {
    return undefined;
  }
  const parents = owner === build.modelClass ? [''] : build.modules.filter((m) => m.className === owner).map((m) => m.name);
  const modules = parents
    .map((parent) => build.modules.find((m) => m.name === (parent ? `${parent}.${attribute.name}` : attribute.name)))
    .filter((m): m is PytorchModule => m !== undefined);
  if (modules.length === 0) {
    return undefined;
  }
  const infos = new Map(summary.layers.map((layer) => [layer.name, layer]));
  const shown = modules.slice(0, 6);
  const parts = shown.map((module) => {
    const lines = [`**${escapeMarkdown(module.name)}** · ${codeSpan(module.className)}`, ''];
    let notation = ` (${shapeNotation(summary.shapeOrder)})`; // said once, on the first shape
    for (const layer of module.layers) {
      const info = infos.get(layer);
      if (info) {
        const call = module.layers.length > 1 ? ` (${escapeMarkdown(layer)})` : '';
        lines.push(`Output${call}: ${formatShape(info.outputShape, summary.shapeOrder)}${notation}${layer === summary.defaultCamLayer ? DEFAULT_LAYER_MARK : ''}  `);
        notation = '';
      }
    }
    if (module.layers.length === 0) {
      lines.push('Not called in forward: no output  ');
    }
    lines.push(`Parameters: ${module.params.toLocaleString('en-US')}  `);
    for (const [name, [min, mean, max]] of Object.entries(module.weights ?? {})) {
      lines.push(`${escapeMarkdown(name)}: min ${min}, mean ${mean}, max ${max}  `);
    }
    return lines.join('\n');
  });
  if (modules.length > shown.length) {
    parts.push(`…and ${modules.length - shown.length} more instances of ${escapeMarkdown(owner)}`);
  }
  const weights = build.checkpoint ? `weights from ${escapeMarkdown(build.checkpoint.path.split(/[\\/]/).pop() ?? '')}` : '**untrained weights** (no checkpoint)';
  parts.push(`_${weights}_`);
  return { markdown: parts.join('\n\n---\n\n'), start: attribute.start, end: attribute.end };
}

/**
 * Where a PyTorch model's load error points in the user's files: "model.py:14: RuntimeError: …"
 * (a syntax error, an exception in __init__ or forward, an export failure at a line).
 */
export function userCodeErrorLocation(message: string): { file: string; line: number; message: string } | undefined {
  const match = /^(.+?\.py):(\d+): ([\s\S]+)$/.exec(message.split('\n')[0]);
  return match ? { file: match[1], line: Number(match[2]), message: match[3] } : undefined;
}
