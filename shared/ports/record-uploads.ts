/**
 * Objects of the segment bucket that clients reach directly, by presigned URL: the uploads of record
 * values too large for a produce request (`uploads/`), and the values of records stored apart that a
 * fetch answers by reference. Implemented by `adapters/s3/presigned-objects.ts`.
 */

/** What reading an upload found. */
export type UploadRead =
  | { readonly kind: 'found'; readonly bytes: Uint8Array }
  /** Never uploaded, or deleted by the lifecycle rule. */
  | { readonly kind: 'missing' }
  /** Holds more than the bytes asked for at most; nothing was read. */
  | { readonly kind: 'too-large'; readonly objectBytes: number };

export interface PresignedObjects {
  /**
   * A URL that lets its holder PUT exactly `bytes` bytes (the length is signed) to `key`, until
   * `expiresInMs` have passed.
   */
  presignPut(key: string, bytes: number, expiresInMs: number): Promise<string>;
  /** A URL that lets its holder GET `key` (whole, or a `Range` of it) until `expiresInMs` have passed. */
  presignGet(key: string, expiresInMs: number): Promise<string>;
  /**
   * The bytes of `key` when it holds at most `bytesMax` (checked before the body is read).
   * @throws RetryableError when S3 throttles or does not answer in time.
   */
  readUpload(key: string, bytesMax: number): Promise<UploadRead>;
}
