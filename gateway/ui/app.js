// The page of operators and professionals: validate a file, follow deliveries, replay a
// dead one, read a document, see what arrived about a beneficiary and their DMP, take and
// close the on-call service's alerts, see a week of the planning. It only calls the
// gateway's own API, with the token an operator gives (kept for the tab only) or, for a
// professional logged in with Pro Santé Connect, the session cookie the browser sends by
// itself.
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

// The beneficiary the form names, as an API path, and the emergency headers it asks for.
function beneficiaryRequest() {
  const crt = document.getElementById("beneficiary-crt").value.trim();
  const id = document.getElementById("beneficiary-id").value.trim();
  const reason = document.getElementById("beneficiary-emergency").value.trim();
  const extra = {};
  if (reason) {
    extra["Crt-Break-Glass"] = encodeURIComponent(reason);
    if (document.getElementById("beneficiary-regulation").checked) {
      extra["Crt-Emergency-Mode"] = "centre_15";
    }
  }
  return {
    path: "/v1/beneficiaries/" + encodeURIComponent(crt) + "/" + encodeURIComponent(id),
    headers: headers(extra),
  };
}

async function showBeneficiary(event) {
  event.preventDefault();
  const request = beneficiaryRequest();
  const error = document.getElementById("beneficiary-error");
  const lists = document.getElementById("beneficiary-lists");
  error.textContent = "";
  lists.hidden = true;
  document.getElementById("cda").hidden = true;
  const received = await fetch(request.path + "/documents", { headers: request.headers });
  if (!received.ok) {
    error.textContent = await problemText(received);
    return;
  }
  const body = document.querySelector("#received tbody");
  body.replaceChildren();
  for (const message of (await received.json()).messages) {
    const row = document.createElement("tr");
    const summary = message.summary || {};
    cell(row, new Date(message.received_at).toLocaleString());
    cell(row, summary.from || "");
    cell(row, summary.subject || "");
    const answering = summary.in_reply_to ? " (request " + summary.in_reply_to.request + ")" : "";
    cell(row, (summary.matched_by || message.status) + answering);
    const files = cell(row, "");
    for (const file of summary.documents || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "received-file";
      button.textContent = file.title || file.name;
      const url = request.path + "/documents/" + encodeURIComponent(message.id) + "/files/" + file.index;
      button.addEventListener("click", () => openFile(url, file.media_type, request.headers));
      files.appendChild(button);
    }
    body.appendChild(row);
  }
  lists.hidden = false;
  await showDmp(request);
}

async function showDmp(request) {
  const error = document.getElementById("dmp-error");
  const mode = document.getElementById("dmp-mode");
  const table = document.getElementById("dmp-documents");
  const body = table.querySelector("tbody");
  error.textContent = "";
  mode.textContent = "";
  body.replaceChildren();
  table.hidden = true;
  const response = await fetch(request.path + "/dmp", { headers: request.headers });
  if (!response.ok) {
    error.textContent = await problemText(response);
    return;
  }
  const answer = await response.json();
  mode.textContent = "access: " + answer.mode;
  for (const entry of answer.documents) {
    const row = document.createElement("tr");
    cell(row, entry.type_code || "");
    cell(row, entry.version || "");
    cell(row, entry.status || "");
    cell(row, (entry.confidentiality || []).join(" "));
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dmp-read";
    button.textContent = "Read";
    const url = request.path + "/dmp/" + encodeURIComponent(entry.unique_id);
    button.addEventListener("click", () => openFile(url, "text/xml", request.headers));
    cell(row, "").appendChild(button);
    body.appendChild(row);
  }
  table.hidden = answer.documents.length === 0;
  if (answer.documents.length === 0) {
    error.textContent = "The DMP shows you no document.";
  }
}

// A CDA document is displayed here; anything else (a PDF) opens in a tab of its own.
async function openFile(url, mediaType, requestHeaders) {
  const error = document.getElementById("beneficiary-error");
  error.textContent = "";
  const response = await fetch(url, { headers: requestHeaders });
  if (!response.ok) {
    error.textContent = await problemText(response);
    return;
  }
  if (mediaType.endsWith("xml")) {
    showCda(await response.text());
  } else {
    window.open(URL.createObjectURL(await response.blob()), "_blank", "noopener");
  }
}

const HL7 = "urn:hl7-org:v3";

// The HL7 children of `node` named `name`.
function hl7(node, name) {
  return node ? Array.from(node.children).filter((c) => c.namespaceURI === HL7 && c.localName === name) : [];
}

// The first element down `path` of HL7 names, or null.
function follow(node, path) {
  for (const name of path) {
    node = hl7(node, name)[0] || null;
  }
  return node;
}

// A CDA TS (yyyymmddhhmm…) as a French date, time when it has one.
function cdaDate(value) {
  const v = value || "";
  if (v.length < 8) {
    return v;
  }
  const date = v.slice(6, 8) + "/" + v.slice(4, 6) + "/" + v.slice(0, 4);
  return v.length >= 12 ? date + " " + v.slice(8, 10) + ":" + v.slice(10, 12) : date;
}

function personName(name) {
  if (!name) {
    return "";
  }
  const given = hl7(name, "given").map((g) => g.textContent.trim());
  const family = hl7(name, "family").map((f) => f.textContent.trim().toUpperCase());
  return given.concat(family).join(" ");
}

// The CDA narrative block (section/text) as HTML elements. Only the narrative's own
// elements are rebuilt and only text is copied: nothing of the document runs or links.
const NARRATIVE = {
  paragraph: "p", content: "span", br: "br", list: "ul", item: "li", table: "table",
  caption: "caption", thead: "thead", tbody: "tbody", tfoot: "tfoot", tr: "tr", th: "th",
  td: "td", sub: "sub", sup: "sup", footnote: "small", linkHtml: "span",
};

function narrative(source, target) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      target.appendChild(document.createTextNode(node.textContent));
    } else if (node.nodeType === Node.ELEMENT_NODE && node.namespaceURI === HL7) {
      const tag = NARRATIVE[node.localName];
      if (!tag) {
        continue;
      }
      const ordered = node.localName === "list" && node.getAttribute("listType") === "ordered";
      const element = document.createElement(ordered ? "ol" : tag);
      narrative(node, element);
      target.appendChild(element);
    }
  }
}

function cdaSection(section, level) {
  const element = document.createElement("section");
  const title = follow(section, ["title"]);
  if (title) {
    const heading = document.createElement("h" + Math.min(level, 6));
    heading.textContent = title.textContent;
    element.appendChild(heading);
  }
  const text = follow(section, ["text"]);
  if (text) {
    const block = document.createElement("div");
    narrative(text, block);
    element.appendChild(block);
  }
  for (const component of hl7(section, "component")) {
    for (const inner of hl7(component, "section")) {
      element.appendChild(cdaSection(inner, level + 1));
    }
  }
  return element;
}

// A CDA document shown as its sections say: title, patient, author, date, then each
// section's title and narrative.
function showCda(text) {
  const view = document.getElementById("cda");
  view.replaceChildren();
  const parsed = new DOMParser().parseFromString(text, "application/xml");
  const root = parsed.documentElement;
  if (parsed.getElementsByTagName("parsererror").length > 0 || root.localName !== "ClinicalDocument") {
    view.textContent = "Not a CDA document.";
    view.hidden = false;
    return;
  }
  const title = document.createElement("h3");
  title.textContent = (follow(root, ["title"]) || {}).textContent || "Document";
  view.appendChild(title);
  const header = document.createElement("p");
  header.className = "header";
  const patient = personName(follow(root, ["recordTarget", "patientRole", "patient", "name"]));
  const author = personName(follow(root, ["author", "assignedAuthor", "assignedPerson", "name"]));
  const time = follow(root, ["effectiveTime"]);
  header.textContent = "Patient: " + patient + " · Author: " + author + " · " + cdaDate(time && time.getAttribute("value"));
  view.appendChild(header);
  const body = follow(root, ["component", "structuredBody"]);
  if (!body) {
    const note = document.createElement("p");
    note.textContent = "Unstructured document (nonXMLBody).";
    view.appendChild(note);
  }
  for (const component of hl7(body, "component")) {
    for (const section of hl7(component, "section")) {
      view.appendChild(cdaSection(section, 4));
    }
  }
  view.hidden = false;
}

const OUTCOMES = ["advice_given", "home_visit", "emergency_services", "hospitalisation",
  "professional_dispatched", "emergency_room", "no_action_needed"];

async function showAlerts(event) {
  if (event) {
    event.preventDefault();
  }
  const crt = document.getElementById("alerts-crt").value.trim();
  const status = document.getElementById("alerts-status").value;
  const state = document.getElementById("alerts-state");
  const table = document.getElementById("alerts");
  const body = table.querySelector("tbody");
  const response = await fetch("/v1/alerts?crt=" + encodeURIComponent(crt) + "&status=" + encodeURIComponent(status), {
    headers: headers(),
  });
  if (!response.ok) {
    table.hidden = true;
    state.textContent = await problemText(response);
    return;
  }
  const list = (await response.json()).alerts;
  body.replaceChildren();
  for (const alert of list) {
    const row = document.createElement("tr");
    cell(row, new Date(alert.raised_at).toLocaleString());
    cell(row, alert.reason);
    cell(row, alert.beneficiary_ref || "unknown: for the coordinator");
    cell(row, alert.status, "status");
    cell(row, alert.taken_by || "", "taken-by");
    const actions = cell(row, "");
    if (alert.status === "open") {
      const take = document.createElement("button");
      take.type = "button";
      take.className = "take";
      take.textContent = "Take";
      take.addEventListener("click", () => stepAlert(alert.id, "take", null, actions));
      actions.appendChild(take);
    }
    if (alert.status !== "closed") {
      const outcome = document.createElement("select");
      outcome.className = "outcome";
      for (const value of OUTCOMES) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value;
        outcome.appendChild(option);
      }
      const close = document.createElement("button");
      close.type = "button";
      close.className = "close";
      close.textContent = "Close";
      close.addEventListener("click", () =>
        stepAlert(alert.id, "close", { outcome: outcome.value }, actions));
      actions.append(outcome, close);
    }
    body.appendChild(row);
  }
  table.hidden = list.length === 0;
  state.textContent = list.length + " " + status + " alert" + (list.length === 1 ? "" : "s");
}

async function stepAlert(id, verb, body, actions) {
  const init = { method: "POST", headers: headers(body ? { "Content-Type": "application/json" } : {}) };
  if (body) {
    init.body = JSON.stringify(body);
  }
  const response = await fetch("/v1/alerts/" + encodeURIComponent(id) + "/" + verb, init);
  if (!response.ok) {
    actions.textContent = await problemText(response);
    return;
  }
  const alert = await response.json();
  const row = actions.parentElement;
  row.querySelector(".status").textContent = alert.status;
  row.querySelector(".taken-by").textContent = alert.taken_by || "";
  actions.textContent = verb === "take" ? "Taken" : "Closed: " + alert.outcome;
}

// The Monday of the week holding `day` (YYYY-MM-DD), as YYYY-MM-DD.
function monday(day) {
  const date = new Date(day + "T00:00:00Z");
  const back = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - back);
  return date.toISOString().slice(0, 10);
}

async function showPlanning(event) {
  if (event) {
    event.preventDefault();
  }
  const crt = document.getElementById("planning-crt").value.trim();
  const kind = document.getElementById("planning-kind").value;
  const who = document.getElementById("planning-who").value.trim();
  const picked = document.getElementById("planning-from").value || new Date().toISOString().slice(0, 10);
  const from = monday(picked);
  const state = document.getElementById("planning-state");
  const table = document.getElementById("planning-week");
  const query = "crt=" + encodeURIComponent(crt) + "&" + kind + "=" + encodeURIComponent(who) +
    "&from=" + from + "&days=7";
  const response = await fetch("/v1/planning?" + query, { headers: headers() });
  if (!response.ok) {
    table.hidden = true;
    state.textContent = await problemText(response);
    return;
  }
  const visits = (await response.json()).visits;
  const head = table.querySelector("thead tr");
  const row = table.querySelector("tbody tr");
  head.replaceChildren();
  row.replaceChildren();
  const days = [];
  for (let i = 0; i < 7; i++) {
    const date = new Date(from + "T00:00:00Z");
    date.setUTCDate(date.getUTCDate() + i);
    const key = date.toISOString().slice(0, 10);
    days.push(key);
    const th = document.createElement("th");
    th.textContent = date.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
    head.appendChild(th);
    const td = document.createElement("td");
    td.className = "day";
    td.dataset.day = key;
    row.appendChild(td);
  }
  for (const visit of visits) {
    // The visit's own calendar day, as its offset writes it.
    const day = visit.start.slice(0, 10);
    const column = row.querySelector('td[data-day="' + day + '"]');
    if (!column) {
      continue;
    }
    const item = document.createElement("div");
    item.className = "visit " + visit.status;
    const whom = kind === "beneficiary" ? visit.professional.name : visit.beneficiary.name;
    item.textContent = visit.start.slice(11, 16) + "–" + visit.end.slice(11, 16) + " " +
      visit.label + " · " + whom + (visit.status === "planned" ? "" : " (" + visit.status + ")");
    column.appendChild(item);
  }
  table.hidden = false;
  state.textContent = visits.length + " visit" + (visits.length === 1 ? "" : "s") + ", week of " + from;
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
  document.getElementById("beneficiary-form").addEventListener("submit", showBeneficiary);
  document.getElementById("alerts-form").addEventListener("submit", showAlerts);
  document.getElementById("planning-form").addEventListener("submit", showPlanning);
  showWho();
  document.getElementById("validate-form").addEventListener("submit", validateFile);
  document.getElementById("deliveries-form").addEventListener("submit", showDeliveries);
});
