// Dashboard: follows /v2/events and re-reads /dashboard.json when a model is loaded, unloaded
// or swapped, so the table stays live without reloading the page.
"use strict";

function formatBytes(size) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function refresh() {
  const response = await fetch("/dashboard.json", { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  document.getElementById("providers").textContent = data.providers.join(", ");
  document.getElementById("memory-used").textContent = formatBytes(data.memory.used_bytes);
  const body = document.querySelector("#loaded tbody");
  body.replaceChildren();
  if (data.loaded.length === 0) {
    const row = document.createElement("tr");
    row.className = "empty";
    const td = cell("Nothing loaded yet: models load on their first request.");
    td.colSpan = 8;
    row.appendChild(td);
    body.appendChild(row);
  }
  for (const m of data.loaded) {
    const row = document.createElement("tr");
    row.className = "loaded-row";
    row.dataset.model = m.model;
    const link = document.createElement("a");
    link.href = `/models/${encodeURIComponent(m.model)}`;
    link.textContent = m.model;
    const first = document.createElement("td");
    first.appendChild(link);
    row.appendChild(first);
    for (const value of [m.version, m.providers.join(", "), m.queue_depth, m.in_flight,
      m.requests, m.runs, m.mean_batch_rows === null ? "" : m.mean_batch_rows]) {
      row.appendChild(cell(String(value)));
    }
    body.appendChild(row);
  }
}

function logEvent(kind, data) {
  const list = document.getElementById("events");
  const item = document.createElement("li");
  item.className = "event";
  item.textContent = `${kind} ${data.model || ""}${data.version ? ":" + data.version : ""}`;
  list.prepend(item);
  while (list.children.length > 20) list.lastChild.remove();
}

document.addEventListener("DOMContentLoaded", () => {
  const state = document.getElementById("live-state");
  const source = new EventSource("/v2/events");
  source.onopen = () => { state.textContent = "live"; };
  source.onerror = () => { state.textContent = "reconnecting"; };
  for (const kind of ["model.loaded", "model.unloaded", "model.swapped", "version.published",
    "alias.set", "model.swap_failed", "model.swap_recovered"]) {
    source.addEventListener(kind, (event) => {
      logEvent(kind, JSON.parse(event.data));
      refresh();
    });
  }
});
