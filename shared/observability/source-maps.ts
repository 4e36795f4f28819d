/**
 * Readable stack traces in the logs without `--enable-source-maps`. With that flag Node.js reads and
 * parses the source map of every bundle as it loads it (15-30% of a function's import time,
 * BENCHMARKS.md, cold starts) and maps every stack trace anything reads. Here nothing happens at a
 * cold start: the first time an error is logged (`logger.ts`) or escapes a handler
 * (`withSourceMappedErrors`), the map beside the bundle (`index.mjs.map`, which esbuild writes and
 * the CDK asset holds) is read once, parsed with Node's `SourceMap`, and the error's `stack` is
 * rewritten in place, so Powertools' `stack` and `location` and Lambda's own report of a thrown
 * error name the `.ts` file and line.
 *
 * Frames of files without a map beside them (Node's own, the local stack's unbundled sources) stay
 * as they are, and so does a stack when anything goes wrong: mapping a stack never throws.
 */
import { readFileSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A map larger than this is not read (the API bundles' maps are about 1.3 MB). */
const SOURCE_MAP_BYTES_MAX = 64 * 1024 * 1024;
/** Frames mapped per stack, past which the rest stay as they are (V8 records 10 by default). */
const FRAMES_MAPPED_MAX = 100;

/**
 * One frame of a V8 stack trace with a location: `at name (file:line:column)` or
 * `at file:line:column`, the file a path or a `file:` URL. Frames like `at async Promise.all
 * (index 0)` or `at native` have none and do not match.
 */
const FRAME = /^(\s*at (?:async )?)(?:(.*?) \()?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)(\)?)$/;

/** Each bundle's map, parsed at its first use; null when it has none (or an unreadable one). */
const maps = new Map<string, SourceMap | null>();

/** Errors whose stack was mapped already. */
const mapped = new WeakSet<Error>();

/** The errors of a cause chain (and of an AggregateError), each once, at most this many. */
const RELATED_ERRORS_MAX = 16;

/**
 * Rewrites the stack of `error`, of its `cause` chain and of an AggregateError's errors in place,
 * once each, and returns `error`: the frames of bundled code then name the original source file,
 * line and column (and function, where the map names it).
 */
export function mapErrorStack<T>(error: T): T {
  const pending: unknown[] = [error];
  let seen = 0;
  while (pending.length > 0 && seen < RELATED_ERRORS_MAX) {
    const next = pending.shift();
    if (!(next instanceof Error) || mapped.has(next)) continue;
    seen++;
    mapped.add(next);
    pending.push(next.cause);
    if (next instanceof AggregateError) pending.push(...next.errors.slice(0, RELATED_ERRORS_MAX));
    const { stack } = next;
    if (typeof stack !== 'string') continue;
    try {
      const rewritten = sourceMappedStack(stack);
      if (rewritten !== stack) next.stack = rewritten;
    } catch {
      // A frozen error, an odd stack: it is logged as it came.
    }
  }
  return error;
}

/** `stack` with each frame of bundled code mapped through the bundle's source map. */
export function sourceMappedStack(stack: string): string {
  const lines = stack.split('\n');
  const frames = lines.map((line) => FRAME.exec(line));
  let mappedFrames = 0;
  return lines
    .map((line, index) => {
      const frame = frames[index];
      if (!frame || mappedFrames >= FRAMES_MAPPED_MAX) return line;
      const [, prefix, name, file, lineNumber, columnNumber, closing] = frame as unknown as string[];
      const map = sourceMapOf(file as string);
      if (!map) return line;
      const origin = map.findOrigin(Number(lineNumber), Number(columnNumber));
      if (!('fileName' in origin)) return line;
      mappedFrames++;
      const location = `${sourcePathOf(origin.fileName)}:${origin.lineNumber}:${origin.columnNumber}`;
      const originalName = originalNameOf(map, file as string, frames[index + 1]) ?? name;
      return originalName === undefined || closing === ''
        ? `${prefix}${location}`
        : `${prefix}${originalName} (${location})`;
    })
    .join('\n');
}

/**
 * The original name of a frame's function: the name the map gives the call in the caller's frame
 * (the next one), when that caller is in the same bundle. Minified names say nothing.
 */
function originalNameOf(map: SourceMap, file: string, caller: RegExpExecArray | null | undefined) {
  if (!caller || caller[3] !== file) return undefined;
  const entry = map.findEntry(Number(caller[4]) - 1, Number(caller[5]) - 1);
  return 'name' in entry && typeof entry.name === 'string' && entry.name !== '' ? entry.name : undefined;
}

/**
 * A source as the map names it, relative to the bundle's folder (`../../shared/http/problem.ts`
 * from the CDK's staging folder), without the leading `../`: the path in the repository.
 */
function sourcePathOf(source: string): string {
  return source.replace(/^(?:\.\.?\/)+/, '');
}

/** The parsed map beside `file` (`<file>.map`), read once per process. */
function sourceMapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    map = readSourceMap(file);
    maps.set(file, map);
  }
  return map;
}

function readSourceMap(file: string): SourceMap | null {
  try {
    const path = `${file.startsWith('file:') ? fileURLToPath(file) : file}.map`;
    if (statSync(path).size > SOURCE_MAP_BYTES_MAX) return null;
    return new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as SourceMapPayload);
  } catch {
    return null;
  }
}

/**
 * `handler` with the stack of any error it throws mapped first, so that the error Lambda reports
 * (`Invoke Error` in the function's log) names the source. Errors a caller expects by design (an
 * authorizer's `Unauthorized`) need not pass through here.
 */
export function withSourceMappedErrors<Args extends unknown[], Result>(
  handler: (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      throw mapErrorStack(error);
    }
  };
}
