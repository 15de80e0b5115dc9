// The sample network written as code: CNN Lens bundles this file, runs createModel() in its engine
// and shows the model it returns, like model.json beside it. Edit a layer and save: the panel,
// the CodeLens above each layer call and the hovers follow. (CNN Lens provides @tensorflow/tfjs
// itself; no npm install is needed to run this file, only for your editor's type checking.)
import * as tf from '@tensorflow/tfjs';

/** Fashion-MNIST scenes: 64×64 RGB in, 10 garment classes out (see labels.txt). */
function buildArchitecture(): tf.Sequential {
  return tf.sequential({
    name: 'fashion_scenes_cnn',
    layers: [
      tf.layers.conv2d({ name: 'conv1', inputShape: [64, 64, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same' }),
      tf.layers.batchNormalization({ name: 'bn2', epsilon: 1e-5 }),
      tf.layers.activation({ name: 'relu2', activation: 'relu' }),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv3', filters: 48, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ name: 'pool3', poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv4', filters: 96, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ name: 'predictions', units: 10, activation: 'softmax' }),
    ],
  });
}

export async function createModel(): Promise<tf.LayersModel> {
  const model = buildArchitecture();
  // The trained weights, from the model.json beside this file, copied layer by layer by name.
  const trained = await tf.loadLayersModel(new URL('./model.json', import.meta.url).href);
  try {
    for (const layer of model.layers) {
      layer.setWeights(trained.getLayer(layer.name).getWeights());
    }
  } finally {
    trained.dispose();
  }
  return model;
}
