import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalStackConfig } from '../../shared/config.js';
import { locateModule, type ModuleFolders } from '../../shared/module-folders.js';

let scratch: string;
let folders: ModuleFolders;
beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'shoal-module-folders-')));
  for (const dir of ['app', 'app-evil', 'elsewhere', 'app/lib']) await mkdir(join(scratch, dir));
  for (const file of ['app/lib/handler.mjs', 'app-evil/handler.mjs', 'elsewhere/handler.mjs']) {
    await writeFile(join(scratch, file), 'export const handler = () => undefined;\n');
  }
  await symlink(join(scratch, 'elsewhere/handler.mjs'), join(scratch, 'app/escape.mjs'));
  await symlink(join(scratch, 'elsewhere'), join(scratch, 'app/linked-dir'));
  await symlink(join(scratch, 'app/lib/handler.mjs'), join(scratch, 'app/alias.mjs'));
  folders = { baseDir: join(scratch, 'app'), moduleDirs: [join(scratch, 'app')] };
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('locateModule', () => {
  it('finds a module below an allowed folder, relative or absolute', () => {
    const real = join(scratch, 'app/lib/handler.mjs');

    expect(locateModule('lib/handler.mjs', folders)).toEqual({ kind: 'inside', path: real });
    expect(locateModule(real, folders)).toEqual({ kind: 'inside', path: real });
  });

  it('finds a symlink inside that points inside, by its real path', () => {
    expect(locateModule('alias.mjs', folders)).toEqual({
      kind: 'inside',
      path: join(scratch, 'app/lib/handler.mjs'),
    });
  });

  it.each([
    ['climbs out with ..', 'lib/../../elsewhere/handler.mjs'],
    ['is a symlink to a file outside', 'escape.mjs'],
    ['is in a symlinked folder outside', 'linked-dir/handler.mjs'],
    ['is in a sibling whose name starts like the folder', '../app-evil/handler.mjs'],
    ['is absolute elsewhere', '/etc/hostname'],
  ])('fails when the module %s', (_, module) => {
    expect(locateModule(module, folders).kind).toBe('outside');
  });

  it('tells a missing file inside from one outside without telling whether the outside one exists', () => {
    expect(locateModule('lib/none.mjs', folders).kind).toBe('missing');
    expect(locateModule('../elsewhere/none.mjs', folders).kind).toBe('outside');
    expect(locateModule('../elsewhere/handler.mjs', folders).kind).toBe('outside');
  });

  it('fails when the module is an allowed folder itself', () => {
    expect(locateModule('.', folders).kind).toBe('outside');
  });
});

describe('SHOAL_MODULE_DIRS', () => {
  it('defaults to the working directory', () => {
    expect(readLocalStackConfig({}).moduleDirs).toEqual([process.cwd()]);
  });

  it('lists real paths of the folders given', () => {
    const listed = [join(scratch, 'app/linked-dir'), join(scratch, 'app')].join(delimiter);

    expect(readLocalStackConfig({ SHOAL_MODULE_DIRS: listed }).moduleDirs).toEqual([
      join(scratch, 'elsewhere'),
      join(scratch, 'app'),
    ]);
  });

  it('fails when a folder does not exist, naming the variable', () => {
    expect(() => readLocalStackConfig({ SHOAL_MODULE_DIRS: join(scratch, 'nowhere') })).toThrow(
      `SHOAL_MODULE_DIRS lists ${join(scratch, 'nowhere')}, which does not exist`,
    );
  });

  it('fails when an entry is a file', () => {
    expect(() => readLocalStackConfig({ SHOAL_MODULE_DIRS: join(scratch, 'app/lib/handler.mjs') })).toThrow(
      /which is not a folder/,
    );
  });
});
