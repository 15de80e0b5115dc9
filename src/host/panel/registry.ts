// Open CNN Lens panels and the one the user worked with last, for commands that act on "the
// current panel" (Export Overlay, Select Model). Also keeps the `cnnLens.hasPanel` context key
// that shows those commands in the palette only when they can do something.
import * as vscode from 'vscode';

export interface RegisteredPanel {
  readonly active: boolean;
  onDidBecomeActive(listener: () => void): vscode.Disposable;
  onDidDispose(listener: () => void): vscode.Disposable;
}

export class PanelRegistry<P extends RegisteredPanel> implements vscode.Disposable {
  private readonly panels = new Set<P>();
  private lastActive: P | undefined;
  private readonly subscriptions = new Map<P, vscode.Disposable[]>();

  /** `onEmpty`: called when the last panel closes (the extension gives the engine's memory back). */
  constructor(private readonly onEmpty: () => void = () => undefined) {}

  add(panel: P): void {
    this.panels.add(panel);
    this.lastActive = panel;
    this.subscriptions.set(panel, [
      panel.onDidBecomeActive(() => (this.lastActive = panel)),
      panel.onDidDispose(() => this.remove(panel)),
    ]);
    this.updateContext();
  }

  /** The focused panel, else the last one focused, else any. */
  get active(): P | undefined {
    for (const panel of this.panels) {
      if (panel.active) {
        return panel;
      }
    }
    return this.lastActive ?? this.panels.values().next().value;
  }

  all(): P[] {
    return [...this.panels];
  }

  dispose(): void {
    for (const disposables of this.subscriptions.values()) {
      disposables.forEach((d) => d.dispose());
    }
    this.subscriptions.clear();
    this.panels.clear();
    this.lastActive = undefined;
  }

  private remove(panel: P): void {
    this.panels.delete(panel);
    this.subscriptions.get(panel)?.forEach((d) => d.dispose());
    this.subscriptions.delete(panel);
    if (this.lastActive === panel) {
      this.lastActive = undefined;
    }
    this.updateContext();
    if (this.panels.size === 0) {
      this.onEmpty();
    }
  }

  private updateContext(): void {
    void vscode.commands.executeCommand('setContext', 'cnnLens.hasPanel', this.panels.size > 0);
  }
}
