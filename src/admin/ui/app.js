// The page at /__mock/ui: sessions, scenarios, the live journal, verify and
// the reload banner, from the admin API. Every text from the mock goes into
// the page as text (textContent), never as markup.
"use strict";

const API = "/__mock";
// Journal rows kept in the page; older ones leave it (the journal keeps them).
const MAX_ROWS = 500;

/** An element with attributes, properties and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

// ---------------------------------------------------------------- the admin token

// With --admin-token, every data call carries the token, which the page asks
// for and keeps in sessionStorage (this tab only, gone when it closes; never
// in the URL or localStorage). A browser never adds a bearer header on its
// own, as it does a cookie, so a page of another site cannot borrow it: the
// token adds no cross-site request forgery surface.
const TOKEN_KEY = "specmock-admin-token";

function authorization() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Whether `response` refused a call for want of the token (its challenge says so). */
function wantsToken(response) {
  if (response.status !== 403) return false;
  return /^bearer\b/i.test(response.headers.get("www-authenticate") || "");
}

/**
 * Shows the token form for a call refused with `sent` (the header it carried);
 * that token is forgotten. A call sent before a newer token was entered changes nothing.
 */
function askForToken(sent) {
  const form = document.getElementById("token-form");
  if (!form.hidden || sent.authorization !== authorization().authorization) return;
  const refused = sent.authorization !== undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("token-note").textContent = refused
    ? "The mock refused that token: enter the one given to --admin-token."
    : "This mock runs with --admin-token: enter the token to see its sessions and journal.";
  form.hidden = false;
  document.getElementById("token").focus();
}

function useToken(event) {
  event.preventDefault();
  const field = document.getElementById("token");
  sessionStorage.setItem(TOKEN_KEY, field.value);
  field.value = "";
  document.getElementById("token-form").hidden = true;
  document.getElementById("sessions-error").replaceChildren();
  loadScenarios().then(refreshSessions).then(refreshBanner);
  wakeFeed();
}

/** One admin request; answers `{status, body}` (the body parsed when JSON). */
async function api(method, path, body) {
  const sent = authorization();
  const init = { method, headers: { ...sent } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  if (wantsToken(response)) askForToken(sent);
  return { status: response.status, body: await parsed(response) };
}

/** The body of `response`, parsed when JSON. */
async function parsed(response) {
  const text = await response.text();
  try { return JSON.parse(text); } catch (_) { return text; /* not JSON: kept as text */ }
}

function pretty(value) {
  if (value === undefined || value === null) return "(none)";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function localTime(rfc3339) {
  const at = new Date(rfc3339);
  if (Number.isNaN(at.getTime())) return rfc3339;
  const two = (n) => String(n).padStart(2, "0");
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, "0")}`;
}

/** `scenarios/default.yaml (embedded) rules[3]` -> `default.yaml rules[3]`: the part that differs. */
function shortRule(label) {
  const at = label.lastIndexOf(" rules[");
  if (at < 0) return label;
  const file = label.slice(0, at).replace(/ \(embedded\)$/, "");
  return file.slice(file.lastIndexOf("/") + 1) + label.slice(at);
}

function latency(micros) {
  return micros >= 1000 ? `${(micros / 1000).toFixed(1)} ms` : `${micros} µs`;
}

/** Reports a failed admin call where the user looks. */
function complain(where, reply) {
  const detail = reply.body && reply.body.detail ? reply.body.detail : pretty(reply.body);
  where.replaceChildren(el("p", { class: "notice" }, `${reply.status}: ${detail}`));
}

// ---------------------------------------------------------------- scenarios

let scenarioNames = [];

async function loadScenarios() {
  const reply = await api("GET", "/scenarios");
  const holder = document.getElementById("scenarios");
  if (reply.status !== 200) return complain(holder, reply);
  const { scenarios, sessions_start_in: start } = reply.body;
  scenarioNames = scenarios.map((s) => s.name);
  const operations = new Set();
  holder.replaceChildren(
    ...scenarios.map((scenario) => {
      const reached = Object.entries(scenario.reaches || {});
      reached.forEach(([operation]) => operations.add(operation));
      const heading = el("h3", {}, scenario.name, scenario.name === start ? " (sessions start here)" : "");
      const reaches = reached.length
        ? el("ul", { class: "reaches", "aria-label": "Operations and the statuses its rules answer" },
            reached.map(([operation, statuses]) => el("li", {}, el("code", {}, operation), " ", statuses.join(", "))))
        : el("p", { class: "hint" }, "No rules: every operation gets the spec's default answer.");
      return el("article", { "aria-label": `Scenario ${scenario.name}` },
        heading,
        el("p", {}, scenario.description || "(no description)"),
        el("p", { class: "file" }, `${scenario.file} · ${scenario.rules} rules`,
          scenario.initial ? ` · starts in state ${scenario.initial}` : ""),
        reaches);
    }));
  addOperations(operations);
}

function addOperations(operations) {
  const list = document.getElementById("operations");
  const known = new Set([...list.options].map((o) => o.value));
  for (const operation of operations) {
    if (!known.has(operation)) list.append(el("option", { value: operation }));
  }
}

// ---------------------------------------------------------------- sessions

let sessionsPending = false;

/** Refreshes the sessions table, unless the user is in it (then on leaving it). */
async function refreshSessions() {
  const table = document.getElementById("sessions");
  if (table.contains(document.activeElement) && document.activeElement !== document.body) {
    sessionsPending = true;
    return;
  }
  sessionsPending = false;
  const reply = await api("GET", "/sessions");
  if (reply.status !== 200) return complain(document.getElementById("sessions-error"), reply);
  const open = new Set([...table.querySelectorAll("details[open]")].map((d) => d.dataset.session));
  const rows = reply.body.sessions.map((session) => sessionRow(session, open.has(session.session)));
  table.tBodies[0].replaceChildren(...rows);
  document.getElementById("no-sessions").hidden = rows.length > 0;
}

function sessionRow(session, storeOpen) {
  const id = session.session;
  const select = el("select", { "aria-label": `Scenario for ${id}`, onchange: () => switchScenario(id, select) });
  if (session.scenario === null) select.append(el("option", { value: "", selected: true, disabled: true }, "(none)"));
  // A scenario a reload added after the page read the list is shown, not replaced by the first one.
  const names = scenarioNames.includes(session.scenario) || session.scenario === null
    ? scenarioNames : [...scenarioNames, session.scenario];
  for (const name of names) {
    select.append(el("option", { value: name, selected: name === session.scenario }, name));
  }
  const keys = Object.keys(session.store || {});
  const store = el("details", { "data-session": id, open: storeOpen },
    el("summary", {}, keys.length ? `${keys.length} value${keys.length > 1 ? "s" : ""}: ${keys.join(", ")}` : "empty"),
    el("pre", {}, pretty(session.store)));
  const reset = el("button", { type: "button", "aria-label": `Reset ${id}`, onclick: () => resetSession(id) }, "Reset");
  return el("tr", {},
    el("th", { scope: "row" }, el("code", {}, id)),
    el("td", {}, select, session.notice ? el("p", { class: "notice" }, session.notice) : null),
    el("td", {}, session.state ?? "—"),
    el("td", { title: session.last_activity }, localTime(session.last_activity)),
    el("td", {}, session.streams),
    el("td", {}, store),
    el("td", {}, reset));
}

async function switchScenario(id, select) {
  document.getElementById("sessions-error").replaceChildren();
  const reply = await api("PUT", `/sessions/${encodeURIComponent(id)}/scenario`, { name: select.value });
  select.blur();
  if (reply.status !== 200) complain(document.getElementById("sessions-error"), reply);
  refreshSessions();
}

async function resetSession(id) {
  document.getElementById("sessions-error").replaceChildren();
  const reply = await api("POST", `/sessions/${encodeURIComponent(id)}/reset`);
  if (reply.status !== 200) complain(document.getElementById("sessions-error"), reply);
  document.activeElement.blur();
  refreshSessions();
}

// The table is read again at most once a second, however busy the journal.
let sessionsTimer = null;
let sessionsRead = 0;
function sessionsChanged() {
  if (sessionsTimer !== null) return;
  const wait = Math.max(0, sessionsRead + 1000 - Date.now());
  sessionsTimer = setTimeout(() => { sessionsTimer = null; sessionsRead = Date.now(); refreshSessions(); }, wait);
}

// ---------------------------------------------------------------- journal

function journalRow(entry) {
  const violating = entry.violations.length > 0;
  // A frame the client sent, or (under --record) one the server sent.
  const frame = entry.kind === "frame" || entry.kind === "server-frame";
  const status = frame ? entry.kind : String(entry.status);
  const cell = (text, title) => el("span", { title: title ?? text }, text);
  const summary = el("summary", {},
    cell(localTime(entry.time), entry.time),
    cell(entry.session),
    cell(entry.method),
    cell(entry.target),
    cell(entry.operation ?? "—"),
    el("span", { class: `status-${status[0]}` }, status),
    entry.rule ? cell(shortRule(entry.rule), entry.rule) : cell(entry.refused ? "refused by the mock" : "—"),
    cell(latency(entry.latency_us)));
  if (violating) {
    summary.append(el("span", { class: "violation-list" },
      entry.violations.map((v) => el("span", { class: "violation" },
        el("code", {}, v.pointer), ` (${v.rule}) ${v.message}`))));
  }
  const details = el("details", {}, summary);
  // The bodies are pretty-printed when the row is first opened, not for every row that arrives.
  details.addEventListener("toggle", () => {
    if (!details.open || details.childElementCount > 1) return;
    const body = (title, value) => el("div", {}, el("h3", {}, title), el("pre", {}, pretty(value)));
    details.append(el("div", { class: "bodies" },
      body(frame ? "Message" : "Request body", entry.body),
      frame ? null : body("Response body", entry.response_body)));
  });
  const row = el("li", { class: violating ? "violating new" : "new" }, details);
  row.dataset.session = entry.session;
  row.dataset.violating = violating ? "yes" : "no";
  return row;
}

// The filters as last read, and the rows they show: kept as rows come and go.
const filter = { session: "", onlyViolations: false };
let rowsShown = 0;

function admitted(row) {
  return (!filter.session || row.dataset.session.includes(filter.session))
    && (!filter.onlyViolations || row.dataset.violating === "yes");
}

function showCount() {
  const total = document.getElementById("journal").childElementCount;
  document.getElementById("journal-count").textContent = `${rowsShown} of ${total} shown`;
}

function applyFilters() {
  filter.session = document.getElementById("filter-session").value.trim();
  filter.onlyViolations = document.getElementById("filter-violations").checked;
  rowsShown = 0;
  for (const row of document.getElementById("journal").children) {
    row.hidden = !admitted(row);
    if (!row.hidden) rowsShown += 1;
  }
  showCount();
}

function addEntry(entry) {
  const list = document.getElementById("journal");
  const row = journalRow(entry);
  row.hidden = !admitted(row);
  if (!row.hidden) rowsShown += 1;
  list.prepend(row);
  while (list.childElementCount > MAX_ROWS) {
    if (!list.lastElementChild.hidden) rowsShown -= 1;
    list.lastElementChild.remove();
  }
  showCount();
  if (entry.operation) addOperations([entry.operation]);
}

// ---------------------------------------------------------------- the live feed

// Read with fetch, not EventSource, so that it can carry the token; it
// resumes after the last entry shown, so a reconnection repeats none.
let lastEntry = 0;
let missed = 0;
let wakeFeed = () => {};

function feedState(text, live) {
  const state = document.getElementById("feed-state");
  state.textContent = text;
  state.className = live ? "feed-state live" : "feed-state";
}

/** Waits `ms`, or less if `wakeFeed` is called (a token was entered). */
function pause(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wakeFeed = () => { clearTimeout(timer); resolve(); };
  });
}

/** One server-sent event, as its text block. */
function onFeedEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon === 0) continue; // a comment: the keep-alive
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (name === "entry") {
    const entry = JSON.parse(data.join("\n"));
    lastEntry = Math.max(lastEntry, entry.id);
    addEntry(entry);
    sessionsChanged();
  } else if (name === "lagged") {
    missed += JSON.parse(data.join("\n")).missed;
    const note = document.getElementById("journal-missed");
    note.hidden = false;
    note.textContent = `${missed} earlier entries are not shown here (GET /__mock/journal lists what the journal holds).`;
  }
}

/** Follows the feed until it is refused or ends; answers why, and how long the mock asks to wait. */
async function readFeed() {
  const sent = authorization();
  let response;
  try {
    response = await fetch(`${API}/journal/events?after=${lastEntry}`, { headers: sent, cache: "no-store" });
  } catch (_) {
    return { why: "live journal unreachable: is the mock running?" };
  }
  if (response.status !== 200) {
    if (wantsToken(response)) askForToken(sent);
    const problem = await parsed(response);
    const detail = problem && problem.detail ? problem.detail : response.statusText;
    return { why: `live journal refused (${response.status}): ${detail}`, retryAfter: Number(response.headers.get("retry-after")) };
  }
  feedState("live", true);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { why: "live journal ended (the mock stopped?)", opened: true };
      text += value;
      for (let end = text.search(/\r?\n\r?\n/); end >= 0; end = text.search(/\r?\n\r?\n/)) {
        onFeedEvent(text.slice(0, end));
        text = text.slice(end).replace(/^\r?\n\r?\n/, "");
      }
    }
  } catch (_) {
    return { why: "live journal interrupted", opened: true };
  }
}

/** Follows the feed for as long as the page is open, again after a back-off when it fails. */
async function followJournal() {
  let backOff = 1000;
  for (;;) {
    const { why, retryAfter, opened } = await readFeed();
    if (opened) backOff = 1000;
    const wait = Math.max(backOff, (retryAfter || 0) * 1000);
    feedState(`${why}; trying again in ${Math.round(wait / 1000)} s`, false);
    await pause(wait);
    backOff = Math.min(backOff * 2, 30000);
  }
}

// ---------------------------------------------------------------- verify

async function verify(event) {
  event.preventDefault();
  const result = document.getElementById("verify-result");
  const request = { operation: document.getElementById("verify-operation").value.trim() };
  const session = document.getElementById("verify-session").value.trim();
  const count = document.getElementById("verify-count").value;
  const body = document.getElementById("verify-body").value.trim();
  if (session) request.session = session;
  if (count !== "") request.count = Number(count);
  if (body) {
    try { request.body = JSON.parse(body); } catch (error) {
      result.replaceChildren(el("p", { class: "failed" }, `Body contains: not JSON (${error.message})`));
      return;
    }
  }
  const reply = await api("POST", "/verify", request);
  const answer = reply.body;
  if (reply.status === 200) {
    result.replaceChildren(
      el("p", { class: "passed" }, `200 Verified: ${answer.matched} matching call${answer.matched === 1 ? "" : "s"}.`),
      el("details", {}, el("summary", {}, "The answer"), el("pre", {}, pretty(answer))));
  } else if (reply.status === 417) {
    result.replaceChildren(
      el("p", { class: "failed" }, "417 Not verified"),
      el("p", {}, answer.detail),
      el("details", { open: true }, el("summary", {}, "What came instead"), el("pre", {}, pretty({
        closest: answer.closest, refused_entries: answer.refused_entries,
      }))));
  } else {
    complain(result, reply);
  }
}

// ---------------------------------------------------------------- reload banner

let bannerShows = null;

async function refreshBanner() {
  const banner = document.getElementById("banner");
  const reply = await api("GET", "/status").catch(() => null);
  const config = reply && reply.status === 200 ? reply.body.config : undefined;
  if (!config) { banner.hidden = true; return; }
  banner.hidden = false;
  // Unchanged: left as it is, so a screen reader does not announce it again.
  const shows = JSON.stringify(config);
  if (shows === bannerShows) return;
  const reloaded = bannerShows !== null && JSON.parse(bannerShows).generation !== config.generation;
  bannerShows = shows;
  if (reloaded) {
    // Scenarios may have come or gone, and sessions moved out of removed ones.
    loadScenarios().then(refreshSessions);
  }
  const loaded = config.loaded_at ? `${new Date(config.loaded_at).toLocaleString()}` : "start-up";
  if (config.error) {
    const { file, line, column, message } = config.error;
    const at = [file, line, column].filter((part) => part !== undefined && part !== null).join(":");
    banner.className = "error";
    banner.replaceChildren(
      el("strong", {}, "The last change was not applied: "),
      el("code", {}, at), `: ${message}`,
      el("br"), `Still serving the configuration loaded at ${loaded}.`,
      config.error.text ? el("pre", {}, config.error.text) : null);
  } else {
    banner.className = "";
    const from = config.source === "embedded" ? "the embedded copies" : "files";
    banner.replaceChildren(`Configuration loaded at ${loaded} from ${from}` +
      (config.generation ? ` (generation ${config.generation})` : "") +
      (config.watching ? "; changes to its files are applied as they are saved." : "."));
  }
}

// ---------------------------------------------------------------- start

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("filter-session").addEventListener("input", applyFilters);
  document.getElementById("filter-violations").addEventListener("change", applyFilters);
  document.getElementById("verify").addEventListener("submit", verify);
  document.getElementById("token-form").addEventListener("submit", useToken);
  document.getElementById("sessions").addEventListener("focusout", () => {
    setTimeout(() => { if (sessionsPending) refreshSessions(); }, 0);
  });
  applyFilters();
  followJournal();
  await loadScenarios();
  await refreshSessions();
  await refreshBanner();
  setInterval(refreshBanner, 2000);
});
