// HTML reports of a plan: one self-contained page with inline SVG charts (see render.ts).
export { renderReport } from './render.js';
export {
  cdfFromSamples,
  solutionsByStrategy,
  type CdfPoint,
  type GoodputCurve,
  type GoodputPoint,
  type LatencyCdf,
  type ReportData,
  type SimulationSeries,
} from './data.js';
export { esc } from './escape.js';
export {
  DEFAULT_REPORT_REQUESTS,
  plannedCapacity,
  simulateForReport,
  sweepRatesFor,
  sweepRequestsPerPoint,
  SWEEP_FRACTIONS,
  type ReportSimulationOptions,
} from './simulated.js';
