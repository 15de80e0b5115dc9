// Which Python the extension hands the engine for PyTorch models (src/host/pythonChoice.ts): the
// machine setting first, then the Python extension's selected interpreter through its API, else
// none (the engine searches the PATH). The Python extension is faked: its API is what is tested.
import * as assert from 'assert';
import { choosePython, PYTHON_EXTENSION_SOURCE, PYTHON_SETTING_SOURCE, type PythonEnvironmentsApi } from '../../src/host/pythonChoice';

function fakeEnvironments(active: string | undefined, executable: string | undefined, calls: unknown[] = []): PythonEnvironmentsApi {
  return {
    getActiveEnvironmentPath: (resource) => {
      calls.push(['active', resource]);
      return active === undefined ? undefined : { path: active };
    },
    resolveEnvironment: async (environment) => {
      calls.push(['resolve', environment]);
      return executable === undefined ? undefined : { executable: { uri: { fsPath: executable } } };
    },
  };
}

describe('the Python that runs PyTorch models (extension side)', () => {
  it('"cnnLens.pythonPath" wins, trimmed, without asking the Python extension', async () => {
    const calls: unknown[] = [];
    assert.deepStrictEqual(await choosePython('  /opt/venv/bin/python \n', fakeEnvironments('/usr/bin/python3', '/usr/bin/python3', calls)), {
      path: '/opt/venv/bin/python',
      source: PYTHON_SETTING_SOURCE,
    });
    assert.deepStrictEqual(calls, []);
  });

  it("else the Python extension's selected interpreter, resolved to its executable for the resource", async () => {
    const calls: unknown[] = [];
    const choice = await choosePython('', fakeEnvironments('/home/u/proj/.venv', '/home/u/proj/.venv/bin/python', calls), 'file:///home/u/proj');
    assert.deepStrictEqual(choice, { path: '/home/u/proj/.venv/bin/python', source: PYTHON_EXTENSION_SOURCE });
    assert.deepStrictEqual(calls, [
      ['active', 'file:///home/u/proj'],
      ['resolve', { path: '/home/u/proj/.venv' }],
    ]);
  });

  it('else nothing: no Python extension, no selection, an environment without an executable, or an API that throws', async () => {
    const lines: string[] = [];
    assert.deepStrictEqual(await choosePython('', undefined), {});
    assert.deepStrictEqual(await choosePython('', fakeEnvironments(undefined, undefined)), {});
    assert.deepStrictEqual(await choosePython('', fakeEnvironments('/x/env', undefined), undefined, (l) => lines.push(l)), {});
    const throwing: PythonEnvironmentsApi = {
      getActiveEnvironmentPath: () => {
        throw new Error('not ready');
      },
      resolveEnvironment: async () => undefined,
    };
    assert.deepStrictEqual(await choosePython('', throwing, undefined, (l) => lines.push(l)), {});
    assert.deepStrictEqual(lines, [
      "python: the Python extension's interpreter /x/env has no executable; searching the PATH",
      'python: cannot ask the Python extension for its interpreter (not ready); searching the PATH',
    ]);
  });
});
