/**
 * Request signing. A deployed Shoal API sits behind API Gateway with IAM authorization, so every
 * request is signed with SigV4 for `execute-api` using the standard AWS credential chain
 * (environment, SSO, web identity, shared config files, container and instance metadata). The local
 * stack needs no signature. The AWS modules are loaded on first use only, so a local CLI run does
 * not pay for them.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { AwsCredentialIdentity, Provider, SourceData } from '@smithy/types';
import { ShoalClientStateError } from './errors.js';

/** How the client authenticates. */
export type AuthOptions =
  | 'none'
  | 'iam'
  | {
      readonly type: 'iam';
      /** The API's region. @default taken from an `execute-api` host name, else `AWS_REGION` */
      readonly region?: string;
      /** Fixed credentials or a provider. @default the standard AWS credential chain */
      readonly credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
      /** @default 'execute-api' */
      readonly service?: string;
    };

/** A request about to be sent, as the signer sees it. */
export interface RequestToSign {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** Adds authentication headers to a request; returns the headers to send. */
export type RequestSigner = (request: RequestToSign) => Promise<Record<string, string>>;

/**
 * The default: IAM for AWS hosts (`*.amazonaws.com`), none elsewhere (the local stack, a custom
 * domain in front of an open API, or a proxy that adds its own credentials).
 */
export function defaultAuthFor(url: URL): 'iam' | 'none' {
  return url.hostname.endsWith('.amazonaws.com') ? 'iam' : 'none';
}

/** Builds the signer for `auth`, or undefined when requests go unsigned. */
export function createSigner(auth: AuthOptions, baseUrl: URL, env = process.env): RequestSigner | undefined {
  if (auth === 'none') return undefined;
  const settings = auth === 'iam' ? { type: 'iam' as const } : auth;
  const region =
    settings.region ?? regionOfHost(baseUrl.hostname) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ShoalClientStateError(
      `IAM signing needs a region: none in the host '${baseUrl.hostname}', give the region option or set AWS_REGION`,
    );
  }
  const service = settings.service ?? 'execute-api';
  let signer: Promise<{ sign: (request: never) => Promise<{ headers: Record<string, string> }> }> | undefined;
  const load = async () => {
    const [{ SignatureV4 }, credentials] = await Promise.all([
      import('@smithy/signature-v4'),
      settings.credentials
        ? Promise.resolve(settings.credentials)
        : import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider()),
    ]);
    return new SignatureV4({ service, region, credentials, sha256: NodeSha256, uriEscapePath: true });
  };
  return async (request) => {
    signer ??= load();
    const resolved = await signer;
    const query: Record<string, string> = {};
    for (const [name, value] of request.url.searchParams) query[name] = value;
    const signed = await resolved.sign({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port ? { port: Number(request.url.port) } : {}),
      path: request.url.pathname,
      query,
      headers: { ...request.headers, host: request.url.host },
      body: request.body,
    } as never);
    const { host: _host, ...headers } = signed.headers;
    return headers;
  };
}

/** `abc123.execute-api.eu-west-1.amazonaws.com` → `eu-west-1`. */
export function regionOfHost(hostname: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(hostname)?.[1];
}

/** SHA-256 and HMAC-SHA-256 from node's crypto, in the shape the signer expects. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  update(data: SourceData): void {
    this.hash.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
