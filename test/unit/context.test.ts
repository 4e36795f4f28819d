import { App, Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readShoalContext } from '../../infra/context.js';

const read = (context: Record<string, unknown>) => readShoalContext(new App({ context }).node);

describe('CDK context', () => {
  it('reads nothing into defaults when no shoal:* key is set', () => {
    expect(read({})).toEqual({ stateful: {}, stateless: { api: {}, observability: {} } });
  });

  it('reads strings, numbers and JSON given on the command line as strings', () => {
    const settings = read({
      'shoal:stageName': 'live',
      'shoal:throttlingRateLimit': '500',
      'shoal:traceSampleRate': '0.01',
      'shoal:traceReservoirPerSecond': '1',
      'shoal:deletionProtection': 'false',
      'shoal:accessPolicies': '{"OrdersProducer":["topic:orders:Write"]}',
      'shoal:jwt':
        '{"issuer":"https://login.example","audience":"shoal","jwksUrl":"https://login.example/jwks","clockSkewSeconds":30}',
      'shoal:alarmTopicArn': 'arn:aws:sns:eu-west-1:111122223333:on-call',
    });

    expect(settings.stateful).toEqual({ storage: { deletionProtection: false } });
    expect(settings.stateless.api).toEqual({
      stageName: 'live',
      throttlingRateLimit: 500,
      traceSampleRate: 0.01,
      traceReservoirPerSecond: 1,
      jwtAuthorizer: {
        issuer: 'https://login.example',
        audience: 'shoal',
        jwksUrl: 'https://login.example/jwks',
        clockSkew: Duration.seconds(30),
      },
    });
    expect(settings.stateless.accessPolicies).toEqual({ OrdersProducer: ['topic:orders:Write'] });
    expect(settings.stateless.observability).toEqual({
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111122223333:on-call',
    });
  });

  it('reads the segment Object Lock', () => {
    expect(read({ 'shoal:segmentObjectLock': '{"mode":"compliance","retentionDays":365}' }).stateful).toEqual(
      {
        storage: { segmentObjectLock: { mode: 'compliance', retention: Duration.days(365) } },
      },
    );
  });

  it('turns observability off with shoal:observability=false', () => {
    expect(read({ 'shoal:observability': 'false' }).stateless.observability).toBe(false);
  });

  it('fails when an access policy holds a malformed ACL entry', () => {
    expect(() => read({ 'shoal:accessPolicies': { Producer: ['topic:orders:Produce'] } })).toThrow(
      /"topic:orders:Produce" is not an ACL entry/,
    );
  });

  it('fails when shoal:jwt has an unknown field, naming the known ones', () => {
    expect(() => read({ 'shoal:jwt': { issuer: 'i', audience: 'a', jwks_url: 'x' } })).toThrow(
      /unknown fields jwks_url; known: issuer, audience, jwksUrl/,
    );
  });

  it('reads per-function throttles as JSON, and refuses anything but an object', () => {
    expect(
      read({ 'shoal:throttling': '{"fetch-records":{"rateLimit":2000,"burstLimit":4000}}' }).stateless.api,
    ).toEqual({ throttling: { 'fetch-records': { rateLimit: 2000, burstLimit: 4000 } } });
    expect(() => read({ 'shoal:throttling': '[1]' })).toThrow(/shoal:throttling must be an object/);
  });

  it('fails when a number is not a number', () => {
    expect(() => read({ 'shoal:throttlingBurstLimit': 'many' })).toThrow(
      'Context shoal:throttlingBurstLimit must be a number, got "many"',
    );
  });
});
