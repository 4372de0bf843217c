// The admin endpoint of `serve`, which `cornserve apply` talks to: GET /admin/plan answers the
// plan being served, POST /admin/plan moves the server to another plan (supervisor/reconfigure.ts
// does the moving). Both need the server's API key (`Authorization: Bearer <key>`); a server
// started without one has no key to guard them with, so it answers 403 and changes nothing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Plan } from '../../spec/types.generated.js';
import { ApiError } from './errors.js';

export const ADMIN_PLAN_PATH = '/admin/plan';

/** What POST /admin/plan takes: the plan file's text, and where it was read from. */
export interface ApplyRequestBody {
  /** The plan file's exact text (its canonical form and seal are checked). */
  plan: string;
  /** The absolute path the plan was read from: its relative paths (model files, inputs) resolve beside it. */
  planPath: string;
  /** The sha256 of the plan the apply was reviewed against; the server refuses (409) when it serves another. */
  expectedSha256?: string;
}

export interface ApplyResult {
  sha256: string;
  units: { kept: string[]; started: string[]; stopped: string[] };
  steps: string[];
}

/** An apply that did not happen: the status and error body, and the steps it took before failing. */
export class ApplyError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    /** What was done before it failed, ending with the rollback when there was one. */
    readonly steps: string[] = [],
  ) {
    super(status, code, message);
    this.name = 'ApplyError';
  }
}

export interface PlanControl {
  /** The plan being served and the sha256 of its file. */
  current(): { plan: Plan; sha256: string };
  /** Verifies and applies; rejects with an ApiError (an ApplyError once anything was started). */
  apply(body: ApplyRequestBody): Promise<ApplyResult>;
}

export interface AdminOptions {
  control: PlanControl;
  apiKey?: string;
  draining: () => boolean;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Why the request may not use the admin endpoint, or undefined when it may. */
function refusal(req: FastifyRequest, keyDigest: Buffer | undefined): ApiError | undefined {
  if (!keyDigest)
    return new ApiError(
      403,
      'admin_disabled',
      'this server was started without an API key, so its admin endpoint is off: restart it with --api-key (or CORNSERVE_API_KEY) to apply plans live',
    );
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return new ApiError(401, 'invalid_api_key', 'missing API key: send Authorization: Bearer <key>');
  if (!timingSafeEqual(digest(m[1].trim()), keyDigest)) return new ApiError(401, 'invalid_api_key', 'the API key is not valid');
  return undefined;
}

function parseBody(body: unknown): ApplyRequestBody {
  const b = body as Partial<Record<keyof ApplyRequestBody, unknown>> | null;
  if (typeof b !== 'object' || b === null)
    throw new ApiError(400, 'invalid_request', 'send {"plan": "<the plan file’s text>", "planPath": "<its absolute path>"}');
  if (typeof b.plan !== 'string') throw new ApiError(400, 'invalid_request', '"plan" must be the plan file’s text, as a string', 'plan');
  if (typeof b.planPath !== 'string' || !b.planPath.startsWith('/'))
    throw new ApiError(400, 'invalid_request', '"planPath" must be the absolute path the plan was read from', 'planPath');
  if (b.expectedSha256 !== undefined && (typeof b.expectedSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(b.expectedSha256)))
    throw new ApiError(400, 'invalid_request', '"expectedSha256" must be a sha256 in hex', 'expectedSha256');
  return { plan: b.plan, planPath: b.planPath, ...(b.expectedSha256 !== undefined ? { expectedSha256: b.expectedSha256 } : {}) };
}

const send = (reply: FastifyReply, err: ApiError): FastifyReply =>
  reply.code(err.status).send({ ...err.body(), ...(err instanceof ApplyError ? { steps: err.steps } : {}) });

export function registerAdminRoutes(app: FastifyInstance, o: AdminOptions): void {
  const keyDigest = o.apiKey !== undefined ? digest(o.apiKey) : undefined;
  app.get(ADMIN_PLAN_PATH, async (req, reply) => {
    const refused = refusal(req, keyDigest);
    if (refused) return send(reply, refused);
    const { plan, sha256 } = o.control.current();
    return { sha256, plan };
  });
  // Plans are larger than chat requests may be on a tight server; 16 MiB holds any plan.
  app.post(ADMIN_PLAN_PATH, { bodyLimit: 16 * 1024 * 1024 }, async (req, reply) => {
    const refused = refusal(req, keyDigest);
    if (refused) return send(reply, refused);
    if (o.draining()) return send(reply, new ApiError(503, 'shutting_down', 'the server is shutting down; nothing was applied'));
    try {
      return await o.control.apply(parseBody(req.body));
    } catch (err) {
      if (err instanceof ApiError) return send(reply, err);
      throw err;
    }
  });
}
