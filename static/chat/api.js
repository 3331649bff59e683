// The page's small JSON API (chat/views.py): sidebar pages, rename, delete.

let loginUrl = "/accounts/login/";

export function setLoginUrl(url) {
  loginUrl = url;
}

export function goToLogin() {
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
