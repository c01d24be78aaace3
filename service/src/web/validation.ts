import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';

type SchemaErrorFormatter = (errors: FastifySchemaValidationError[], dataVar: string) => Error;

// How requests are checked against the route schemas, and how a refusal
// reads: one sentence per problem, naming the field and saying what it must
// be, as the hand-written checks said before the schemas.

const common = { useDefaults: true, removeAdditional: true, addUsedSchema: false, verbose: true, strict: false } as const;
// Query strings and route parameters are text: their numbers are converted,
// as Fastify does by default.
const textual = addFormats.default(new Ajv({ ...common, coerceTypes: 'array', allErrors: false }));
// JSON bodies are not: a 42 where a name belongs is refused, not stored as
// "42". Their problems are collected at once so one answer names them all;
// that costs little here, because bodies are at most 1 MB and no body
// schema has a pattern.
const json = addFormats.default(new Ajv({ ...common, coerceTypes: false, allErrors: true }));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? json : textual).compile(schema);

interface JsonSchema {
  type?: string | string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
}

/** What a value must be, in words, from its schema. */
function describe(schema: JsonSchema): string {
  const range = (what: string) => {
    const { minimum: min, maximum: max } = schema;
    if (min !== undefined && max !== undefined && max < Number.MAX_SAFE_INTEGER) return `${what} from ${min} to ${max}`;
    if (min !== undefined) return `${what} of at least ${min}`;
    return what;
  };
  switch (schema.type) {
    case 'integer':
      return range('a whole number');
    case 'number':
      return range('a number');
    case 'string':
      return schema.maxLength === undefined ? 'a string' : `text of at most ${schema.maxLength} characters`;
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return `a JSON object with ${Object.keys(schema.properties ?? {}).join(' and ')}`;
    default:
      return 'valid';
  }
}

interface Problem {
  field: string;
  message: string;
}

/** One problem, phrased for a person: `missing` says how to phrase a field that is not there. */
function problem(error: ErrorObject, missing: (field: string, schema: JsonSchema) => string): Problem {
  const path = error.instancePath.split('/').filter(Boolean).join('.');
  if (error.keyword === 'required') {
    const field = [path, (error.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
    const schema = (error.parentSchema as JsonSchema).properties?.[field.split('.').at(-1) as string] ?? {};
    return { field, message: missing(field, schema) };
  }
  const schema = error.parentSchema as JsonSchema;
  if (path === '') return { field: '', message: `expected ${describe(schema)}` };
  return { field: path, message: `${path} must be ${describe(schema)}` };
}

/**
 * A validation error whose message names every problem and whose `details`
 * has one problem per field. `status` is the answer's status code (a run
 * request that cannot be a run is 422, as before the schemas).
 */
export function validationErrors(options: { status?: number; missing?: 'required' | 'described' } = {}): SchemaErrorFormatter {
  const missing =
    options.missing === 'described'
      ? (field: string, schema: JsonSchema) => `${field} must be ${describe(schema)}`
      : (field: string) => `${field} is required`;
  return (errors) => {
    const problems = errors.map((e) => problem(e as unknown as ErrorObject, missing));
    const details = Object.fromEntries(problems.filter((p) => p.field !== '').map((p) => [p.field, p.message]));
    return Object.assign(new Error([...new Set(problems.map((p) => p.message))].join('; ')), {
      statusCode: options.status ?? 400,
      details,
    });
  };
}
