// Entry point VS Code's extension host loads through `--extensionTestsPath`: runs the mocha suite
// inside the Extension Development Host, where the `vscode` API is real. Bundled by ../runTest.ts
// (mocha included: mocha 12 is ESM-only and the extension host's Node cannot `require` ESM).
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: true, timeout: 120_000, reporter: 'spec' });
  // Define describe/it/before... as globals first, then load the test file so it registers on them.
  mocha.suite.emit('pre-require', globalThis, 'gradcam.test', mocha);
  require('./gradcam.test');
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) {
    throw new Error(`${failures} CNN Lens integration test(s) failed`);
  }
}
