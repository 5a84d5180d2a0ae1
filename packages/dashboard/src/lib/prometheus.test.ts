import { describe, expect, it } from 'vitest';
import { parseLiveStats, statsOf } from './prometheus';

const TEXT = `# HELP fal_app_runners Number of fal app runners
# TYPE fal_app_runners gauge
fal_app_runners{application="demo/echo",machine_type="CPU",state="idle"} 1
fal_app_runners{application="demo/echo",machine_type="CPU",state="running"} 2
fal_app_runners{application="demo/echo",machine_type="GPU",state="running"} 1
fal_app_queue_size{application="demo/echo"} 3
fal_app_concurrent_requests{application="demo/echo"} 2
fal_app_requests_received{application="demo/echo",method="POST"} 10
fal_app_requests_received{application="demo/echo",method="GET"} 4
fal_app_request_latency{application="demo/echo",le="+Inf"} 14
`;

describe('parseLiveStats', () => {
  it('sums runners by state across machine types and reads the queue and in-flight gauges', () => {
    const s = statsOf(parseLiveStats(TEXT), 'demo/echo');
    expect(s.runners).toEqual({ idle: 1, running: 3 });
    expect(s.queueSize).toBe(3);
    expect(s.concurrent).toBe(2);
    expect(s.receivedPerMinute).toBe(14);
  });

  it('gives zeros for an app the exposition does not mention', () => {
    expect(statsOf(parseLiveStats(TEXT), 'demo/png')).toEqual({
      runners: {},
      queueSize: 0,
      concurrent: 0,
      receivedPerMinute: 0,
    });
  });

  it('prefers the exact states of hangar_app_runners', () => {
    const text = `${TEXT}hangar_app_runners{application="demo/echo",machine_type="CPU",state="setup"} 2
hangar_app_runners{application="demo/echo",machine_type="CPU",state="draining"} 1
`;
    expect(statsOf(parseLiveStats(text), 'demo/echo').runners).toEqual({ setup: 2, draining: 1 });
  });
});
