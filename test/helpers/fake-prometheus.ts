import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for Prometheus's query API, for driving an Argo Rollouts
// analysis to pass or fail on purpose. It stands in for real pod traffic,
// which the test cluster's simulated nodes cannot produce: the analysis's
// queries, conditions and the controller's reaction are real, the numbers
// are the test's.

export interface Answers {
  /** The success-rate query's value; null for no series (no traffic). */
  successRate: number | null;
  /** The p95-latency query's value, in seconds; null for no series. */
  latencyP95: number | null;
}

export interface FakePrometheus {
  url: string;
  answers: Answers;
  /** Every query received, in order. */
  queries: string[];
  close(): Promise<void>;
}

export async function startFakePrometheus(answers: Answers): Promise<FakePrometheus> {
  const queries: string[] = [];
  const state = { answers };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (!url.pathname.endsWith('/api/v1/query')) {
        res.writeHead(404).end();
        return;
      }
      const query = url.searchParams.get('query') ?? new URLSearchParams(body).get('query') ?? '';
      queries.push(query);
      const value = query.includes('http_request_duration_seconds') ? state.answers.latencyP95 : state.answers.successRate;
      const result = value === null ? [] : [{ metric: {}, value: [Date.now() / 1000, String(value)] }];
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get answers() {
      return state.answers;
    },
    set answers(next: Answers) {
      state.answers = next;
    },
    queries,
    // The Rollouts controller keeps its connections alive (and may go on
    // asking about an aborted revision), so close() alone would wait forever.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
