import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import { createHttpHandler, type Operation } from '../../shared/http/http-handler.js';
import { JsonText } from '../../shared/http/json-text.js';

/** A fetch-records handler whose operations answer `body`. */
function answering(body: JsonText) {
  const operation: Operation = async () => ({ status: 200, body });
  return createHttpHandler('fetch-records', { fetchRecords: operation, offsetForTimestamp: operation });
}

const fetchEvent = {
  httpMethod: 'GET',
  resource: '/v1/topics/{topic}/partitions/{partition}/records',
  path: '/v1/topics/t/partitions/0/records',
  headers: {},
  pathParameters: { topic: 't', partition: '0' },
  queryStringParameters: null,
  body: null,
  isBase64Encoded: false,
  requestContext: { requestId: 'r-1' },
} as unknown as APIGatewayProxyEvent;

/** A JSON text of `jsonBytes` bytes as a JSON string in the proxy result: each `"` and `\` doubles. */
const quotedBody = (jsonBytes: number) => new JsonText(`"${'\\"'.repeat((jsonBytes - 4) / 4)}"`);

describe('response size at the edge', () => {
  it('returns a body that is responseBodyJsonBytesMax bytes as a JSON string', async () => {
    const body = quotedBody(LIMITS.responseBodyJsonBytesMax);
    expect(Buffer.byteLength(JSON.stringify(body.text)) - 2).toBe(LIMITS.responseBodyJsonBytesMax);

    const result = await answering(body)(fetchEvent);

    expect(result.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(LIMITS.lambdaPayloadBytesMax);
  });

  it('fails with a 500 problem instead of a result Lambda would refuse', async () => {
    const result = await answering(quotedBody(LIMITS.responseBodyJsonBytesMax + 4))(fetchEvent);

    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toMatchObject({ status: 500, requestId: 'r-1' });
  });
});
