import { beforeAll, describe, expect, it } from 'vitest';
import { BINARY_MEDIA_TYPES_ALL } from '../../infra/shoal-api.js';
import { type CfnResource, resourcesOf, synthesizeShoalApp } from './shoal-app.js';

let restApis: CfnResource[];

beforeAll(() => {
  const { statelessTemplate } = synthesizeShoalApp({ bundling: false });
  restApis = Object.values(resourcesOf(statelessTemplate, 'AWS::ApiGateway::RestApi'));
}, 60_000);

describe('request encoding', () => {
  it('treats every media type as binary, so every body reaches the functions base64-encoded', () => {
    expect(restApis).toHaveLength(1);
    expect(restApis[0]?.Properties.BinaryMediaTypes).toEqual([BINARY_MEDIA_TYPES_ALL]);
    expect(BINARY_MEDIA_TYPES_ALL).toBe('*/*');
  });
});
