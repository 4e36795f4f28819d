/**
 * Reads one Secrets Manager secret with a single SigV4-signed `GetSecretValue` call over HTTPS, with
 * the signer the TypeScript client already uses, so the authorizer needs no extra SDK client in its
 * bundle for one request per cold start.
 */
import { type AuthOptions, createSigner } from '../../../client/auth.js';

/** Settings of {@link readSecretString}. */
export interface SecretReadOptions {
  readonly region: string;
  /** @default `https://secretsmanager.<region>.amazonaws.com` (`.amazonaws.com.cn` in China regions) */
  readonly endpoint?: string;
  /** @default the standard AWS credential chain (the Lambda's role) */
  readonly credentials?: Extract<AuthOptions, { type: 'iam' }>['credentials'];
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 3000 */
  readonly timeoutMs?: number;
}

/**
 * The `SecretString` of a secret's current version.
 * @throws Error with the service's error type when the call fails or the secret is binary
 */
export async function readSecretString(secretId: string, options: SecretReadOptions): Promise<string> {
  const endpoint = new URL(options.endpoint ?? defaultEndpoint(options.region));
  const sign = createSigner(
    {
      type: 'iam',
      region: options.region,
      service: 'secretsmanager',
      ...(options.credentials ? { credentials: options.credentials } : {}),
    },
    endpoint,
  );
  if (!sign) throw new Error('Secrets Manager requests must be signed');
  const body = JSON.stringify({ SecretId: secretId });
  const headers = await sign({
    method: 'POST',
    url: endpoint,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body,
  });
  const response = await (options.fetch ?? fetch)(endpoint, {
    method: 'POST',
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
  });
  const answer = (await response.json().catch(() => ({}))) as { SecretString?: unknown; __type?: unknown };
  if (!response.ok) {
    throw new Error(`GetSecretValue failed with ${response.status} ${String(answer.__type ?? '')}`.trim());
  }
  if (typeof answer.SecretString !== 'string') throw new Error('The secret holds no SecretString');
  return answer.SecretString;
}

function defaultEndpoint(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://secretsmanager.${region}.${suffix}`;
}
