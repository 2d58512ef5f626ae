// Files attached to a reply or note: uploaded at once (with progress), sent by id.
import { ApiError, csrfHeaders, type ApiErrorBody, type Attachment } from "../../api/client";

export interface Upload {
  key: number;
  name: string;
  size: number;
  /** 0..1 while uploading. */
  progress: number;
  attachment: Attachment | null;
  error: string;
}

/** The XMLHttpRequest factory (tests pass their own). */
export type MakeRequest = () => XMLHttpRequest;

/** POST /api/v1/attachments with progress; resolves to the stored attachment. */
export function uploadFile(
  file: File,
  onProgress: (fraction: number) => void,
  makeRequest: MakeRequest = () => new XMLHttpRequest(),
): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const xhr = makeRequest();
    xhr.open("POST", "/api/v1/attachments");
    xhr.withCredentials = true;
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable && ev.total > 0) onProgress(ev.loaded / ev.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as Attachment);
      } else {
        const error = (body ?? {}) as Partial<ApiErrorBody>;
        const fallback = xhr.status === 413 ? "the file is too large" : `upload failed (${xhr.status})`;
        reject(
          new ApiError(xhr.status, {
            code: error.code ?? `http_${xhr.status}`,
            message: error.message ?? fallback,
            field: error.field ?? "file",
          }),
        );
      }
    };
    xhr.onerror = () => reject(new Error("the upload was interrupted"));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** "1.2 MB" */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
