/**
 * Where the local stack may load subscription modules from. A module target names a file that the
 * stack imports and runs in its own process, so it is confined to folders the user chose when
 * starting the stack (`SHOAL_MODULE_DIRS`, by default the working directory). Both the target check
 * at creation (`shared/subscription-services.ts`) and the invoker (`local/module-invoker.ts`) ask
 * {@link locateModule}, so a subscription stored before the folders changed is refused too.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Where a module target points. */
export type ModuleLocation =
  /** Inside an allowed folder; `path` is the real path (symlinks resolved): import this one. */
  | { readonly kind: 'inside'; readonly path: string }
  /** Would be inside an allowed folder, but no such file exists. */
  | { readonly kind: 'missing'; readonly path: string }
  /** Outside every allowed folder, once `..` and symlinks are resolved (whether it exists or not). */
  | { readonly kind: 'outside'; readonly path: string };

/** The folders modules may be loaded from, and the folder relative module paths start at. */
export interface ModuleFolders {
  /** Relative module paths are resolved from here (the stack's working directory). */
  readonly baseDir: string;
  /** The allowed folders; a module must be inside one of them after symlinks are resolved. */
  readonly moduleDirs: readonly string[];
}

/** The folders of a runtime's config: `moduleDirs`, or the working directory when it has none. */
export function moduleFoldersOf(config: {
  readonly moduleDirs?: readonly string[] | undefined;
}): ModuleFolders {
  const baseDir = process.cwd();
  return { baseDir, moduleDirs: config.moduleDirs ?? [baseDir] };
}

/**
 * Resolves `module` against the allowed folders. A file that exists is judged by its real path, so
 * a symlink inside a folder that points outside is outside; a file that does not exist is judged by
 * its path with `..` resolved, so the answer never tells whether a file outside exists.
 *
 * @example
 * locateModule('../elsewhere/x.mjs', { baseDir: '/work/app', moduleDirs: ['/work/app'] });
 * // { kind: 'outside', path: '/work/elsewhere/x.mjs' }
 */
export function locateModule(module: string, folders: ModuleFolders): ModuleLocation {
  const path = resolve(folders.baseDir, module);
  const dirs = folders.moduleDirs.flatMap((dir) => {
    const absolute = resolve(folders.baseDir, dir);
    const real = realPath(absolute);
    return real === undefined ? [] : [{ absolute, real }];
  });
  const real = realPath(path);
  if (real === undefined) {
    const below = dirs.some((dir) => isBelow(dir.real, path) || isBelow(dir.absolute, path));
    return below ? { kind: 'missing', path } : { kind: 'outside', path };
  }
  return dirs.some((dir) => isBelow(dir.real, real))
    ? { kind: 'inside', path: real }
    : { kind: 'outside', path };
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Whether `path` lies below `dir` (both absolute and normalized). */
function isBelow(dir: string, path: string): boolean {
  const rest = relative(dir, path);
  return rest !== '' && rest !== '..' && !rest.startsWith(`..${sep}`) && !isAbsolute(rest);
}
