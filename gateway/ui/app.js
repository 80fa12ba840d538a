// The page of operators and professionals: validate a file, follow deliveries, replay a
// dead one, read a document. It only calls the gateway's own API, with the token an
// operator gives (kept for the tab only) or, for a professional logged in with Pro Santé
// Connect, the session cookie the browser sends by itself.
"use strict";

const TOKEN_KEY = "crt-gateway-token";

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function headers(extra) {
  const all = Object.assign({}, extra || {});
  if (token()) {
    all["Authorization"] = "Bearer " + token();
  }
  return all;
}

// A problem document's words, or the status.
async function problemText(response) {
  try {
    const problem = await response.json();
    return (problem.title || response.status) + (problem.detail ? ": " + problem.detail : "");
  } catch (_) {
    return "HTTP " + response.status;
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
  return td;
}

function showTokenState() {
  document.getElementById("token-state").textContent = token()
    ? "Token set for this tab."
    : "No token: the gateway will refuse the calls below.";
}

// Who the gateway takes this page for: the token's holder, or the logged-in professional.
async function showWho() {
  const who = document.getElementById("who");
  const logout = document.getElementById("logout");
  const response = await fetch("/v1/me", { headers: headers() });
  if (!response.ok) {
    who.textContent = "Not logged in.";
    logout.hidden = true;
    return;
  }
  const me = await response.json();
  who.textContent = "Acting as " + me.actor + (me.assurance ? " (Pro Santé Connect, " + me.assurance + ")" : "");
  logout.hidden = !me.assurance;
}

async function logOut() {
  await fetch("/ui/logout", { method: "POST" });
  await showWho();
}

async function readDocument(event) {
  event.preventDefault();
  const id = document.getElementById("document-delivery").value.trim();
  const name = document.getElementById("document-name").value.trim();
  const reason = document.getElementById("document-emergency").value.trim();
  const output = document.getElementById("document");
  const error = document.getElementById("document-error");
  output.hidden = true;
  output.textContent = "";
  error.textContent = "";
  const extra = reason ? { "Crt-Break-Glass": encodeURIComponent(reason) } : {};
  const response = await fetch(
    "/v1/deliveries/" + encodeURIComponent(id) + "/artifacts/" + encodeURIComponent(name),
    { headers: headers(extra) });
  if (!response.ok) {
    error.textContent = await problemText(response);
    return;
  }
  output.textContent = await response.text();
  output.hidden = false;
}

async function validateFile(event) {
  event.preventDefault();
  const input = document.getElementById("file");
  const file = input.files[0];
  if (!file) {
    return;
  }
  const report = document.getElementById("report");
  const verdict = document.getElementById("verdict");
  const kind = document.getElementById("kind");
  const error = document.getElementById("report-error");
  const table = document.getElementById("violations");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  table.hidden = true;
  error.textContent = "";
  kind.textContent = "";
  verdict.className = "muted";
  verdict.textContent = "Checking " + file.name + "…";
  report.hidden = false;
  const response = await fetch("/v1/validate?name=" + encodeURIComponent(file.name), {
    method: "POST",
    headers: headers({ "Content-Type": "application/octet-stream" }),
    body: file,
  });
  if (!response.ok) {
    verdict.className = "error";
    verdict.textContent = "Not checked";
    error.textContent = await problemText(response);
    return;
  }
  const result = await response.json();
  kind.textContent = result.file + ": " + result.kind;
  if (result.error) {
    verdict.className = "error";
    verdict.textContent = "Could not be checked";
    error.textContent = result.error;
  } else if (result.valid) {
    verdict.className = "pass";
    verdict.textContent = "Valid";
  } else {
    verdict.className = "fail";
    verdict.textContent = "Invalid";
    for (const violation of result.violations) {
      const row = document.createElement("tr");
      cell(row, violation.pointer);
      cell(row, violation.rule);
      cell(row, violation.message);
      body.appendChild(row);
    }
    table.hidden = false;
  }
}

async function showDeliveries(event) {
  if (event) {
    event.preventDefault();
  }
  const state = document.getElementById("state").value;
  const status = document.getElementById("deliveries-state");
  const table = document.getElementById("deliveries");
  const body = table.querySelector("tbody");
  const response = await fetch("/v1/deliveries?limit=200&state=" + encodeURIComponent(state), {
    headers: headers(),
  });
  if (!response.ok) {
    table.hidden = true;
    status.textContent = await problemText(response);
    return;
  }
  const list = (await response.json()).deliveries;
  body.replaceChildren();
  for (const delivery of list) {
    const row = document.createElement("tr");
    row.dataset.id = delivery.id;
    cell(row, delivery.id);
    cell(row, delivery.target);
    cell(row, delivery.state, "state");
    cell(row, String(delivery.attempts));
    cell(row, delivery.last_error ? delivery.last_error.code + ": " + delivery.last_error.message : "");
    const actions = cell(row, "");
    if (delivery.state === "dead") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "replay";
      button.textContent = "Replay";
      button.addEventListener("click", () => replay(delivery.id, row));
      actions.appendChild(button);
    }
    body.appendChild(row);
  }
  table.hidden = list.length === 0;
  status.textContent = list.length + " " + state + " deliver" + (list.length === 1 ? "y" : "ies");
}

async function replay(id, row) {
  const response = await fetch("/v1/deliveries/" + encodeURIComponent(id) + "/replay", {
    method: "POST",
    headers: headers(),
  });
  const state = row.querySelector(".state");
  const actions = row.lastChild;
  actions.replaceChildren();
  if (response.ok) {
    const delivery = await response.json();
    state.textContent = delivery.state || "pending";
    actions.textContent = "Replayed";
  } else {
    actions.textContent = await problemText(response);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  showTokenState();
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = document.getElementById("token");
    sessionStorage.setItem(TOKEN_KEY, field.value.trim());
    field.value = "";
    showTokenState();
    showWho();
  });
  document.getElementById("logout").addEventListener("click", logOut);
  document.getElementById("document-form").addEventListener("submit", readDocument);
  showWho();
  document.getElementById("validate-form").addEventListener("submit", validateFile);
  document.getElementById("deliveries-form").addEventListener("submit", showDeliveries);
});
