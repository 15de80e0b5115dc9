// CNN Lens in Korean, end to end in a real VS Code (code-server + chromium, see gradcam.e2e.test.ts
// for the machinery), with the display language set to Korean: code-server started with
// `--locale ko` and a language pack for "ko" installed (a stand-in without translations, see
// languagePack.ts: VS Code's own menus stay English, but vscode.env.language is "ko", so VS Code
// loads CNN Lens's package.nls.ko.json and l10n/bundle.l10n.ko.json). Checks what a Korean-speaking
// user meets first: the command palette, a quick pick, a notification, the panel (captions, tabs,
// status line, the ⓘ explanation of the method), the CodeLens of model.json, and the Get Started
// walkthrough, whose first step's button copies the sample workspace to the folder picked and opens it.
// Screenshots: test-artifacts/e2e/l10n-*.png.
//
// Run: scripts/e2e/run.sh test/e2e/l10n.e2e.test.ts (or with the whole suite)
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, createSandbox, installExtension, type RunningCodeServer, type Sandbox } from './codeServer';
import { buildStubLanguagePack, registerLanguagePack } from './languagePack';
import { closeWorkbench, copySampleWorkspace, recordFailure, startWorkbench } from './session';
import {
  findWebviewFrame,
  notificationTexts,
  openWorkspace,
  pickQuickPickItem,
  quickInputPrompt,
  runCommandFromPalette,
  screenshot,
  visibleText,
  waitUntil,
} from './workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e');
const MODEL = 'model/model.json';
const PANEL_TIMEOUT_MS = 90_000;
const HANGUL = /[가-힣]/;

describe('CNN Lens in code-server with the display language Korean (end to end)', function () {
  let sandbox: Sandbox | undefined;
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let workspace = '';

  before(async function () {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const old of fs.readdirSync(ARTIFACTS).filter((file) => file.startsWith('l10n-'))) {
      fs.rmSync(path.join(ARTIFACTS, old), { recursive: true, force: true });
    }
    sandbox = createSandbox('cnn-lens-e2e-l10n-');
    workspace = copySampleWorkspace(sandbox, MODEL);
    installExtension(sandbox, buildStubLanguagePack(sandbox, 'ko', '한국어'));
    registerLanguagePack(sandbox, 'ko', '한국어');
    ({ server, browser } = await startWorkbench(sandbox, {
      logFile: path.join(ARTIFACTS, 'l10n-code-server.log'),
      settings: { 'editor.codeLens': true },
      args: ['--locale', 'ko'],
    }));
  });

  after(async function () {
    await closeWorkbench({ browser, server, sandbox }, path.join(ARTIFACTS, 'l10n-vscode-logs'));
  });

  afterEach(async function () {
    await recordFailure(this.currentTest, page, ARTIFACTS, 'l10n-');
  });

  it('the command palette, a quick pick and a notification speak Korean', async function () {
    page = await openWorkspace(browser!, server!.url, workspace);
    // package.nls.ko.json: the command's title.
    await runCommandFromPalette(page, 'CNN Lens: 모델 선택…');
    // vscode.l10n.t: the quick pick's title and placeholder.
    await waitUntil(async () => (await quickInputPrompt(page!)).includes('이미지를 설명할 모델을 선택하세요'), 30_000, 'the Korean model quick pick');
    assert.match(await quickInputPrompt(page), /CNN Lens: 모델 선택/);
    await pickQuickPickItem(page, MODEL);
    await waitUntil(
      async () => (await notificationTexts(page!)).some((text) => text.includes('CNN Lens: 이제 Grad-CAM 보기에서 model/model.json을(를) 사용합니다.')),
      30_000,
      'the Korean notification',
    );
    await screenshot(page, path.join(ARTIFACTS, 'l10n-01-notification.png'));
  });

  it('the panel: captions, tabs, status line and the ⓘ explanation of the method in Korean', async function () {
    await runCommandFromPalette(page!, 'CNN Lens: Grad-CAM 보기');
    await waitUntil(async () => (await quickInputPrompt(page!)).includes('설명할 이미지를 선택하세요'), 30_000, 'the Korean image quick pick');
    await pickQuickPickItem(page!, 'sample.png');
    const frame = await findWebviewFrame(page!, '#predictions', PANEL_TIMEOUT_MS);
    // The status line is built by the host (src/shared/statusLine.ts through vscode.l10n.t).
    await waitUntil(async () => /의 Grad-CAM \(conv4\) · /.test(await visibleText(frame, '[data-testid="status"]')), PANEL_TIMEOUT_MS, 'the Korean status line');
    assert.strictEqual(await frame.locator('html').getAttribute('lang'), 'ko');
    // Static captions from the host's HTML and text the webview builds from the bundle it was given.
    assert.strictEqual((await visibleText(frame, '#method-caption')).trim(), '기법');
    assert.strictEqual((await visibleText(frame, '#class-caption')).trim(), '클래스');
    assert.strictEqual((await visibleText(frame, '#layer-caption')).trim(), '레이어');
    assert.strictEqual((await visibleText(frame, '#predictions-title')).trim(), '상위 예측');
    // As written (the tab bar's CSS capitalises "Grad-CAM" on screen).
    const tabs = (await frame.locator('#tabs [role="tab"]').allTextContents()).map((tab) => tab.trim());
    assert.deepStrictEqual(tabs, ['Grad-CAM', '비교', '활성화 맵', '필터', '모델']);
    const captions = await frame.locator('main.views figcaption').allInnerTexts();
    assert.deepStrictEqual(captions.map((c) => c.trim()), ['이미지', '히트맵', '오버레이']);

    // ⓘ beside the Method picker: the method explained in Korean, its paper cited as published.
    const info = frame.locator('[data-testid="method-info"]');
    assert.strictEqual(await info.getAttribute('aria-label'), '이 기법은 무엇을 보여 주나요?');
    await info.click();
    await waitUntil(async () => (await visibleText(frame, '[data-testid="method-explanation"]')).includes('논문: Selvaraju et al.'), 10_000, 'the Grad-CAM explanation');
    const explanation = await visibleText(frame, '[data-testid="method-explanation"]');
    assert.match(explanation, /클래스 점수의 그래디언트 평균/);
    assert.strictEqual(await info.getAttribute('aria-expanded'), 'true');
    await page!.waitForTimeout(300);
    await screenshot(page!, path.join(ARTIFACTS, 'l10n-02-panel.png'));
  });

  it('the CodeLens above the layers of model.json speak Korean', async function () {
    // The panel opened model.json in the editor group beside it.
    const modelEditor = page!.locator('.editor-group-container', { has: page!.locator('.tab', { hasText: 'model.json' }) }).first();
    const lens = modelEditor.locator('.codelens-decoration a', { hasText: '여기서 Grad-CAM' });
    await lens.first().waitFor({ timeout: PANEL_TIMEOUT_MS });
    const lensTexts = await modelEditor.locator('.codelens-decoration').allInnerTexts();
    assert.ok(
      lensTexts.some((text) => /^conv1 · 64×64×8\s*\|\s*활성화 맵\s*\|\s*필터\s*\|\s*여기서 Grad-CAM\s*\|\s*여기서 설명…/.test(text)),
      `conv1's lenses in Korean; lenses: ${JSON.stringify(lensTexts.slice(0, 4))}`,
    );
    await screenshot(page!, path.join(ARTIFACTS, 'l10n-03-codelens.png'));
  });

  it('the Get Started walkthrough opens in Korean; its first step copies the sample workspace into the folder picked and opens it', async function () {
    await runCommandFromPalette(page!, 'Welcome: Open Walkthrough...');
    await pickQuickPickItem(page!, 'CNN Lens 시작하기');
    const steps = page!.locator('.gettingStartedContainer');
    await steps.getByText('샘플 워크스페이스 열기').first().waitFor({ timeout: 30_000 });
    const text = await steps.innerText();
    for (const title of ['이미지에서 Grad-CAM 보기', '클래스와 레이어 바꾸기', '기법 비교와 지표', '내 모델 가져오기', '코딩하면서 살펴보기']) {
      assert.ok(text.includes(title), `step "${title}" in the walkthrough`);
    }
    await screenshot(page!, path.join(ARTIFACTS, 'l10n-04-walkthrough.png'));

    // The first step's button (a markdown command link rendered as a button) runs Open Sample Workspace…
    // (Not the step's own header, which is a button too and holds the same words with its description.)
    const button = steps.getByRole('button', { name: '샘플 워크스페이스 열기', exact: true }).first();
    await button.click();
    await waitUntil(async () => (await quickInputPrompt(page!)).includes('CNN Lens: 샘플 워크스페이스를 복사할 위치'), 30_000, 'the folder dialog of Open Sample Workspace…');
    await screenshot(page!, path.join(ARTIFACTS, 'l10n-05-sample-folder-dialog.png'));
    // code-server's file dialog is a quick input holding a path: type the folder, accept with the Korean OK button.
    const parent = path.join(sandbox!.home, 'projects');
    fs.mkdirSync(parent, { recursive: true });
    await page!.locator('.quick-input-widget .quick-input-box input').fill(`${parent}/`);
    await page!.waitForTimeout(500);
    await page!.locator('.quick-input-widget .monaco-button', { hasText: '여기에 샘플 복사' }).first().click();
    const copy = path.join(parent, 'cnn-lens-sample');
    await waitUntil(async () => fs.existsSync(path.join(copy, 'model', 'model.json')) && fs.existsSync(path.join(copy, 'pytorch', 'simple_cnn.pth')), 30_000, 'the sample copied');
    // Every file of the shipped sample, byte for byte.
    for (const file of ['model/group1-shard1of1.bin', 'images/sample.png', 'pytorch/model.py']) {
      assert.ok(fs.readFileSync(path.join(copy, file)).equals(fs.readFileSync(path.join(REPO_ROOT, 'samples', 'workspace', file))), file);
    }
    // …and the window opens the copy.
    await waitUntil(async () => decodeURIComponent(page!.url()).includes(copy), 60_000, `the window to open ${copy} (url: ${page!.url()})`);
    await page!.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    await screenshot(page!, path.join(ARTIFACTS, 'l10n-06-sample-opened.png'));
  });
});
