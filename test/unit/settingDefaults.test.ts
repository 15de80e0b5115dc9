import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { SETTING_CHOICES, SETTING_DEFAULTS, SETTING_RANGES, type SettingValues } from '../../src/shared/settingDefaults';
import { DEFAULT_VIEW } from '../../src/shared/panel';

interface ContributedSetting {
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

/** package.json's `cnnLens.*` settings, keyed without the section. */
function contributedSettings(): Record<string, ContributedSetting> {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, ContributedSetting> } | Array<{ properties: Record<string, ContributedSetting> }> };
  };
  const sections = [manifest.contributes.configuration].flat();
  const settings: Record<string, ContributedSetting> = {};
  for (const section of sections) {
    for (const [key, setting] of Object.entries(section.properties)) {
      assert.ok(key.startsWith('cnnLens.'), `${key} is not in the cnnLens section`);
      settings[key.slice('cnnLens.'.length)] = setting;
    }
  }
  return settings;
}

describe('settings: one table of defaults (src/shared/settingDefaults.ts) and package.json agree', () => {
  const contributed = contributedSettings();

  it('lists the same settings', () => {
    assert.deepStrictEqual(Object.keys(contributed).sort(), Object.keys(SETTING_DEFAULTS).sort());
  });

  for (const key of Object.keys(SETTING_DEFAULTS) as (keyof SettingValues)[]) {
    it(`cnnLens.${key}: package.json's default is the table's (${JSON.stringify(SETTING_DEFAULTS[key])})`, () => {
      assert.deepStrictEqual(contributed[key]?.default, SETTING_DEFAULTS[key]);
    });
  }

  it('declares the same ranges and choices', () => {
    for (const [key, setting] of Object.entries(contributed)) {
      const range = SETTING_RANGES[key as keyof SettingValues];
      assert.deepStrictEqual({ minimum: setting.minimum, maximum: setting.maximum }, { minimum: range?.minimum, maximum: range?.maximum }, `cnnLens.${key}'s range`);
      assert.deepStrictEqual(setting.enum, SETTING_CHOICES[key as keyof SettingValues] ? [...SETTING_CHOICES[key as keyof SettingValues]!] : undefined, `cnnLens.${key}'s choices`);
    }
  });

  it('each default lies in its own range and choices', () => {
    for (const [key, range] of Object.entries(SETTING_RANGES)) {
      const value = SETTING_DEFAULTS[key as keyof SettingValues] as number;
      assert.ok(value >= (range.minimum ?? -Infinity) && value <= range.maximum, `${key} = ${value}`);
    }
    for (const [key, choices] of Object.entries(SETTING_CHOICES)) {
      assert.ok(choices.includes(SETTING_DEFAULTS[key as keyof SettingValues] as string), key);
    }
  });

  it("a restored panel without a colormap or opacity falls back to the settings' defaults", () => {
    assert.strictEqual(DEFAULT_VIEW.colormap, SETTING_DEFAULTS.defaultColormap);
    assert.strictEqual(DEFAULT_VIEW.opacity, SETTING_DEFAULTS.defaultOpacity);
  });
});
