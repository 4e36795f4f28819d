/**
 * SigV4 for the deployed API's IAM authorization, signed in the page with the credentials the user
 * entered (the service is `execute-api`, as for any API Gateway REST API with AWS_IAM). The signer
 * is the AWS SDK's own (`@smithy/signature-v4`); its hashes come from the browser's Web Crypto,
 * so no hashing library is bundled.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';

/** SHA-256, or HMAC-SHA-256 when given a secret, on Web Crypto (the signer's `sha256` constructor). */
class WebCryptoSha256 implements Checksum {
  private chunks: Uint8Array[] = [];
  constructor(private readonly secret?: SourceData) {}

  update(data: Uint8Array): void {
    this.chunks.push(data);
  }

  async digest(): Promise<Uint8Array> {
    const length = this.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const message = new Uint8Array(new ArrayBuffer(length));
    let at = 0;
    for (const chunk of this.chunks) {
      message.set(chunk, at);
      at += chunk.length;
    }
    if (this.secret === undefined) return new Uint8Array(await crypto.subtle.digest('SHA-256', message));
    const key = await crypto.subtle.importKey(
      'raw',
      toBytes(this.secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  }

  reset(): void {
    this.chunks = [];
  }
}

/** A copy of the data in an ArrayBuffer of its own, as Web Crypto takes it. */
function toBytes(data: SourceData): Uint8Array<ArrayBuffer> {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return new Uint8Array(data).slice();
}

/** What {@link signRequest} needs of the user's credentials. */
export interface SigningCredentials {
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/**
 * The headers that sign one request (authorization, x-amz-date, x-amz-content-sha256 and the
 * session token when there is one), to add to `headers`.
 */
export async function signRequest(
  credentials: SigningCredentials,
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: credentials.region,
    sha256: WebCryptoSha256,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  });
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    body,
  });
  const added: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    // The browser sets Host itself and refuses to be told.
    if (name.toLowerCase() !== 'host' && headers[name] === undefined) added[name] = value;
  }
  return added;
}
