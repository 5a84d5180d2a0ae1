import { describe, expect, it } from 'vitest';
import { escapeHelp, escapeLabelValue, formatLe, formatValue, renderGauges } from './prometheus.js';

describe('prometheus text', () => {
  it('escapes label values and help text as the format requires', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeLabelValue('NVIDIA H100')).toBe('NVIDIA H100');
    expect(escapeHelp('x\\y\nz "q"')).toBe('x\\\\y\\nz "q"');
  });

  it('formats values and bucket bounds', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(0.5)).toBe('0.5');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatLe(1)).toBe('1.0');
    expect(formatLe(2.5)).toBe('2.5');
    expect(formatLe(Number.POSITIVE_INFINITY)).toBe('+Inf');
  });

  it('renders gauge families with HELP and TYPE even when empty', () => {
    const text = renderGauges([
      { name: 'a', help: 'A gauge', samples: [{ labels: [['application', 'o/"x"']], value: 2 }] },
      { name: 'b', help: 'Empty', samples: [] },
      { name: 'c', help: 'No labels', samples: [{ labels: [], value: 1 }] },
    ]);
    expect(text).toBe(
      [
        '# HELP a A gauge',
        '# TYPE a gauge',
        'a{application="o/\\"x\\""} 2',
        '# HELP b Empty',
        '# TYPE b gauge',
        '# HELP c No labels',
        '# TYPE c gauge',
        'c 1',
        '',
      ].join('\n'),
    );
  });
});
