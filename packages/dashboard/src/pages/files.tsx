import type { FileEntry } from '@hangar/client';
import { useState } from 'preact/hooks';
import { Empty, ErrorBox, Loading, PageHeader } from '../components/ui';
import { UploadPanel } from '../components/upload-panel';
import { fmtAgo, fmtBytes } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { setQuery, useLocation } from '../lib/router';
import { useSession } from '../lib/session';

function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** The caller's persistent storage: browse folders, upload with progress, download, delete. */
export function FilesPage() {
  const { client } = useSession();
  const { query } = useLocation();
  const dir = (query.get('dir') ?? '').replace(/^\/+|\/+$/g, '');
  const list = useAsync(() => client.files.list(dir), [client, dir]);
  const [actionError, setActionError] = useState<unknown>(null);
  const crumbs = dir ? dir.split('/') : [];

  const download = async (e: FileEntry) => {
    setActionError(null);
    try {
      const d = await client.files.download(join(dir, e.name));
      const url = URL.createObjectURL(await new Response(d.body).blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = e.name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setActionError(err);
    }
  };
  const remove = async (e: FileEntry) => {
    if (!window.confirm(`Delete ${join(dir, e.name)}${e.is_file ? '' : ' and everything in it'}?`)) return;
    setActionError(null);
    try {
      await client.files.remove(join(dir, e.name));
      list.reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const entries = [...(list.data ?? [])].sort((a, b) =>
    a.is_file === b.is_file ? a.name.localeCompare(b.name) : a.is_file ? 1 : -1,
  );
  return (
    <div class="page">
      <PageHeader title="Files" sub="Persistent storage your runners see as their data folder." />
      <nav class="crumbs" aria-label="Folder">
        <button type="button" class="link" onClick={() => setQuery({ dir: undefined })}>
          root
        </button>
        {crumbs.map((c, i) => (
          <span key={crumbs.slice(0, i + 1).join('/')}>
            {' / '}
            <button
              type="button"
              class="link"
              onClick={() => setQuery({ dir: crumbs.slice(0, i + 1).join('/') })}
            >
              {c}
            </button>
          </span>
        ))}
      </nav>
      <UploadPanel dir={dir} onUploaded={list.reload} />
      {actionError ? <ErrorBox error={actionError} /> : null}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {!list.data && !list.error && <Loading />}
      {list.data && entries.length === 0 && <Empty>This folder is empty.</Empty>}
      {entries.length > 0 && (
        <div class="table-wrap">
          <table class="table files" aria-label="Files">
            <thead>
              <tr>
                <th>Name</th>
                <th class="num">Size</th>
                <th>Modified</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.name} data-file={e.name}>
                  <td>
                    {e.is_file ? (
                      <span class="file-name">
                        <i class="ico file" aria-hidden="true" />
                        {e.name}
                      </span>
                    ) : (
                      <button
                        type="button"
                        class="link file-name"
                        onClick={() => setQuery({ dir: join(dir, e.name) })}
                      >
                        <i class="ico folder" aria-hidden="true" />
                        {e.name}/
                      </button>
                    )}
                  </td>
                  <td class="num">{e.is_file ? fmtBytes(e.size) : '—'}</td>
                  <td title={e.updated_time}>{fmtAgo(e.updated_time)}</td>
                  <td class="actions">
                    {e.is_file && (
                      <button type="button" class="btn small" onClick={() => download(e)}>
                        Download
                      </button>
                    )}
                    <button type="button" class="btn small ghost danger" onClick={() => remove(e)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
