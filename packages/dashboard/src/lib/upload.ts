import { encodePath, errorFromResponse, HangarApiError } from '@hangar/client';

/** Bytes sent so far of one upload. */
export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * Uploads a browser file to `target` with `POST /v1/serverless/files/file/local/{target}`. It uses
 * XMLHttpRequest because fetch reports no upload progress; errors carry the server's message.
 */
export function uploadWithProgress(
  key: string,
  target: string,
  file: File,
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${window.location.origin}/v1/serverless/files/file/local/${encodePath(target)}`);
    xhr.setRequestHeader('authorization', `Key ${key}`);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) =>
      onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress({ loaded: file.size, total: file.size });
        resolve();
      } else reject(errorFromResponse(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new HangarApiError(0, 'connection_error', 'The upload was interrupted'));
    xhr.onabort = () => reject(new HangarApiError(0, 'connection_error', 'The upload was cancelled'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append('file_upload', file, file.name);
    xhr.send(form);
  });
}
