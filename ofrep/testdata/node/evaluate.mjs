// Evaluates flags through the OpenFeature server SDK for Node and its OFREP provider
// (@openfeature/ofrep-provider), against an OFREP server.
//
//   node evaluate.mjs <baseUrl> [apiKey] < cases.json > results.json
//
// cases.json is an array of {"flag", "type" (boolean|string|number|object), "default",
// "context"}; the output is an array of the evaluation details, one per case, in order:
// {"flag", "value", "variant", "reason", "errorCode", "errorMessage", "flagMetadata"}.
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const [baseUrl, apiKey] = process.argv.slice(2);
if (!baseUrl) {
  console.error('usage: node evaluate.mjs <baseUrl> [apiKey] < cases.json');
  process.exit(2);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const headers = apiKey ? { 'X-API-Key': apiKey } : undefined;
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl, headers }));
const client = OpenFeature.getClient();

const methods = {
  boolean: (f, d, c) => client.getBooleanDetails(f, d, c),
  string: (f, d, c) => client.getStringDetails(f, d, c),
  number: (f, d, c) => client.getNumberDetails(f, d, c),
  object: (f, d, c) => client.getObjectDetails(f, d, c),
};

const results = [];
for (const c of cases) {
  const evaluate = methods[c.type];
  if (!evaluate) throw new Error(`unknown type ${c.type}`);
  const d = await evaluate(c.flag, c.default, c.context);
  results.push({
    flag: d.flagKey,
    value: d.value,
    variant: d.variant ?? null,
    reason: d.reason ?? null,
    errorCode: d.errorCode ?? null,
    errorMessage: d.errorMessage ?? null,
    flagMetadata: d.flagMetadata ?? {},
  });
}
await OpenFeature.close();
process.stdout.write(JSON.stringify(results));
