import { useState } from 'preact/hooks';
import { fmtBytes } from '../lib/format';
import { useSession } from '../lib/session';
import { type UploadProgress, uploadWithProgress } from '../lib/upload';
import { ErrorBox } from './ui';

interface Job {
  name: string;
  progress: UploadProgress;
  done: boolean;
}

/** File picker and drop zone that uploads into `dir`, one file at a time, with a progress bar each. */
export function UploadPanel({ dir, onUploaded }: { dir: string; onUploaded: () => void }) {
  const { key, client } = useSession();
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [over, setOver] = useState(false);
  const [url, setUrl] = useState('');

  const upload = async (files: File[]) => {
    setError(null);
    const list: Job[] = files.map((f) => ({
      name: f.name,
      progress: { loaded: 0, total: f.size },
      done: false,
    }));
    setJobs(list);
    for (const [i, f] of files.entries()) {
      const update = (patch: Partial<Job>) =>
        setJobs((js) => js.map((j, k) => (k === i ? { ...j, ...patch } : j)));
      try {
        await uploadWithProgress(key, dir ? `${dir}/${f.name}` : f.name, f, (progress) =>
          update({ progress }),
        );
        update({ done: true });
      } catch (err) {
        setError(err);
        break;
      }
    }
    onUploaded();
  };
  const fromUrl = async (e: Event) => {
    e.preventDefault();
    const name = url.split('?')[0]!.split('/').filter(Boolean).pop() || 'download';
    setError(null);
    try {
      await client.files.uploadFromUrl(dir ? `${dir}/${name}` : name, url);
      setUrl('');
      onUploaded();
    } catch (err) {
      setError(err);
    }
  };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a drop zone; the file input inside is the accessible control
    <section
      class={`card upload ${over ? 'over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (e.dataTransfer?.files.length) void upload([...e.dataTransfer.files]);
      }}
    >
      <div class="upload-row">
        <label class="btn primary">
          Upload files
          <input
            type="file"
            multiple
            hidden
            name="upload"
            onChange={(e) => {
              const files = [...(e.currentTarget.files ?? [])];
              e.currentTarget.value = '';
              if (files.length) void upload(files);
            }}
          />
        </label>
        <span class="muted small">or drop files here — they go to /{dir}</span>
        <form class="url-form" onSubmit={fromUrl}>
          <input
            type="url"
            name="url"
            placeholder="https://… (fetch into this folder)"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
          <button type="submit" class="btn" disabled={!url}>
            Fetch URL
          </button>
        </form>
      </div>
      {jobs.map((j) => (
        <div class="progress-row" key={j.name}>
          <span class="mono">{j.name}</span>
          <progress
            max={j.progress.total || 1}
            value={j.progress.loaded}
            aria-label={`Upload of ${j.name}`}
            data-done={j.done ? 'true' : 'false'}
          />
          <span class="muted small">
            {j.done ? 'done' : `${fmtBytes(j.progress.loaded)} / ${fmtBytes(j.progress.total)}`}
          </span>
        </div>
      ))}
      {error ? <ErrorBox error={error} /> : null}
    </section>
  );
}
