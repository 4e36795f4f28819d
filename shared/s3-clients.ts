/**
 * The S3 clients of a runtime and the segment bucket's adapters over them: what `runtime.ts` adds
 * to the core runtime (`core-runtime.ts`).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3PresignedObjects } from './adapters/s3/presigned-objects.js';
import { S3SegmentObjects } from './adapters/s3/segment-objects.js';
import type { ShoalConfig } from './config.js';
import { LOCAL_CREDENTIALS, type SegmentBucket } from './core-runtime.js';

export interface S3Clients {
  readonly s3: S3Client;
  /**
   * Signs presigned URLs only: like `s3`, without the default request checksums, which would sign
   * a checksum of the empty body into an upload URL.
   */
  readonly s3Presigner: S3Client;
  /** The segment bucket's adapters over the two clients. */
  readonly bucket: SegmentBucket;
}

/** The S3 clients for a config: endpoint, static credentials and path-style URLs on the local stack. */
export function s3ClientsFor(
  config: ShoalConfig,
  options: { readonly decorateS3?: (client: S3Client) => void } = {},
): S3Clients {
  const s3Settings = {
    region: config.region,
    ...(config.s3Endpoint
      ? { endpoint: config.s3Endpoint, credentials: LOCAL_CREDENTIALS, forcePathStyle: true }
      : {}),
  };
  const s3 = new S3Client(s3Settings);
  options.decorateS3?.(s3);
  const s3Presigner = new S3Client({
    ...s3Settings,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket: SegmentBucket = {
    objects: new S3SegmentObjects(s3, config.segmentBucketName),
    presigned: new S3PresignedObjects(s3Presigner, s3, config.segmentBucketName),
  };
  return { s3, s3Presigner, bucket };
}
