// Terminal views for the CLI. Importing this module does not load ink or React: the live views
// are imported lazily, and only on a TTY without CI.
export { runDashboard, pollGateway, type RunDashboardOptions, type OutputStream } from './run-dashboard.js';
export { deriveDashboard, snapshotFromText, formatDashboardLines, type DashboardModel, type DashboardSnapshot, type GatewayStatus, type UnitRow, type RequestTypeRow } from './dashboard-model.js';
export { createProgress, type ProgressReporter, type ProgressOptions } from './progress.js';
export { formatProgressLine, type ProgressState } from './progress-format.js';
export { parsePrometheusText, bucketQuantile, type Sample } from './prometheus.js';
export { isInteractive, ciIsSet } from './tty.js';
