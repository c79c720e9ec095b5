// Shared by the pages' scripts: a POST with the session and the CSRF header, whose error
// answer is shown in the page's error element.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// The JSON answer of POST `url`, or null once the server's error is shown in `error`.
async function postForAnswer(url, body, headers, error) {
  const response = await fetch(url, {
    method: "POST",
    body,
    headers: { ...headers, "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
  });
  const answer = await response.json();
  if (!response.ok) {
    error.textContent = answer.error || `HTTP ${response.status}`;
    error.hidden = false;
    return null;
  }
  return answer;
}
