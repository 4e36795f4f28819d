/**
 * A response body that is already JSON text. The HTTP edge sends its text as is instead of
 * `JSON.stringify`-ing it, so a fetch can splice each JSON value in as the exact text that was
 * produced (Node 20 has no `JSON.rawJSON`), and skips building and serializing objects on the
 * hot path.
 *
 * @example return { status: 200, body: new JsonText('{"data":12345678901234567890123}') };
 */
export class JsonText {
  /** @param text valid JSON: the caller guarantees it. */
  constructor(readonly text: string) {}
}
