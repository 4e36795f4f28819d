/**
 * Who may call which route. By default every method requires SigV4-signed IAM credentials, and a
 * principal's IAM policy names the routes it may invoke; the statements are generated from an ACL
 * in Kafka's terms (`shared/authorization/acl.ts`), so "produce to orders" is written
 * `topic:orders:Write`, not as a list of ARNs. Optionally, a Lambda authorizer accepts bearer JWTs
 * instead and applies the same ACL, read from a claim, to each request.
 */
import { CfnOutput, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type AclEntry, parseAcl } from '../shared/authorization/acl.js';
import { executeApiResources } from '../shared/authorization/iam-policy.js';
import {
  countRs256Keys,
  JWT_CLOCK_SKEW_S_MAX,
  type JwtAlgorithm,
} from '../shared/authorization/jwt-settings.js';
import { ENV } from '../shared/config.js';
import { ShoalFunction } from './shoal-function.js';

/** An ACL given as entries or in its text form (`topic:orders:Write`). */
export type AclInput = readonly (AclEntry | string)[];

/**
 * Whether an ACL lets its holder consume a topic (Read on some topic, or All): such a holder may
 * open the watch WebSocket of idle consumers (`ShoalWatch.grantConnect`).
 */
export function readsTopics(acl: AclInput): boolean {
  return aclOf(acl).some(
    (entry) => entry.resourceType === 'topic' && (entry.operation === 'Read' || entry.operation === 'All'),
  );
}

function aclOf(input: AclInput): AclEntry[] {
  const texts = input.filter((entry): entry is string => typeof entry === 'string');
  const parsed = parseAcl(texts);
  return input.map((entry) => (typeof entry === 'string' ? (parsed.shift() as AclEntry) : entry));
}

const EXECUTE_API_INVOKE = 'execute-api:Invoke';

/**
 * The IAM statements that let a principal invoke exactly the routes `acl` allows on `api`'s stage:
 * one Allow of `execute-api:Invoke`, and a Deny where a wildcard would reach further.
 *
 * @example
 * role.attachInlinePolicy(new iam.Policy(this, 'Produce', {
 *   statements: executeApiStatements(shoal.api.restApi, ['topic:orders:Write']),
 * }));
 * @throws Error when the ACL cannot be expressed in IAM (see `executeApiResources`)
 */
export function executeApiStatements(api: apigateway.RestApi, acl: AclInput): iam.PolicyStatement[] {
  const { allow, deny } = executeApiArns(api, acl);
  const statements: iam.PolicyStatement[] = [];
  if (allow.length > 0) {
    statements.push(
      new iam.PolicyStatement({ effect: iam.Effect.ALLOW, actions: [EXECUTE_API_INVOKE], resources: allow }),
    );
  }
  if (deny.length > 0) statements.push(denyStatement(deny));
  return statements;
}

/** The stage's route ARNs an ACL allows, and those its wildcards must not reach. */
function executeApiArns(api: apigateway.RestApi, acl: AclInput): { allow: string[]; deny: string[] } {
  const stage = stageNameOf(api);
  const { allow, deny } = executeApiResources(aclOf(acl));
  const arns = (resources: typeof allow) =>
    resources.map((resource) => api.arnForExecuteApi(resource.method, resource.path, stage));
  return { allow: arns(allow), deny: arns(deny) };
}

function denyStatement(resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: [EXECUTE_API_INVOKE], resources });
}

/** The stage's name as written (`prod`), so that policies read plainly; its reference when it is a token. */
function stageNameOf(api: apigateway.RestApi): string {
  const stage = api.deploymentStage;
  const name = (stage.node.defaultChild as apigateway.CfnStage | undefined)?.stageName;
  return name !== undefined && !Token.isUnresolved(name) ? name : stage.stageName;
}

/**
 * Adds the statements of {@link executeApiStatements} to a principal's policy.
 *
 * @returns the grant of the Allow statement (as aws-cdk-lib's `grant*` methods return one, e.g.
 * for `grant.applyBefore(...)`); the Deny statements that bound its wildcards go into the same
 * policy. A grant that allows nothing, for an empty ACL, is `iam.Grant.drop`'s.
 * @example
 * grantShoalAccess(consumerRole, shoal.api.restApi, ['topic:orders:Read', 'group:billing:Read']);
 */
export function grantShoalAccess(grantee: iam.IGrantable, api: apigateway.RestApi, acl: AclInput): iam.Grant {
  const { allow, deny } = executeApiArns(api, acl);
  if (allow.length === 0) return iam.Grant.drop(grantee, `${EXECUTE_API_INVOKE} on no route`);
  const grant = iam.Grant.addToPrincipal({ grantee, actions: [EXECUTE_API_INVOKE], resourceArns: allow });
  if (deny.length > 0) grantee.grantPrincipal.addToPrincipalPolicy(denyStatement(deny));
  // A role's or user's statements land in its default policy: acknowledge Shoal's wildcards there.
  const principal = grantee.grantPrincipal;
  const defaultPolicy =
    principal instanceof iam.Role || principal instanceof iam.User
      ? principal.node.tryFindChild('DefaultPolicy')
      : undefined;
  if (defaultPolicy) acknowledgeRouteWildcards(defaultPolicy, grant.principalStatements);
  return grant;
}

/** Settings of {@link ShoalAccessPolicy}. */
export interface ShoalAccessPolicyProps {
  readonly api: apigateway.RestApi;
  /** What the holders may do, e.g. `['topic:orders:Read', 'group:billing:Read']`. */
  readonly acl: AclInput;
  /** @default a description listing the ACL */
  readonly description?: string;
}

/**
 * A managed policy granting an ACL on the API, in the API's stack: attach it to roles, users or
 * groups anywhere in the account. Its wildcards (member ids, partitions, prefixes) are acknowledged
 * for cdk-nag here, where the ARNs are known.
 *
 * @example
 * const producer = new ShoalAccessPolicy(stack, 'OrdersProducer', { api: shoal.api.restApi, acl: ['topic:orders:Write'] });
 * producerRole.addManagedPolicy(producer.policy);
 */
export class ShoalAccessPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ShoalAccessPolicyProps) {
    super(scope, id);
    const acl = aclOf(props.acl);
    if (acl.length === 0) throw new Error(`ShoalAccessPolicy ${id} needs at least one ACL entry`);
    const statements = executeApiStatements(props.api, acl);
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description:
        props.description ??
        `Shoal API access: ${acl.map((entry) => `${entry.resourceType}:${entry.pattern}:${entry.operation}`).join(' ')}`.slice(
          0,
          1000,
        ),
      statements,
    });
    acknowledgeRouteWildcards(this.policy, statements);
  }
}

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 for each wildcard route ARN of these statements on the
 * policy that holds them: they are Shoal's, not the caller's choice, so a user's app fails only on
 * its own resources.
 */
function acknowledgeRouteWildcards(policy: Construct, statements: readonly iam.PolicyStatement[]): void {
  const wildcards = statements
    .filter((statement) => statement.effect === iam.Effect.ALLOW)
    .flatMap((statement) => statement.resources)
    .map((resource) => flattenForNag(Stack.of(policy).resolve(resource)))
    .filter((resource) => resource.includes('*'));
  if (wildcards.length === 0) return;
  Validations.of(policy).acknowledge(
    ...wildcards.map((resource) => ({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason:
        'execute-api:Invoke only, on one stage of this API; the wildcard stands for a path parameter the ACL ' +
        'leaves open (a member id, a partition, or a resource named by prefix or *), and Deny statements cut ' +
        'off any route of the same method the wildcard would otherwise reach.',
    })),
  );
}

/** Renders a resolved ARN the way cdk-nag names it in a finding (`<AWS::Region>`, `<LogicalId>`). */
function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === 'string') return `<${object.Ref}>`;
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
  const join = object['Fn::Join'];
  if (Array.isArray(join)) return (join[1] as unknown[]).map(flattenForNag).join(join[0] as string);
  return JSON.stringify(value);
}

/** Settings of {@link ShoalJwtAuthorizer}. Give `jwksUrl` or `jwks` for RS256, `hs256Secret` for HS256. */
export interface ShoalJwtAuthorizerProps {
  /** The exact `iss` claim of accepted tokens, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc`. */
  readonly issuer: string;
  /** A value the tokens' `aud` claim must hold (Cognito access tokens carry `client_id`, not `aud`: use ID tokens or a custom claim). */
  readonly audience: string;
  /**
   * Accepted signature algorithms.
   * @default ['RS256'] when a JWKS is given, else ['HS256']
   */
  readonly algorithms?: readonly JwtAlgorithm[];
  /** The provider's `jwks_uri`; fetched on a cold start, cached ten minutes, refetched for an unknown `kid`. */
  readonly jwksUrl?: string;
  /** A JWKS document (`{ keys: [...] }`) with the RS256 public keys, for providers without a `jwks_uri`. */
  readonly jwks?: { readonly keys: readonly unknown[] };
  /** A secret whose `SecretString` is the HS256 key (at least 32 bytes); the authorizer may read it and nothing else. */
  readonly hs256Secret?: secretsmanager.ISecret;
  /** The complete ARN of that secret, instead of `hs256Secret` (for configuration by CDK context). */
  readonly hs256SecretArn?: string;
  /**
   * The claim with the principal's ACL entries: an array of strings, or a space-separated string
   * (`scope` works, its other scopes are ignored).
   * @default 'shoal_acl'
   */
  readonly aclClaim?: string;
  /**
   * The claim naming the principal (logged, and passed to the functions).
   * @default 'sub'
   */
  readonly principalClaim?: string;
  /**
   * Tolerated clock difference between the token issuer and Lambda, at most 5 minutes.
   * @default Duration.seconds(60)
   */
  readonly clockSkew?: Duration;
  /**
   * How long API Gateway caches a decision for one token, method and path (0 turns caching off).
   * A revoked token stays usable this long; at most one hour.
   * @default Duration.minutes(5)
   */
  readonly resultsCacheTtl?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

const CLOCK_SKEW_DEFAULT = Duration.seconds(60);
const RESULTS_CACHE_TTL_DEFAULT = Duration.minutes(5);
const RESULTS_CACHE_TTL_MAX = Duration.hours(1);
const CLAIM_NAME = /^[A-Za-z0-9_:.\-/]{1,128}$/;

/**
 * A REQUEST authorizer backed by `functions/authorize-token.ts`. Its identity sources are the
 * `Authorization` header, the method and the path, so API Gateway caches each decision for exactly
 * one request target; a request without the header is refused (401) without invoking the function.
 */
export class ShoalJwtAuthorizer extends Construct {
  readonly authorizer: apigateway.RequestAuthorizer;
  readonly function: ShoalFunction;

  constructor(scope: Construct, id: string, props: ShoalJwtAuthorizerProps) {
    super(scope, id);
    validateJwtProps(props);
    const secret =
      props.hs256Secret ??
      (props.hs256SecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'Hs256Secret', props.hs256SecretArn)
        : undefined);
    const algorithms = props.algorithms ?? (props.jwks || props.jwksUrl ? ['RS256'] : ['HS256']);
    const environment: Record<string, string> = {
      [ENV.jwtIssuer]: props.issuer,
      [ENV.jwtAudience]: props.audience,
      [ENV.jwtAlgorithms]: algorithms.join(','),
      [ENV.jwtClockSkewS]: String((props.clockSkew ?? CLOCK_SKEW_DEFAULT).toSeconds()),
      [ENV.jwtAclClaim]: props.aclClaim ?? 'shoal_acl',
      [ENV.jwtPrincipalClaim]: props.principalClaim ?? 'sub',
    };
    if (props.jwks) environment[ENV.jwtJwks] = JSON.stringify(props.jwks);
    if (props.jwksUrl) environment[ENV.jwtJwksUrl] = props.jwksUrl;
    if (secret) environment[ENV.jwtSecretArn] = secret.secretArn;

    this.function = new ShoalFunction(this, 'Authorizer', {
      name: 'authorize-token',
      description: 'Shoal JWT authorizer: verifies bearer tokens and applies their ACL to each route',
      invocation: 'synchronous',
      memorySize: 256,
      timeout: Duration.seconds(10),
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      environment,
    });
    secret?.grantRead(this.function.role);

    this.authorizer = new apigateway.RequestAuthorizer(this, 'RequestAuthorizer', {
      handler: this.function.function,
      identitySources: [
        apigateway.IdentitySource.header('Authorization'),
        apigateway.IdentitySource.context('httpMethod'),
        apigateway.IdentitySource.context('path'),
      ],
      resultsCacheTtl: props.resultsCacheTtl ?? RESULTS_CACHE_TTL_DEFAULT,
    });
  }
}

function validateJwtProps(props: ShoalJwtAuthorizerProps): void {
  const rs256 = props.jwks !== undefined || props.jwksUrl !== undefined;
  const algorithms = props.algorithms ?? (rs256 ? ['RS256'] : ['HS256']);
  if (algorithms.length === 0) throw new Error('algorithms must name at least one algorithm');
  if (algorithms.includes('RS256') && !rs256) {
    throw new Error('RS256 needs the identity provider keys: give jwksUrl or jwks');
  }
  if (props.hs256Secret && props.hs256SecretArn)
    throw new Error('give hs256Secret or hs256SecretArn, not both');
  if (algorithms.includes('HS256') && !props.hs256Secret && !props.hs256SecretArn) {
    throw new Error('HS256 needs a shared key: give hs256Secret or hs256SecretArn');
  }
  if (!Token.isUnresolved(props.issuer) && props.issuer.trim() === '')
    throw new Error('issuer must not be empty');
  if (!Token.isUnresolved(props.audience) && props.audience.trim() === '') {
    throw new Error('audience must not be empty');
  }
  if (
    props.jwksUrl !== undefined &&
    !Token.isUnresolved(props.jwksUrl) &&
    !props.jwksUrl.startsWith('https://')
  ) {
    throw new Error(`jwksUrl must be an https:// URL, got "${props.jwksUrl}"`);
  }
  if (props.jwks) {
    if (countRs256Keys(props.jwks) === 0) throw new Error('jwks holds no RSA signing key');
  }
  for (const [name, value] of [
    ['aclClaim', props.aclClaim],
    ['principalClaim', props.principalClaim],
  ] as const) {
    if (value !== undefined && !CLAIM_NAME.test(value)) {
      throw new Error(
        `${name} must be a claim name of 1 to 128 characters of [A-Za-z0-9_:.-/], got "${value}"`,
      );
    }
  }
  const skew = props.clockSkew;
  if (skew && !skew.isUnresolved() && skew.toSeconds() > JWT_CLOCK_SKEW_S_MAX) {
    throw new Error(`clockSkew must be at most ${JWT_CLOCK_SKEW_S_MAX} seconds, got ${skew.toHumanString()}`);
  }
  const ttl = props.resultsCacheTtl;
  if (ttl && !ttl.isUnresolved() && ttl.toSeconds() > RESULTS_CACHE_TTL_MAX.toSeconds()) {
    throw new Error(`resultsCacheTtl must be at most 1 hour, got ${ttl.toHumanString()}`);
  }
}

/** One {@link ShoalAccessPolicy} per entry, with its ARN as a stack output. */
export function createAccessPolicies(
  scope: Construct,
  restApi: apigateway.RestApi,
  policies: Readonly<Record<string, AclInput>>,
  /** The watch WebSocket of idle consumers: a policy that reads a topic may also connect to it. */
  watch?: { connectStatement(): iam.PolicyStatement },
): Record<string, ShoalAccessPolicy> {
  const created: Record<string, ShoalAccessPolicy> = {};
  for (const [name, acl] of Object.entries(policies)) {
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name)) {
      throw new Error(
        `accessPolicies names must be 1 to 64 letters and digits, starting with a letter, got "${name}"`,
      );
    }
    const policy = new ShoalAccessPolicy(scope, `${name}Access`, { api: restApi, acl });
    if (watch && readsTopics(acl)) policy.policy.addStatements(watch.connectStatement());
    new CfnOutput(scope, `${name}AccessPolicyArn`, {
      description: `Managed policy granting Shoal access: ${name}`,
      value: policy.policy.managedPolicyArn,
    });
    created[name] = policy;
  }
  return created;
}

/** Names become construct ids and output names: letters and digits. */
export function validateAccessPolicyNames(policies: Readonly<Record<string, AclInput>>): void {
  for (const name of Object.keys(policies)) {
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name)) {
      throw new Error(
        `accessPolicies names must be 1 to 64 letters and digits, starting with a letter, got "${name}"`,
      );
    }
  }
}
