// Integration tests in a desktop VS Code (Extension Development Host) with the sample workspace
// open: the extension stays dormant until a CNN Lens command runs, contributes "Show Grad-CAM" to
// the explorer menu for images, and opens its panel beside the model file. What the panel draws
// (predictions, heatmap pixels) is checked by the code-server e2e suite in test/e2e/, which can see
// inside the webview; the extension host cannot.
import * as assert from 'node:assert';
import * as vscode from 'vscode';

const EXTENSION_ID = 'cnn-lens.cnn-lens';
const COMMAND = 'cnnLens.showGradCam';
const IMAGE = ['images', 'sample.png'];
const MODEL_SUFFIX = '/model/model.json';
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'bmp', 'gif', 'webp'];

interface MenuItem {
  command: string;
  when?: string;
}

describe('CNN Lens in VS Code (integration)', function () {
  let extension: vscode.Extension<unknown>;
  let workspaceRoot: vscode.Uri;

  before(function () {
    const found = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is not loaded in the Extension Development Host`);
    extension = found;
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder open: runTest.ts opens a copy of samples/workspace');
    workspaceRoot = folder.uri;
  });

  it('stays inactive until a CNN Lens command runs', function () {
    assert.strictEqual(extension.isActive, false, 'the extension activated at startup: activation must be lazy');
  });

  it('contributes Show Grad-CAM to the explorer context menu for every supported image type', function () {
    const contributes = (extension.packageJSON as { contributes?: { commands?: Array<{ command: string; title: string; category?: string }>; menus?: Record<string, MenuItem[]> } }).contributes;
    const command = contributes?.commands?.find((c) => c.command === COMMAND);
    assert.ok(command, `package.json does not contribute ${COMMAND}`);
    assert.strictEqual(`${command.category ? `${command.category}: ` : ''}${command.title}`, 'CNN Lens: Show Grad-CAM');
    const explorerItem = contributes?.menus?.['explorer/context']?.find((m) => m.command === COMMAND);
    assert.ok(explorerItem?.when, `${COMMAND} is not in explorer/context with a "when" clause`);
    for (const ext of IMAGE_EXTENSIONS) {
      assert.match(explorerItem.when, new RegExp(ext, 'i'), `explorer/context "when" does not cover .${ext}`);
    }
  });

  it('Show Grad-CAM on an image opens the panel beside the model file', async function () {
    const image = vscode.Uri.joinPath(workspaceRoot, ...IMAGE);
    await vscode.commands.executeCommand(COMMAND, image);
    assert.ok(extension.isActive, 'the extension did not activate when its command ran');

    const panel = await waitFor(() => findTab((input) => input instanceof vscode.TabInputWebview), 60_000, 'the CNN Lens panel');
    const model = await waitFor(
      () => findTab((input) => input instanceof vscode.TabInputText && input.uri.path.endsWith(MODEL_SUFFIX)),
      10_000,
      'model.json open in an editor',
    );
    assert.notStrictEqual(panel.group.viewColumn, model.group.viewColumn, 'the panel and the model file share a column: the panel must open beside the model');
  });
});

function findTab(match: (input: unknown) => boolean): vscode.Tab | undefined {
  for (const group of vscode.window.tabGroups.all) {
    const tab = group.tabs.find((t) => match(t.input));
    if (tab) {
      return tab;
    }
  }
  return undefined;
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) {
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
