// The HTTP client of API v1: JSON in and out, cookie auth, problem+json turned into ApiError.

const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem?.title || '';
    this.detail = problem?.detail || '';
    /** {field: message} from a 422's `errors`. */
    this.fields = {};
    for (const e of problem?.errors || []) {
      if (e && e.field && !this.fields[e.field]) this.fields[e.field] = e.message;
    }
  }
}

async function request(method, path, body, text = false) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (cause) {
    const err = new ApiError(0, { title: 'network', detail: String(cause) });
    err.network = true;
    throw err;
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  if (text && response.ok) return response.text();
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body === undefined ? {} : body),
  put: (path, body) => request('PUT', path, body),
  patch: (path, body) => request('PATCH', path, body),
  del: (path) => request('DELETE', path),
  /** A POST whose answer is text (a CSV), not JSON. */
  postText: (path, body) => request('POST', path, body === undefined ? {} : body, true),
};

/** Query string from an object, skipping empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

let meCache;
/** The signed-in principal, or null. Cached per page load; `refresh` after sign-in or join. */
export async function me(refresh = false) {
  if (refresh || meCache === undefined) {
    try {
      meCache = await api.get('/me');
    } catch (e) {
      if (e.status === 401) meCache = null; else throw e;
    }
  }
  return meCache;
}

export const enc = encodeURIComponent;
