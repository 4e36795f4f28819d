/**
 * Reads one Secrets Manager secret (the JWT authorizer's HMAC key) with the AWS SDK's own client,
 * once per cold start.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentity } from '@smithy/types';

/** Settings of {@link readSecretString}. */
export interface SecretReadOptions {
  readonly region: string;
  /** @default the regional Secrets Manager endpoint */
  readonly endpoint?: string;
  /** @default the standard AWS credential chain (the Lambda's role) */
  readonly credentials?: AwsCredentialIdentity;
  /** Bound on the call, retries included. @default 3000 */
  readonly timeoutMs?: number;
}

/** Attempts of one read: the SDK retries throttling and network failures in between. */
const ATTEMPTS_MAX = 3;

/**
 * The `SecretString` of a secret's current version.
 * @throws Error naming the service's error (e.g. ResourceNotFoundException) when the call fails or the secret is binary
 * @example
 * const key = await readSecretString(config.jwtSecretArn, { region: config.region });
 */
export async function readSecretString(secretId: string, options: SecretReadOptions): Promise<string> {
  const client = new SecretsManagerClient({
    region: options.region,
    maxAttempts: ATTEMPTS_MAX,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  let secretString: string | undefined;
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }), {
      abortSignal: AbortSignal.timeout(options.timeoutMs ?? 3000),
    });
    secretString = answer.SecretString;
  } catch (error) {
    throw new Error(`GetSecretValue failed: ${(error as Error).name}`, { cause: error });
  } finally {
    client.destroy();
  }
  if (typeof secretString !== 'string') throw new Error('The secret holds no SecretString');
  return secretString;
}
