// Small fetch helpers for the JSON API; counts bytes so the page can report what it loaded.
export const transfer = { bytes: 0, requests: 0 };

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function check(response) {
  if (!response.ok) {
    let detail = "";
    try {
      const body = await response.json();
      detail = body.detail || JSON.stringify(body);
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

/** @param {string} url @param {{ signal?: AbortSignal }} [options] */
export async function getJSON(url, { signal } = {}) {
  const response = await check(await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal }));
  const text = await response.text();
  transfer.bytes += text.length;
  transfer.requests++;
  return JSON.parse(text);
}

/** @param {string} url @param {{ signal?: AbortSignal }} [options] */
export async function getBuffer(url, { signal } = {}) {
  const response = await check(await fetch(url, { mode: "cors", credentials: "omit", signal }));
  const buffer = await response.arrayBuffer();
  transfer.bytes += buffer.byteLength;
  transfer.requests++;
  return buffer;
}

export async function postForBlob(url, body) {
  const response = await check(
    await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }),
  );
  return response.blob();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
