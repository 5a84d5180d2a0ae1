// The synthetic world the API benchmark seeds: owners, apps with their latency profiles, payload and
// log message templates, and a small deterministic PRNG so two seeds with the same arguments are equal.

/** Owners and their apps. `median` and `sigma` parameterise a lognormal execution time (ms). */
export const OWNERS = {
  acme: [
    {
      app: 'sdxl-turbo',
      machine: 'GPU-H100',
      median: 900,
      sigma: 0.5,
      routes: ['/', '/img2img'],
      kind: 'image',
    },
    {
      app: 'llama-chat',
      machine: 'GPU-H100',
      median: 1200,
      sigma: 1.0,
      routes: ['/', '/stream'],
      kind: 'llm',
    },
    { app: 'flux-dev', machine: 'GPU-H100', median: 4000, sigma: 0.45, routes: ['/'], kind: 'image' },
    { app: 'whisper-large', machine: 'GPU-A100', median: 2500, sigma: 0.8, routes: ['/'], kind: 'audio' },
    { app: 'embed-small', machine: 'CPU', median: 40, sigma: 0.6, routes: ['/'], kind: 'embed' },
    { app: 'upscaler', machine: 'GPU-A100', median: 1800, sigma: 0.5, routes: ['/'], kind: 'image' },
    { app: 'tts', machine: 'GPU-A100', median: 700, sigma: 0.6, routes: ['/'], kind: 'audio' },
    { app: 'echo', machine: 'CPU', median: 5, sigma: 0.7, routes: ['/', '/slow'], kind: 'embed' },
  ],
  globex: [
    { app: 'video-gen', machine: 'GPU-B200', median: 25000, sigma: 0.6, routes: ['/'], kind: 'video' },
    { app: 'segment', machine: 'GPU-A100', median: 300, sigma: 0.7, routes: ['/'], kind: 'image' },
    { app: 'ocr', machine: 'CPU', median: 150, sigma: 0.8, routes: ['/'], kind: 'embed' },
    { app: 'rerank', machine: 'CPU', median: 60, sigma: 0.5, routes: ['/'], kind: 'embed' },
    { app: 'depth', machine: 'GPU-A100', median: 250, sigma: 0.5, routes: ['/'], kind: 'image' },
    { app: 'caption', machine: 'GPU-H100', median: 600, sigma: 0.7, routes: ['/', '/batch'], kind: 'llm' },
    { app: 'face-swap', machine: 'GPU-H100', median: 1500, sigma: 0.5, routes: ['/'], kind: 'image' },
  ],
  initech: [
    { app: 'classify', machine: 'CPU', median: 25, sigma: 0.6, routes: ['/'], kind: 'embed' },
    { app: 'translate', machine: 'GPU-A100', median: 400, sigma: 0.7, routes: ['/'], kind: 'llm' },
    { app: 'summarize', machine: 'GPU-H100', median: 1100, sigma: 0.9, routes: ['/'], kind: 'llm' },
    { app: 'detect', machine: 'GPU-A100', median: 120, sigma: 0.6, routes: ['/'], kind: 'image' },
    { app: 'music-gen', machine: 'GPU-H100', median: 12000, sigma: 0.5, routes: ['/'], kind: 'audio' },
  ],
};

/** Runners of these types beyond this many at once are billed as surge (the server's shipped defaults). */
export const RESERVED = { CPU: 100, 'GPU-A100': 4, 'GPU-H100': 4, 'GPU-B200': 4 };

/** A seeded PRNG (mulberry32) with the distributions the seeder needs. */
export function createRandom(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = 1 - next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  const hex = (n) => {
    let out = '';
    while (out.length < n)
      out += Math.floor(next() * 4294967296)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, n);
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    lognormal: (median, sigma) => median * Math.exp(sigma * normal()),
    /** A v4-shaped UUID, as the server's ids are. */
    uuid: () => {
      const h = hex(32);
      const v = ((Number.parseInt(h[16], 16) & 3) | 8).toString(16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
    hex,
  };
}

const PROMPTS = [
  'a photo of a red fox in the snow, 35mm',
  'isometric city at dusk, neon, highly detailed',
  'portrait of an astronaut, studio lighting',
  'watercolor lighthouse on a cliff',
  'a bowl of ramen, top-down food photography',
  'cyberpunk street market in the rain',
];

/** JSON text of a small request payload for an app kind. */
export function inputJson(kind, r) {
  switch (kind) {
    case 'image':
      return `{"prompt":${JSON.stringify(r.pick(PROMPTS))},"seed":${r.int(1, 999999)},"num_inference_steps":${r.pick([4, 8, 28, 50])},"image_size":"square_hd"}`;
    case 'llm':
      return `{"prompt":"Summarise the attached ticket in two sentences.","max_tokens":${r.pick([128, 256, 512])},"temperature":0.7}`;
    case 'audio':
      return `{"audio_url":"https://cdn.example.com/in/${r.hex(12)}.wav","language":"en"}`;
    case 'video':
      return `{"prompt":${JSON.stringify(r.pick(PROMPTS))},"duration_s":${r.pick([4, 6, 8])},"fps":24}`;
    default:
      return `{"input":"text sample ${r.int(1, 99999)}","normalize":true}`;
  }
}

/** JSON text of a response payload for an app kind and status class. */
export function outputJson(kind, status, r) {
  if (status >= 500) return '{"detail":"Internal Server Error"}';
  if (status >= 400)
    return `{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"value_error.missing"}]}`;
  switch (kind) {
    case 'image':
      return `{"images":[{"url":"https://cdn.example.com/out/${r.hex(16)}.png","width":1024,"height":1024,"content_type":"image/png"}],"seed":${r.int(1, 999999)}}`;
    case 'llm':
      return `{"output":"The customer reports intermittent timeouts after the upgrade.","usage":{"tokens":${r.int(20, 500)}}}`;
    case 'audio':
      return `{"text":"thanks for calling, how can I help","duration":${(r.next() * 30).toFixed(2)}}`;
    case 'video':
      return `{"video":{"url":"https://cdn.example.com/out/${r.hex(16)}.mp4","content_type":"video/mp4"}}`;
    default:
      return `{"embedding_dim":384,"elapsed_ms":${r.int(1, 80)}}`;
  }
}

const MODELS = ['sdxl-turbo.safetensors', 'llama-3-8b-instruct', 'whisper-large-v3', 'flux1-dev.safetensors'];

/** One log line of a request: `[level, source, message, traceback]`. */
export function requestLogLine(kind, status, rid, step, r) {
  const roll = r.next();
  if (status >= 500 && roll < 0.35) {
    const errs = [
      `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${r.int(1, 16)}.00 GiB`,
      'RuntimeError: expected scalar type Half but found Float',
      `TimeoutError: inference exceeded ${r.pick([30, 60, 120])}s`,
      'ConnectionResetError: [Errno 104] Connection reset by peer',
    ];
    return ['error', 'stderr', r.pick(errs), false];
  }
  if (status >= 500 && roll < 0.5) {
    return ['error', 'stderr', `  File "/app/pipeline.py", line ${r.int(40, 400)}, in __call__`, true];
  }
  if (status >= 400 && status < 500 && roll < 0.3) {
    return [
      'warn',
      'stdout',
      `Validation failed for request ${rid.slice(0, 8)}: field "prompt" is required`,
      false,
    ];
  }
  if (roll < 0.04) return ['warn', 'stdout', 'Prompt truncated to 77 tokens', false];
  if (roll < 0.06)
    return ['debug', 'stdout', `cache hit for ${r.pick(MODELS)} (${r.int(1, 900)} MiB)`, false];
  switch (step % 4) {
    case 0:
      return ['info', 'stdout', `Received request ${rid.slice(0, 8)}`, false];
    case 1:
      return kind === 'llm'
        ? ['info', 'stdout', `Tokens generated: ${r.int(10, 600)} (${r.int(20, 140)} tok/s)`, false]
        : [
            'info',
            'stdout',
            `Step ${r.int(1, 28)}/28 (${r.int(1, 99)}%) elapsed ${(r.next() * 9).toFixed(2)}s`,
            false,
          ];
    case 2:
      return kind === 'image'
        ? ['info', 'stdout', `Generated 1024x1024 image in ${(r.next() * 5).toFixed(2)}s`, false]
        : ['info', 'stdout', `Processed batch of ${r.int(1, 32)} items`, false];
    default:
      return ['info', 'stdout', `Completed request ${rid.slice(0, 8)} in ${r.int(3, 9000)} ms`, false];
  }
}

/** One log line of a runner outside any request: `[level, source, message]`. */
export function runnerLogLine(machine, r) {
  const roll = r.next();
  if (roll < 0.02) return ['error', 'stderr', `WARNING: nvidia-smi reported ECC error on GPU ${r.int(0, 7)}`];
  if (roll < 0.07) return ['warn', 'stdout', `Slow download of weights: ${(r.next() * 40).toFixed(1)} MB/s`];
  const lines = [
    `Starting runner on ${machine}`,
    `Model weights loaded in ${(r.next() * 20).toFixed(1)}s from /data/models/${r.pick(MODELS)}`,
    'Health check ok',
    'Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)',
    `GPU memory: ${r.int(1000, 79000)}/81559 MiB`,
    `Garbage collected ${r.int(1, 400)} MiB`,
  ];
  return ['info', 'stdout', r.pick(lines)];
}
