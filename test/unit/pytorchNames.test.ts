// How PyTorch models are named and read without running Python: the module marks of an exported
// graph become layer names (src/engine/models/pytorch/moduleGraph.ts), the default CAM layer is the
// outermost module holding the last convolution, and .py files are recognised as model sources by
// reading them (src/shared/pythonSource.ts). Hand-built graphs and sources with known answers.
import * as assert from 'assert';
import { parsePytorchModelPath } from '../../src/shared/modelFormats';
import { definesPytorchModel, modelClassOf, scanPythonSource } from '../../src/shared/pythonSource';
import { formatShape, shapeNotation } from '../../src/shared/shapes';
import { defaultModuleLayer } from '../../src/engine/models/pytorch/loadPytorch';
import { nameNodesByModule, type ModuleCall } from '../../src/engine/models/pytorch/moduleGraph';
import type { GraphProto, NodeProto } from '../../src/engine/models/onnx/onnxProto';
import type { LayerInfo } from '../../src/shared/types';

const text = (value: string) => new TextEncoder().encode(value);
const op = (opType: string, input: string[], output: string[], name = `/${opType}`): NodeProto =>
  ({ opType, input, output, name, domain: '', attribute: [] }) as unknown as NodeProto;
const mark = (kind: 'ModuleInput' | 'ModuleOutput', module: string, call: number, input: string, output: string): NodeProto =>
  ({
    opType: kind,
    domain: 'cnnlens',
    input: [input],
    output: [output],
    name: `/${kind}`,
    attribute: [
      { name: 'module', s: text(module) },
      { name: 'call', i: call },
    ],
  }) as unknown as NodeProto;
const graph = (nodes: NodeProto[], output: string): GraphProto =>
  ({ node: nodes, initializer: [], input: [{ name: 'input' }], output: [{ name: output }] }) as unknown as GraphProto;

describe('PyTorch layer names from module marks', () => {
  it('names the SimpleCNN graph as the user wrote it: conv1, pool, pool (call 2), functional relus and the view', () => {
    // x = pool(relu(conv1(x))); x = pool(relu(conv2(x))); x = x.view(-1, 2048); fc1(x), as torch.onnx.export writes it.
    const nodes = [
      mark('ModuleInput', 'conv1', 1, 'input', 'i1'),
      op('Conv', ['i1', 'conv1.weight', 'conv1.bias'], ['c1']),
      mark('ModuleOutput', 'conv1', 1, 'c1', 'o1'),
      op('Relu', ['o1'], ['r1']),
      mark('ModuleInput', 'pool', 1, 'r1', 'i2'),
      op('MaxPool', ['i2'], ['p1']),
      mark('ModuleOutput', 'pool', 1, 'p1', 'o2'),
      mark('ModuleInput', 'conv2', 1, 'o2', 'i3'),
      op('Conv', ['i3', 'conv2.weight', 'conv2.bias'], ['c2']),
      mark('ModuleOutput', 'conv2', 1, 'c2', 'o3'),
      op('Relu', ['o3'], ['r2']),
      mark('ModuleInput', 'pool', 2, 'r2', 'i4'),
      op('MaxPool', ['i4'], ['p2']),
      mark('ModuleOutput', 'pool', 2, 'p2', 'o4'),
      op('Constant', [], ['shape']),
      op('Reshape', ['o4', 'shape'], ['v']),
      mark('ModuleInput', 'fc1', 1, 'v', 'i5'),
      op('Gemm', ['i5', 'fc1.weight', 'fc1.bias'], ['g']),
      mark('ModuleOutput', 'fc1', 1, 'g', 'scores'),
    ];
    const named = nameNodesByModule(graph(nodes, 'scores'), 'model.py');
    assert.deepStrictEqual(
      named.graph.node.map((n) => `${n.opType} ${n.name} <- ${n.input[0] ?? ''}`),
      [
        'Conv conv1 <- input',
        'Relu relu after conv1 <- c1',
        'MaxPool pool <- r1',
        'Conv conv2 <- p1',
        'Relu relu after conv2 <- c2',
        'MaxPool pool (call 2) <- r2',
        'Constant constant <- ',
        'Reshape reshape after pool (call 2) <- p2',
        'Gemm fc1 <- v',
      ],
    );
    assert.ok(named.graph.node.every((n) => n.domain !== 'cnnlens'), 'no marks left');
    assert.strictEqual(named.graph.output[0].name, 'g', 'the graph output follows the dropped mark');
    assert.deepStrictEqual(named.modules.get('pool (call 2)'), { module: 'pool', call: 2 });
    assert.strictEqual(named.modules.get('relu after conv1'), undefined, 'functional nodes belong to no module');
  });

  it('gives containers and pass-through modules Identity layers, so a CAM can cut at them', () => {
    // layer1 (a Sequential) holds block 0, whose output is its relu's (called twice); then a
    // Dropout that in eval passes its input through.
    const nodes = [
      mark('ModuleInput', 'layer1', 1, 'input', 'a0'),
      mark('ModuleInput', 'layer1.0', 1, 'a0', 'a1'),
      mark('ModuleInput', 'layer1.0.conv', 1, 'a1', 'a2'),
      op('Conv', ['a2', 'w'], ['c']),
      mark('ModuleOutput', 'layer1.0.conv', 1, 'c', 'c_'),
      op('Add', ['c_', 'a1'], ['s']),
      mark('ModuleInput', 'layer1.0.relu', 2, 's', 's_'),
      op('Relu', ['s_'], ['r']),
      mark('ModuleOutput', 'layer1.0.relu', 2, 'r', 'r_'),
      mark('ModuleOutput', 'layer1.0', 1, 'r_', 'b'),
      mark('ModuleOutput', 'layer1', 1, 'b', 'l'),
      mark('ModuleInput', 'drop', 1, 'l', 'd_in'),
      mark('ModuleOutput', 'drop', 1, 'd_in', 'd'),
      op('GlobalAveragePool', ['d'], ['g']),
    ];
    const named = nameNodesByModule(graph(nodes, 'g'), 'resnet.py');
    assert.deepStrictEqual(
      named.graph.node.map((n) => `${n.opType} ${n.name} ${n.input.join(',')}->${n.output.join(',')}`),
      [
        'Conv layer1.0.conv input,w->c',
        'Add add after layer1.0.conv c,input->s',
        'Relu layer1.0.relu (call 2) s->r',
        'Identity layer1.0 r->b',
        'Identity layer1 b->l',
        'Identity drop l->d',
        'GlobalAveragePool adaptive_avg_pool2d after drop d->g',
      ],
    );
    assert.deepStrictEqual(named.modules.get('layer1'), { module: 'layer1', call: 1 });
  });

  it('keeps names unique when functional nodes repeat', () => {
    const nodes = [
      mark('ModuleInput', 'conv', 1, 'input', 'i'),
      op('Conv', ['i', 'w'], ['c']),
      mark('ModuleOutput', 'conv', 1, 'c', 'o'),
      op('Relu', ['o'], ['r1']),
      op('Relu', ['r1'], ['r2']),
      op('Relu', ['r2'], ['r3']),
    ];
    const names = nameNodesByModule(graph(nodes, 'r3'), 'm.py').graph.node.map((n) => n.name);
    assert.deepStrictEqual(names, ['conv', 'relu after conv', 'relu after conv (2)', 'relu after conv (3)']);
  });

  it('refuses marks without a module name, naming the file', () => {
    const broken = { ...mark('ModuleOutput', 'x', 1, 'input', 'o'), attribute: [] } as unknown as NodeProto;
    assert.throws(() => nameNodesByModule(graph([broken], 'o'), '/w/model.py'), /\/w\/model\.py: a ModuleOutput mark without its module name/);
  });
});

describe('PyTorch default CAM layer (the outermost module holding the last convolution)', () => {
  const layer = (name: string, className: string, outputShape: (number | null)[]): LayerInfo => ({
    name,
    className,
    outputShape,
    params: 0,
    trainable: false,
    spatial: outputShape.length === 4,
    depth: 0,
  });
  const calls = (...names: [string, string, number][]) => new Map<string, ModuleCall>(names.map(([layerName, module, call]) => [layerName, { module, call }]));

  it('ResNet: layer4, not the conv inside it or the pooled 1x1 map', () => {
    const layers = [
      layer('layer4.1.conv2', 'Conv', [null, 7, 7, 512]),
      layer('layer4.1.bn2', 'BatchNormalization', [null, 7, 7, 512]),
      layer('layer4.1.relu (call 2)', 'Relu', [null, 7, 7, 512]),
      layer('layer4.1', 'Identity', [null, 7, 7, 512]),
      layer('layer4', 'Identity', [null, 7, 7, 512]),
      layer('avgpool', 'GlobalAveragePool', [null, 1, 1, 512]),
      layer('fc', 'Gemm', [null, 1000]),
    ];
    const modules = calls(
      ['layer4.1.conv2', 'layer4.1.conv2', 1],
      ['layer4.1.bn2', 'layer4.1.bn2', 1],
      ['layer4.1.relu (call 2)', 'layer4.1.relu', 2],
      ['layer4.1', 'layer4.1', 1],
      ['layer4', 'layer4', 1],
      ['avgpool', 'avgpool', 1],
      ['fc', 'fc', 1],
    );
    assert.strictEqual(defaultModuleLayer(layers, modules), 'layer4');
  });

  it('goes inward when the outermost module ends in a 1x1 map, and gives up on a functional convolution', () => {
    const layers = [layer('body.0', 'Conv', [null, 8, 8, 16]), layer('body.1', 'GlobalAveragePool', [null, 1, 1, 16]), layer('body', 'Identity', [null, 1, 1, 16])];
    const modules = calls(['body.0', 'body.0', 1], ['body.1', 'body.1', 1], ['body', 'body', 1]);
    assert.strictEqual(defaultModuleLayer(layers, modules), 'body.0');
    assert.strictEqual(defaultModuleLayer([layer('conv2d after input', 'Conv', [null, 8, 8, 4])], new Map()), undefined);
  });
});

describe('PyTorch model sources read without running them', () => {
  it('finds nn.Module subclasses through nn.*, imported names, other classes of the file and Lightning', () => {
    const source = [
      'import torch',
      'from torch import nn',
      'from torch.nn import Module',
      'import pytorch_lightning as pl',
      '"""class NotAModel(nn.Module): in a docstring"""',
      '# class AlsoNot(nn.Module): in a comment',
      'class Block(nn.Module):',
      '    pass',
      'class Net(Block):',
      '    def __init__(self):',
      '        self.block = Block()',
      'class Lit(pl.LightningModule):',
      '    pass',
      'class Plain(Module):',
      '    pass',
      'class Config:',
      '    size = 3',
      'class Seq(torch.nn.Sequential):',
      '    pass',
    ].join('\n');
    const scanned = scanPythonSource(source);
    assert.deepStrictEqual(
      scanned.classes.map((c) => `${c.name}:${c.isModule}:${c.line}`),
      ['Block:true:7', 'Net:true:9', 'Lit:true:12', 'Plain:true:14', 'Config:false:16', 'Seq:true:18'],
    );
    assert.ok(definesPytorchModel(scanned));
    assert.ok(!definesPytorchModel(scanPythonSource('class Net(nn.Module):\n    pass\n')), 'no torch import: not a PyTorch file');
    assert.ok(!definesPytorchModel(scanPythonSource('import torch\nx = torch.zeros(3)\n')), 'torch without a model');
    assert.ok(definesPytorchModel(scanPythonSource('import torchvision\n\ndef create_model():\n    return torchvision.models.resnet18()\n')), 'a factory');
  });

  it('names the model class as the bridge picks it: the only one, or the one no other class uses', () => {
    const simple = 'import torch.nn as nn\nclass SimpleCNN(nn.Module):\n    pass\n';
    assert.strictEqual(modelClassOf(simple), 'SimpleCNN');
    const blocks = 'import torch.nn as nn\nclass Block(nn.Module):\n    pass\n\nclass ResNet(nn.Module):\n    def __init__(self):\n        self.b = Block()\n';
    assert.strictEqual(modelClassOf(blocks), 'ResNet');
    const two = 'import torch.nn as nn\nclass A(nn.Module):\n    pass\nclass B(nn.Module):\n    pass\n';
    assert.strictEqual(modelClassOf(two), undefined, 'two unrelated models: the user must say which');
    assert.strictEqual(modelClassOf('import torch.nn as nn\nclass A(nn.Module):\n    pass\ndef create_model():\n    return A()\n'), undefined, 'a factory decides');
  });

  it('parses model paths: model.py, model.py:ClassName, checkpoints and TorchScript files', () => {
    assert.deepStrictEqual(parsePytorchModelPath('/w/model.py'), { file: '/w/model.py', kind: 'source' });
    assert.deepStrictEqual(parsePytorchModelPath('/w/model.py:SimpleCNN'), { file: '/w/model.py', className: 'SimpleCNN', kind: 'source' });
    assert.deepStrictEqual(parsePytorchModelPath('C:\\w\\nets.py:Net2'), { file: 'C:\\w\\nets.py', className: 'Net2', kind: 'source' });
    assert.deepStrictEqual(parsePytorchModelPath('/w/simple_cnn.PTH'), { file: '/w/simple_cnn.PTH', kind: 'torch-file' });
    assert.strictEqual(parsePytorchModelPath('/w/model.json'), null);
    assert.strictEqual(parsePytorchModelPath('/w/model.py:not a class'), null);
  });

  it('shows shapes as PyTorch does for PyTorch models, channels-last otherwise', () => {
    assert.strictEqual(formatShape([null, 16, 16, 32], 'NCHW'), '1×32×16×16');
    assert.strictEqual(formatShape([null, 10], 'NCHW'), '1×10');
    assert.strictEqual(formatShape([null, 16, 16, 32]), '16×16×32');
    assert.strictEqual(shapeNotation('NCHW'), 'N×C×H×W', 'said once beside a list of shapes');
    assert.strictEqual(shapeNotation(undefined), 'H×W×C');
    assert.strictEqual(formatShape([]), 'unknown');
  });
});
