export type { SupervisorDeps, SupervisorLogger } from './context.js';
export { createLogBus } from './log-bus.js';
export { type LogLevel, normaliseLevel, type ParsedLogLine, parseLogLine } from './log-parse.js';
export { createProcessRunnerDriver, type ProcessDriverOptions } from './process-driver.js';
export { createSupervisor, type Supervisor } from './supervisor.js';
