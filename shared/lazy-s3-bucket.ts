/**
 * The segment bucket of a function that calls S3 on rare requests only, as a port that imports the
 * S3 client (`s3-clients.ts`) at its first call. Its own module, so that a function that never names
 * it bundles no dynamic import of the S3 client either.
 */
import type { ShoalConfig } from './config.js';
import { lazyBucket, type SegmentBucket } from './core-runtime.js';

export function lazyS3Bucket(config: ShoalConfig): SegmentBucket {
  return lazyBucket(async () => (await import('./s3-clients.js')).s3ClientsFor(config).bucket);
}
