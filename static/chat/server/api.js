// The page's small JSON API (chat/views.py): sidebar pages, rename, delete, uploads.

let loginUrl = "/accounts/login/";

export function setLoginUrl(url) {
  loginUrl = url;
}

// Signing out leaves the page on its own (through the identity provider's sign-out page,
// with single sign-on); the socket closing meanwhile must not send the page to the login
// form instead, which would cancel that navigation.
let signingOut = false;
document.addEventListener("submit", (event) => {
  if (event.target instanceof HTMLFormElement && event.target.matches(".logout-form")) signingOut = true;
});

export function goToLogin() {
  if (signingOut) return;
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`${loginUrl}?next=${next}`);
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  // CSRF_COOKIE_HTTPONLY hides the cookie from scripts; the logout form carries the token.
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/**
 * @returns {Promise<{ok: boolean, status: number, data: any}>} never rejects: a network
 * failure is status 0 with a readable data.error.
 */
async function request(url, options = {}) {
  const { headers = {}, ...rest } = options;
  let response;
  try {
    response = await fetch(url, {
      credentials: "same-origin",
      ...rest,
      headers: { Accept: "application/json", ...headers },
    });
  } catch {
    return { ok: false, status: 0, data: { error: "The server could not be reached. Check your connection." } };
  }
  if (response.status === 401) {
    goToLogin();
    return { ok: false, status: 401, data: { error: "Your session has ended. Sign in again." } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (!response.ok && !data.error) {
    data.error =
      response.status === 403
        ? "The request was refused (403). Reload the page and try again."
        : `The server answered ${response.status}. Try again.`;
  }
  return { ok: response.ok, status: response.status, data };
}

export function apiGet(url, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const qs = query.toString();
  return request(qs ? `${url}?${qs}` : url);
}

export function apiPost(url, body = {}) {
  return request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
}

export function apiDelete(url) {
  return request(url, { method: "DELETE", headers: { "X-CSRFToken": csrfToken() } });
}

/**
 * Uploads one file as multipart field `file`. XMLHttpRequest rather than fetch: only it
 * reports upload progress, which a chip needs for a large file on a slow link.
 * @returns {{done: Promise<{ok: boolean, status: number, data: any}>, abort: () => void}}
 *   `done` never rejects (like request()); an aborted upload resolves with status -1.
 */
export function apiUpload(url, file, { onProgress = () => {} } = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve) => {
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 401) goToLogin();
      let data;
      try {
        data = JSON.parse(xhr.responseText || "{}");
      } catch {
        data = {};
      }
      const ok = xhr.status >= 200 && xhr.status < 300;
      if (!ok && !data.error) {
        data.error = xhr.status === 413
          ? "The file is larger than the server accepts."
          : `The server answered ${xhr.status}. Try again.`;
      }
      resolve({ ok, status: xhr.status, data });
    });
    xhr.addEventListener("error", () => resolve({
      ok: false, status: 0, data: { error: "The upload failed: the server could not be reached." },
    }));
    xhr.addEventListener("abort", () => resolve({ ok: false, status: -1, data: { error: "Cancelled." } }));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}
