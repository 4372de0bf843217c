// The worker thread the attainment predictor runs in: a simulation of a few thousand requests
// takes tens to hundreds of milliseconds, which the gateway's event loop must never wait for. The
// served plan arrives once (workerData); each message is one live workload to predict at.
import { parentPort, workerData } from 'node:worker_threads';
import type { Plan, Workload } from '../../spec/types.generated.js';
import { predictAttainment, type Prediction } from './predict.js';

export interface PredictWorkerData {
  plan: Plan;
  requests: number;
}

export interface PredictRequest {
  id: number;
  workload: Workload;
}

export type PredictReply = { id: number; kind: 'predicted'; prediction: Prediction } | { id: number; kind: 'failed'; error: string };

const port = parentPort;
if (!port) throw new Error('predict-worker.ts runs as a worker thread of AttainmentPredictor');
const { plan, requests } = workerData as PredictWorkerData;

port.on('message', (msg: PredictRequest) => {
  let reply: PredictReply;
  try {
    reply = { id: msg.id, kind: 'predicted', prediction: predictAttainment(plan, msg.workload, requests) };
  } catch (err) {
    reply = { id: msg.id, kind: 'failed', error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
