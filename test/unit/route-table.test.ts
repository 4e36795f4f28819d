import { describe, expect, it } from 'vitest';
import { CLIENT_METHODS, ShoalApi } from '../../client/api.js';
import { openApiDocument } from '../../shared/http/openapi.js';
import { FUNCTION_NAMES, matchPath, ROUTES, routeTo } from '../../shared/http/route-table.js';

describe('route table', () => {
  it('matches concrete paths to routes with decoded parameters', () => {
    const match = matchPath('GET', '/v1/topics/my%2Etopic/partitions/3/records');

    expect(match).toMatchObject({
      route: { operationId: 'fetchRecords' },
      pathParameters: { topic: 'my.topic', partition: '3' },
    });
  });

  it('reports the allowed methods when only the method is wrong', () => {
    expect(matchPath('PUT', '/v1/topics')).toEqual({ allowedMethods: ['POST', 'GET'] });
  });

  it('fails to match an unknown path', () => {
    expect(matchPath('GET', '/v2/topics')).toBeUndefined();
  });

  it('has one route per method and path, and every function serves at least one route', () => {
    const keys = ROUTES.map((route) => `${route.method} ${route.path}`);

    expect(new Set(keys).size).toBe(keys.length);
    for (const name of FUNCTION_NAMES) expect(ROUTES.some((route) => route.functionName === name)).toBe(true);
  });

  it('documents every route in the OpenAPI document with its operationId', () => {
    const paths = openApiDocument().paths as Record<string, Record<string, { operationId: string }>>;

    for (const route of ROUTES) {
      expect(paths[route.path]?.[route.method.toLowerCase()]?.operationId).toBe(route.operationId);
    }
  });

  it('documents SigV4 on every route but the public health check, which takes no credentials', () => {
    const paths = openApiDocument().paths as Record<string, Record<string, { security: unknown[] }>>;

    for (const route of ROUTES) {
      const security = paths[route.path]?.[route.method.toLowerCase()]?.security;
      expect(security, route.operationId).toEqual(route.operationId === 'getHealth' ? [] : [{ sigv4: [] }]);
    }
  });
});

describe('routeTo', () => {
  it('gives the method and the path of an operation with its parameters percent-encoded', () => {
    expect(routeTo('heartbeatGroup', { group: 'billing/eu', memberId: 'm 1' })).toEqual({
      method: 'POST',
      path: '/v1/groups/billing%2Feu/members/m%201/heartbeat',
    });
    expect(routeTo('fetchRecords', { topic: 'orders', partition: 3 }).path).toBe(
      '/v1/topics/orders/partitions/3/records',
    );
  });

  it('names a client method for every route, and each exists', () => {
    for (const route of ROUTES) {
      expect(typeof ShoalApi.prototype[CLIENT_METHODS[route.operationId]], route.operationId).toBe(
        'function',
      );
    }
  });
});
