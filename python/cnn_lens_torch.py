"""CNN Lens's bridge to the user's PyTorch: builds a model from its source (or loads a TorchScript /
pickled model), loads its checkpoint, finds its input size and exports it to ONNX for the engine.

CNN Lens does not reimplement PyTorch: it runs this script with the user's own Python and torch
(cnnLens.pythonPath, the Python extension's interpreter, or python3 on the PATH), then runs the
ONNX graph in its own engine. The script is self-contained (standard library + torch) and talks
JSON: the request comes on stdin, the answer goes to the file the request names (user code may
print anything to stdout, so stdout is not the channel; it is sent to stderr while user code runs).

Layer names as the user wrote them: while exporting, a forward pre-hook and a forward hook on every
submodule pass its inputs and its output through identity ops of the custom domain "cnnlens"
(ModuleInput / ModuleOutput, carrying the module's path from named_modules() and which call of the
module it is). The engine reads those marks to name each ONNX node after the module whose output it
is (conv2, layer4.1, features) and drops them; they cost nothing at run time.

Errors are the user's: each names the file and line (the last traceback frame in the user's own
files) or the checkpoint's layers, and says what to do. They come back as {"ok": false, "error":
{"kind", "message", "file", "line"}}; this script exits 0 whenever it could write its answer.
"""
import contextlib
import gc
import importlib.util
import inspect
import io
import json
import linecache
import os
import pickle
import re
import sys
import time
import traceback
import warnings
import weakref
import zipfile

BRIDGE_VERSION = 1
OPSET = 13
MARK_DOMAIN = "cnnlens"
# Sizes tried when neither the sidecar nor the image decides: ImageNet, CIFAR, MNIST, then others.
TRIAL_SIDES = (224, 32, 28, 64, 96, 128, 256, 299)
TRIAL_CHANNELS = (3, 1)
FACTORY_NAMES = ("create_model", "build_model", "get_model", "make_model")
STATE_DICT_WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "network", "weights", "module")


class BridgeError(Exception):
    """A failure to report to the user: kind (for the engine), message, and where in their files."""

    def __init__(self, kind, message, file=None, line=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line


# ---------------------------------------------------------------------------------------------
# Where an exception happened, in the user's files


class UserFiles:
    """The user's files are those under the model's folder that are not this script."""

    def __init__(self, folder):
        self.folder = os.path.realpath(folder)
        self.bridge = os.path.realpath(__file__)

    def owns(self, filename):
        if not filename or filename.startswith("<"):
            return False
        real = os.path.realpath(filename)
        if real == self.bridge or "site-packages" in real or "dist-packages" in real:
            return False
        return real == self.folder or real.startswith(self.folder + os.sep)

    def error_from(self, error, doing):
        """BridgeError at the last frame in the user's files: 'file:line: Type: message'."""
        if isinstance(error, BridgeError):
            return error
        if isinstance(error, SyntaxError) and self.owns(error.filename):
            text = f"SyntaxError: {error.msg}"
            return BridgeError("syntax", f"{error.filename}:{error.lineno}: {text}", error.filename, error.lineno)
        frames = [f for f in traceback.extract_tb(error.__traceback__) if self.owns(f.filename)]
        what = f"{type(error).__name__}: {error}".strip()
        if frames:
            last = frames[-1]
            return BridgeError("exception", f"{last.filename}:{last.lineno}: {what} ({doing})", last.filename, last.lineno)
        return BridgeError("exception", f"{what} ({doing})")


# ---------------------------------------------------------------------------------------------
# Building the model


def import_source(path, files):
    """Imports the user's file under its own stem (so pickles naming `model.Net` resolve)."""
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier():
        name = "cnn_lens_user_model"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        raise BridgeError(
            "exception",
            f"{path}: the module called sys.exit() while being imported; put script code under `if __name__ == \"__main__\":`.",
            path,
        )
    except Exception as error:  # noqa: BLE001 - anything the user's module raises is theirs
        raise files.error_from(error, f"importing {os.path.basename(path)}")
    return module


def module_classes(torch, module):
    """nn.Module subclasses defined in this module (not imported into it), in source order."""
    found = []
    for value in vars(module).values():
        if inspect.isclass(value) and issubclass(value, torch.nn.Module) and value.__module__ == module.__name__:
            found.append(value)

    def line_of(cls):
        try:
            return inspect.getsourcelines(cls)[1]
        except (OSError, TypeError):
            return 0

    return sorted(found, key=line_of)


def outermost_classes(classes):
    """Classes no other class of the file uses by name: the model, not its blocks."""
    sources = {}
    for cls in classes:
        try:
            sources[cls] = inspect.getsource(cls)
        except (OSError, TypeError):
            sources[cls] = ""
    used = set()
    for cls in classes:
        for other in classes:
            if other is not cls and re.search(r"\b" + re.escape(cls.__name__) + r"\b", sources[other]):
                used.add(cls)
    return [cls for cls in classes if cls not in used]


def build_model(torch, request, files, sites=None):
    path = request["source"]
    module = import_source(path, files)
    class_name = request.get("className")
    factory_name = request.get("factory")
    args = request.get("args") or []
    kwargs = request.get("kwargs") or {}
    base = os.path.basename(path)

    if factory_name:
        factory = getattr(module, factory_name, None)
        if not callable(factory):
            raise BridgeError("no-class", f"{path}: has no function {factory_name}() (named as the factory in cnn-lens.json).", path)
        return call_builder(torch, factory, f"{factory_name}()", args, kwargs, files, path, sites)
    if class_name:
        cls = getattr(module, class_name, None)
        if not (inspect.isclass(cls) and issubclass(cls, torch.nn.Module)):
            names = ", ".join(c.__name__ for c in module_classes(torch, module)) or "none"
            raise BridgeError("no-class", f"{path}: has no nn.Module class {class_name} (its nn.Module classes: {names}).", path)
        return call_builder(torch, cls, f"{class_name}()", args, kwargs, files, path, sites)
    for name in FACTORY_NAMES:
        factory = getattr(module, name, None)
        if inspect.isfunction(factory) and factory.__module__ == module.__name__:
            return call_builder(torch, factory, f"{name}()", args, kwargs, files, path, sites)
    classes = module_classes(torch, module)
    if not classes:
        raise BridgeError(
            "no-class",
            f"{path}: defines no subclass of torch.nn.Module and no create_model()/build_model() function; CNN Lens needs the model's class or a function returning the model.",
            path,
        )
    candidates = classes if len(classes) == 1 else outermost_classes(classes)
    if len(candidates) != 1:
        listed = ", ".join(c.__name__ for c in classes)
        raise BridgeError(
            "ambiguous-class",
            f"{path}: defines {len(classes)} nn.Module classes ({listed}); say which one is the model: "
            f"{base}:{classes[-1].__name__} as the model path (cnnLens.modelPath, --model), or \"class\": \"{classes[-1].__name__}\" in cnn-lens.json.",
            path,
        )
    cls = candidates[0]
    return call_builder(torch, cls, f"{cls.__name__}()", args, kwargs, files, path, sites)


class ConstructionSites:
    """The line of the user's files where each module was written: where it was assigned to its
    parent (`self.conv1 = conv3x3(...)`, `self.add_module("pool", ...)`), else where it was built
    (an element of an inline nn.Sequential, a block built in a loop). CodeLens and hover link lines
    to modules by it, exactly, instead of guessing from names. Recorded while the model is built by
    wrapping nn.Module.__init__ (the frames of the module's own __init__ chain are skipped: the next
    one is the call), __setattr__ and add_module. Modules of other files (torchvision's) have none."""

    def __init__(self, torch, files):
        self.torch = torch
        self.files = files
        self.sites = weakref.WeakKeyDictionary()
        self.assigned = weakref.WeakKeyDictionary()
        # The line defining the class or factory that built the model (its own lens).
        self.builder = None

    @contextlib.contextmanager
    def recording(self):
        module_class = self.torch.nn.Module
        originals = (module_class.__init__, module_class.__setattr__, module_class.add_module)
        original_init, original_setattr, original_add = originals
        sites, assigned, files = self.sites, self.assigned, self.files

        def here(frame):
            return (os.path.realpath(frame.f_code.co_filename), frame.f_lineno) if frame is not None and files.owns(frame.f_code.co_filename) else None

        def init(module, *args, **kwargs):
            original_init(module, *args, **kwargs)
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is module:
                frame = frame.f_back
            site = here(frame)
            if site:
                sites[module] = site

        def note_assignment(value, caller):
            # The first assignment wins: a module later re-registered elsewhere keeps its own line.
            if isinstance(value, module_class) and value not in assigned:
                site = here(caller)
                if site:
                    assigned[value] = site

        def setattr_(parent, name, value):
            note_assignment(value, sys._getframe(1))
            original_setattr(parent, name, value)

        def add_module(parent, name, module):
            note_assignment(module, sys._getframe(1))
            original_add(parent, name, module)

        module_class.__init__, module_class.__setattr__, module_class.add_module = init, setattr_, add_module
        try:
            yield
        finally:
            module_class.__init__, module_class.__setattr__, module_class.add_module = originals

    def of(self, module):
        site = self.assigned.get(module) or self.sites.get(module)
        # The line's text lets the editor find it again while the user types above it.
        return {"file": site[0], "line": site[1], "text": linecache.getline(site[0], site[1]).strip()} if site else None


def definition_site(value, files):
    """The line that defines a class or function of the user's (the model's class, a factory)."""
    try:
        file = inspect.getsourcefile(value)
        line = inspect.getsourcelines(value)[1]
    except (OSError, TypeError):
        return None
    if not file or not files.owns(file):
        return None
    return {"file": os.path.realpath(file), "line": line, "text": linecache.getline(file, line).strip()}


def call_builder(torch, builder, shown, args, kwargs, files, path, sites=None):
    # Seeded, so a model without a checkpoint has the same (untrained) weights on every load.
    torch.manual_seed(0)
    try:
        with sites.recording() if sites else contextlib.nullcontext():
            model = builder(*args, **kwargs)
    except TypeError as error:
        mine = [f for f in traceback.extract_tb(error.__traceback__) if files.owns(f.filename)]
        if not mine and ("argument" in str(error)):
            raise BridgeError(
                "needs-arguments",
                f"{path}: {shown} cannot be called without arguments ({error}); add a create_model() function to "
                f"{os.path.basename(path)} that returns the model, or \"args\"/\"kwargs\" for it in cnn-lens.json.",
                path,
            )
        raise files.error_from(error, f"building the model with {shown}")
    except Exception as error:  # noqa: BLE001 - the user's constructor
        raise files.error_from(error, f"building the model with {shown}")
    if not isinstance(model, torch.nn.Module):
        raise BridgeError("no-class", f"{path}: {shown} returned {type(model).__name__}, not a torch.nn.Module.", path)
    if sites is not None:
        sites.builder = definition_site(builder, files)
    return model, shown


# ---------------------------------------------------------------------------------------------
# Checkpoints


def supports_weights_only(torch):
    return "weights_only" in inspect.signature(torch.load).parameters


def read_checkpoint(torch, path, files):
    """The checkpoint's object: weights only where torch can (no code runs), else a full unpickling
    (a pickled model, numpy values in the wrapper...; CNN Lens runs this only in trusted folders)."""
    if not os.path.isfile(path):
        raise BridgeError("checkpoint-missing", f"Checkpoint not found: {path}.", path)
    if supports_weights_only(torch):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - not a weights-only file: read it fully below
            pass
    try:
        with main_class_resolver(files):
            if supports_weights_only(torch):
                return torch.load(path, map_location="cpu", weights_only=False)
            return torch.load(path, map_location="cpu")
    except BridgeError:
        raise
    except Exception as error:  # noqa: BLE001
        raise BridgeError(
            "checkpoint-unreadable",
            f"{path}: torch.load cannot read it ({type(error).__name__}: {error}); is it a PyTorch checkpoint (torch.save)?",
            path,
        )


@contextlib.contextmanager
def main_class_resolver(files):
    """A model pickled by a script (`torch.save(model)` in train.py) names its class `__main__.Net`:
    look for it in the .py files beside the checkpoint."""
    main = sys.modules["__main__"]
    added = []

    def find(name):
        for entry in sorted(os.listdir(files.folder)):
            if entry.endswith(".py") and not entry.startswith("."):
                path = os.path.join(files.folder, entry)
                try:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                except OSError:
                    continue
                if re.search(r"^class\s+" + re.escape(name) + r"\b", text, re.M):
                    module = import_source(path, files)
                    return getattr(module, name, None)
        return None

    original_getattr = getattr(main, "__getattr__", None)

    def lookup(name):
        value = find(name)
        if value is None:
            raise AttributeError(name)
        setattr(main, name, value)
        added.append(name)
        return value

    main.__getattr__ = lookup
    try:
        yield
    finally:
        if original_getattr is None:
            del main.__getattr__
        else:
            main.__getattr__ = original_getattr
        for name in added:
            delattr(main, name)


def is_tensor_dict(torch, value):
    return isinstance(value, dict) and len(value) > 0 and all(isinstance(k, str) and torch.is_tensor(v) for k, v in value.items())


def unwrap_state_dict(torch, loaded, path):
    """A plain state_dict, or one inside the usual training-loop wrappers; returns (dict, form)."""
    if isinstance(loaded, torch.nn.Module):
        return loaded.state_dict(), "a whole pickled model (its state_dict is used)"
    if is_tensor_dict(torch, loaded):
        return loaded, "a state_dict"
    if isinstance(loaded, dict):
        for key in STATE_DICT_WRAPPERS:
            inner = loaded.get(key)
            if isinstance(inner, torch.nn.Module):
                return inner.state_dict(), f'a whole model under "{key}"'
            if is_tensor_dict(torch, inner):
                return inner, f'a state_dict under "{key}"'
        keys = ", ".join(repr(k) for k in list(loaded)[:8])
        raise BridgeError(
            "checkpoint-unreadable",
            f"{path}: a dict without weights CNN Lens recognises (keys {keys}); expected a state_dict, or one under "
            + ", ".join(f'"{k}"' for k in STATE_DICT_WRAPPERS[:3])
            + ".",
            path,
        )
    raise BridgeError("checkpoint-unreadable", f"{path}: holds a {type(loaded).__name__}, not a state_dict or a model.", path)


def strip_prefixes(state):
    """DataParallel saves `module.conv1.weight`, torch.compile `_orig_mod.conv1.weight`."""
    stripped = []
    for prefix in ("module.", "_orig_mod."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
            stripped.append(prefix)
    return state, stripped


def load_weights(torch, model, shown, path, files):
    loaded = read_checkpoint(torch, path, files)
    state, form = unwrap_state_dict(torch, loaded, path)
    state, stripped = strip_prefixes(state)
    expected = model.state_dict()
    # num_batches_tracked only counts training steps; old checkpoints lack it and eval never reads it.
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {describe_keys(missing)}")
        if unexpected:
            parts.append(f"unexpected {describe_keys(unexpected)}")
        if wrong:
            shapes = "; ".join(f"{k}: checkpoint {list(state[k].shape)}, model {list(expected[k].shape)}" for k in wrong[:6])
            more = f" and {len(wrong) - 6} more" if len(wrong) > 6 else ""
            parts.append(f"wrong shape {shapes}{more}")
        raise BridgeError(
            "checkpoint-mismatch",
            f"{path} does not fit the model built by {shown}: " + "; ".join(parts) + ". Is it the checkpoint of this model (and these constructor arguments)?",
            path,
        )
    merged = dict(expected)
    merged.update(state)
    model.load_state_dict(merged, strict=True)
    return {"path": path, "form": form + (f", prefix {' and '.join(stripped)} removed" if stripped else "")}


def describe_keys(keys, shown=8):
    listed = ", ".join(keys[:shown])
    return listed + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def load_standalone(torch, path, files):
    """A .pt/.pth that carries its own structure: TorchScript, or a whole pickled model."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            scripted = any("/code/" in name or name.endswith("constants.pkl") for name in archive.namelist())
        if scripted:
            try:
                return torch.jit.load(path, map_location="cpu"), "TorchScript (torch.jit.save)"
            except Exception as error:  # noqa: BLE001
                raise BridgeError("checkpoint-unreadable", f"{path}: torch.jit.load cannot read it ({error}).", path)
    loaded = read_checkpoint(torch, path, files)
    if isinstance(loaded, torch.nn.Module):
        return loaded, "a whole pickled model (torch.save(model))"
    inner = None
    if isinstance(loaded, dict):
        inner = next((loaded[k] for k in STATE_DICT_WRAPPERS if isinstance(loaded.get(k), torch.nn.Module)), None)
    if inner is not None:
        return inner, "a whole pickled model inside a dict"
    raise BridgeError(
        "weights-only",
        f"{path} holds only weights (a state_dict), not the model's structure. Put the .py file that defines the model beside it "
        f"(same name, e.g. {os.path.splitext(os.path.basename(path))[0]}.py, or the only model file in the folder), "
        "or point CNN Lens at that .py file with this checkpoint.",
        path,
    )


# ---------------------------------------------------------------------------------------------
# Input size


def run_once(torch, model, shape):
    """How the model answers one zero image of this (C, H, W): None if it gives one row of scores
    (a tuple of outputs, a multi-head model's, when each is one image's and one of them is scores)."""
    with torch.no_grad():
        out = model(torch.zeros(1, *shape))
    if isinstance(out, (tuple, list)) and len(out) > 0 and all(torch.is_tensor(o) for o in out):
        if len(out) == 1:
            out = out[0]
        else:
            batches = [o.shape[0] if o.dim() >= 1 else 0 for o in out]
            if any(b != 1 for b in batches):
                return f"returns {len(out)} outputs whose first dimensions are {batches}, not one image each", None
            scores = [o for o in out if o.dim() == 2]
            if not scores:
                return f"returns {len(out)} outputs of shapes {[list(o.shape) for o in out]}, none of them [1, classes]", None
            return None, int(scores[0].shape[1])
    if not torch.is_tensor(out):
        return f"returns a {type(out).__name__}, not a tensor of class scores (or a tuple of tensors)", None
    rows = out.shape[0] if out.dim() >= 1 else 0
    if out.dim() != 2:
        return f"gives scores of shape {list(out.shape)}, not [1, classes]", None
    if rows != 1:
        return f"turns one image into {rows} rows of scores", None
    return None, int(out.shape[1])


def output_names(torch, model, shape):
    """ONNX names of the model's outputs: "scores" for one tensor; "output_0", "output_1", ... for the
    tensors of a tuple (a multi-head model), in the order forward() returns them."""
    with torch.no_grad():
        out = model(torch.zeros(1, *shape))
    if isinstance(out, (tuple, list)) and len(out) > 1:
        return [f"output_{i}" for i in range(len(out))]
    return ["scores"]


def find_input_size(torch, model, request, files):
    """(shape, source, tried, classes): the size asked for ("input": the sidecar's, or an image's), else the first common size that works."""
    tried = []

    def attempt(shape):
        try:
            problem, classes = run_once(torch, model, shape)
        except Exception as error:  # noqa: BLE001 - a size the model does not take
            mapped = files.error_from(error, f"forward at input {fmt(shape)}")
            tried.append({"shape": list(shape), "outcome": short(mapped.message)})
            return None, mapped
        if problem:
            tried.append({"shape": list(shape), "outcome": problem})
            return None, None
        tried.append({"shape": list(shape), "outcome": f"{classes} class scores"})
        return classes, None

    declared = request.get("input")
    if declared:
        classes, error = attempt(tuple(declared))
        if classes:
            # "image" when CNN Lens asks for an image's own size (a model that runs at any size).
            return tuple(declared), request.get("inputOrigin", "sidecar"), tried, classes
        raise BridgeError(
            "input-size",
            f"The model does not take the input size {fmt(declared)} set in {request.get('sidecar') or 'cnn-lens.json'}: {tried[-1]['outcome']}.",
            error.file if error else None,
            error.line if error else None,
        )
    last_error = None
    for channels in TRIAL_CHANNELS:
        for side in TRIAL_SIDES:
            classes, error = attempt((channels, side, side))
            if classes:
                return (channels, side, side), "trial", tried, classes
            last_error = error or last_error
    listing = "; ".join(f"{fmt(t['shape'])}: {t['outcome']}" for t in tried[:6])
    raise BridgeError(
        "input-size",
        f"No input size gives one row of class scores for one image ({listing}{'; …' if len(tried) > 6 else ''}). "
        'Set the size the model was trained at as "input": [channels, height, width] in cnn-lens.json beside the model file.',
        last_error.file if last_error else None,
        last_error.line if last_error else None,
    )


def is_flexible(torch, model, shape):
    """Whether the model also runs at another size (adaptive pooling): then the engine may feed
    each image at its own size, as a PyTorch user would."""
    # Another size that is cheaper to try than a larger one: smaller where the size leaves room.
    other = (shape[0], shape[1] - 32, shape[2] - 48) if min(shape[1], shape[2]) > 96 else (shape[0], shape[1] + 32, shape[2] + 48)
    try:
        problem, _ = run_once(torch, model, other)
        return problem is None
    except Exception:  # noqa: BLE001
        return False


def fmt(shape):
    return "×".join(str(d) for d in shape)


def short(text, limit=160):
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Export with module marks


def make_mark(torch):
    class Mark(torch.autograd.Function):
        """Identity in PyTorch; in the ONNX graph a cnnlens node naming the module and its call."""

        @staticmethod
        def forward(ctx, x, op, module, call, shape):  # noqa: ARG004
            return x

        @staticmethod
        def symbolic(g, x, op, module, call, shape):
            out = g.op(f"{MARK_DOMAIN}::{op}", x, module_s=module, call_i=call)
            # ONNX shape inference knows nothing of a custom op: give the output its traced shape,
            # which symbolic functions downstream read (adaptive pooling, interpolate, view).
            out.setType(x.type().with_sizes(list(shape)))
            return out

    return Mark


def add_marks(torch, model):
    """Hooks marking every submodule's tensor inputs and output; returns the handles."""
    mark = make_mark(torch).apply
    names = {}
    for name, module in model.named_modules():
        if name:
            names.setdefault(module, name)  # a module registered twice keeps its first path
    calls = {}
    handles = []

    def before(module, args):
        name = names[module]
        calls[name] = calls.get(name, 0) + 1
        marked = tuple(mark(a, "ModuleInput", name, calls[name], tuple(a.shape)) if torch.is_tensor(a) else a for a in args)
        return marked

    def after(module, args, output):
        if torch.is_tensor(output):
            return mark(output, "ModuleOutput", names[module], calls.get(names[module], 1), tuple(output.shape))
        return None

    for module in names:
        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    return handles


def adaptive_avg_pool2d_symbolic(torch):
    """aten::adaptive_avg_pool2d for every input size, as ONNX ops the engine runs.

    The TorchScript exporter writes an adaptive pool only when each output size divides the input
    size (one AveragePool); otherwise it refuses ("output size that are not factor of input size").
    torchvision's VGG and AlexNet end their features with AdaptiveAvgPool2d((7, 7)) / ((6, 6)), so
    any input but 224 (a 64×64 image: a 2×2 map) would not export. PyTorch's cell i of an axis
    averages input rows floor(i·in/out) .. ceil((i+1)·in/out) - 1, and a rectangle's mean is the mean
    over its rows of the mean over its columns, so each axis is pooled on its own: one Slice +
    ReduceMean per output cell, then a Concat. Divisible sizes keep the exporter's own AveragePool."""
    from torch.onnx import symbolic_helper

    def symbolic(g, x, output_size):
        try:
            out = symbolic_helper._parse_arg(output_size, "is")
        except Exception:  # noqa: BLE001 - not a constant: the exporter's own message
            return symbolic_helper._onnx_unsupported("adaptive pooling, since output_size is not constant.", x)
        if out == [1, 1]:
            return g.op("GlobalAveragePool", x)  # needs no sizes (DenseNet pools an F.relu output)
        sizes = symbolic_helper._get_tensor_sizes(x)
        if sizes is None or any(s is None for s in sizes):
            return symbolic_helper._unimplemented("adaptive_avg_pool2d", "input size not accessible", x)
        if len(sizes) != 4:
            return symbolic_helper._unimplemented("adaptive_avg_pool2d", f"a {len(sizes)}-D input (export a batch: N, C, H, W)", x)
        spatial = sizes[2:]
        if all(s % o == 0 for s, o in zip(spatial, out)):
            kernel = [s // o for s, o in zip(spatial, out)]
            return g.op("AveragePool", x, kernel_shape_i=kernel, strides_i=kernel)
        y = x
        for axis, size, cells in zip((2, 3), spatial, out):
            if size == cells:
                continue
            pieces = []
            for i in range(cells):
                start, end = (i * size) // cells, -((-(i + 1) * size) // cells)
                ints = lambda v: g.op("Constant", value_t=torch.tensor(v, dtype=torch.int64))  # noqa: E731
                piece = g.op("Slice", y, ints([start]), ints([end]), ints([axis]))
                pieces.append(g.op("ReduceMean", piece, axes_i=[axis], keepdims_i=1))
            y = pieces[0] if cells == 1 else g.op("Concat", *pieces, axis_i=axis)
        # Symbolic functions downstream (view, flatten) read the traced shape.
        y.setType(x.type().with_sizes([sizes[0], sizes[1], out[0], out[1]]))
        return y

    return symbolic


def export_onnx(torch, model, shape, out_path, files, marked, source):
    from torch.onnx import TrainingMode

    # Registered for this opset only; replaces the exporter's version for the rest of the process.
    torch.onnx.register_custom_op_symbolic("aten::adaptive_avg_pool2d", adaptive_avg_pool2d_symbolic(torch), OPSET)
    names = output_names(torch, model, shape)
    handles = add_marks(torch, model) if marked else []
    kwargs = dict(
        opset_version=OPSET,
        input_names=["input"],
        output_names=names,
        do_constant_folding=True,
        training=TrainingMode.EVAL,
    )
    if marked:
        kwargs["custom_opsets"] = {MARK_DOMAIN: 1}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter runs the marks' symbolic functions
    tmp = f"{out_path}.{os.getpid()}.part"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, torch.zeros(1, *shape), tmp, **kwargs)
    except Exception as error:  # noqa: BLE001
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        op = re.search(r"operator '?([\w:.]+)'? to ONNX", message)
        mapped = files.error_from(error, "exporting to ONNX")
        what = f"the operator {op.group(1)} cannot be exported to ONNX opset {OPSET}" if op else "torch.onnx.export failed"
        # The user's line when the traceback reaches it; else the file whose forward() uses the operator.
        where = f"{mapped.file}:{mapped.line}" if mapped.file else source
        raise BridgeError("export", f"{where}: {what}: {message}", mapped.file or source, mapped.line)
    finally:
        for handle in handles:
            handle.remove()
    os.replace(tmp, out_path)


# ---------------------------------------------------------------------------------------------
# What the engine shows about the model


def describe_modules(torch, model, sites):
    """Each module: class, parameters as PyTorch counts them, where it was built, and the statistics
    of its own weights (min, mean, max of each parameter; for hovers)."""
    described = []
    for name, module in model.named_modules():
        if not name:
            continue
        own = list(module.named_parameters(recurse=False))
        total = sum(p.numel() for p in module.parameters())
        # A TorchScript module is a RecursiveScriptModule; its original_name is the class the user wrote.
        class_name = getattr(module, "original_name", None) or type(module).__name__
        entry = {"name": name, "className": class_name, "params": int(total), "ownParams": int(sum(p.numel() for _, p in own))}
        site = sites.of(module) if sites else None
        if site:
            entry["site"] = site
        stats = {}
        with torch.no_grad():
            for key, parameter in own:
                if parameter.numel() > 0:
                    values = parameter.detach().float()
                    stats[key] = [round(float(values.min()), 6), round(float(values.mean()), 6), round(float(values.max()), 6)]
        if stats:
            entry["weights"] = stats
        described.append(entry)
    return described


def local_sources(files):
    """The user's Python files this run imported (live refresh watches them)."""
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py") and files.owns(path):
            found.add(os.path.realpath(path))
    return sorted(found)


def export(request):
    started = time.time()
    source = os.path.abspath(request["source"])
    files = UserFiles(os.path.dirname(source))
    torch = import_torch(request)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    phases = {}
    mark = time.time()

    def phase(name):
        nonlocal mark
        now = time.time()
        phases[name] = round(now - mark, 3)
        mark = now

    checkpoint = None
    built_from = source
    sites = ConstructionSites(torch, files)
    if request.get("standalone"):
        try:
            model, shown = load_standalone(torch, source, files)
            checkpoint = {"path": source, "form": shown}
        except BridgeError as error:
            paired = request.get("pairedSource")
            if error.kind != "weights-only" or not paired:
                raise
            # A state_dict opened as the model: build the model from the .py beside it.
            built_from = os.path.abspath(paired)
            model, shown = build_model(torch, {**request, "source": built_from}, files, sites)
            checkpoint = load_weights(torch, model, shown, source, files)
    else:
        model, shown = build_model(torch, request, files, sites)
        if request.get("checkpoint"):
            checkpoint = load_weights(torch, model, shown, request["checkpoint"], files)
    scripted = isinstance(model, torch.jit.ScriptModule)
    model.eval()
    phase("build")
    shape, source_of_size, tried, classes = find_input_size(torch, model, request, files)
    flexible = source_of_size == "image" or (source_of_size == "trial" and is_flexible(torch, model, shape))
    phase("size")
    export_onnx(torch, model, shape, request["onnxPath"], files, marked=not scripted, source=built_from)
    phase("export")
    modules = describe_modules(torch, model, sites)
    phase("describe")
    return {
        "ok": True,
        "bridgeVersion": BRIDGE_VERSION,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "torch": torch.__version__,
        "builtFrom": built_from,
        "builtWith": shown,
        "modelClass": getattr(model, "original_name", None) or type(model).__name__,
        "scripted": scripted,
        "input": list(shape),
        "inputSource": source_of_size,
        "tried": tried,
        "flexible": flexible,
        "classes": classes,
        "checkpoint": checkpoint,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "modules": modules,
        "builderSite": sites.builder,
        "sourceFiles": local_sources(files),
        "seconds": round(time.time() - started, 3),
        "phases": phases,
    }


def import_torch(request):
    """torch, or the no-torch error. Once torch imports, a marker file says this interpreter works:
    CNN Lens then reports a later crash (out of memory, a segfault in the user's code) instead of
    trying the next Python on the PATH."""
    try:
        import torch
    except Exception as error:  # noqa: BLE001
        raise BridgeError("no-torch", f"{sys.executable} cannot import torch ({type(error).__name__}: {error}).")
    with open(request["resultPath"] + ".torch", "w", encoding="utf-8") as handle:
        handle.write(torch.__version__)
    return torch


def probe(request):
    torch = import_torch(request)
    return {"ok": True, "python": sys.version.split()[0], "executable": sys.executable, "torch": torch.__version__}


def answer(request):
    """Runs one request; the answer (or the user's error) goes to the request's result file."""
    result_path = request["resultPath"]
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # the user's prints must not look like answers
    try:
        result = {"export": export, "probe": probe}[request["op"]](request)
    except BridgeError as error:
        result = {"ok": False, "error": {"kind": error.kind, "message": error.message, "file": error.file, "line": error.line}}
    except Exception as error:  # noqa: BLE001 - a bug here, reported rather than lost
        result = {"ok": False, "error": {"kind": "bridge", "message": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()}}
    finally:
        sys.stdout = real_stdout
    with open(result_path + ".part", "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(result_path + ".part", result_path)


def forget_user_modules(folder):
    """Before the next request of a long-lived bridge: the user's modules are imported afresh (their
    files may have changed), and nothing of the last model stays referenced."""
    files = UserFiles(folder)
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and files.owns(path):
            del sys.modules[name]
    importlib.invalidate_caches()
    linecache.clearcache()
    gc.collect()


def serve():
    """Answers requests, one JSON line each on stdin, until stdin closes (CNN Lens's engine keeps one
    such process, so torch is imported once). After each answer, `done <id>` on stdout."""
    real_stdout = sys.stdout
    start_dir = os.getcwd()
    start_path = list(sys.path)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            os.chdir(request.get("cwd") or start_dir)
            answer(request)
        finally:
            source = request.get("source")
            if source:
                forget_user_modules(os.path.dirname(os.path.abspath(source)))
            sys.path[:] = start_path
            os.chdir(start_dir)
        real_stdout.write(f"done {request.get('id', '')}\n")
        real_stdout.flush()


def main():
    if "--serve" in sys.argv[1:]:
        serve()
        return
    request = json.loads(sys.stdin.readline())
    os.chdir(request.get("cwd") or os.getcwd())
    answer(request)
    print(f"done {request.get('id', '')}", flush=True)


if __name__ == "__main__":
    main()
