// Messages from the model viewer's page (src/host/editors/modelSummaryHtml.ts) to its host
// (src/host/editors/modelViewer.ts). All are commands: the page asks nothing back.

/** "Explain an Image with This Model…": pick an image and open the panel with this model. */
export interface ViewerExplainCommand {
  type: 'explain';
}

/** "Try Again" after the model failed to load: read it again from the disk. */
export interface ViewerReloadCommand {
  type: 'reload';
}

/** A layer's name clicked: its activations in the panel (Visualize Layer). */
export interface ViewerActivationsCommand {
  type: 'activations';
  layer: string;
}

export type ModelViewerToHost = ViewerExplainCommand | ViewerReloadCommand | ViewerActivationsCommand;
