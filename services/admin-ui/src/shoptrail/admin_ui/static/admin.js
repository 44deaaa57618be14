// Shoptrail admin: live badge, live feed rows and timeline, and row actions without a reload.
// Everything here enhances pages that already work without script.
(() => {
  "use strict";

  const body = document.body;
  const mode = body.dataset.live; // "feed", "order", "badge", or "" on the login page
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const FETCH_HEADERS = { "X-Requested-With": "fetch" };

  // ---- helpers -------------------------------------------------------------

  /** Parse server-rendered HTML (already escaped by the server) into nodes. */
  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  async function getHtml(url) {
    const response = await fetch(url, { headers: FETCH_HEADERS, credentials: "same-origin" });
    if (response.status === 401) {
      window.location.reload(); // the session ended: the page will send us to the login form
      throw new Error("logged out");
    }
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return fragment(await response.text());
  }

  /**
   * Put a freshly rendered feed row in place of the one on screen (same id), keeping what
   * the reader has there: the notice of their last action on it, a note they are typing,
   * and their focus. Rows change under the reader when a live update re-renders them.
   */
  function swapRow(fresh) {
    const current = document.getElementById(fresh.id);
    if (!current) return;
    const notice = current.querySelector(".notice");
    if (notice && !fresh.querySelector(".notice")) {
      const actions = fresh.querySelector(".actions");
      if (actions) actions.before(notice);
      else fresh.querySelector(".entry-body")?.append(notice);
    }
    for (const input of current.querySelectorAll("input[id]")) {
      const twin = fresh.querySelector(`#${CSS.escape(input.id)}`);
      if (twin && input.value) twin.value = input.value;
    }
    const focused = current.contains(document.activeElement) ? document.activeElement.id : "";
    current.replaceWith(fresh);
    if (focused) document.getElementById(focused)?.focus({ preventScroll: true });
  }

  // ---- the nav badge ---------------------------------------------------------

  function showAttentionCount(count) {
    for (const el of document.querySelectorAll("[data-attention-count]")) {
      el.textContent = String(count);
    }
    const badge = document.getElementById("attention-badge");
    if (badge) badge.hidden = count === 0;
  }

  // ---- row actions (Resolve, Dismiss, Retry): post, then swap the row -------

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-row-action]");
    if (!form) return;
    event.preventDefault();
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { ...FETCH_HEADERS, "X-CSRF-Token": csrfToken },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`${form.action}: ${response.status}`);
      const count = response.headers.get("X-Attention-Count");
      if (count !== null) showAttentionCount(Number(count));
      // By id, not by element: a live update may have re-rendered the row meanwhile.
      const replacement = fragment(await response.text()).querySelector("li.entry");
      if (replacement) swapRow(replacement);
    } catch (error) {
      form.submit(); // fall back to the plain form post
    }
  });

  // ---- the feed: new rows at the top without moving the reader ---------------

  const feedList = document.getElementById("feed-entries");
  const newBar = document.getElementById("new-entries");
  const newButton = document.getElementById("show-new-entries");
  let newestId = Number(body.dataset.newestId || 0);
  let waiting = []; // new rows held back while the reader is elsewhere on the page

  /** On the first page with the top of the list in view: new rows can go in without a jump. */
  function readerAtTop() {
    return body.dataset.firstPage === "true" && feedList.getBoundingClientRect().top >= 0;
  }

  function rowsOnScreen() {
    return new Set([...feedList.querySelectorAll("li.entry")].map((li) => li.dataset.entryId));
  }

  function insertAtTop(rows) {
    for (const row of [...rows].reverse()) {
      row.classList.add("is-new");
      feedList.prepend(row);
    }
    document.querySelector(".feed ~ .empty")?.remove();
  }

  function showWaiting() {
    const n = waiting.length;
    newBar.hidden = n === 0;
    newButton.textContent = `${n} new ${n === 1 ? "entry" : "entries"}`;
  }

  newButton?.addEventListener("click", () => {
    if (body.dataset.firstPage !== "true") {
      window.location.assign(body.dataset.firstPageUrl);
      return;
    }
    insertAtTop(waiting);
    waiting = [];
    showWaiting();
    feedList.scrollIntoView({ block: "start" });
    feedList.querySelector("li.entry a, li.entry button")?.focus({ preventScroll: true });
  });

  /** Fetch the first page for the reader's filters; keep the rows newer than what we have. */
  async function collectNewRows() {
    const fresh = await getHtml(body.dataset.rowsUrl);
    const present = rowsOnScreen();
    const held = new Set(waiting.map((li) => li.dataset.entryId));
    const arrivals = [];
    for (const row of fresh.querySelectorAll("li.entry")) {
      if (present.has(row.dataset.entryId)) break; // everything below is already on screen
      if (Number(row.dataset.entryId) > newestId && !held.has(row.dataset.entryId)) {
        arrivals.push(row);
      }
    }
    for (const row of arrivals) newestId = Math.max(newestId, Number(row.dataset.entryId));
    if (readerAtTop() && waiting.length === 0) {
      insertAtTop(arrivals);
    } else {
      waiting = [...arrivals, ...waiting];
      showWaiting();
    }
  }

  /** Re-render rows already on screen whose entry changed (resolved elsewhere, say). */
  async function refreshRows(ids) {
    const params = new URLSearchParams(ids.map((id) => ["id", String(id)]));
    const fresh = await getHtml(`/admin/activity/rows?${params}`);
    for (const row of fresh.querySelectorAll("li.entry")) swapRow(row);
  }

  // Several messages in a burst become one fetch.
  let changed = new Set();
  let lookForNew = false;
  let feedTimer = null;
  function scheduleFeedUpdate() {
    clearTimeout(feedTimer);
    feedTimer = setTimeout(async () => {
      const ids = [...changed];
      const wantNew = lookForNew;
      changed = new Set();
      lookForNew = false;
      try {
        if (ids.length) await refreshRows(ids);
        if (wantNew) await collectNewRows();
      } catch (error) {
        console.warn("feed update failed", error);
      } finally {
        // How many live updates this page has applied: visible in the inspector, read by tests.
        body.dataset.feedUpdates = String(Number(body.dataset.feedUpdates || 0) + 1);
      }
    }, 150);
  }

  function onFeedEntries(entries) {
    const present = rowsOnScreen();
    for (const entry of entries) {
      if (present.has(String(entry.id))) changed.add(entry.id);
      else lookForNew = true;
    }
    scheduleFeedUpdate();
  }

  // ---- the order page: Refresh and live updates replace the changing parts -----

  const orderLive = document.getElementById("order-activity");

  /** Replace the order's summary and Activity card with fresh ones (same ids). */
  async function refreshOrder() {
    const fresh = await getHtml(orderLive.dataset.refreshUrl);
    for (const part of fresh.querySelectorAll("[id]")) {
      const current = document.getElementById(part.id);
      if (current && part.parentNode === fresh) current.replaceChildren(...part.childNodes);
    }
  }

  document.addEventListener("click", (event) => {
    const refresh = event.target.closest("[data-refresh]");
    if (!refresh || !orderLive) return;
    event.preventDefault();
    refreshOrder().catch(() => window.location.reload());
  });

  // ---- the WebSocket to the activity service ----------------------------------

  const liveState = document.getElementById("live-state");
  let lastSeq = null; // none yet: the first hello tells us where the stream is
  let retryDelay = 1000;
  let freshTokenTried = false;

  function setLiveState(state, text) {
    if (!liveState) return;
    liveState.dataset.state = state;
    liveState.textContent = text;
  }

  function onMessage(message) {
    if (typeof message.seq !== "number") return;
    if (lastSeq !== null && message.seq < lastSeq) return; // stale: we have seen newer
    lastSeq = message.seq;
    if (typeof message.count === "number") showAttentionCount(message.count);
    if (mode === "feed" && feedList) {
      if (message.type === "entries") onFeedEntries(message.entries || []);
      if (message.type === "hello" || message.type === "reload") {
        lookForNew = true; // catch up on anything since the page was rendered
        scheduleFeedUpdate();
      }
    } else if (mode === "order" && orderLive) {
      if (message.type !== "badge") refreshOrder().catch((e) => console.warn(e));
    }
  }

  function reconnectLater(quietly = false) {
    if (!quietly) setLiveState("retrying", "Reconnecting…");
    const delay = retryDelay * (0.75 + Math.random() / 2);
    retryDelay = Math.min(retryDelay * 2, 30000);
    setTimeout(connect, delay);
  }

  async function connect() {
    let ticket;
    try {
      const response = await fetch("/admin/live-token", {
        headers: FETCH_HEADERS,
        credentials: "same-origin",
      });
      if (response.status === 401) return window.location.reload();
      if (response.status === 503) setLiveState("off", "Live updates unavailable");
      if (!response.ok) throw new Error(`live-token: ${response.status}`);
      ticket = await response.json();
    } catch (error) {
      return reconnectLater(liveState?.dataset.state === "off");
    }
    const params = new URLSearchParams();
    if (lastSeq !== null) params.set("since", String(lastSeq)); // replay what we missed
    if (mode === "feed") params.set("feed", "1");
    if (mode === "order") params.set("order", body.dataset.orderId);
    const socket = new WebSocket(`${ticket.url}?${params}`);
    socket.addEventListener("open", () => {
      // The token goes in the first message, never in the URL (URLs end up in logs).
      socket.send(JSON.stringify({ type: "auth", token: ticket.token }));
      retryDelay = 1000;
      freshTokenTried = false;
      setLiveState("open", "Live");
    });
    socket.addEventListener("message", (event) => {
      try {
        onMessage(JSON.parse(event.data));
      } catch (error) {
        console.warn("bad live message", error);
      }
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4003) return setLiveState("refused", "Live updates refused");
      if (event.code === 4001 && !freshTokenTried) {
        freshTokenTried = true; // token expired or session ended: ask again, once (a 401 reloads)
        return connect();
      }
      reconnectLater();
    });
  }

  if (mode) connect();

  // ---- small comforts -----------------------------------------------------------

  // Category filters apply as soon as they are ticked.
  document.getElementById("feed-filters")?.addEventListener("change", (event) => {
    if (event.target.matches('input[type="checkbox"]')) event.currentTarget.requestSubmit();
  });
})();
