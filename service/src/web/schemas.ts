import { type Static, Type } from 'typebox';
import { MAX_PAGE_SIZE } from '../recipients/store.ts';
import { EMAIL } from '../mail/mailbox.ts';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from '../recipients/validation.ts';
import { MAX_RUN_SIZE } from '../runs/bulk-send.ts';
import { MAX_RELAY_LATENCY_MS } from '../queue/queues.ts';
import { MAX_DELAY_MS, MAX_UNREADY_SECONDS } from './faults.ts';

// The JSON API's shapes, in one place: Fastify validates requests and
// serializes responses with them, the handlers' types follow from them, and
// /openapi.json is generated from them.

/** Runs the dashboard and GET /api/runs show by default. */
export const RUNS_SHOWN = 20;
/** Final failures a run's detail lists. */
export const FAILURES_SHOWN = 500;

/** Ids are PostgreSQL `serial` columns: larger numbers cannot exist. */
const MAX_ID = 2_147_483_647;

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: MAX_ID }) });

const ProblemParams = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]));
/** A problem of the user's input as a stable code (service/src/problems.ts) with its parameters. */
const ProblemRef = Type.Object({ code: Type.String(), params: ProblemParams });

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'What was wrong, in English, naming the field.' }),
  code: Type.Optional(Type.String({ description: 'A stable code for the problem, such as run.count.too_large, to translate or act on.' })),
  params: Type.Optional(ProblemParams),
  details: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'One problem per field, in English.' })),
  problems: Type.Optional(Type.Record(Type.String(), ProblemRef, { description: 'One problem per field, as a code and its parameters.' })),
});

/** What any route with a JSON body can answer: not JSON, too large (1 MB), not sent as JSON. */
export const BODY_ERRORS = { 400: ErrorBody, 413: ErrorBody, 415: ErrorBody };

export const RecipientInput = Type.Object({
  // The rules of checkRecipient (recipients/validation.ts), which the route
  // applies first for its messages and its trimming: a name of at most 200
  // characters with something besides spaces and no control characters, an
  // address as browsers validate <input type="email">.
  name: Type.String({
    maxLength: MAX_NAME_LENGTH,
    pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
  }),
  email: Type.String({ maxLength: MAX_EMAIL_LENGTH, pattern: EMAIL.source }),
});

export const Recipient = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  email: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const RecipientQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of a name or an email address.' })),
});

export const RecipientPage = Type.Object({ total: Type.Integer(), items: Type.Array(Recipient) });

export const ImportResult = Type.Object({
  imported: Type.Integer(),
  duplicates: Type.Integer(),
  invalid: Type.Array(Type.Object({ line: Type.Integer(), reason: Type.String(), problems: Type.Array(ProblemRef) }), {
    description: 'The first invalid rows, each with its line and why.',
  }),
  invalidCount: Type.Integer({ description: 'All invalid rows, also those beyond the list.' }),
});

export const RunRequest = Type.Object({
  count: Type.Integer({ minimum: 1, maximum: MAX_RUN_SIZE, description: 'How many distinct recipients, picked at random.' }),
  failureRate: Type.Optional(
    Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Share of attempts that fail on purpose: 0.3 is 30%.' }),
  ),
  relayLatencyMs: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: MAX_RELAY_LATENCY_MS,
      default: 0,
      description: 'Milliseconds each delivery waits, as on a slow SMTP relay: sending then waits on I/O and more workers send faster.',
    }),
  ),
});

export const Run = Type.Object({
  id: Type.Integer(),
  total: Type.Integer(),
  enqueued: Type.Integer(),
  sent: Type.Integer(),
  failed: Type.Integer({ description: 'Final failures: retries exhausted or a permanent SMTP error.' }),
  retried: Type.Integer({ description: 'Attempts that failed and were tried again.' }),
  status: Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('completed'), Type.Literal('completed_with_failures')]),
  queue: Type.String(),
  failureRate: Type.Number(),
  relayLatencyMs: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const PodTally = Type.Object({
  pod: Type.String({ description: "The worker's pod (its host name outside Kubernetes); '' for work counted before pods were recorded." }),
  version: Type.String({ description: 'The version that pod runs.' }),
  sent: Type.Integer(),
  failed: Type.Integer(),
  retried: Type.Integer({ description: 'Attempts that failed on this pod and were tried again (maybe on another).' }),
});

export const Failure = Type.Object({
  recipientId: Type.Integer(),
  name: Type.String(),
  email: Type.String(),
  attempts: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const RunDetail = Type.Object({
  ...Run.properties,
  failures: Type.Array(Failure),
  pods: Type.Array(PodTally, { description: 'What each worker pod did for the run, busiest first.' }),
  workers: Type.Union([Type.Integer(), Type.Null()], {
    description:
      "Workers listening on the run's queue now; 0 while none runs (with KEDA at minReplicas 0, until it starts one), null where Redis does not say.",
  }),
});

const Count = Type.Integer({ minimum: 0 });
const PerSecond = Type.Number({ minimum: 0 });

export const SystemSnapshot = Type.Object({
  at: Type.String({ format: 'date-time' }),
  queues: Type.Array(Type.Object({ name: Type.String(), waiting: Count, active: Count, delayed: Count, failed: Count }), {
    description: 'Jobs in each queue by state.',
  }),
  workers: Type.Union(
    [
      Type.Array(
        Type.Object({
          name: Type.String({ description: "The worker's BullMQ name: pod/version." }),
          pod: Type.String(),
          version: Type.String(),
          queues: Type.Array(Type.String()),
          perSecond: Type.Number({ minimum: 0, description: 'Mails (sent and failed) per second over the last 15 seconds.' }),
        }),
      ),
      Type.Null(),
    ],
    { description: 'The workers connected to the queues now; null where Redis does not list its clients.' },
  ),
  web: Type.Array(
    Type.Object({
      name: Type.String({ description: 'pod/version.' }),
      pod: Type.String(),
      version: Type.String(),
      perSecond: Type.Number({
        minimum: 0,
        description: 'Requests answered per second over the last 15 seconds; probes, metrics and the panel itself left out.',
      }),
      errorsPerSecond: Type.Number({ minimum: 0, description: 'Of those, answered 5xx.' }),
    }),
    { description: 'The web pods that ran in the last 15 seconds.' },
  ),
  bucketSeconds: Type.Integer({ minimum: 1 }),
  throughput: Type.Array(
    Type.Object({ at: Type.String({ format: 'date-time' }), sent: PerSecond, failed: PerSecond, retried: PerSecond }),
    { description: 'Mails per second over the last five minutes, a point per bucket, oldest first; the bucket being filled is left out.' },
  ),
});

export const FaultChange = Type.Object(
  {
    errorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'The share of page and API requests answered 500.' })),
    delayMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_DELAY_MS, description: 'Milliseconds added to every page and API request.' }),
    ),
    unreadySeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_UNREADY_SECONDS,
        description: 'For how long /readyz answers 503 from now (0: ready again).',
      }),
    ),
  },
  { description: 'What to change; what is left out stays.' },
);

export const FaultAnswer = Type.Object({
  pod: Type.String({ description: 'The pod that answered, and whose faults these are.' }),
  version: Type.String(),
  errorRate: Type.Number(),
  delayMs: Type.Integer(),
  unreadySeconds: Type.Integer({ description: 'Seconds until /readyz answers 200 again; 0 while ready.' }),
});

export const RunsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: RUNS_SHOWN })) });

export const RunStarted = Type.Object({ id: Type.Integer(), total: Type.Integer(), queue: Type.String() });

export const FlagValues = Type.Object({
  bulkSend: Type.Object({ enabled: Type.Boolean(), source: Type.String() }),
  sendStrategy: Type.Object({ variant: Type.String(), source: Type.String() }),
  warning: Type.Optional(Type.String()),
});

/**
 * A request's values with the schema's defaults filled in, as the validator
 * has done by the time a handler runs (its useDefaults option); the types
 * alone cannot know that.
 */
export type WithDefaults<T, K extends keyof T> = T & Required<Pick<T, K>>;
export type RunRequestValues = WithDefaults<Static<typeof RunRequest>, 'failureRate' | 'relayLatencyMs'>;
export type RecipientQueryValues = WithDefaults<Static<typeof RecipientQuery>, 'limit' | 'offset'>;
export type RunsQueryValues = WithDefaults<Static<typeof RunsQuery>, 'limit'>;
