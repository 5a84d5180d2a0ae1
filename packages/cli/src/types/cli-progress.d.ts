// The parts of cli-progress 3.12 this CLI uses (the package ships no types).
declare module 'cli-progress' {
  interface BarOptions {
    format?: string;
    formatValue?: (value: number, options: unknown, type: string) => string;
    stream?: NodeJS.WritableStream;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    barsize?: number;
    fps?: number;
  }
  class SingleBar {
    constructor(options: BarOptions, preset?: unknown);
    start(total: number, value: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  const cliProgress: { SingleBar: typeof SingleBar; Presets: { shades_classic: unknown } };
  export default cliProgress;
}
