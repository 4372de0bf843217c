// HTML reports of a plan: one self-contained page with inline SVG charts (see render.ts).
export { renderReport } from './render.js';
export { cdfFromSamples, solutionsByStrategy, STRATEGIES, type CdfPoint, type GoodputCurve, type GoodputPoint, type LatencyCdf, type ReportData, type SimulationSeries, type StrategyName } from './data.js';
export { esc } from './escape.js';
