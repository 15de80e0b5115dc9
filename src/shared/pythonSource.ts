// What a Python file says about PyTorch models, read without running it: which top-level classes
// subclass torch.nn.Module (directly, through another nn class, or through a class of the same
// file), and which module-level factory functions build a model. Discovery lists such files (a
// workspace's other .py files are not models), pairs a checkpoint with its source, and names the
// class it will build; the bridge (python/cnn_lens_torch.py) decides for real when it runs the file.
// Pure text work: no vscode, no tfjs, shared by the extension host, the engine and the CLI.

export interface PythonClass {
  name: string;
  /** 1-based line of the `class` statement. */
  line: number;
  bases: string[];
  /** Subclasses torch.nn.Module, as far as the text shows. */
  isModule: boolean;
}

export interface PythonModelSource {
  /** Top-level classes, in source order. */
  classes: PythonClass[];
  /** Top-level functions named like model factories (create_model, build_model, …). */
  factories: string[];
  /** Whether the file imports torch (or torchvision, timm, lightning). */
  importsTorch: boolean;
}

/** Factory names the bridge calls when the file has no class to pick (same list as the script). */
export const FACTORY_NAMES = ['create_model', 'build_model', 'get_model', 'make_model'] as const;

const TORCH_IMPORT = /^\s*(?:import|from)\s+(?:torch|torchvision|timm|lightning|pytorch_lightning)\b/m;
/** Bases that are nn.Module subclasses whatever the file imported them as. */
const MODULE_BASE = /(?:^|\.)(?:Module|LightningModule|Sequential|ModuleList|ModuleDict)$/;
const NN_CLASS_BASE = /^(?:torch\.)?nn\.[A-Z]\w*$/;
const NOT_MODULES = new Set(['nn.Parameter', 'torch.nn.Parameter']);

/** Replaces string literals (triple-quoted ones included) by spaces, keeping line numbers. */
function blankStrings(text: string): string {
  return text.replace(/("""|''')[\s\S]*?\1|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|#[^\n]*/g, (match) => match.replace(/[^\n]/g, ' '));
}

export function scanPythonSource(text: string): PythonModelSource {
  const code = blankStrings(text);
  const classes: PythonClass[] = [];
  const header = /^class[ \t]+([A-Za-z_]\w*)[ \t]*(\(([^)]*)\))?[ \t]*:/gm;
  for (const match of code.matchAll(header)) {
    const line = code.slice(0, match.index).split('\n').length;
    const bases = (match[3] ?? '')
      .split(',')
      .map((b) => b.replace(/\s+/g, ''))
      .filter((b) => b.length > 0 && !b.includes('='));
    classes.push({ name: match[1], line, bases, isModule: false });
  }
  // A class is a module when a base is one, including classes of this file (in any order).
  const byName = new Map(classes.map((c) => [c.name, c]));
  const isModuleBase = (base: string, seen: Set<string>): boolean => {
    if (NOT_MODULES.has(base)) return false;
    if (NN_CLASS_BASE.test(base) || MODULE_BASE.test(base)) return true;
    const local = byName.get(base);
    if (local && !seen.has(base)) {
      seen.add(base);
      return local.bases.some((b) => isModuleBase(b, seen));
    }
    return false;
  };
  for (const c of classes) {
    c.isModule = c.bases.some((b) => isModuleBase(b, new Set([c.name])));
  }
  const factories = FACTORY_NAMES.filter((name) => new RegExp(`^def[ \\t]+${name}[ \\t]*\\(`, 'm').test(code));
  return { classes, factories, importsTorch: TORCH_IMPORT.test(code) };
}

/** True when the file defines a PyTorch model (an nn.Module subclass or a model factory). */
export function definesPytorchModel(source: PythonModelSource): boolean {
  return source.importsTorch && (source.classes.some((c) => c.isModule) || source.factories.length > 0);
}

/**
 * The class the bridge will build when none is named: the only nn.Module class, or the only one
 * no other class of the file uses (the model, not its blocks). Undefined when a factory decides
 * or when it is ambiguous.
 */
export function modelClassOf(text: string, source: PythonModelSource = scanPythonSource(text)): string | undefined {
  if (source.factories.length > 0) {
    return undefined;
  }
  const modules = source.classes.filter((c) => c.isModule);
  if (modules.length <= 1) {
    return modules[0]?.name;
  }
  const code = blankStrings(text);
  const lines = code.split('\n');
  const bodyOf = (c: PythonClass): string => {
    // From the header (a base class is used too) to the last indented line.
    const start = c.line - 1;
    let end = start + 1;
    while (end < lines.length && (lines[end].trim() === '' || /^\s/.test(lines[end]))) {
      end++;
    }
    return lines.slice(start, end).join('\n');
  };
  const used = new Set<string>();
  for (const c of modules) {
    for (const other of modules) {
      if (other !== c && new RegExp(`\\b${c.name}\\b`).test(bodyOf(other))) {
        used.add(c.name);
      }
    }
  }
  const outermost = modules.filter((c) => !used.has(c.name));
  return outermost.length === 1 ? outermost[0].name : undefined;
}
