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

  // ---- the feed: every change, in the feed's order, without moving the reader ------
  //
  // The page was rendered current to change `data-feed-seq`. The WebSocket only says
  // that there are newer changes; the page then asks the admin for the rows changed
  // since the last change it applied (`/admin/activity/rows?since=`), until it has
  // them all. So no entry is missed however many arrive between two fetches, and a
  // steady stream is fetched at most every FETCH_GAP ms (a throttle: a change waits
  // for at most one gap and one fetch, never for the stream to pause).

  const feedList = document.getElementById("feed-entries");
  const newBar = document.getElementById("new-entries");
  const newButton = document.getElementById("show-new-entries");
  const pager = document.querySelector(".pager[data-older-url]");
  const WINDOW = 150; // rows kept while the reader stays at the top; older ones drop off
  const FETCH_GAP = 250; // ms between two fetches of changes
  let appliedSeq = Number(body.dataset.feedSeq || 0); // every change up to this is on the page
  let announcedSeq = appliedSeq; // the newest change the socket has told of
  let pulling = false;
  let pullTimer = null;
  let lastPull = 0;
  let pullRetry = 1000;
  let waiting = new Map(); // entry id → row: new rows held while the reader is elsewhere
  let waitingBeyond = 0; // more held than a page keeps: counted only (each arrives once)
  let behind = false; // changes the page could not take one by one: only a fresh page helps

  /** On the first page with the top of the list in view: new rows can go in without a jump. */
  function readerAtTop() {
    return body.dataset.firstPage === "true" && feedList.getBoundingClientRect().top >= 0;
  }

  /** True when row `a` comes before row `b` in the feed (newest first: time, then id). */
  function before(a, b) {
    const at = Number(a.dataset.at) - Number(b.dataset.at);
    return at !== 0 ? at > 0 : Number(a.dataset.entryId) > Number(b.dataset.entryId);
  }

  function hasOlderPage() {
    return Boolean(pager?.querySelector('a[rel="next"]'));
  }

  /** "Older →" continues after the entry at `cursor` (the last row kept on the page). */
  function olderAfter(cursor) {
    if (!pager || !cursor) return;
    let link = pager.querySelector('a[rel="next"]');
    if (!link) {
      link = document.createElement("a");
      link.rel = "next";
      link.textContent = "Older →";
      pager.append(link);
    }
    link.href = pager.dataset.olderUrl.replace("CURSOR", encodeURIComponent(cursor));
  }

  /** Put a new row where the feed's order puts it; false when its place is a later page. */
  function place(row) {
    row.classList.add("is-new");
    for (const li of feedList.children) {
      if (before(row, li)) {
        li.before(row);
        return true;
      }
    }
    if (hasOlderPage()) return false; // older than every row shown: "Older →" has it
    feedList.append(row);
    return true;
  }

  /** A bounded page: past WINDOW rows the oldest leave, and "Older →" starts after them. */
  function trimToWindow() {
    const rows = feedList.children;
    if (rows.length <= WINDOW) return;
    while (rows.length > WINDOW) rows[rows.length - 1].remove();
    olderAfter(rows[rows.length - 1].dataset.cursor);
  }

  function showWaiting() {
    const n = waiting.size + waitingBeyond;
    newBar.hidden = n === 0 && !behind;
    newButton.textContent = behind
      ? "New entries: show the latest"
      : `${n} new ${n === 1 ? "entry" : "entries"}`;
  }

  function insertRows(rows) {
    let placed = false;
    for (const row of rows) placed = place(row) || placed;
    if (placed) {
      document.querySelector(".feed ~ .empty")?.remove();
      if (readerAtTop()) trimToWindow();
    }
  }

  newButton?.addEventListener("click", () => {
    if (body.dataset.firstPage !== "true" || behind || waitingBeyond > 0) {
      window.location.assign(body.dataset.firstPageUrl); // a fresh first page, nothing skipped
      return;
    }
    insertRows(waiting.values());
    waiting = new Map();
    showWaiting();
    feedList.scrollIntoView({ block: "start" });
    feedList.querySelector("li.entry a, li.entry button")?.focus({ preventScroll: true });
  });

  /** Apply the rows changed since `appliedSeq`: update those shown, add or hold new ones. */
  function applyChanges(fragmentRows) {
    const arrivals = [];
    for (const row of fragmentRows) {
      const id = row.dataset.entryId;
      if (document.getElementById(row.id)) swapRow(row);
      else if (waiting.has(id)) waiting.set(id, row);
      else if (row.hasAttribute("data-arrives")) arrivals.push(row);
    }
    if (arrivals.length && readerAtTop() && waiting.size + waitingBeyond === 0) {
      insertRows(arrivals);
    } else {
      for (const row of arrivals) {
        if (waiting.size < WINDOW) waiting.set(row.dataset.entryId, row);
        else waitingBeyond += 1;
      }
    }
    showWaiting();
  }

  /** The list replaced by a fresh first page (the changes could not be given one by one). */
  function startOver(fragmentRows, olderCursor) {
    waiting = new Map();
    waitingBeyond = 0;
    if (!readerAtTop()) {
      behind = true; // the reader is elsewhere: say so, and let them choose when
      showWaiting();
      return;
    }
    showWaiting();
    feedList.replaceChildren(...fragmentRows);
    pager?.querySelector('a[rel="next"]')?.remove();
    olderAfter(olderCursor);
  }

  async function pullChanges() {
    pullTimer = null;
    pulling = true;
    try {
      do {
        lastPull = performance.now();
        const url = new URL(body.dataset.rowsUrl, window.location.href);
        url.searchParams.set("since", String(appliedSeq));
        const response = await fetch(url, { headers: FETCH_HEADERS, credentials: "same-origin" });
        if (response.status === 401) return window.location.reload(); // the session ended
        if (!response.ok) throw new Error(`rows: ${response.status}`);
        const rows = [...fragment(await response.text()).querySelectorAll("li.entry")];
        if (response.headers.get("X-Feed-Reload") === "1") {
          startOver(rows, response.headers.get("X-Feed-Older"));
        } else if (!behind) {
          applyChanges(rows);
        }
        appliedSeq = Number(response.headers.get("X-Feed-Seq"));
        announcedSeq = Math.max(announcedSeq, appliedSeq);
        if (response.headers.get("X-Feed-Complete") === "1") break;
      } while (true);
      pullRetry = 1000;
    } catch (error) {
      console.warn("feed update failed; trying again", error);
      pullTimer = setTimeout(pullChanges, pullRetry);
      pullRetry = Math.min(pullRetry * 2, 30000);
      return;
    } finally {
      pulling = false;
      // How many live updates this page has applied: visible in the inspector, read by tests.
      body.dataset.feedUpdates = String(Number(body.dataset.feedUpdates || 0) + 1);
    }
    schedulePull();
  }

  /** Fetch soon if a change is waiting: at once after a quiet spell, else one gap after the last. */
  function schedulePull(force = false) {
    if (pulling || pullTimer !== null || (!force && announcedSeq <= appliedSeq)) return;
    const wait = Math.max(0, lastPull + FETCH_GAP - performance.now());
    pullTimer = setTimeout(pullChanges, wait);
  }

  function onFeedChange(seq, force = false) {
    announcedSeq = Math.max(announcedSeq, seq);
    schedulePull(force);
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

  // Live updates: one refresh at a time, at most every FETCH_GAP ms, and one more after a
  // refresh if anything changed while it ran (so the last change is always shown, and an
  // older answer never lands after a newer one).
  let orderRefreshing = false;
  let orderStale = false;
  let orderTimer = null;
  let orderLastRefresh = 0;
  function scheduleOrderRefresh() {
    orderStale = true;
    if (orderRefreshing || orderTimer !== null) return;
    const wait = Math.max(0, orderLastRefresh + FETCH_GAP - performance.now());
    orderTimer = setTimeout(async () => {
      orderTimer = null;
      orderRefreshing = true;
      orderStale = false;
      orderLastRefresh = performance.now();
      try {
        await refreshOrder();
      } catch (error) {
        console.warn("order update failed", error);
        orderStale = true;
      } finally {
        orderRefreshing = false;
      }
      if (orderStale) scheduleOrderRefresh();
    }, wait);
  }

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
      // After (re)connecting, catch up on whatever the socket could not have told us.
      if (message.type === "hello") onFeedChange(message.seq, true);
      if (message.type === "entries" || message.type === "reload") onFeedChange(message.seq);
    } else if (mode === "order" && orderLive) {
      if (message.type !== "badge") scheduleOrderRefresh();
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
    // Behind the proxy the URL is a path (`/ws`) on this page's own origin.
    const address = new URL(ticket.url, window.location.href);
    if (address.protocol === "http:") address.protocol = "ws:";
    if (address.protocol === "https:") address.protocol = "wss:";
    address.search = params.toString();
    const socket = new WebSocket(address);
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
