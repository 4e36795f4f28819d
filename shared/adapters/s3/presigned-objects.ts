/**
 * Presigned URLs for the segment bucket and the reads of uploads (`ports/record-uploads.ts`).
 *
 * The client that presigns is built without the SDK's default request checksums: presigning a
 * PutObject would otherwise sign a CRC32 of the empty body into the URL, which every real upload
 * then fails.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { PresignedObjects, UploadRead } from '../../ports/record-uploads.js';
import { isInvalidRange, isNoSuchKey, s3WriteFailureAsRetryable } from '../sdk-errors.js';

export class S3PresignedObjects implements PresignedObjects {
  /**
   * @param presigner signs URLs only (built with `requestChecksumCalculation: 'WHEN_REQUIRED'`)
   * @param s3 reads uploads
   */
  constructor(
    private readonly presigner: S3Client,
    private readonly s3: S3Client,
    private readonly bucketName: string,
  ) {}

  presignPut(key: string, bytes: number, expiresInMs: number): Promise<string> {
    return getSignedUrl(
      this.presigner,
      new PutObjectCommand({ Bucket: this.bucketName, Key: key, ContentLength: bytes }),
      { expiresIn: Math.floor(expiresInMs / 1000), signableHeaders: new Set(['content-length']) },
    );
  }

  presignGet(key: string, expiresInMs: number): Promise<string> {
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucketName, Key: key }), {
      expiresIn: Math.floor(expiresInMs / 1000),
    });
  }

  async readUpload(key: string, bytesMax: number): Promise<UploadRead> {
    let bytes: Uint8Array;
    let objectBytes: number;
    try {
      // One byte more than allowed at most: enough to tell a larger object without holding it.
      const answer = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucketName, Key: key, Range: `bytes=0-${bytesMax}` }),
      );
      if (!answer.Body) throw new Error(`S3 returned no body for ${key}`);
      bytes = await answer.Body.transformToByteArray();
      objectBytes = Number(/\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1] ?? bytes.byteLength);
    } catch (error) {
      if (isNoSuchKey(error)) return { kind: 'missing' };
      // A range of an empty object: it holds nothing.
      if (isInvalidRange(error)) return { kind: 'found', bytes: new Uint8Array(0) };
      throw s3WriteFailureAsRetryable(error) ?? error;
    }
    if (objectBytes > bytesMax || bytes.byteLength > bytesMax) {
      return { kind: 'too-large', objectBytes: Math.max(objectBytes, bytes.byteLength) };
    }
    return { kind: 'found', bytes };
  }
}
