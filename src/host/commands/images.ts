// Which image to explain: the one the command was invoked on (explorer, editor title), else one the
// user picks from the workspace's images (the active image preview first) or from a file dialog.
import * as path from 'path';
import * as vscode from 'vscode';

/** Extensions the engine decodes; the explorer and editor-title menus use the same list. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'bmp', 'gif', 'webp'] as const;

const IMAGE_PREVIEW_VIEW_TYPE = 'imagePreview.previewEditor';
const MAX_IMAGES = 2000;

export function isSupportedImage(uri: vscode.Uri): boolean {
  const ext = path.extname(uri.path).slice(1).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

/** The image shown in the active editor tab (VS Code's image preview is a custom editor). */
export function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType === IMAGE_PREVIEW_VIEW_TYPE && isSupportedImage(input.uri)) {
    return input.uri;
  }
  return undefined;
}

/** Asks for an image: a quick pick of the workspace's images plus "Browse…". */
export async function pickImage(prompt: { title?: string; placeHolder?: string } = {}): Promise<vscode.Uri | undefined> {
  const pattern = `**/*.{${IMAGE_EXTENSIONS.flatMap((e) => [e, e.toUpperCase()]).join(',')}}`;
  const found = await vscode.workspace.findFiles(pattern, '**/node_modules/**', MAX_IMAGES);
  const current = activeImage();
  const uris = found.filter((uri) => uri.toString() !== current?.toString()).sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  type Item = vscode.QuickPickItem & { uri?: vscode.Uri };
  const toItem = (uri: vscode.Uri, detail?: string): Item => ({
    label: path.basename(uri.fsPath),
    description: path.dirname(vscode.workspace.asRelativePath(uri, true)),
    detail,
    uri,
  });
  const items: Item[] = [
    ...(current ? [toItem(current, 'open in the editor')] : []),
    ...uris.map((uri) => toItem(uri)),
    { label: '$(folder-opened) Browse…', description: 'an image outside the workspace' },
  ];
  const chosen = await vscode.window.showQuickPick(items, {
    title: prompt.title ?? 'CNN Lens: Show Grad-CAM',
    placeHolder: prompt.placeHolder ?? `Select an image to explain (${IMAGE_EXTENSIONS.join(', ')})`,
    matchOnDescription: true,
  });
  if (!chosen) {
    return undefined;
  }
  if (chosen.uri) {
    return chosen.uri;
  }
  const picked = await vscode.window.showOpenDialog({
    title: 'CNN Lens: Select an image',
    canSelectMany: false,
    openLabel: 'Explain',
    filters: { Images: [...IMAGE_EXTENSIONS] },
  });
  return picked?.[0];
}
